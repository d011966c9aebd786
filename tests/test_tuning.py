"""keras-tuner searches through the shared loop: results, resume, failed trials."""

import json
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnapps import cli
from rnnapps.config import Choice
from rnnapps.errors import UsageError
from rnnapps.tasks.base import Experiment
from rnnapps.tasks.regression import RegressionConfig
from rnnapps.tasks.sentiment import SentimentConfig
from rnnapps.training import Epochs
from rnnapps.tuning import format_table, tune

TINY = dict(units=8, layers=1, embedding_dim=8, max_tokens=60, seq_length=16, batch_size=16)


@pytest.fixture(scope="module")
def sentiment_search(imdb_archive, tmp_path_factory):
    """A real two-trial random search on the tiny IMDB archive."""
    directory = tmp_path_factory.mktemp("tune") / "sentiment"
    base = SentimentConfig().replace(data=str(imdb_archive), **TINY)
    small = type("SmallSentiment", (SentimentConfig,), {
        "search_space": {"cell": Choice(("gru", "elman")), "units": Choice((4, 8))}})
    base = small(data=base.data, model=base.model, train=base.train)
    result = tune("sentiment", base, tuner="random", max_trials=2, max_epochs=1,
                  directory=directory, verbose=0)
    return directory, base, result


def test_search_writes_best_config_and_trial_table(sentiment_search):
    directory, _, result = sentiment_search
    trials = json.loads((directory / "trials.json").read_text())
    assert len(trials) == 2 and all(t["status"] == "COMPLETED" for t in trials)
    assert {"cell", "units"} <= set(trials[0]["values"])
    best = SentimentConfig.load(directory / "best_config.json")
    assert result["best"]["score"] == max(t["score"] for t in trials)
    assert (best.model.cell, best.model.units) == (result["best"]["values"]["cell"],
                                                   result["best"]["values"]["units"])
    table = format_table(trials, "val_accuracy").splitlines()
    assert table[0].split()[:3] == ["trial", "status", "val_accuracy"] and len(table) == 3


def test_train_from_the_best_config(sentiment_search, tmp_path, monkeypatch):
    directory, _, _ = sentiment_search
    monkeypatch.chdir(tmp_path)
    code = cli.main(["sentiment", "train", "--config", str(directory / "best_config.json"),
                     "--epochs", "1", "--quiet", "--run-dir", "run"])
    assert code == 0
    trained = SentimentConfig.load(tmp_path / "run" / "config.json")
    assert trained == SentimentConfig.load(directory / "best_config.json").replace(epochs=1)
    assert (tmp_path / "saved_models" / "sentiment" / "1" / "saved_model.pb").exists()


def test_a_rerun_resumes_the_search(sentiment_search, capsys):
    directory, base, first = sentiment_search
    again = tune("sentiment", base, tuner="random", max_trials=3, max_epochs=1,
                 directory=directory, verbose=0)
    assert capsys.readouterr().out == ""  # not even keras-tuner's "Reloading Tuner from"
    assert len(again["trials"]) == 3  # one new trial; the first two were kept
    for old, new in zip(first["trials"], again["trials"]):
        assert old["score"] == new["score"] and old["values"] == new["values"]


def _diverging_task():
    """A tiny real regression task whose targets are NaN when units == 3."""
    def experiment(config, raw):
        x, y = raw
        y = np.full_like(y, np.nan) if config.model.units == 3 else y
        ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
        model = keras.Sequential([keras.Input((4, 1)), keras.layers.SimpleRNN(config.model.units),
                                  keras.layers.Dense(1)])
        return Experiment(model, keras.losses.MeanSquaredError(), [], Epochs.of(ds), ds)

    x = np.random.default_rng(0).normal(size=(64, 4, 1)).astype("float32")
    return types.SimpleNamespace(load=lambda config, verbose=1: (x, x.sum(axis=1)),
                                 experiment=experiment)


def test_a_failing_trial_is_recorded_and_the_search_goes_on(tmp_path):
    space = type("Space", (RegressionConfig,), {"search_space": {"units": Choice((3, 5))}})
    result = tune(_diverging_task(), space(), tuner="random", max_trials=2, max_epochs=1,
                  directory=tmp_path / "search", verbose=0)
    status = {t["values"]["units"]: t["status"] for t in result["trials"]}
    assert status == {3: "FAILED", 5: "COMPLETED"}
    assert RegressionConfig.load(tmp_path / "search" / "best_config.json").model.units == 5


def test_trials_train_under_the_configs_strategy(tmp_path):
    task, seen = _diverging_task(), []
    build = task.experiment

    def experiment(config, raw):
        seen.append(tf.distribute.get_strategy())
        return build(config, raw)

    task.experiment = experiment
    space = type("Space", (RegressionConfig,), {"search_space": {"units": Choice((5,))}})
    result = tune(task, space().replace(strategy="mirrored"), tuner="random", max_trials=1,
                  max_epochs=1, directory=tmp_path / "search", verbose=0)
    assert [t["status"] for t in result["trials"]] == ["COMPLETED"]
    assert seen and all(isinstance(s, tf.distribute.MirroredStrategy) for s in seen)
    with pytest.raises(UsageError, match="--strategy must be one of default, mirrored"):
        tune(task, space().replace(strategy="multiworker"), directory=tmp_path / "no")
    assert not (tmp_path / "no").exists()


def test_tune_option_errors(capsys):
    assert cli.main(["sentiment", "tune", "--max-trials", "0"]) == 2
    assert "max_trials must be >= 1, got 0" in capsys.readouterr().err
    assert cli.main(["sentiment", "tune", "--objective", "accuracy"]) == 2
    assert "objective must be a validation metric" in capsys.readouterr().err


def _quiet_output(out: str) -> list[str]:
    """The lines a ``--quiet`` command printed, checked: the device line first,
    then results only (no progress bars, trial banners or notes)."""
    lines = out.splitlines()
    assert lines[0].startswith("device: ") and " · strategy: default" in lines[0], lines[0]
    for banned in ("Epoch", "\r", "━", "Trial", "Search", "Reloading"):
        assert banned not in out, banned
    return lines[1:]


def test_regression_search_and_train_from_its_best_config(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["regression", "tune", "--tuner", "bayesian", "--max-trials", "2",
                     "--max-epochs", "1", "--signal-length", "300", "--quiet"]) == 0
    assert _quiet_output(capsys.readouterr().out)[0] == "best:"
    best = tmp_path / "tuning" / "regression" / "best_config.json"
    assert len(json.loads(best.with_name("trials.json").read_text())) == 2
    assert cli.main(["regression", "train", "--config", str(best), "--epochs", "1", "--quiet",
                     "--no-export", "--run-dir", "run"]) == 0
    assert _quiet_output(capsys.readouterr().out)[0] == "test:"
    assert (tmp_path / "run" / "metrics.json").exists()


def test_textgen_search_and_train_from_its_best_config(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog. " * 100, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["textgen", "tune", "--tuner", "random", "--max-trials", "2",
                     "--max-epochs", "1", "--corpus", str(corpus), "--quiet"]) == 0
    best = tmp_path / "tuning" / "textgen" / "best_config.json"
    assert cli.main(["textgen", "train", "--config", str(best), "--epochs", "1", "--quiet",
                     "--no-export", "--run-dir", "run"]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["test"]["bits_per_char"] > 0


SEARCH = ["regression", "tune", "--tuner", "random", "--max-trials", "3", "--max-epochs", "2",
          "--signal-length", "400", "--window", "12", "--batch-size", "16", "--seed", "5",
          "--quiet"]


def _rnnapps(*args, env=None, cwd=None):
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-m", "rnnapps", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_a_search_killed_mid_trial_resumes_to_the_uninterrupted_result(tmp_path):
    """SIGKILL a real search while its second trial trains, rerun the command:
    the first trial is kept as it was, the second runs again, and the search
    ends where one never interrupted (same seed) ends."""
    import os
    import signal
    import time

    from conftest import run_cli

    straight = run_cli(*SEARCH, "--directory", "straight", cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr[-2000:]

    search = tmp_path / "killed" / "search"
    proc = _rnnapps(*SEARCH, "--directory", "killed", cwd=tmp_path)
    try:
        deadline = time.monotonic() + 180
        while not (search / "trial_1" / "trial.json").exists():  # the second trial began
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    first = json.loads((search / "trial_0" / "trial.json").read_text())
    assert first["status"] == "COMPLETED"
    assert json.loads((search / "trial_1" / "trial.json").read_text())["status"] == "RUNNING"
    assert not (tmp_path / "killed" / "best_config.json").exists()

    resumed = run_cli(*SEARCH, "--directory", "killed", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    trials = {d: json.loads((tmp_path / d / "trials.json").read_text())
              for d in ("straight", "killed")}
    assert [t["status"] for t in trials["killed"]] == ["COMPLETED"] * 3
    assert trials["killed"][0]["score"] == first["score"]  # kept, not trained again
    for a, b in zip(trials["straight"], trials["killed"]):
        assert a["values"] == b["values"] and a["score"] == pytest.approx(b["score"], rel=1e-6)
    assert (json.loads((tmp_path / "straight" / "best_config.json").read_text())
            == json.loads((tmp_path / "killed" / "best_config.json").read_text()))


@pytest.mark.slow
def test_a_chief_and_two_workers_share_one_search(tmp_path):
    """keras-tuner's chief/worker mode on 127.0.0.1: two workers (started first:
    they wait for the chief) train the trials of one search the chief runs."""
    import os
    import re
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "KERASTUNER_ORACLE_IP": "127.0.0.1",
           "KERASTUNER_ORACLE_PORT": str(port)}
    args = [*SEARCH, "--max-trials", "4", "--directory", "shared", "--distributed"]
    workers = [_rnnapps(*args, env={**env, "KERASTUNER_TUNER_ID": f"tuner{i}"}, cwd=tmp_path)
               for i in range(2)]
    chief = _rnnapps(*args, env={**env, "KERASTUNER_TUNER_ID": "chief"}, cwd=tmp_path)
    try:
        outputs = [proc.communicate(timeout=300) for proc in (chief, *workers)]
    finally:
        for proc in (chief, *workers):
            proc.kill()
    for proc, (_, err) in zip((chief, *workers), outputs):
        assert proc.returncode == 0, err[-2000:]
    trials = json.loads((tmp_path / "shared" / "trials.json").read_text())
    assert len(trials) == 4 and {t["status"] for t in trials} == {"COMPLETED"}
    ran = [int(re.search(r"trials run: (\d+)", out).group(1)) for out, _ in outputs[1:]]
    assert sum(ran) == 4 and min(ran) >= 1, ran  # both workers took part
    best = min(trials, key=lambda t: t["score"])
    assert f"trial: {best['trial']}" in outputs[0][0]  # the chief reports the best trial
