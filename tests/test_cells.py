"""Our Elman cell: the exact recurrence, the Keras cell contract, serialisation."""

import keras
import numpy as np
import pytest

from rnnapps.cells import ElmanCell


def numpy_elman(x, W, U, b):
    """h_t = tanh(W x_t + U h_{t-1} + b), h_0 = 0; returns all h_t."""
    h = np.zeros((x.shape[0], U.shape[0]))
    out = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ W + h @ U + b)
        out.append(h)
    return np.stack(out, axis=1)


def test_cell_computes_the_elman_recurrence():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 7, 4)).astype("float32")
    layer = keras.layers.RNN(ElmanCell(5), return_sequences=True)
    layer.build(x.shape)
    W, U, b = (rng.normal(scale=0.5, size=v.shape).astype("float32") for v in layer.weights)
    layer.set_weights([W, U, b])
    np.testing.assert_allclose(layer(x).numpy(), numpy_elman(x, W, U, b), atol=1e-5)


def test_cell_matches_keras_simple_rnn_with_same_weights():
    x = np.random.default_rng(1).normal(size=(2, 9, 3)).astype("float32")
    ours = keras.layers.RNN(ElmanCell(6))
    theirs = keras.layers.SimpleRNN(6)
    ours.build(x.shape)
    theirs.build(x.shape)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours(x).numpy(), theirs(x).numpy(), atol=1e-6)


def test_weights_are_named_and_shaped_as_the_math():
    cell = ElmanCell(8)
    cell.build((None, 3))
    assert [(w.name, tuple(w.shape)) for w in cell.weights] == [
        ("kernel", (3, 8)), ("recurrent_kernel", (8, 8)), ("bias", (8,))]
    assert cell.state_size == cell.output_size == 8


@pytest.mark.parametrize("kwargs, message", [
    ({"units": 0}, "units must be a positive integer"),
    ({"units": 2.5}, "units must be a positive integer"),
    ({"units": 4, "dropout": 1.0}, "dropout must be in"),
    ({"units": 4, "recurrent_dropout": -0.1}, "recurrent_dropout must be in"),
])
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ElmanCell(**kwargs)


def test_round_trips_through_a_keras_file(tmp_path):
    model = keras.Sequential([keras.Input((5, 2)),
                              keras.layers.RNN(ElmanCell(4, dropout=0.1, seed=3)),
                              keras.layers.Dense(1)])
    x = np.random.default_rng(2).normal(size=(3, 5, 2)).astype("float32")
    model.save(tmp_path / "elman.keras")
    restored = keras.saving.load_model(tmp_path / "elman.keras")
    assert restored.layers[0].cell.get_config() == model.layers[0].cell.get_config()
    np.testing.assert_allclose(restored(x).numpy(), model(x).numpy(), atol=1e-6)


def test_dropout_only_while_training():
    cell_layer = keras.layers.RNN(ElmanCell(16, dropout=0.5, recurrent_dropout=0.5, seed=0))
    x = np.ones((4, 6, 3), "float32")
    np.testing.assert_allclose(cell_layer(x).numpy(), cell_layer(x).numpy())
    assert not np.allclose(cell_layer(x, training=True).numpy(), cell_layer(x).numpy())
