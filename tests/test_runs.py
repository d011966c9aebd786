"""What every task's train shares: reproducibility from one seed."""

import json

import numpy as np
import pytest

from rnnapps.tasks import regression
from rnnapps.tasks.base import WEIGHTS, Experiment, make_trainer
from rnnapps.tasks.regression import RegressionConfig
from rnnapps.training import Epochs


def test_the_same_seed_gives_the_same_run_twice(tmp_path):
    config = RegressionConfig().replace(signal_length=400, epochs=2, units=8, dropout=0.1,
                                        seed=7)
    results = [regression.train(config, run_dir=tmp_path / f"run{i}", export_dir=None,
                                verbose=0) for i in (1, 2)]
    histories = [json.loads((tmp_path / f"run{i}" / "history.json").read_text())
                 for i in (1, 2)]
    assert histories[0] == histories[1]
    assert results[0].metrics["test"] == results[1].metrics["test"]
    models = [regression.build_model(config, 1) for _ in (1, 2)]
    for i, model in enumerate(models, start=1):
        model.load_weights(tmp_path / f"run{i}" / WEIGHTS)
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_array_equal(a, b)

    other = regression.train(config.replace(seed=8), run_dir=tmp_path / "run3",
                             export_dir=None, verbose=0)
    assert other.metrics["test"] != results[0].metrics["test"]  # the seed matters


def test_cosine_schedule_decays_to_zero_over_the_runs_steps():
    import keras
    import tensorflow as tf

    from rnnapps.errors import UsageError

    config = RegressionConfig().replace(learning_rate=0.01, epochs=4, lr_schedule="cosine")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    data = tf.data.Dataset.from_tensor_slices((np.zeros((50, 3)), np.zeros(50))).batch(10)
    def experiment(train_data):
        return Experiment(model, keras.losses.MeanSquaredError(), [], train_data)

    trainer = make_trainer(config, experiment(Epochs.of(data)))
    rates = []
    for step in (0, 10, 20):  # 5 steps per epoch, 4 epochs
        trainer.optimizer.iterations.assign(step)
        rates.append(float(trainer.optimizer.learning_rate))
    assert rates == pytest.approx([0.01, 0.005, 0.0])
    constant = make_trainer(config.replace(lr_schedule="constant"), experiment(Epochs.of(data)))
    assert float(constant.optimizer.learning_rate) == pytest.approx(0.01)
    with pytest.raises(UsageError, match="known length"):
        make_trainer(config, experiment(Epochs.of(data.repeat())))


def test_a_run_killed_mid_epoch_resumes_to_the_same_result(tmp_path):
    """SIGKILL a real training process, resume it, and compare with a run
    that was never interrupted: the same history and the same weights."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from conftest import run_cli

    args = ["regression", "train", "--epochs", "3", "--batch-size", "16", "--units", "16",
            "--dropout", "0.1", "--checkpoint-every", "5", "--seed", "3", "--no-export",
            "--quiet", "--patience", "none", "--lr-schedule", "cosine"]
    straight = run_cli(*args, "--run-dir", "straight", cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr[-2000:]

    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "rnnapps", *args, "--run-dir", str(killed)],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (killed / "checkpoints" / "checkpoint").exists():  # a mid-epoch checkpoint
            assert proc.poll() is None and time.monotonic() < deadline, "no checkpoint came"
            time.sleep(0.05)
        time.sleep(0.3)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not (killed / "metrics.json").exists()  # it really died before the end

    resumed = run_cli(*args, "--run-dir", str(killed), "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    history = [json.loads((tmp_path / d / "history.json").read_text()) for d in ("straight",
                                                                                 "killed")]
    assert [row["epoch"] for row in history[1]] == [1, 2, 3]
    for a, b in zip(*history):
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-6), key
    config = RegressionConfig.load(killed / "config.json")
    models = [regression.build_model(config, 1) for _ in range(2)]
    for model, d in zip(models, ("straight", "killed")):
        model.load_weights(tmp_path / d / WEIGHTS)
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_ctrl_c_on_the_command_line_says_how_to_resume(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    run = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rnnapps", "regression", "train", "--epochs", "50",
         "--batch-size", "16", "--units", "16", "--checkpoint-every", "5", "--no-export",
         "--quiet", "--run-dir", str(run)],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (run / "checkpoints" / "checkpoint").exists():
            assert proc.poll() is None and time.monotonic() < deadline, "no checkpoint came"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    line = err.strip().splitlines()[-1]
    assert line.startswith("rnnapps: interrupted in epoch ")
    assert line.endswith(f"rnnapps regression train --run-dir {run} --resume")


def test_a_diverging_run_stops_with_exit_1_and_exports_nothing(tmp_path, monkeypatch, capsys):
    from rnnapps import cli

    monkeypatch.chdir(tmp_path)
    code = cli.main(["regression", "train", "--learning-rate", "1e30", "--epochs", "3",
                     "--signal-length", "500", "--quiet", "--run-dir", "run"])
    err = capsys.readouterr().err
    assert code == 1
    assert "training diverged: the loss is not finite at epoch 1, step " in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "saved_models").exists()
    assert not (tmp_path / "run" / "metrics.json").exists()
