"""``rnnapps regression ...``: train/export/tune (shared) plus evaluate and predict."""

from __future__ import annotations

import sys

from rnnapps import cli
from rnnapps.tasks.regression.config import RegressionConfig


def register(tasks) -> None:
    """Adds ``rnnapps regression`` and its commands to the ``rnnapps`` parser."""
    commands = cli.add_task(
        tasks, RegressionConfig, help="time-series forecasting (CSV or synthetic)",
        description="Forecast the next values of a series from a CSV, or of a synthetic "
                    "signal, next to simple baselines.",
        train_help="train, score against baselines on test, export",
        train_description="Train on a CSV (--csv --target [--features] [--date-column]) or on "
                          "a synthetic noisy sum of sines, score the model next to persistence, "
                          "seasonal naive (--season) and a linear model, then export.")

    evaluate = commands.add_parser("evaluate",
                                   help="MAE/RMSE of an exported model and the baselines")
    cli.add_model_argument(evaluate)
    cli.add_config_options(evaluate, RegressionConfig, only=("csv", "season"),
                           default_note="as in training")
    evaluate.add_argument("--plot", metavar="FILE.png",
                          help="draw forecast against actual on the test span")
    evaluate.set_defaults(run=_evaluate)

    predict = commands.add_parser("predict", help="forecast the steps after a CSV's last row")
    cli.add_model_argument(predict)
    cli.add_config_options(predict, RegressionConfig, only=("csv",),
                           default_note="the training data; the last WINDOW rows are read")
    predict.add_argument("--plot", metavar="FILE.png", help="draw the window and the forecast")
    predict.set_defaults(run=_predict)


def _evaluate(args) -> None:
    serving = cli.serving("regression")
    result = serving.evaluate(args.model, getattr(args, "csv", None),
                              getattr(args, "season", None), args.plot)
    print(serving.scores_table(result, result["target"]))
    print(f"model: {result['model_dir']}")
    if "plot" in result:
        print(f"plot: {result['plot']}")


def _predict(args) -> None:
    result = cli.serving("regression").predict(args.model, getattr(args, "csv", None), args.plot)
    for when, value in zip(result["times"], result["forecast"]):
        print(f"{when}\t{value:.4f}")
    if "plot" in result:
        print(f"plot: {result['plot']}", file=sys.stderr)
