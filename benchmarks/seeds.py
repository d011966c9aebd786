"""Seed spread: one preset on one dataset, trained once per seed, scored as quality.py does.

    python benchmarks/seeds.py --task classify --dataset trec --preset best --seeds 1,2,3,4,5
    python benchmarks/seeds.py --task classify --dataset trec --set standardize=lower
    python benchmarks/seeds.py --task classify --dataset trec --ensemble

``quality.py`` reports one run (seed 42). On a small data set the seed alone (the
initial weights, dropout masks, batch order, the held-out validation texts) moves
the test score by a point or more, so this trains the same config with each seed,
one after the other in one process, and reports every score with their mean and
standard deviation. ``--set KEY=VALUE`` changes one setting of the preset (a
variant; its name joins the report's), and ``--ensemble`` (classify) also scores
the average of every seed's test probabilities, as if the seeds' models voted.
Writes ``benchmarks/results/seeds/<task>-<dataset>-<preset>[-KEY=VALUE...].json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from common import DATA_DIR, RESULTS, write_report  # noqa: E402
from quality import (  # noqa: E402
    DATASET_PRESETS,
    SELF_TRAINING_ROUNDS,
    preset_config,
    runs,
    score,
    train_rounds,
)

from rnnapps import registry  # noqa: E402
from rnnapps.errors import UsageError  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", required=True)
    parser.add_argument("--dataset", required=True, help="one of quality.py's (e.g. trec)")
    parser.add_argument("--preset", default="best")
    parser.add_argument("--seeds", default="1,2,3,4,5", help="comma-separated seeds")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="change one setting of the preset (JSON value, else a string)")
    parser.add_argument("--ensemble", action="store_true",
                        help="classify: also score the seeds' averaged test probabilities")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--out", type=Path, default=RESULTS / "seeds")
    args = parser.parse_args(argv)
    cases = {name: (overrides, goal) for name, overrides, goal in
             runs(args.data_dir).get(args.task, [])}
    if args.dataset not in cases:
        parser.error(f"no dataset {args.dataset!r} for task {args.task!r}; "
                     f"known: {', '.join(cases) or 'none'}")
    overrides, goal = cases[args.dataset]
    preset = DATASET_PRESETS.get((args.dataset, args.preset), args.preset)
    if args.ensemble and not overrides.get("test_data"):
        # A test split cut from the training texts would differ from seed to seed.
        parser.error("--ensemble needs a classify dataset with its own test file")
    changes = settings(parser, args.task, args.set)
    seeds = [int(s) for s in args.seeds.split(",")]
    per_seed, probabilities, test = [], [], None
    for seed in seeds:
        with tempfile.TemporaryDirectory() as work:
            config = preset_config(args.task, args.dataset, preset, overrides,
                                   args.data_dir, Path(work)).replace(seed=seed, **changes)
            result, rounds = train_rounds(
                args.task, config, Path(work),
                SELF_TRAINING_ROUNDS.get((args.dataset, args.preset), 0))
            if args.ensemble:
                if test is None:  # the test file is the same for every seed: read it once
                    test = registry.get_task(args.task).load(config, verbose=0).test
                probabilities.append(test_probabilities(test.texts, result["export"]))
        per_seed.append({"seed": seed, "value": score(args.task, result),
                         "epochs": result["epochs"],
                         "train_seconds": round(sum(r["train_seconds"] for r in rounds), 1)})
        print(f"seed {seed}: {goal['metric']} = {per_seed[-1]['value']:.4f}", flush=True)
    values = [s["value"] for s in per_seed]
    report = {"task": args.task, "dataset": args.dataset, "preset": preset,
              "metric": goal["metric"], "target": goal["target"], "runs": per_seed,
              "mean": statistics.mean(values),
              "stdev": statistics.stdev(values) if len(values) > 1 else 0.0,
              "min": min(values), "max": max(values), "changes": changes,
              # The last seed's; the others differ in the seed alone.
              "config": config.to_dict()}
    if args.ensemble:
        votes = np.mean(probabilities, axis=0).argmax(1)
        report["ensemble"] = float(np.mean(votes == np.asarray(test.labels)))
        print(f"ensemble of {len(seeds)}: {goal['metric']} = {report['ensemble']:.4f}")
    name = "-".join([args.task, args.dataset, args.preset, *args.set])
    write_report(args.out / f"{name}.json", report, argv)
    print(f"{args.task} {args.dataset} {args.preset}: {goal['metric']} mean "
          f"{report['mean']:.4f} ± {report['stdev']:.4f} over seeds {args.seeds} "
          f"(min {report['min']:.4f}, max {report['max']:.4f})")
    return 0


def settings(parser, task: str, items: list[str]) -> dict:
    """``KEY=VALUE`` items -> {key: the JSON value, or the string when it is not
    JSON}, checked against the task's config before anything trains."""
    changes = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--set wants KEY=VALUE, got {item!r}")
        try:
            changes[key] = json.loads(value)
        except json.JSONDecodeError:
            changes[key] = value
    try:
        registry.config_class(task)().replace(**changes)
    except UsageError as error:
        parser.error(str(error))
    return changes


def test_probabilities(texts: list[str], export: str) -> np.ndarray:
    """A classify export's probabilities for ``texts``, ``[texts, classes]`` in the
    export's class order (the split's too: both come from the training labels)."""
    import tensorflow as tf

    serve = tf.saved_model.load(export).signatures["serving_default"]
    return serve(texts=tf.constant(texts))["probabilities"].numpy()


if __name__ == "__main__":
    sys.exit(main())
