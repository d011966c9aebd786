"""The Trainer's speed options change speed only: same losses and weights with and without."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnapps.layers import recurrent_layer
from rnnapps.tasks.classify.data import (
    adapt,
    batch_texts,
    bucket_by_length,
    make_vectorizer,
    token_counts,
    trim_padding,
    vectorize,
)
from rnnapps.training import Diverged, Trainer


def masked_data(n=80, seed=0):
    """Token ids with zero padding at the end (masked) and a binary label."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 20, size=(n, 7)).astype("int32")
    x[np.arange(7)[None, :] >= rng.integers(2, 8, size=n)[:, None]] = 0
    return x, rng.integers(0, 2, size=(n, 1)).astype("float32")


def model_with(cell, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((None,), dtype="int32"),
                             keras.layers.Embedding(20, 4, mask_zero=True),
                             recurrent_layer(cell, 6, return_sequences=True),
                             recurrent_layer(cell, 6),
                             keras.layers.Dense(1, activation="sigmoid")])


def train(cell, epochs=2, trim=False, **options):
    x, y = masked_data()
    model = model_with(cell)
    trainer = Trainer(model, keras.losses.BinaryCrossentropy(), keras.optimizers.Adam(0.05),
                      [keras.metrics.BinaryAccuracy(name="accuracy")], clip_norm=1.0, **options)
    # Batches of 24, 24, 24 and 8: a short last batch.
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(16 + 8)
    val = tf.data.Dataset.from_tensor_slices(masked_data(32, seed=1)).batch(24)
    if trim:
        data, val = data.map(trim_padding), val.map(trim_padding)
    history = trainer.fit(data, val, epochs=epochs, restore_best=False, verbose=0)
    return trainer, history, model.get_weights()


def assert_same_training(a, b, rtol):
    (_, history_a, weights_a), (_, history_b, weights_b) = a, b
    for name, values in history_a.history.items():
        np.testing.assert_allclose(history_b.history[name], values, rtol=rtol, atol=rtol)
    for wa, wb in zip(weights_a, weights_b):
        np.testing.assert_allclose(wb, wa, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("steps", [2, 3, 10])
def test_several_steps_per_call_train_exactly_as_one(steps):
    assert_same_training(train("gru"), train("gru", steps_per_execution=steps), rtol=1e-6)


@pytest.mark.parametrize("cell", ["lstm", "elman"])
def test_xla_steps_match_plain_ones_with_masking(cell):
    assert_same_training(train(cell), train(cell, jit_compile=True), rtol=1e-4)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_cutting_batches_to_their_longest_sequence_changes_nothing(cell):
    assert_same_training(train(cell), train(cell, trim=True), rtol=1e-5)


def test_length_buckets_keep_every_review_once_and_group_similar_lengths():
    x, _ = masked_data(200)
    lengths = np.count_nonzero(x, axis=1)
    data = tf.data.Dataset.from_tensor_slices((x, np.arange(200)))
    bucketed = bucket_by_length(data, 7, 16)
    batches = [(ids.numpy(), i.numpy()) for ids, i in bucketed]
    assert bucketed.cardinality() == len(batches)  # progress bars know the epoch's length
    assert sorted(np.concatenate([i for _, i in batches])) == list(range(200))
    # Buckets of width 7 // 8 + 1 = 1 token here: every batch holds one length only.
    assert all(len(set(lengths[i])) == 1 for _, i in batches)
    again = [i.numpy() for _, i in bucket_by_length(data, 7, 16)]
    assert all(np.array_equal(a, i) for a, (_, i) in zip(again, batches))
    # Lengths counted once (as train does for every epoch) give the same batches.
    counted = bucket_by_length(data, 7, 16, token_counts(data.shuffle(200, seed=1)))
    assert counted.cardinality() == len(batches)
    assert all(np.array_equal(i.numpy(), b) for (_, i), (_, b) in zip(counted, batches))


def test_nothing_retraces_across_epochs_and_a_short_last_batch():
    trainer, _, _ = train("gru", epochs=3, steps_per_execution=2)
    assert trainer._train_fn.experimental_get_tracing_count() == 1
    assert trainer._test_fn.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("options", [{"steps_per_execution": 3}, {"jit_compile": True}])
def test_divergence_names_the_step_with_the_options(options):
    x = np.random.default_rng(0).normal(size=(64, 5, 2)).astype("float32")
    y = x[:, :, :1].sum(axis=1)
    y[40] = np.nan  # in the second batch of 32
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5, 2)), keras.layers.GRU(4), keras.layers.Dense(1)])
    trainer = Trainer(model, keras.losses.MeanSquaredError(), keras.optimizers.Adam(), **options)
    with pytest.raises(Diverged) as caught:
        trainer.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(32), epochs=1,
                    monitor="loss", verbose=0)
    assert (caught.value.epoch, caught.value.step) == (1, 2)
    assert all(np.isfinite(w).all() for w in model.get_weights())


@pytest.mark.parametrize("bad", [0, -1, 1.5])
def test_steps_per_execution_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match="steps_per_execution"):
        Trainer(keras.Sequential([keras.layers.Dense(1)]), keras.losses.MeanSquaredError(),
                keras.optimizers.Adam(), steps_per_execution=bad)


@pytest.mark.parametrize("bucket_up_to", [None, 8])
def test_texts_kept_without_padding_batch_as_cut_padded_batches(bucket_up_to):
    texts = ["b a c d", "", "a", "a b a c a b d", "!!!", "c c"] * 7
    vectorizer = make_vectorizer(6, 8)
    adapt(vectorizer, texts)
    kept = vectorize(vectorizer, texts, np.arange(len(texts)))
    padded_ids = vectorizer(tf.constant(texts)).numpy()
    lengths = np.count_nonzero(padded_ids, axis=1)
    # Each text holds its tokens only (one padding id for a text with none).
    assert [len(ids) for ids, _ in kept.as_numpy_iterator()] == list(np.maximum(lengths, 1))
    padded = tf.data.Dataset.from_tensor_slices((padded_ids, np.arange(len(texts))))
    cut = (padded.batch(5) if bucket_up_to is None
           else bucket_by_length(padded, bucket_up_to, 5)).map(trim_padding)
    batches = list(batch_texts(kept, 5, bucket_up_to, token_counts(kept)))
    assert len(batches) == len(list(cut)) == batch_texts(kept, 5, bucket_up_to).cardinality()
    for (ids, i), (want_ids, want_i) in zip(batches, cut):
        np.testing.assert_array_equal(i, want_i)
        np.testing.assert_array_equal(ids, want_ids)
