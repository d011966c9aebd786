"""Mixed precision: each precision trains like float32, float16's loss scaling,
float32 exports from a bfloat16 run, and the fall-back where a device lacks one."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import run_tensorflow_only
from rnnapps import precision, registry
from rnnapps.errors import UsageError
from rnnapps.tasks.regression import RegressionConfig
from rnnapps.tasks.textgen import TextgenConfig
from rnnapps.tasks.textgen.serving import generate_samples
from rnnapps.testing import write_tiny_corpus
from rnnapps.training import Epochs, Trainer

TINY = dict(signal_length=400, window=12, epochs=2, units=16, batch_size=32, cell="gru")


@pytest.fixture
def any_precision(monkeypatch):
    """Runs every precision as asked, native or emulated (this CPU may lack one)."""
    monkeypatch.setattr(precision, "unsupported", lambda name: None)


def _train(config, tmp_path, name):
    return registry.get_task(config.task).train(config, run_dir=tmp_path / name,
                                                export_dir=tmp_path / "models", verbose=0)


def test_each_precision_trains_about_as_float32_does(any_precision, tmp_path):
    losses = {}
    for name in precision.PRECISIONS:
        run = _train(RegressionConfig().replace(**TINY, precision=name), tmp_path, name)
        assert json.loads((run.run_dir / "config.json").read_text())["train"]["precision"] == name
        losses[name] = run.metrics["test"]["model"]["mae"]
    for name in ("mixed_bfloat16", "mixed_float16"):
        assert losses[name] == pytest.approx(losses["float32"], rel=0.15), losses


def test_loss_scaling_keeps_float16_gradients_that_would_flush_to_zero():
    class TinyLoss(keras.losses.Loss):
        def call(self, y, p):  # gradients ~1e-9: below float16's smallest number (6e-8)
            return 1e-9 * keras.ops.square(keras.ops.cast(p, "float32") - y)

    data = tf.data.Dataset.from_tensor_slices((np.ones((8, 4), np.float32),
                                               np.full((8, 1), 5.0, np.float32))).batch(8)
    moved = {}
    for scaled in (False, True):
        with precision.policy("mixed_float16"):
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        before = model.layers[0].kernel.numpy().copy()
        optimizer = keras.optimizers.Adam(0.01)
        if scaled:
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        Trainer(model, TinyLoss(), optimizer, []).fit(Epochs.of(data), epochs=1, monitor="loss",
                                                       verbose=0)
        moved[scaled] = float(np.abs(model.layers[0].kernel.numpy() - before).max())
    assert moved[False] == 0.0  # every gradient underflowed: Adam did not move
    assert moved[True] > 1e-6  # scaled, then unscaled in float32: a real (Adam) step


def test_exports_of_a_bfloat16_run_serve_float32(any_precision, tmp_path):
    run = _train(RegressionConfig().replace(**TINY, precision="mixed_bfloat16",
                                            quantiles="0.1,0.5,0.9"), tmp_path, "bf16")
    out = run_tensorflow_only(f"""
        import json, tensorflow as tf
        model = tf.saved_model.load({json.dumps(str(run.export))})
        got = model.signatures["serving_default"](values=tf.zeros([2, 12, 1]))
        print(json.dumps({{k: [v.dtype.name, list(v.shape)] for k, v in got.items()}}))
    """)
    assert out == {"forecast": ["float32", [2, 1]], "quantiles": ["float32", [2, 1, 3]]}
    corpus = write_tiny_corpus(tmp_path / "corpus.txt")
    text = _train(TextgenConfig().replace(corpus=str(corpus), epochs=1, seq_length=20,
                                          units=16, embedding_dim=8, cell="lstm",
                                          precision="mixed_bfloat16"), tmp_path, "text")
    # the export's generation loops carry the states in float32
    samples = generate_samples(text.export, ["Shall I"], 40, num_samples=2, seed=1)
    assert [len(s) for s in samples[0]] == [40, 40]


@pytest.mark.skipif(bool(tf.config.list_physical_devices("GPU")), reason="a CPU check")
def test_a_device_without_the_precision_falls_back_to_float32(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "fma"})
    run = registry.get_task("regression").train(
        RegressionConfig().replace(**TINY, precision="mixed_bfloat16"), run_dir=tmp_path / "r",
        export_dir=None, verbose=1)
    assert run.config.train.precision == "float32"
    assert ("mixed_bfloat16 needs a CPU with avx512_bf16 or amx_bf16 instructions, and this "
            "one has neither: training in float32 instead") in capsys.readouterr().out


def test_float16_with_gradient_clipping_is_refused():
    with pytest.raises(UsageError, match="--clip-norm does not combine"):
        precision.check(RegressionConfig().replace(precision="mixed_float16",
                                                   clip_norm=1.0).train)
