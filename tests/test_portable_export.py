"""Exports run anywhere: no cuDNN-only op in any exported graph.

Keras traces LSTM and GRU as ``CudnnRNNV3`` when it sees a GPU, and that op
has no CPU kernel. These tests make Keras believe a GPU is there while it
traces (``_is_gpu_available``, the one check its cuDNN path makes), prove
that this puts ``CudnnRNNV3`` into a plain trace, and then check that every
task's export (traced the same way) holds none. On a machine with a GPU, a
last test trains there and serves the export in a process that sees no GPU.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from rnnapps import registry
from rnnapps.export import export_saved_model
from rnnapps.testing import tiny_configs

# Keras's TensorFlow RNN module (the package re-exports its ``rnn`` function
# under the same name, so it is imported by its full name).
tf_rnn = importlib.import_module("keras.src.backend.tensorflow.rnn")


def graph_ops(model_dir: str | Path) -> set[str]:
    """Every op type in a SavedModel: its graph and all its functions."""
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((Path(model_dir) / "saved_model.pb").read_bytes())
    ops = set()
    for meta in proto.meta_graphs:
        ops.update(node.op for node in meta.graph_def.node)
        for function in meta.graph_def.library.function:
            ops.update(node.op for node in function.node_def)
    return ops


@pytest.fixture
def gpu_trace(monkeypatch):
    """Keras traces as if a GPU were visible (the graph is built, never run)."""
    monkeypatch.setattr(tf_rnn, "_is_gpu_available", lambda: True)


def _recurrent_model() -> keras.Model:
    layers = keras.layers
    return keras.Sequential([keras.Input((None, 4)),
                             layers.Bidirectional(layers.LSTM(8, return_sequences=True)),
                             layers.GRU(8), layers.Dense(1)])


def test_a_gpu_trace_puts_cudnn_ops_in_the_graph_and_the_export_keeps_none(gpu_trace,
                                                                           tmp_path):
    model = _recurrent_model()
    spec = tf.TensorSpec([None, 5, 4], tf.float32)
    plain = tf.function(lambda x: model(x)).get_concrete_function(spec)
    traced = {node.op for node in plain.graph.as_graph_def().node} | {
        node.op for f in plain.graph.as_graph_def().library.function for node in f.node_def}
    assert "CudnnRNNV3" in traced  # the emulated GPU trace is what a GPU would give
    out = export_saved_model(tmp_path, resources=[model], files={}, endpoints=[
        ("serve", tf.function(lambda x: {"y": model(x)}), [spec])])
    assert not {op for op in graph_ops(out) if op.startswith("Cudnn")}
    assert {layer.use_cudnn for layer in model._flatten_layers() if hasattr(
        layer, "use_cudnn")} == {"auto"}  # restored: training keeps cuDNN


@pytest.mark.parametrize("task", ["sentiment", "classify", "textgen", "regression"])
def test_every_task_exports_portable_kernels_when_a_gpu_traces_it(task, tmp_path, monkeypatch):
    config = tiny_configs(tmp_path)[task]
    runner = registry.get_task(task)
    run = runner.train(config, run_dir=tmp_path / "run", export_dir=None, verbose=0)
    monkeypatch.setattr(tf_rnn, "_is_gpu_available", lambda: True)  # export only
    out = runner.export(run.run_dir, tmp_path / "saved")
    ops = graph_ops(out)
    assert "While" in ops or "StatelessWhile" in ops  # the portable recurrent loop
    assert not {op for op in ops if op.startswith("Cudnn")}, task


@pytest.mark.skipif(not tf.config.list_physical_devices("GPU"), reason="needs a GPU")
def test_a_model_trained_on_a_gpu_serves_on_a_cpu(tmp_path):
    config = tiny_configs(tmp_path)["sentiment"]
    runner = registry.get_task("sentiment")
    run = runner.train(config, run_dir=tmp_path / "run", export_dir=tmp_path / "saved",
                       verbose=0)
    texts = ["a wonderful moving film", "a dull and pointless plot", "!!!"]
    on_gpu = tf.saved_model.load(str(run.export)).signatures["serving_default"](
        tf.constant(texts))
    expected = {k: v.numpy().tolist() for k, v in on_gpu.items()}
    code = textwrap.dedent(f"""
        import json, tensorflow as tf
        assert not tf.config.list_physical_devices("GPU")
        out = tf.saved_model.load({str(run.export)!r}).signatures["serving_default"](
            tf.constant({texts!r}))
        print(json.dumps({{k: v.numpy().tolist() for k, v in out.items()}}))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert proc.returncode == 0, proc.stderr[-3000:]
    served = json.loads(proc.stdout.strip().splitlines()[-1])
    for key, value in expected.items():
        np.testing.assert_allclose(served[key], value, rtol=1e-4, atol=1e-5)
