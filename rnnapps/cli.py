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
import time
from pathlib import Path
from typing import Any, Callable

from rnnapps import __version__
from rnnapps.config import (
    CELLS,
    RegressionConfig,
    SentimentConfig,
    TaskConfig,
    TextgenConfig,
    iter_options,
)
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
    for section, name, kind, optional, meta in iter_options(config_cls):
        if section not in sections:
            continue
        default = getattr(getattr(defaults, section), name)
        flag = "--" + name.replace("_", "-")
        help_text = f"{meta.get('help', '')} (default: {default})"
        if kind is bool:
            parser.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction,
                                default=argparse.SUPPRESS, help=help_text)
            continue
        if optional:
            help_text += "; 'none' turns it off"
        parser.add_argument(flag, dest=name, type=_or_none(kind) if optional else kind,
                            choices=meta.get("choices"), default=argparse.SUPPRESS,
                            help=help_text,
                            metavar=None if meta.get("choices") else name.upper())


def _or_none(kind: type) -> Callable[[str], Any]:
    """An argparse type accepting ``none`` for an optional field."""
    def parse(text: str):
        return None if text.lower() == "none" else kind(text)
    parse.__name__ = kind.__name__  # argparse names the type in its errors
    return parse


def config_from_args(args: argparse.Namespace, config_cls: type[TaskConfig]) -> TaskConfig:
    """Builds the run's config: ``--config`` (or the resumed run's config.json,
    or ``--preset``, or the defaults), then the options typed on the command line.

    Raises:
        UsageError: On a bad config file or option value.
    """
    if getattr(args, "config", None):
        base = config_cls.load(args.config)
    elif getattr(args, "preset", None):
        base = config_cls.preset(args.preset)
    elif getattr(args, "resume", False) and args.run_dir:
        saved = Path(args.run_dir) / "config.json"
        if not saved.is_file():
            raise UsageError(f"no run to resume in {args.run_dir} (no config.json)")
        base = config_cls.load(saved)
    else:
        base = config_cls()
    overrides = {name: getattr(args, name) for _, name, *_ in iter_options(config_cls)
                 if hasattr(args, name)}
    return base.replace(**overrides)


def add_train_arguments(parser: argparse.ArgumentParser, config_cls: type[TaskConfig]) -> None:
    """The options every task's ``train`` takes."""
    parser.add_argument("--config", metavar="FILE.json",
                        help="start from a saved config (options typed here override it)")
    parser.add_argument("--preset", choices=sorted(config_cls.presets),
                        help="start from named settings: reference (the defaults) or best "
                             "(options typed here override it)")
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


def task_module(name: str, strategy: str | None = None):
    """Imports ``rnnapps.tasks.<name>`` (and with it TensorFlow), quietly."""
    return quiet_import(f"rnnapps.tasks.{name}", strategy)


def quiet_import(path: str, strategy: str | None = None):
    """Imports a module that uses TensorFlow (as ``tf``), hiding TF's start-up logs.

    ``strategy`` names the ``tf.distribute`` strategy to make before the
    runtime starts (a multi-worker one cannot be made later).
    """
    with _quiet_stderr():
        distribute = importlib.import_module("rnnapps.distribute")
        distribute.configure_cpu_devices()
        if strategy is not None:
            distribute.make_strategy(strategy)
        module = importlib.import_module(path)
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
        module = task_module(task, config.train.strategy)
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


def add_tune_arguments(parser: argparse.ArgumentParser, config_cls: type[TaskConfig]) -> None:
    """The options every task's ``tune`` takes."""
    parser.add_argument("--tuner", choices=("random", "bayesian", "hyperband"),
                        default="hyperband", help="search algorithm (default: hyperband)")
    parser.add_argument("--max-trials", type=int, default=10, metavar="N",
                        help="trials for random/bayesian search (default: 10)")
    parser.add_argument("--max-epochs", type=int, default=3, metavar="N",
                        help="epochs per trial; hyperband's largest budget (default: 3)")
    parser.add_argument("--directory", metavar="DIR",
                        help="search state and results; re-run to resume "
                             "(default: tuning/<task>)")
    parser.add_argument("--objective", metavar="METRIC",
                        help=f"validation metric to optimise (default: {config_cls.objective})")
    parser.add_argument("--config", metavar="FILE.json",
                        help="base settings for what is not searched")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    searched = ", ".join(config_cls.search_space)
    parser.epilog = f"Searched: {searched}. Other options set the fixed base config."
    add_config_options(parser, config_cls)


def tune_command(task: str, config_cls: type[TaskConfig]) -> Callable:
    """The ``tune`` handler shared by every task."""
    def run(args):
        base = config_from_args(args, config_cls)
        task_module(task)
        from rnnapps.tuning import tune

        result = tune(task, base, tuner=args.tuner, max_trials=args.max_trials,
                      max_epochs=args.max_epochs, directory=args.directory,
                      objective=args.objective, verbose=0 if args.quiet else 1)
        show({"best": result["best"], "best_config": result["best_config"]})
    return run


def add_task(tasks, config_cls: type[TaskConfig], help: str, description: str,
             train_help: str, train_description: str):
    """Adds ``rnnapps <task>`` with its ``train`` command; returns the sub-command set.

    Add the task's own commands to it, then call ``add_export_and_tune``.
    """
    task = config_cls.task
    parser = tasks.add_parser(task, help=help, description=description)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train = commands.add_parser("train", help=train_help, description=train_description)
    add_train_arguments(train, config_cls)
    train.set_defaults(run=train_command(task, config_cls))
    return commands


def add_export_and_tune(commands, config_cls: type[TaskConfig]) -> None:
    """Adds the ``export`` and ``tune`` commands every task has."""
    task = config_cls.task
    export = commands.add_parser("export", help="export a finished run as a SavedModel")
    export.add_argument("--run-dir", required=True, metavar="DIR", help="the run to export")
    add_export_dir(export)
    export.set_defaults(run=export_command(task))
    tune = commands.add_parser("tune", help="search hyperparameters with keras-tuner")
    add_tune_arguments(tune, config_cls)
    tune.set_defaults(run=tune_command(task, config_cls))


def register_sentiment(tasks) -> None:
    commands = add_task(
        tasks, SentimentConfig, "IMDB review sentiment classification",
        "Classify movie reviews as positive or negative.", "train, evaluate on test and export",
        "Train on IMDB reviews (TFDS, an aclImdb folder or aclImdb_v1.tar.gz), then export.")

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
    add_export_and_tune(commands, SentimentConfig)


def _predict_sentiment(args):
    probabilities = task_module("sentiment").predict(args.model, args.texts)
    for p, text in zip(probabilities, args.texts):
        short = text if len(text) <= 60 else text[:57] + "..."
        print(f"{p:.4f}\t{'positive' if p > 0.5 else 'negative'}\t{short}")


def register_regression(tasks) -> None:
    commands = add_task(
        tasks, RegressionConfig, "time-series forecasting (CSV or synthetic)",
        "Forecast the next values of a series from a CSV, or of a synthetic signal, next to "
        "simple baselines.", "train, score against baselines on test, export",
        "Train on a CSV (--csv --target [--features] [--date-column]) or on a synthetic noisy "
        "sum of sines, score the model next to persistence, seasonal naive (--season) and a "
        "linear model, then export.")

    evaluate = commands.add_parser("evaluate",
                                   help="MAE/RMSE of an exported model and the baselines")
    add_model_argument(evaluate)
    evaluate.add_argument("--csv", metavar="FILE", help="CSV with the model's columns, split "
                          "as in training (default: the training data)")
    evaluate.add_argument("--season", type=_positive(int), metavar="STEPS",
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
    add_export_and_tune(commands, RegressionConfig)


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
    """An argparse type for one positive number of ``kind``."""
    def parse(text: str):
        values = _list_arg(kind)(text)
        if len(values) != 1:
            raise argparse.ArgumentTypeError(f"expected one value, got {text!r}")
        return values[0]
    return parse


def register_diagnose(tasks) -> None:
    """``rnnapps diagnose gradients|memory`` (see ``rnnapps.diagnostics``)."""
    tool = tasks.add_parser("diagnose", help="gradient flow and long-range memory of RNN cells",
                            description="Measure how gradients vanish or explode through "
                                        "time, and how far back each cell can remember.")
    commands = tool.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(parser, cells):
        parser.add_argument("--cells", type=_list_arg(str, CELLS), default=cells,
                            metavar="A,B", help=f"cells to compare, from {', '.join(CELLS)} "
                                                f"(default: {','.join(cells)})")
        parser.add_argument("--units", type=_positive(int), default=32,
                            help="hidden units (default: 32)")
        parser.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
        parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")

    grads = commands.add_parser(
        "gradients", help="||dL/dh_t|| against the distance from the loss",
        description="For each cell, measure the total gradient of a last-step loss "
                    "w.r.t. every hidden state, print the decay per step and what clipping "
                    "by global norm does to the gradient, and plot the curves.")
    common(grads, list(CELLS))
    grads.add_argument("--length", type=_positive(int), default=200,
                       help="sequence length T (default: 200)")
    grads.add_argument("--recurrent-scale", type=_list_arg(float), default=[1.0],
                       metavar="S,..", help="multiply the initial recurrent kernel by each "
                       "scale; >1 shows exploding gradients (default: 1)")
    grads.add_argument("--clip-norm", type=_positive(float), default=1.0,
                       help="global-norm clipping threshold shown (default: 1)")
    grads.add_argument("--train-epochs", type=int, default=0, metavar="N",
                       help="also measure after N epochs on the memory task (default: 0)")
    grads.add_argument("--batch-size", type=_positive(int), default=32,
                       help="sequences measured (default: 32)")
    grads.add_argument("--plot", metavar="FILE.png", help="draw the curves to a PNG")
    grads.set_defaults(run=_diagnose_gradients)

    memory = commands.add_parser(
        "memory", help="remember a key symbol across up to T steps",
        description="Train each cell with the shared loop to name the one key symbol hidden "
                    "at a random step among T distractors, and report the best validation "
                    "accuracy.")
    common(memory, ["simple_rnn", "lstm", "gru"])
    memory.add_argument("--lengths", type=_list_arg(int), default=[10, 50, 100],
                        metavar="T,..", help="sequence lengths (default: 10,50,100)")
    memory.add_argument("--symbols", type=_positive(int), default=4,
                        help="classes; chance is 1/symbols (default: 4)")
    memory.add_argument("--distractors", type=_positive(int), default=4,
                        help="filler symbols drawn after the first (default: 4)")
    memory.add_argument("--epochs", type=_positive(int), default=20,
                        help="maximum epochs (default: 20)")
    memory.add_argument("--steps-per-epoch", type=_positive(int), default=50,
                        help="batches of fresh sequences per epoch (default: 50)")
    memory.add_argument("--batch-size", type=_positive(int), default=64,
                        help="sequences per batch (default: 64)")
    memory.add_argument("--learning-rate", type=_positive(float), default=1e-2,
                        help="Adam learning rate (default: 0.01)")
    memory.add_argument("--fixed-lag", action="store_true",
                        help="put the key at step 0 instead of a random step")
    memory.add_argument("--clip-norm", type=_positive(float), default=1.0,
                        help="global-norm gradient clipping (default: 1)")
    memory.add_argument("--patience", type=_positive(int), default=4,
                        help="stop after N epochs without a better val_acc (default: 4)")
    memory.add_argument("--threshold", type=_positive(float), default=0.9,
                        help="val_acc that counts as learned (default: 0.9)")
    memory.set_defaults(run=_diagnose_memory)


def _diagnose_gradients(args):
    start = time.perf_counter()
    module = quiet_import("rnnapps.diagnostics")
    flows = module.gradient_flow(args.cells, args.length, recurrent_scales=args.recurrent_scale,
                                 units=args.units, batch_size=args.batch_size,
                                 clip_norm=args.clip_norm, train_epochs=args.train_epochs,
                                 seed=args.seed)
    rows = module.flow_rows(flows)
    print(module.markdown_table(rows))
    if args.plot:
        print(f"plot: {module.plot_gradient_flow(flows, args.plot)}")
    if args.json:
        _write_results(args.json, [{**row, "norms": f.norms} for row, f in zip(rows, flows)])
    print(f"wall time: {time.perf_counter() - start:.1f} s")


def _diagnose_memory(args):
    start = time.perf_counter()
    module = quiet_import("rnnapps.diagnostics")
    rows = module.memory_experiment(
        args.cells, args.lengths, units=args.units, threshold=args.threshold, seed=args.seed,
        symbols=args.symbols, distractors=args.distractors, epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch, batch_size=args.batch_size,
        learning_rate=args.learning_rate, clip_norm=args.clip_norm, patience=args.patience,
        first=args.fixed_lag)
    print(module.markdown_table(rows))
    if args.json:
        _write_results(args.json, rows)
    print(f"wall time: {time.perf_counter() - start:.1f} s")


def _write_results(path: str, rows: list) -> None:
    from rnnapps.artifacts import write_json
    write_json(path, rows)
    print(f"results: {path}")


def register_textgen(tasks) -> None:
    commands = add_task(
        tasks, TextgenConfig, "character-level text generation",
        "Learn a text one character at a time (Tiny Shakespeare or your own), then generate "
        "more.", "train, report loss in nats/char, bits/char, perplexity, and export",
        "Train a character model on Tiny Shakespeare (tensorflow-datasets, or its input.txt "
        "offline with --data) or on any UTF-8 file (--corpus).")

    evaluate = commands.add_parser("evaluate", help="loss of an exported model on test")
    add_model_argument(evaluate)
    evaluate.add_argument("--data", metavar="PATH",
                          help="TFDS manual dir or its input.txt (default: as in training)")
    evaluate.add_argument("--corpus", metavar="FILE",
                          help="UTF-8 text whose test split to score (default: as in training)")
    evaluate.add_argument("--tfds-dir", metavar="DIR", help="tensorflow-datasets data dir")
    evaluate.set_defaults(run=lambda a: show(task_module("textgen").evaluate(
        a.model, data=a.data, corpus=a.corpus, tfds_dir=a.tfds_dir)))

    generate = commands.add_parser("generate", help="generate text with an exported model")
    add_model_argument(generate)
    generate.add_argument("--seed-text", default="ROMEO:", metavar="TEXT",
                          help="text to continue (default: ROMEO:)")
    generate.add_argument("--length", type=int, default=500, metavar="N",
                          help="characters to generate (default: 500)")
    generate.add_argument("--temperature", type=float, default=1.0, metavar="T",
                          help="lower is safer, higher is wilder; 0 is greedy (default: 1.0)")
    generate.add_argument("--top-k", type=int, default=0, metavar="K",
                          help="sample among the K likeliest characters; 0 for all (default: 0)")
    generate.add_argument("--seed", type=int, default=None,
                          help="random seed: the same seed gives the same text")
    generate.set_defaults(run=lambda a: print(a.seed_text + task_module("textgen").generate(
        a.model, a.seed_text, a.length, a.temperature, a.top_k, a.seed)))
    add_export_and_tune(commands, TextgenConfig)


REGISTRARS = [register_sentiment, register_textgen, register_regression, register_diagnose]
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
    except RuntimeError as err:  # rnnapps.training.Diverged, without importing TF here
        if type(err).__name__ != "Diverged":
            raise
        print(f"rnnapps: error: {err}; nothing was exported, and the run's checkpoints "
              "(from before the bad step) are kept", file=sys.stderr)
        return 1
    except KeyboardInterrupt as err:  # rnnapps.training.Interrupted says where it stopped
        print(f"rnnapps: {err or 'interrupted'}", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
