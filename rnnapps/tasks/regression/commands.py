"""``rnnapps regression ...``: train/export/tune (shared) plus evaluate and predict."""

from __future__ import annotations

import sys

from rnnapps import cli
from rnnapps.tasks.regression.config import RegressionConfig

EXAMPLES = {
    "train": ("rnnapps regression train",
              "rnnapps regression train --csv sales.csv --target units --date-column date "
              "--season 7",
              "rnnapps regression train --csv sales.csv --target units --features price,promo "
              "--window 56 --horizon 7 --preset best"),
    "export": ("rnnapps regression export --run-dir runs/regression/20250101-120000",),
    "tune": ("rnnapps regression tune --csv sales.csv --target units --tuner bayesian "
             "--max-trials 10",),
    "evaluate": ("rnnapps regression evaluate --model saved_models/regression --plot test.png",
                 "rnnapps regression evaluate --model saved_models/regression/1 --csv "
                 "sales_2025.csv --season 7"),
    "predict": ("rnnapps regression predict --model saved_models/regression --csv sales.csv "
                "--plot forecast.png",),
    "backtest": ("rnnapps regression backtest --csv sales.csv --target units --date-column "
                 "date --season 7 --folds 5 --plot folds.png",
                 "rnnapps regression backtest --config runs/regression/20250101-120000/"
                 "config.json --folds 4 --test-fraction 0.1"),
}
"""Example command lines shown in each command's ``--help``."""


def register(tasks) -> None:
    """Adds ``rnnapps regression`` and its commands to the ``rnnapps`` parser."""
    commands = cli.add_task(
        tasks, RegressionConfig, help="time-series forecasting (CSV or synthetic)",
        description="Forecast the next values of a series from a CSV, or of a synthetic "
                    "signal, next to simple baselines.",
        train_help="train, score against baselines on test, export",
        train_description="Train on a CSV (--csv --target [--features] [--date-column]) or on "
                          "a synthetic noisy sum of sines, score the model next to persistence, "
                          "seasonal naive (--season) and a linear model, then export.",
        examples=EXAMPLES)

    evaluate = commands.add_parser(
        "evaluate", help="MAE/RMSE of an exported model and the baselines",
        description="Score an exported model on the test span of its series (or of --csv, "
                    "split as in training): MAE and RMSE in the series' units, next to "
                    "persistence, seasonal naive and a linear model.",
        epilog=cli.epilog(*EXAMPLES["evaluate"]))
    cli.add_model_argument(evaluate)
    cli.add_config_options(evaluate, RegressionConfig, only=("csv", "season"),
                           default_note="as in training")
    evaluate.add_argument("--plot", metavar="FILE.png",
                          help="draw forecast against actual on the test span")
    evaluate.set_defaults(run=_evaluate)

    predict = commands.add_parser(
        "predict", help="forecast the steps after a CSV's last row",
        description="Forecast the steps after the last row of --csv (default: the "
                    "training data) from its last WINDOW rows: one time and value a line.",
        epilog=cli.epilog(*EXAMPLES["predict"]))
    cli.add_model_argument(predict)
    cli.add_config_options(predict, RegressionConfig, only=("csv",),
                           default_note="the training data; the last WINDOW rows are read")
    predict.add_argument("--plot", metavar="FILE.png", help="draw the window and the forecast")
    predict.set_defaults(run=_predict)

    backtest = commands.add_parser(
        "backtest", help="expanding-window backtest: a model per fold, scored with baselines",
        description="Rolling-origin evaluation: fold k trains a fresh model on every row "
                    "before its test span and scores it next to the baselines on the span "
                    "(--test-fraction of the rows); the spans tile the end of the series. "
                    "Prints MAE, RMSE, MASE and sMAPE per fold and overall.",
        epilog=cli.epilog(*EXAMPLES["backtest"]))
    cli.add_config_options(backtest, RegressionConfig)
    run = cli.option_group(backtest, "run options")
    cli.add_base_options(run, RegressionConfig, "start from a saved config")
    run.add_argument("--folds", type=int, default=5, metavar="K",
                     help="number of folds (test spans) (default: 5)")
    run.add_argument("--run-dir", metavar="DIR",
                     help="the folds' runs and backtest.json (default: "
                          "runs/backtest/regression/<time>)")
    run.add_argument("--plot", metavar="FILE.png", help="draw each method's MAE per fold")
    run.add_argument("--quiet", action="store_true", help="print only the table and errors")
    backtest.set_defaults(run=_backtest)


def _evaluate(args) -> None:
    serving = cli.serving("regression")
    result = serving.evaluate(args.model, getattr(args, "csv", None),
                              getattr(args, "season", None), args.plot)
    print(serving.scores_table(result, result["target"]))
    print(f"model: {result['model_dir']}")
    if "plot" in result:
        print(f"plot: {result['plot']}")


def _backtest(args) -> None:
    config = cli.config_from_args(args, RegressionConfig)
    module = cli.load("rnnapps.tasks.regression.backtest")
    cli.print_device(config.train.strategy)
    result = module.backtest(config, args.folds, run_dir=args.run_dir, plot=args.plot,
                             verbose=0 if args.quiet else 1)
    print(module.backtest_table(result))
    print(f"run: {result['run_dir']}")
    if "plot" in result:
        print(f"plot: {result['plot']}")


def _predict(args) -> None:
    result = cli.serving("regression").predict(args.model, getattr(args, "csv", None), args.plot)
    named = result.get("series", {None: result})  # several series: a column names each
    quantiles = next(iter(named.values())).get("quantiles", {})
    if quantiles or "series" in result:  # a header names the columns
        print("\t".join(["series"] * ("series" in result) + ["time", "forecast",
                                                           *(f"q{q}" for q in quantiles)]))
    for name, one in named.items():
        for k, (when, value) in enumerate(zip(one["times"], one["forecast"])):
            print("\t".join([name] * (name is not None) + [
                when, f"{value:.4f}", *(f"{q[k]:.4f}" for q in one.get("quantiles", {}).values())]))
    if "plot" in result:
        print(f"plot: {result['plot']}", file=sys.stderr)
