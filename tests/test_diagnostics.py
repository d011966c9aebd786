"""Gradient-flow diagnostic and long-range memory task, in process and
through ``rnnapps diagnose``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from conftest import run_cli
from rnnapps import diagnostics, theory
from rnnapps.config import CELLS
from rnnapps.errors import UsageError


def _batch(steps=6, batch=3, seed=0):
    return diagnostics.memory_batch(np.random.default_rng(seed), batch, steps)


@pytest.mark.parametrize("cell", CELLS)
def test_stepping_the_cell_equals_the_layer(cell):
    """The hand-stepped loop computes what the Keras layer computes, gradients included."""
    model = diagnostics.build_model(cell, 8, 4, units=6, dtype="float64")
    x, y = _batch()
    _, weight_grads, logits = diagnostics.hidden_state_gradients(model, x, y)
    np.testing.assert_allclose(logits.numpy(), model(x).numpy(), rtol=1e-10)
    with tf.GradientTape() as tape:
        loss = diagnostics._loss("float64")(y, model(x))
    for got, want in zip(weight_grads, tape.gradient(loss, model.trainable_variables)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-8, atol=1e-12)


def test_hidden_state_gradients_equal_the_numpy_bptt():
    model = diagnostics.build_model("elman", 8, 4, units=6, dtype="float64",
                                    recurrent_scale=0.8)
    x, y = _batch(steps=15, batch=4)
    norms, _, _ = diagnostics.hidden_state_gradients(model, x, y)
    params = theory.RNNParams(*[w.astype(np.float64) for w in model.get_weights()])
    fwd = theory.forward(params, x.astype(np.float64), output="softmax")
    d_o = np.zeros_like(fwd.o)
    d_o[:, -1] = (fwd.y[:, -1] - np.eye(4)[y]) / len(y)  # cross-entropy at the last step
    expected = theory.gradient_norms_by_distance(theory.bptt(params, fwd, d_o))
    np.testing.assert_allclose(norms, expected, rtol=1e-8)


def test_simple_rnn_gradient_decays_monotonically_with_small_recurrent_weights():
    flows = diagnostics.gradient_flow(["simple_rnn"], 60, recurrent_scales=(0.5,),
                                      units=8, batch_size=8)
    norms = np.asarray(flows[0].norms)
    assert np.all(np.diff(norms) < 0)
    assert 0 < flows[0].decay_per_step < 0.5  # ||W_hh|| = 0.5 times tanh' <= 1
    assert norms[-1] > 0  # measured in float64: 1e-20-ish, not underflowed to 0


def test_large_recurrent_weights_explode_and_clipping_caps_the_norm():
    flow, = diagnostics.gradient_flow(["simple_rnn"], 30, recurrent_scales=(2.5,),
                                      units=8, batch_size=8, clip_norm=1.0)
    assert flow.decay_per_step > 1
    assert flow.grad_norm > 10
    assert flow.clipped_norm == pytest.approx(1.0)


def test_decay_per_step_is_the_geometric_mean_ratio():
    assert diagnostics.decay_per_step([8.0, 4.0, 2.0, 1.0]) == pytest.approx(0.5)
    assert diagnostics.decay_per_step([1.0]) == 1.0
    assert diagnostics.decay_per_step([1.0, 0.0]) == 0.0


def test_memory_batch_hides_one_key_among_distractors():
    x, y = diagnostics.memory_batch(np.random.default_rng(0), 50, 9, symbols=3, distractors=2)
    ids = x.argmax(-1)
    assert x.shape == (50, 9, 5) and np.all(x.sum(-1) == 1)
    assert np.all((ids < 3).sum(axis=1) == 1)  # exactly one key per sequence
    assert np.array_equal(ids[ids < 3], y)
    x, y = diagnostics.memory_batch(np.random.default_rng(0), 50, 9, first=True)
    assert np.array_equal(x[:, 0].argmax(-1), y)


def test_memory_experiment_runs_end_to_end():
    rows = diagnostics.memory_experiment(["simple_rnn", "gru"], [5], units=4, epochs=2,
                                         steps_per_epoch=2, batch_size=8, patience=None)
    assert [(r["cell"], r["length"]) for r in rows] == [("simple_rnn", 5), ("gru", 5)]
    for row in rows:
        assert 0 <= row["val_acc"] <= 1 and row["epochs"] == 2 and row["chance"] == 0.25
    assert diagnostics.markdown_table(rows).count("\n") == 3


@pytest.mark.parametrize("call, message", [
    (lambda: diagnostics.gradient_flow(["lstm", "rnn"], 5), "cell must be one of"),
    (lambda: diagnostics.gradient_flow(["lstm"], 0), "length must be a positive"),
    (lambda: diagnostics.gradient_flow(["lstm"], 5, recurrent_scales=(0,)), "recurrent_scale"),
    (lambda: diagnostics.memory_experiment([], [5]), "at least one cell"),
    (lambda: diagnostics.memory_experiment(["gru"], [5, -1]), "length must be a positive"),
])
def test_bad_arguments_raise_usage_errors(call, message):
    with pytest.raises(UsageError, match=message):
        call()


@pytest.mark.slow
def test_cli_gradients_prints_a_table_and_writes_the_plot(tmp_path):
    plot, out = tmp_path / "plots" / "grads.png", tmp_path / "grads.json"
    proc = run_cli("diagnose", "gradients", "--cells", "simple_rnn,lstm", "--length", "12",
                   "--units", "4", "--batch-size", "4", "--recurrent-scale", "0.5,2",
                   "--plot", str(plot), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("| simple_rnn |") == 2 and "decay/step" in proc.stdout
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = json.loads(out.read_text())
    assert len(rows) == 4 and len(rows[0]["norms"]) == 12


@pytest.mark.parametrize("args", [
    ["diagnose", "gradients", "--cells", "simple_rnn,transformer"],
    ["diagnose", "gradients", "--length", "0"],
    ["diagnose", "gradients", "--recurrent-scale", "1,x"],
    ["diagnose", "memory", "--lengths", "10,-5"],
    ["diagnose", "memory", "--cells", ""],
])
def test_cli_usage_errors_exit_2_with_one_line(args):
    proc = run_cli(*args, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1
