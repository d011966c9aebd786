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
    assert np.isfinite(history.metrics["loss"][0])
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
