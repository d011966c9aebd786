"""The recurrent layer factory: every cell type builds, stacks and trains."""

import keras
import numpy as np
import pytest

from rnnapps.config import CELLS, RNNConfig
from rnnapps.errors import UsageError
from rnnapps.layers import recurrent_layer, recurrent_stack
from rnnapps.training import Trainer


@pytest.mark.parametrize("cell", CELLS)
def test_each_cell_builds_stacks_and_trains_a_step(cell):
    import tensorflow as tf

    config = RNNConfig(cell=cell, units=8, layers=2, bidirectional=True, dropout=0.1,
                       recurrent_dropout=0.1)
    layers = recurrent_stack(config, seed=0)
    model = keras.Sequential([keras.Input((6, 3)), *layers, keras.layers.Dense(1)])
    assert model.output_shape == (None, 1)
    assert layers[0].output.shape == (None, 6, 16)  # bidirectional concatenates
    x = np.random.default_rng(0).normal(size=(8, 6, 3)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None]
    trainer = Trainer(model, keras.losses.MeanSquaredError(), keras.optimizers.Adam(0.01))
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = trainer.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(8), epochs=1,
                          monitor="loss", verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert all(not np.allclose(b, w.numpy()) for b, w in zip(before, model.trainable_weights))


def test_return_state_and_sequences():
    layer = recurrent_layer("lstm", 4, return_sequences=True, return_state=True)
    out, h, c = layer(np.zeros((2, 5, 3), "float32"))
    assert out.shape == (2, 5, 4) and h.shape == c.shape == (2, 4)
    elman = recurrent_layer("elman", 4, return_state=True)
    elman_out, elman_h = elman(np.zeros((2, 5, 3), "float32"))
    assert elman_out.shape == elman_h.shape == (2, 4)


def test_unknown_cell_and_bad_units():
    with pytest.raises(UsageError, match="cell must be one of simple_rnn, lstm, gru, elman"):
        recurrent_layer("transformer", 4)
    with pytest.raises(UsageError, match="units must be a positive integer, got 0"):
        recurrent_layer("gru", 0)


def test_bigram_embedding_adds_the_hashed_pair_and_masks_padding():
    from rnnapps.layers import BigramEmbedding

    layer = BigramEmbedding(vocab_size=20, output_dim=4, buckets=7)
    ids = np.array([[3, 5, 5, 0], [9, 5, 0, 0]], "int32")
    out = layer(ids).numpy()
    tokens, pairs = layer.tokens.embeddings.numpy(), layer.pairs.embeddings.numpy()
    previous = np.pad(ids[:, :-1], [(0, 0), (1, 0)]).astype(np.int64)
    expected = tokens[ids] + pairs[(previous * 1_000_003 + ids) % 7]
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    # The same word after a different word is a different input ("5" after 3 / 9).
    assert not np.allclose(out[0, 1], out[1, 1])
    np.testing.assert_array_equal(layer.compute_mask(ids), ids != 0)


def test_masked_max_pooling_ignores_padded_steps():
    from rnnapps.layers import MaskedMaxPooling

    x = np.array([[[1.0, -2.0], [3.0, -1.0], [50.0, 50.0]]], "float32")
    mask = np.array([[True, True, False]])
    np.testing.assert_allclose(MaskedMaxPooling()(x, mask=mask), [[3.0, -1.0]])
    np.testing.assert_allclose(MaskedMaxPooling()(x), [[50.0, 50.0]])


def test_ngram_convolution_pools_each_width_over_real_tokens_only():
    from rnnapps.layers import NgramConvolution

    layer = NgramConvolution(filters=3, widths=(2, 3))
    x = np.random.default_rng(0).normal(size=(1, 4, 5)).astype("float32")
    padded = np.concatenate([x, np.full((1, 2, 5), 99.0, "float32")], axis=1)
    mask = np.array([[True] * 4 + [False] * 2])
    out = layer(padded, mask=mask)
    assert out.shape == (1, 6) and np.all(np.asarray(out) >= 0.0)  # ReLU, 2 widths x 3
    np.testing.assert_allclose(out, layer(x), atol=1e-6)  # padding values never count
    assert layer.compute_mask(padded, mask) is None


@pytest.mark.parametrize("ngram_filters", [0, 3])
def test_sentiment_model_with_pairs_and_max_pooling_ignores_padding(tmp_path, ngram_filters):
    """More padding changes nothing, and the model round-trips through ``.keras``."""
    from rnnapps.tasks import sentiment
    from rnnapps.tasks.sentiment import SentimentConfig

    config = SentimentConfig().replace(max_tokens=30, seq_length=6, embedding_dim=4,
                                       units=4, layers=2, cell="gru", bidirectional=True,
                                       bigram_buckets=11, pooling="max",
                                       ngram_filters=ngram_filters)
    short = sentiment.build_model(config)
    long = sentiment.build_model(config.replace(seq_length=10))
    long.set_weights(short.get_weights())
    ids = np.array([[4, 7, 2, 9, 0, 0], [5, 3, 0, 0, 0, 0]], "int32")
    np.testing.assert_allclose(short(ids), long(np.pad(ids, [(0, 0), (0, 4)])), atol=1e-6)
    short.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(reloaded(ids), short(ids), atol=1e-6)
