"""Shared fixtures: tiny datasets in the real on-disk formats, and helpers
that run the real command line or a TensorFlow-only interpreter."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import settings

from rnnapps import testing

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# CI replays the same examples every run (a failure there is reproducible);
# elsewhere hypothesis explores new ones.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]


def pytest_addoption(parser):
    parser.addoption("--screenshots", metavar="DIR", default=None,
                     help="save the serve page tests' screenshots into DIR")

SHARED_DATA = REPO.parent / "shared" / "data"

POSITIVE = ["a wonderful moving film", "brilliant acting and a superb story",
            "great fun, I loved it", "excellent, beautiful and touching"]
NEGATIVE = ["a terrible boring mess", "awful acting and a dreadful plot",
            "the worst film, a waste of time", "bad, dull and stupid"]


def write_imdb_archive(path: Path, per_label: int = 24, splits=("train", "test"),
                       labels=("pos", "neg"), test_word: str = "zebra",
                       unlabelled: bool = True) -> Path:
    """Writes an ``aclImdb_v1.tar.gz`` in the published layout, with an
    unlabelled ``train/unsup`` folder and url files as the real one has.
    Test reviews end with ``test_word``, which no training review contains."""
    def review(split, label, i, rng):
        phrases = POSITIVE if label == "pos" else NEGATIVE
        text = f"{phrases[i % 4]}.<br /><br />{phrases[(i + 1) % 4]}!"
        return text + (f" {test_word}" if split == "test" else "")

    return testing.write_imdb_archive(path, review, per_label, splits=splits, labels=labels,
                                      unlabelled=int(unlabelled))


@pytest.fixture(scope="session")
def imdb_archive(tmp_path_factory) -> Path:
    """A tiny ``aclImdb_v1.tar.gz`` (24 reviews per label and split)."""
    return write_imdb_archive(tmp_path_factory.mktemp("imdb") / "aclImdb_v1.tar.gz")


def run_cli(*args: str, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Runs ``python -m rnnapps ARGS`` in a subprocess, as a user would."""
    return subprocess.run([sys.executable, "-m", "rnnapps", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def run_tensorflow_only(code: str, timeout: int = 120):
    """Runs ``code`` in a fresh interpreter where ``import rnnapps`` fails,
    and returns the JSON it prints on its last line of stdout."""
    prelude = "import sys\nsys.modules['rnnapps'] = None  # rnnapps must not be needed\n"
    proc = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def no_network(monkeypatch) -> str:
    """Cuts this process and its children off the network, as requests and
    urllib see it: every proxy variable names a local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(name, url)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return url


@pytest.fixture(scope="session")
def served_exports(tmp_path_factory, pytestconfig) -> dict[str, Path]:
    """One tiny export per task (``rnnapps.testing.tiny_configs``), for the
    server's tests: task name -> the base directory of its versions. With
    ``--screenshots`` they train for 40 epochs at a learning rate of 0.01,
    keeping the epoch of the best validation loss (not the first of the
    best accuracy), so that the pictures show confident answers."""
    from rnnapps import registry
    from rnnapps.testing import tiny_configs

    root = tmp_path_factory.mktemp("served")
    longer = {"epochs": 40, "patience": 40, "learning_rate": 0.01, "monitor": "val_loss"
              } if pytestconfig.getoption("--screenshots") else {}
    for task, config in tiny_configs(root).items():
        registry.get_task(task).train(config.replace(**longer),
                                      run_dir=root / "runs" / task,
                                      export_dir=root / "models", verbose=0)
    return {task: root / "models" / task for task in registry.TASKS}
