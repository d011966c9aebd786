"""Model quality: train a preset on the full data and score it on the test split.

    python benchmarks/quality.py --task sentiment --preset reference
    python benchmarks/quality.py --task all --preset best --data-dir ../shared/data
    python benchmarks/quality.py --task classify --preset best   # TREC, SST-2, SST-5
    python benchmarks/quality.py --task textgen --preset best --precision mixed_bfloat16

Each run writes ``benchmarks/results/quality/<task>-<dataset>-<preset>.json`` with the
config, the metric next to its target and published reference points, the wall
time and the machine, and prints one summary line. Runs take minutes to an hour; they
are run by hand, never by the test suite.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from common import DATA_DIR, RESULTS, write_report  # noqa: E402

from rnnapps import registry  # noqa: E402
from rnnapps.precision import PRECISIONS  # noqa: E402

POLLUTION_FEATURES = "DEWP,TEMP,PRES,cbwd,Iws,hour,month"  # weather and calendar
WEATHER = ("DEWP", "TEMP", "PRES")
"""pollution.csv's hourly weather columns: as series of one long-format file, three real
series of very different scales (dew point and temperature in °C, pressure in hPa)."""
# Presets tuned for one dataset, used for it when the general name is asked for.
DATASET_PRESETS = {("pollution-h24", "best"): "best-pollution-24h",
                   ("pollution-h24", "best-intervals"): "best-pollution-24h-intervals",
                   ("beijing-weather-h24", "best"): "best-several-series",
                   ("sst2", "best"): "best-sst2", ("sst5", "best"): "best-sst5"}
# Self-training rounds: after the first model, each new one also learns from the
# unlabelled reviews as labelled by the one before (``--teacher``); the wall time
# counts every round.
SELF_TRAINING_ROUNDS = {("imdb", "best"): 1}
# Published test accuracies of the sentence classification sets (Kim 2014,
# Table 2; the data's README): CNN-rand learns its word vectors from scratch,
# as models here do. fastText, when installed, is run on the same splits.
CNN_RAND = {name: {"CNN-rand (Kim 2014)": rand, "CNN-non-static, word2vec (Kim 2014)": w2v}
            for name, rand, w2v in (("trec", 0.912, 0.936), ("sst2", 0.827, 0.872),
                                    ("sst5", 0.450, 0.480))}


def runs(data_dir: Path) -> dict:
    """Task -> [(dataset name, config overrides for the full data, how to score)]."""
    series, texts = data_dir / "timeseries", data_dir / "text_classification"
    return {
        "classify": [
            ("trec", {"data": str(texts / "trec" / "train.csv"),
                      "test_data": str(texts / "trec" / "test.csv"), "label_column": "coarse"},
             {"metric": "test accuracy", "target": 0.912, "higher": True,
              "reference": CNN_RAND["trec"]}),
            *((name, {"data": str(texts / name / f"train.{ext}"),
                      "val_data": str(texts / name / f"dev.{ext}"),
                      "test_data": str(texts / name / f"test.{ext}")},
               {"metric": "test accuracy", "target": CNN_RAND[name]["CNN-rand (Kim 2014)"],
                "higher": True, "reference": CNN_RAND[name]})
              for name, ext in (("sst2", "tsv"), ("sst5", "jsonl"))),
        ],
        "sentiment": [("imdb", {"data": str(data_dir / "imdb_reviews" / "aclImdb_v1.tar.gz")},
                       {"metric": "test accuracy", "target": 0.90, "higher": True,
                        "reference": {"keras.io BiLSTM": 0.843, "Dai & Le LSTM": 0.865,
                                      "NBSVM bigrams": 0.9122}})],
        "textgen": [("tiny_shakespeare", {"data": str(data_dir / "tiny_shakespeare")},
                     {"metric": "validation nats/char", "target": 1.50, "higher": False,
                      "reference": {"nanoGPT 6-layer (GPU)": 1.4697,
                                    "nanoGPT small CPU": 1.88}})],
        "regression": [
            ("daily-min-temperatures",
             {"csv": str(series / "daily-min-temperatures.csv"), "target": "Temp",
              "date_column": "Date", "window": 30, "horizon": 1, "season": 365},
             {"metric": "test MAE vs best baseline", "target": -0.05, "higher": False}),
            ("beijing-weather-h24",
             # csv: replaced by the long-format file weather_long_csv writes from it
             {"csv": str(series / "pollution.csv"), "target": "value", "series_column": "variable",
              "date_columns": "year,month,day,hour", "calendar": "auto", "window": 48,
              "horizon": 24, "season": 24},
             {"metric": "test MASE vs best baseline (mean over series)", "target": -0.05,
              "higher": False}),
            ("pollution-h24",
             {"csv": str(series / "pollution.csv"), "target": "pm2.5",
              "features": POLLUTION_FEATURES, "date_columns": "year,month,day,hour",
              "window": 24, "horizon": 24, "season": 24},
             {"metric": "test MAE vs best baseline", "target": -0.10, "higher": False}),
        ],
    }


def met(value: float, target: float, higher: bool) -> bool:
    """Whether ``value`` reaches ``target`` (at or above it if ``higher``, else at or below)."""
    return value >= target if higher else value <= target


def score(task: str, result: dict) -> float:
    """The number the target is about."""
    if task in ("sentiment", "classify"):
        return result["test"]["accuracy"]
    if task == "textgen":
        return result["val"]["val_loss"]
    test = result["test"]
    # Several series: the mean MASE, as the mean MAE would be the largest series'.
    metric = "mase" if "series" in test else "mae"
    baselines = [v[metric] for k, v in test.items() if k not in ("model", "loss", "series")
                 and isinstance(v, dict) and metric in v]
    return test["model"][metric] / min(baselines) - 1.0  # relative to the best baseline


def weather_long_csv(data_dir: Path, out: Path) -> Path:
    """Writes ``WEATHER`` in long format: ``year,month,day,hour,variable,value``."""
    import pandas as pd

    frame = pd.read_csv(data_dir / "timeseries" / "pollution.csv")
    frame.melt(id_vars=["year", "month", "day", "hour"], value_vars=list(WEATHER),
               var_name="variable", value_name="value").to_csv(out, index=False)
    return out


def fasttext_reference(dataset: str, data_dir: Path) -> dict:
    """fastText's test accuracy on the same splits, if it is installed (one thread,
    so it repeats exactly), else a note saying it was not run."""
    import fasttext_reference as ft

    if not ft.available():
        return {"fastText": "not installed (pip install 'rnnapps[fasttext]')"}
    folder, read, ext, has_dev = ft.SETS[dataset]
    base = data_dir / "text_classification" / folder
    result = ft.fasttext_accuracy(read(base / f"train.{ext}"), read(base / f"test.{ext}"),
                                  validation=read(base / f"dev.{ext}") if has_dev else None,
                                  threads=1)
    return {"fastText (same splits, bigrams)": result["accuracy"]}


def preset_config(task: str, dataset: str, preset: str, overrides: dict, data_dir: Path,
                  work: Path):
    """The config ``rnnapps <task> train --preset NAME`` runs on ``dataset``; files it
    needs (a long-format CSV, a TFDS data dir) go in ``work``."""
    cls = registry.config_class(task)
    cls.preset(preset)  # an unknown name stops here
    # The preset's settings win over the dataset's defaults (e.g. its window).
    config = cls().replace(**{**overrides, **cls.presets[preset]})
    if dataset == "beijing-weather-h24":
        config = config.replace(csv=str(weather_long_csv(data_dir, work / "weather.csv")))
    if task == "textgen":
        config = config.replace(tfds_dir=str(work / "tfds"))
    return config


def train_rounds(task: str, config, work: Path, self_training_rounds: int = 0,
                 callbacks=()) -> tuple[dict, list]:
    """Trains ``config`` (then each self-training round, taught by the round
    before's export) with runs and exports in ``work``.

    Returns:
        The last round's ``Run.summary()`` and each round's test, val and seconds.
    """
    runner, teacher, rounds = registry.get_task(task), None, []
    for r in range(self_training_rounds + 1):
        config = config.replace(teacher=teacher) if teacher else config
        result = runner.train(config, run_dir=work / f"run{r}", export_dir=work / "saved_models",
                              callbacks=callbacks, verbose=1).summary()
        teacher = result["export"]
        rounds.append({"test": result["test"], "val": result["val"],
                       "train_seconds": result["train_seconds"]})
    return result, rounds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=(*registry.TASKS, "all"), default="all")
    parser.add_argument("--dataset", help="only this dataset of the task (e.g. trec)")
    parser.add_argument("--preset", default="reference")
    parser.add_argument("--precision", choices=PRECISIONS, default=None,
                        help="train in this precision instead of the preset's (the report's "
                             "name gets it as a suffix)")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--out", type=Path, default=RESULTS / "quality")
    args = parser.parse_args(argv)
    suffix = f"-{args.precision}" if args.precision else ""
    for task, cases in runs(args.data_dir).items():
        if args.task not in (task, "all"):
            continue
        for dataset, overrides, goal in cases:
            if args.dataset not in (None, dataset):
                continue
            preset = DATASET_PRESETS.get((dataset, args.preset), args.preset)
            with tempfile.TemporaryDirectory() as work:
                config = preset_config(task, dataset, preset, overrides, args.data_dir,
                                       Path(work))
                if args.precision:
                    config = config.replace(precision=args.precision)
                start = time.perf_counter()
                result, rounds = train_rounds(task, config, Path(work),
                                              SELF_TRAINING_ROUNDS.get((dataset, args.preset), 0))
                wall = time.perf_counter() - start
            value = score(task, result)
            if task == "classify":
                goal = {**goal, "reference": {**goal["reference"],
                                              **fasttext_reference(dataset, args.data_dir)}}
            reached = met(value, goal["target"], goal["higher"])
            report = {"task": task, "dataset": dataset, "preset": preset,
                      **goal, "value": value, "reached": reached,
                      "wall_seconds": round(wall, 1), "epochs": result["epochs"],
                      "train_seconds": round(sum(r["train_seconds"] for r in rounds), 1),
                      "metrics": result,
                      **({"self_training_rounds": rounds} if len(rounds) > 1 else {}),
                      "config": config.to_dict()}
            name = f"{task}-{dataset}-{args.preset}{suffix}.json"
            path = write_report(args.out / name, report, argv)
            print(f"{task} {dataset} {args.preset}: {goal['metric']} = {value:.4f} "
                  f"(target {goal['target']}, {'reached' if reached else 'not reached'}), "
                  f"{wall / 60:.1f} min -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
