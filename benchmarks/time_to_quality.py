"""Time to quality: how long each preset takes to reach its task's target on the full data.

    python benchmarks/time_to_quality.py --task textgen --presets best,NAME [--target X]
    python benchmarks/time_to_quality.py --task sentiment --presets best,NAME

The presets train one after the other in one process, as ``rnnapps <task> train
--preset NAME`` does (``quality.py``'s data and rounds), so they share the machine
and its load; the first is the reference and every other one gets its ratio to
it. The clock runs from the start of training (reading and vectorising the data,
tracing, every epoch) until the target is met:

- textgen: validation nats/char <= 1.47, read after every epoch; the run stops
  at the first epoch that meets it.
- sentiment: IMDB test accuracy >= 90 %. Training never looks at the test
  reviews, so the time is the whole run (every self-training round and the
  scoring on test), and the target is met if the final score meets it.

Writes ``benchmarks/results/time_to_quality_<task>.json``: per preset the minutes,
the score, the per-epoch curve (minutes, value) and the config.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
from common import DATA_DIR, RESULTS, write_report  # noqa: E402
from quality import (  # noqa: E402
    SELF_TRAINING_ROUNDS,
    met,
    preset_config,
    runs,
    score,
    train_rounds,
)

# Task -> (dataset, the logged name its metric is read from during training
# (None: only at the end), target). The metric's name and direction are quality.py's.
TARGETS = {"textgen": ("tiny_shakespeare", "val_loss", 1.47),
           "sentiment": ("imdb", None, 0.90)}


class StopAtTarget(keras.callbacks.Callback):
    """Records the logged metric after every epoch and stops training once it
    meets the target (``model.stop_training``, which the shared loop honours)."""

    def __init__(self, name: str | None, target: float, higher: bool, start: float):
        super().__init__()
        self.name, self.target, self.higher, self.start = name, target, higher, start
        self.curve, self.reached_seconds = [], None

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.start
        value = (logs or {}).get(self.name) if self.name else None
        self.curve.append({"minutes": round(seconds / 60, 2), "value": value})
        if value is not None and met(value, self.target, self.higher):
            self.reached_seconds = seconds
            self.model.stop_training = True


def time_preset(task: str, preset: str, data_dir: Path, target: float | None = None) -> dict:
    """Trains ``preset`` until its task's target (or ``target``); returns its time and score."""
    dataset, logged, default = TARGETS[task]
    target = default if target is None else target
    overrides, goal = next((o, g) for name, o, g in runs(data_dir)[task] if name == dataset)
    metric, higher = goal["metric"], goal["higher"]
    with tempfile.TemporaryDirectory() as work:
        config = preset_config(task, dataset, preset, overrides, data_dir, Path(work))
        start = time.perf_counter()
        stop = StopAtTarget(logged, target, higher, start)
        result, rounds = train_rounds(task, config, Path(work),
                                      SELF_TRAINING_ROUNDS.get((dataset, preset), 0), [stop])
        wall = time.perf_counter() - start
    value = score(task, result)
    reached = met(value, target, higher)
    seconds = stop.reached_seconds if logged else (wall if reached else None)
    print(f"{task} --preset {preset}: {metric} {value:.4f} "
          + (f"reached {target} after {seconds / 60:.1f} min" if seconds else
             f"did not reach {target} in {wall / 60:.1f} min"), flush=True)
    return {"metric": metric, "target": target, "value": value, "reached": reached,
            "minutes_to_target": round(seconds / 60, 2) if seconds else None,
            "wall_minutes": round(wall / 60, 2), "epochs": result["epochs"],
            "curve": stop.curve, "rounds": len(rounds), "config": config.to_dict()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TARGETS), required=True)
    parser.add_argument("--presets", required=True,
                        help="comma-separated preset names; the first is the reference "
                             "(e.g. best,NAME)")
    parser.add_argument("--target", type=float, default=None,
                        help="another target than the task's (e.g. a quick check of the script)")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    presets = args.presets.split(",")
    results = {preset: time_preset(args.task, preset, args.data_dir, args.target)
               for preset in presets}
    reference = results[presets[0]]["minutes_to_target"]
    for result in results.values():
        minutes = result["minutes_to_target"]
        result["ratio_to_reference"] = (round(minutes / reference, 3)
                                        if minutes and reference else None)
    write_report(args.out or RESULTS / f"time_to_quality_{args.task}.json",
                 {"task": args.task, "reference": presets[0], "presets": results}, argv)
    for preset, result in results.items():
        print(f"  {preset}: {result['minutes_to_target']} min to target, "
              f"ratio {result['ratio_to_reference']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
