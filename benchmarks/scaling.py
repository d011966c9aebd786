"""Scaling of one training run across tf.distribute strategies on this machine.

    python benchmarks/scaling.py [--task regression] [--epochs 3] [-- extra train options]

Runs the same ``rnnapps <task> train`` three ways -- one device, ``mirrored`` over two
logical CPU devices, and ``multiworker`` as two processes on 127.0.0.1 -- with the same
global batch, and reports each one's training time (from its ``metrics.json``), its
final loss and the speed relative to one device. Writes
``benchmarks/results/scaling.json``. On a machine with GPUs, ``mirrored`` uses them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import RESULTS, write_report

from rnnapps.distribute import local_cluster


def launch(args: list[str], env: dict, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "rnnapps", *args], cwd=cwd,
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def run(name: str, args: list[str], work: Path) -> dict:
    """Runs one configuration to the end; returns its figures."""
    run_dir = work / name
    common = [*args, "--run-dir", str(run_dir), "--no-export", "--quiet"]
    if name == "multiworker":
        procs = [launch([*common, "--strategy", "multiworker"],
                        {"TF_CONFIG": json.dumps(tf_config)}, work)
                 for tf_config in local_cluster(2)]
    else:
        env = {"RNNAPPS_CPU_DEVICES": "2"} if name == "mirrored" else {}
        procs = [launch([*common, "--strategy", name], env, work)]
    try:
        for proc in procs:
            _, err = proc.communicate(timeout=1800)
            if proc.returncode:
                raise SystemExit(f"{name} failed:\n{err[-2000:]}")
    finally:
        for proc in procs:
            proc.kill()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    history = json.loads((run_dir / "history.json").read_text())
    return {"train_seconds": metrics["train_seconds"], "final_loss": history[-1]["loss"],
            "final_val_loss": history[-1]["val_loss"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="regression")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "scaling.json")
    parser.add_argument("extra", nargs="*", help="more train options (after --)")
    args = parser.parse_args(argv)
    train = [args.task, "train", "--epochs", str(args.epochs), "--patience", "none",
             *args.extra]
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for name in ("default", "mirrored", "multiworker"):
            results[name] = run(name, train, Path(work))
            speed = results["default"]["train_seconds"] / results[name]["train_seconds"]
            results[name]["speed_vs_one_device"] = round(speed, 3)
            print(f"{name:12} {results[name]['train_seconds']:8.1f} s  x{speed:.2f}  "
                  f"loss {results[name]['final_loss']:.6f}")
    write_report(args.out, {"train": train, "results": results}, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
