"""The ``rnnapps`` command: ``rnnapps <task> <command> [options]``.

Config options are generated from the task's config dataclasses, so
``--help`` always matches the code. TensorFlow is imported only once a
command runs, after the arguments have been checked. Mistakes a user can fix
print one line on stderr and exit with code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from pathlib import Path
from typing import Any, Callable

from rnnapps import __version__
from rnnapps.config import RegressionConfig, SentimentConfig, TaskConfig, iter_options
from rnnapps.errors import UsageError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit code 2."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


# ------------------------------------------------------------- options
def add_config_options(parser: argparse.ArgumentParser, config_cls: type[TaskConfig],
                       sections: tuple[str, ...] = ("data", "model", "train")) -> None:
    """Adds one ``--option`` per config field of the given sections.

    Defaults are suppressed so that only options typed on the command line
    override a ``--config`` file.
    """
    defaults = config_cls()
    for section, name, kind, _, meta in iter_options(config_cls):
        if section not in sections:
            continue
        default = getattr(getattr(defaults, section), name)
        flag = "--" + name.replace("_", "-")
        help_text = f"{meta.get('help', '')} (default: {default})"
        if kind is bool:
            parser.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction,
                                default=argparse.SUPPRESS, help=help_text)
        else:
            parser.add_argument(flag, dest=name, type=kind, choices=meta.get("choices"),
                                default=argparse.SUPPRESS, help=help_text,
                                metavar=None if meta.get("choices") else name.upper())


def config_from_args(args: argparse.Namespace, config_cls: type[TaskConfig]) -> TaskConfig:
    """Builds the run's config: defaults, then ``--config`` (or the resumed
    run's config.json), then the options typed on the command line.

    Raises:
        UsageError: On a bad config file or option value.
    """
    if getattr(args, "config", None):
        base = config_cls.load(args.config)
    elif getattr(args, "resume", False) and args.run_dir:
        base = config_cls.load(Path(args.run_dir) / "config.json")
    else:
        base = config_cls()
    overrides = {name: getattr(args, name) for _, name, *_ in iter_options(config_cls)
                 if hasattr(args, name)}
    return base.replace(**overrides)


def add_train_arguments(parser: argparse.ArgumentParser, config_cls: type[TaskConfig]) -> None:
    """The options every task's ``train`` takes."""
    parser.add_argument("--config", metavar="FILE.json",
                        help="start from a saved config (options typed here override it)")
    parser.add_argument("--run-dir", metavar="DIR",
                        help="checkpoints, history and weights (default: runs/<task>/<time>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --run-dir from its last checkpoint")
    add_export_dir(parser)
    parser.add_argument("--no-export", action="store_true", help="do not export a SavedModel")
    parser.add_argument("--tensorboard", action="store_true",
                        help="write TensorBoard summaries to <run-dir>/tensorboard")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_config_options(parser, config_cls)


def add_export_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--export-dir", metavar="DIR", default="saved_models",
                        help="root of the exported SavedModels (default: saved_models)")


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="DIR",
                        help="an exported model: saved_models/<task>/<N> (or its parent "
                             "for the latest version)")


def task_module(name: str):
    """Imports ``rnnapps.tasks.<name>`` (and with it TensorFlow), quietly."""
    with _quiet_stderr():
        module = importlib.import_module(f"rnnapps.tasks.{name}")
        module.tf.config.list_logical_devices()  # device set-up logs, e.g. "no CUDA driver"
    return module


@contextlib.contextmanager
def _quiet_stderr():
    """Hides the C++ log lines TensorFlow prints on import (not Python errors).

    ``TF_CPP_MIN_LOG_LEVEL`` defaults to 3 so that later C++ notices (oneDNN
    fallbacks and the like) stay quiet too; set it to 0 to see them.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


# --------------------------------------------------------------- output
def show(result: Any) -> None:
    """Prints a dict as aligned ``key: value`` lines (nested dicts indented)."""
    def lines(obj, indent=""):
        for key, value in obj.items():
            if isinstance(value, dict):
                yield f"{indent}{key}:"
                yield from lines(value, indent + "  ")
            else:
                text = f"{value:.4f}" if isinstance(value, float) else str(value)
                yield f"{indent}{key}: {text}"
    print("\n".join(lines(result)))


# ----------------------------------------------------------- commands
def train_command(task: str, config_cls: type[TaskConfig]) -> Callable:
    """The ``train`` handler shared by every task."""
    def run(args):
        config = config_from_args(args, config_cls)
        module = task_module(task)
        result = module.train(config, run_dir=args.run_dir, resume=args.resume,
                              export_dir=None if args.no_export else args.export_dir,
                              tensorboard=args.tensorboard, verbose=0 if args.quiet else 1)
        show(result)
    return run


def export_command(task: str) -> Callable:
    """The ``export`` handler shared by every task."""
    def run(args):
        print(task_module(task).export(args.run_dir, args.export_dir))
    return run


def register_sentiment(tasks) -> None:
    task = tasks.add_parser("sentiment", help="IMDB review sentiment classification",
                            description="Classify movie reviews as positive or negative.")
    commands = task.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train, evaluate on test and export",
                                description="Train on IMDB reviews (TFDS, an aclImdb folder "
                                            "or aclImdb_v1.tar.gz), then export.")
    add_train_arguments(train, SentimentConfig)
    train.set_defaults(run=train_command("sentiment", SentimentConfig))

    evaluate = commands.add_parser("evaluate", help="accuracy of an exported model on test")
    add_model_argument(evaluate)
    evaluate.add_argument("--data", metavar="PATH",
                          help="aclImdb folder or archive (default: as in train)")
    evaluate.set_defaults(run=lambda a: show(
        task_module("sentiment").evaluate(a.model, a.data)))

    predict = commands.add_parser("predict", help="classify reviews given as arguments")
    add_model_argument(predict)
    predict.add_argument("texts", nargs="+", metavar="REVIEW", help="review text(s)")
    predict.set_defaults(run=_predict_sentiment)

    export = commands.add_parser("export", help="export a finished run as a SavedModel")
    export.add_argument("--run-dir", required=True, metavar="DIR", help="the run to export")
    add_export_dir(export)
    export.set_defaults(run=export_command("sentiment"))


def _predict_sentiment(args):
    probabilities = task_module("sentiment").predict(args.model, args.texts)
    for p, text in zip(probabilities, args.texts):
        short = text if len(text) <= 60 else text[:57] + "..."
        print(f"{p:.4f}\t{'positive' if p > 0.5 else 'negative'}\t{short}")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def register_regression(tasks) -> None:
    task = tasks.add_parser("regression", help="time-series forecasting (CSV or synthetic)",
                            description="Forecast the next values of a series from a CSV, or "
                                        "of a synthetic signal, next to simple baselines.")
    commands = task.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train", help="train, score against baselines on test, export",
        description="Train on a CSV (--csv --target [--features] [--date-column]) or on a "
                    "synthetic noisy sum of sines, score the model next to persistence, "
                    "seasonal naive (--season) and a linear model, then export.")
    add_train_arguments(train, RegressionConfig)
    train.set_defaults(run=train_command("regression", RegressionConfig))

    evaluate = commands.add_parser("evaluate",
                                   help="MAE/RMSE of an exported model and the baselines")
    add_model_argument(evaluate)
    evaluate.add_argument("--csv", metavar="FILE", help="CSV with the model's columns, split "
                          "as in training (default: the training data)")
    evaluate.add_argument("--season", type=_positive_int, metavar="STEPS",
                          help="season length for the seasonal-naive baseline "
                               "(default: the training run's)")
    evaluate.add_argument("--plot", metavar="FILE.png",
                          help="draw forecast against actual on the test span")
    evaluate.set_defaults(run=_evaluate_regression)

    predict = commands.add_parser("predict", help="forecast the steps after a CSV's last row")
    add_model_argument(predict)
    predict.add_argument("--csv", metavar="FILE", help="recent rows with the model's columns; "
                         "the last WINDOW rows are read (default: the training data)")
    predict.add_argument("--plot", metavar="FILE.png", help="draw the window and the forecast")
    predict.set_defaults(run=_predict_regression)

    export = commands.add_parser("export", help="export a finished run as a SavedModel")
    export.add_argument("--run-dir", required=True, metavar="DIR", help="the run to export")
    add_export_dir(export)
    export.set_defaults(run=export_command("regression"))


def _evaluate_regression(args):
    module = task_module("regression")
    result = module.evaluate(args.model, args.csv, args.season, args.plot)
    print(module.scores_table(result, result["target"]))
    print(f"model: {result['model_dir']}")
    if "plot" in result:
        print(f"plot: {result['plot']}")


def _predict_regression(args):
    result = task_module("regression").predict(args.model, args.csv, args.plot)
    for when, value in zip(result["times"], result["forecast"]):
        print(f"{when}\t{value:.4f}")
    if "plot" in result:
        print(f"plot: {result['plot']}", file=sys.stderr)


# ------------------------------------------------------------ diagnose
def _list_arg(kind: type, choices: tuple[str, ...] | None = None) -> Callable:
    """An argparse type for comma-separated values: names from ``choices``,
    or positive numbers of ``kind``."""
    def parse(text: str) -> list:
        items = [item.strip() for item in text.split(",") if item.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}")
        if choices is not None:
            unknown = [item for item in items if item not in choices]
            if unknown:
                raise argparse.ArgumentTypeError(
                    f"unknown cell {unknown[0]!r}; choose from {', '.join(choices)}")
            return items
        try:
            values = [kind(item) for item in items]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {kind.__name__} values, got {text!r}") from None
        bad = [v for v in values if not v > 0]
        if bad:
            raise argparse.ArgumentTypeError(f"must be positive, got {bad[0]!r}")
        return values
    return parse


def _positive(kind: type) -> Callable:
    def parse(text: str):
        values = _list_arg(kind)(text)
        if len(values) != 1:
            raise argparse.ArgumentTypeError(f"expected one value, got {text!r}")
        return values[0]
    return parse


REGISTRARS = [register_sentiment, register_regression]
"""One function per task (and tool) adding its sub-commands."""


def build_parser() -> argparse.ArgumentParser:
    """Returns the full ``rnnapps`` argument parser."""
    parser = _Parser(prog="rnnapps", description="Recurrent networks done properly: "
                     "train, evaluate, export and serve RNN models.")
    parser.add_argument("--version", action="version", version=f"rnnapps {__version__}")
    tasks = parser.add_subparsers(dest="task", required=True, metavar="TASK",
                                  parser_class=_Parser)
    for register in REGISTRARS:
        register(tasks)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except UsageError as err:
        print(f"rnnapps: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("rnnapps: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
