"""tf.distribute: the same run on two replicas, and on two worker processes,
as on one device."""

import json
import os
import re
import subprocess
import sys
import time

import pytest

from conftest import run_cli
from rnnapps.distribute import local_cluster

ARGS = ["regression", "train", "--signal-length", "600", "--epochs", "2", "--units", "16",
        "--quiet", "--no-export", "--seed", "5"]


@pytest.fixture(scope="module")
def one_device(tmp_path_factory):
    work = tmp_path_factory.mktemp("one")
    proc = run_cli(*ARGS, "--run-dir", "run", cwd=work)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # --quiet keeps the device line, then only the results.
    assert re.fullmatch(r"device: (CPU \(\d+ cores?\)|\d+ GPUs? \(.+\)) · strategy: default",
                        proc.stdout.splitlines()[0])
    assert proc.stdout.splitlines()[1] == "test:"
    return json.loads((work / "run" / "history.json").read_text())


def _same_trajectory(history, reference):
    assert [row["epoch"] for row in history] == [row["epoch"] for row in reference]
    for row, ref in zip(history, reference):
        for key in ("loss", "val_loss", "mae", "val_mae"):
            assert row[key] == pytest.approx(ref[key], rel=1e-4), key


def test_mirrored_over_two_logical_cpus_matches_one_device(one_device, tmp_path):
    env = {**os.environ, "RNNAPPS_CPU_DEVICES": "2"}
    proc = subprocess.run([sys.executable, "-m", "rnnapps", *ARGS, "--strategy", "mirrored",
                           "--run-dir", "run"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert re.fullmatch(r"device: CPU \(\d+ cores?, 2 logical devices\) · strategy: mirrored "
                        r"\(2 replicas\)", proc.stdout.splitlines()[0])
    _same_trajectory(json.loads((tmp_path / "run" / "history.json").read_text()), one_device)


def test_two_worker_processes_match_one_device(one_device, tmp_path):
    procs = []
    try:
        for tf_config in local_cluster(2):
            env = {**os.environ, "TF_CONFIG": json.dumps(tf_config)}
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "rnnapps", *ARGS, "--strategy", "multiworker",
                 "--run-dir", "run"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, text=True))
        deadline = time.monotonic() + 240
        for proc in procs:
            _, err = proc.communicate(timeout=max(1, deadline - time.monotonic()))
            assert proc.returncode == 0, err[-2000:]
    finally:
        for proc in procs:  # never leave a worker behind, whatever happened
            proc.kill()
            proc.wait(timeout=30)
    run = tmp_path / "run"
    _same_trajectory(json.loads((run / "history.json").read_text()), one_device)
    assert (run / "metrics.json").exists()  # the chief (worker 0) wrote the run
    worker = run / ".worker-1"
    assert (worker / "checkpoints" / "checkpoint").exists()  # worker 1 only its scratch


def test_a_killed_worker_and_a_restart_with_resume_end_as_one_device(tmp_path):
    import signal

    args = ["regression", "train", "--signal-length", "800", "--epochs", "2",
            "--batch-size", "16", "--units", "8", "--checkpoint-every", "3", "--quiet",
            "--no-export", "--patience", "none", "--seed", "2"]
    reference = run_cli(*args, "--run-dir", "one", cwd=tmp_path)
    assert reference.returncode == 0, reference.stderr[-2000:]

    def start_cluster(*extra):
        return [subprocess.Popen(
            [sys.executable, "-m", "rnnapps", *args, "--strategy", "multiworker",
             "--run-dir", "run", *extra], cwd=tmp_path, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
            env={**os.environ, "TF_CONFIG": json.dumps(tf_config)})
            for tf_config in local_cluster(2)]

    procs = start_cluster()
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "run" / ".worker-1" / "checkpoints" / "checkpoint").exists():
            assert time.monotonic() < deadline and procs[1].poll() is None, "no checkpoint"
            time.sleep(0.05)
        procs[1].send_signal(signal.SIGKILL)  # worker 1 dies mid-run...
        time.sleep(2)
        # ...and the chief cannot finish without it: it waits, or (timing-dependent) its
        # next collective fails and it exits with an error.
        assert procs[0].poll() in (None, 1)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=30)
    assert not (tmp_path / "run" / "metrics.json").exists()

    procs = start_cluster("--resume")
    try:
        deadline = time.monotonic() + 240
        for proc in procs:
            _, err = proc.communicate(timeout=max(1, deadline - time.monotonic()))
            assert proc.returncode == 0, err[-2000:]
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=30)
    _same_trajectory(json.loads((tmp_path / "run" / "history.json").read_text()),
                     json.loads((tmp_path / "one" / "history.json").read_text()))
