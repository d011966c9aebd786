"""The NumPy RNN and its hand-written BPTT against Keras, GradientTape and
finite differences."""

from __future__ import annotations

import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnapps import theory
from rnnapps.cells import ElmanCell

N_IN, N_HIDDEN, N_OUT, BATCH = 3, 5, 4, 2


def _problem(steps: int, output: str, seed: int = 0, scale: float = 0.9):
    params = theory.init_params(N_IN, N_HIDDEN, N_OUT, seed=seed, recurrent_scale=scale)
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((BATCH, steps, N_IN))
    if output == "softmax":
        targets = rng.integers(N_OUT, size=(BATCH, steps))
    else:
        targets = rng.standard_normal((BATCH, steps, N_OUT))
    return params, x, targets


def _keras_rnn(kind: str) -> keras.layers.Layer:
    if kind == "elman":
        return keras.layers.RNN(ElmanCell(N_HIDDEN, dtype="float64"), return_sequences=True,
                                dtype="float64")
    return keras.layers.SimpleRNN(N_HIDDEN, return_sequences=True, dtype="float64")


def _tf_loss(o, targets, output: str):
    """The loss ``theory.loss`` documents, in TensorFlow."""
    if output == "softmax":
        per_step = keras.losses.sparse_categorical_crossentropy(targets, o, from_logits=True)
        return tf.reduce_sum(per_step) / BATCH
    return 0.5 * tf.reduce_sum((o - targets) ** 2) / BATCH


def test_theory_imports_no_tensorflow():
    code = "import sys, rnnapps.theory; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("kind", ["elman", "simple_rnn"])
@pytest.mark.parametrize("steps", [1, 7, 30])
def test_forward_equals_keras_layers(kind, steps):
    params, x, _ = _problem(steps, "identity")
    layer = _keras_rnn(kind)
    layer.build((None, None, N_IN))
    layer.set_weights([params.W_xh, params.W_hh, params.b_h])
    np.testing.assert_allclose(theory.forward(params, x).h, layer(x).numpy(),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("output", ["identity", "softmax"])
@pytest.mark.parametrize("steps", [1, 5, 20])
def test_bptt_equals_gradient_tape_through_elman_cell(output, steps):
    """Every parameter, every dL/dh_t (via zero taps added to h_t) and dL/dx_t."""
    params, x, targets = _problem(steps, output)
    fwd = theory.forward(params, x, output=output)
    value, d_o = theory.loss(fwd, targets, output)
    grads = theory.bptt(params, fwd, d_o)

    cell = ElmanCell(N_HIDDEN, dtype="float64")
    cell.build((None, N_IN))
    cell.set_weights([params.W_xh, params.W_hh, params.b_h])
    W_hy, b_y = tf.Variable(params.W_hy), tf.Variable(params.b_y)
    xs = tf.constant(x)
    taps = [tf.zeros((BATCH, N_HIDDEN), tf.float64) for _ in range(steps)]
    with tf.GradientTape() as tape:
        tape.watch([xs, *taps])
        h, hs = tf.zeros((BATCH, N_HIDDEN), tf.float64), []
        for t in range(steps):
            h = cell(xs[:, t], [h])[0] + taps[t]
            hs.append(h)
        loss = _tf_loss(tf.stack(hs, axis=1) @ W_hy + b_y, targets, output)
    expected = tape.gradient(loss, [cell.kernel, cell.recurrent_kernel, cell.bias, W_hy, b_y,
                                    xs, taps])

    assert value == pytest.approx(float(loss), rel=1e-12)
    for name, want in zip(theory.RNNParams.NAMES, expected[:5]):
        np.testing.assert_allclose(getattr(grads.params, name), want.numpy(),
                                   rtol=1e-9, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(grads.x, expected[5].numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(grads.h, tf.stack(expected[6], axis=1).numpy(),
                               rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("steps", [3, 12])
def test_bptt_equals_gradient_tape_through_keras_simple_rnn(steps):
    params, x, targets = _problem(steps, "identity", seed=3)
    grads = theory.bptt(params, fwd := theory.forward(params, x),
                        theory.loss(fwd, targets)[1])
    rnn = _keras_rnn("simple_rnn")
    head = keras.layers.Dense(N_OUT, dtype="float64")
    rnn.build((None, None, N_IN))
    head.build((None, N_HIDDEN))
    rnn.set_weights([params.W_xh, params.W_hh, params.b_h])
    head.set_weights([params.W_hy, params.b_y])
    with tf.GradientTape() as tape:
        loss = _tf_loss(head(rnn(x)), targets, "identity")
    expected = tape.gradient(loss, rnn.trainable_variables + head.trainable_variables)
    for name, want in zip(theory.RNNParams.NAMES, expected):
        np.testing.assert_allclose(getattr(grads.params, name), want.numpy(),
                                   rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("output", ["identity", "softmax"])
def test_bptt_equals_finite_differences(output):
    params, x, targets = _problem(6, output, seed=5)
    fwd = theory.forward(params, x, output=output)
    grads = theory.bptt(params, fwd, theory.loss(fwd, targets, output)[1])
    numerical = theory.numerical_gradients(params, x, targets, output)
    for name in theory.RNNParams.NAMES:
        np.testing.assert_allclose(getattr(grads.params, name), getattr(numerical, name),
                                   rtol=1e-6, atol=1e-8, err_msg=name)


def test_gradient_vanishes_geometrically_below_the_bound():
    """With a last-step loss, ||dL/dh_{T-k}|| <= ||dL/dh_T|| * sigma_max(W_hh)^k."""
    params, x, targets = _problem(40, "identity", scale=0.5)
    fwd = theory.forward(params, x)
    d_o = np.zeros_like(fwd.o)
    d_o[:, -1] = theory.loss(fwd, targets)[1][:, -1]
    norms = theory.gradient_norms_by_distance(theory.bptt(params, fwd, d_o))
    bound = norms[0] * 0.5 ** np.arange(len(norms))
    assert np.all(norms <= bound * (1 + 1e-9))
    assert np.all(np.diff(norms) < 0)


def test_forward_rejects_bad_arguments():
    params, x, _ = _problem(2, "identity")
    with pytest.raises(ValueError, match="output must be one of"):
        theory.forward(params, x, output="sigmoid")
    with pytest.raises(ValueError, match=r"\[batch, time, features\]"):
        theory.forward(params, x[0])
