"""The ``rnnapps`` command: ``rnnapps <task> <command> [options]``.

The generic machinery lives here: options generated from a task's config
dataclasses (so ``--help`` always matches the code), and the commands every
task shares (``train``, ``export``, ``tune``). Each task adds its own
commands in ``rnnapps/tasks/<task>/commands.py``; ``rnnapps.registry`` lists
the tasks and tools. TensorFlow is imported only once a command runs, after
the arguments have been checked.

Exit codes: 0 done; 2 a mistake the user can fix (``UsageError``, one line,
no traceback); 1 training diverged, or a bug (with its traceback); 130
interrupted, after a checkpoint was saved.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from rnnapps import __version__, registry
from rnnapps.config import TaskConfig, iter_options
from rnnapps.errors import Diverged, UsageError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit code 2."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


# ------------------------------------------------------------- options
def add_config_options(parser: argparse.ArgumentParser, config_cls: type[TaskConfig],
                       only: Sequence[str] | None = None, default_note: str | None = None
                       ) -> None:
    """Adds one ``--option`` per config field (all, or the names in ``only``).

    Defaults are suppressed so that only options typed on the command line
    override a ``--config`` file (or the config an export was trained with).

    Args:
        parser: The command's parser.
        config_cls: The task's config class.
        only: Field names to add (default: every field of every section).
        default_note: Replaces "(default: <value>)" in the help, e.g. "as in training".
    """
    defaults = config_cls()
    for section, name, kind, optional, meta in iter_options(config_cls):
        if only is not None and name not in only:
            continue
        default = getattr(getattr(defaults, section), name)
        flag = "--" + name.replace("_", "-")
        help_text = f"{meta.get('help', '')} (default: {default_note or default})"
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


def config_overrides(args: argparse.Namespace, config_cls: type[TaskConfig]) -> dict:
    """The config fields typed on the command line, by name."""
    return {name: getattr(args, name) for _, name, *_ in iter_options(config_cls)
            if hasattr(args, name)}


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
    return base.replace(**config_overrides(args, config_cls))


def add_train_arguments(parser: argparse.ArgumentParser, config_cls: type[TaskConfig]) -> None:
    """The options every task's ``train`` takes."""
    parser.add_argument("--config", metavar="FILE.json",
                        help="start from a saved config (options typed here override it)")
    parser.add_argument("--preset", choices=list(config_cls.presets), metavar="NAME",
                        help=f"start from named settings: {', '.join(config_cls.presets)} "
                             "(reference: the defaults; options typed here override it)")
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
    """``--export-dir``: the root of the SavedModel versions."""
    parser.add_argument("--export-dir", metavar="DIR", default="saved_models",
                        help="root of the exported SavedModels (default: saved_models)")


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    """``--model``: an exported model to serve."""
    parser.add_argument("--model", required=True, metavar="DIR",
                        help="an exported model: saved_models/<task>/<N> (or its parent "
                             "for the latest version)")


# ------------------------------------------------------- loading TensorFlow
def load(module: str, strategy: str | None = None):
    """Imports a module that uses TensorFlow, hiding TF's start-up log lines.

    ``strategy`` names the ``tf.distribute`` strategy to make before the
    runtime starts (a multi-worker one cannot be made later).
    """
    from rnnapps.logs import native_stderr_silenced

    with native_stderr_silenced():
        distribute = importlib.import_module("rnnapps.distribute")
        distribute.configure_cpu_devices()
        if strategy is not None:
            distribute.make_strategy(strategy)
        loaded = importlib.import_module(module)
        distribute.tf.config.list_logical_devices()  # device set-up logs, e.g. "no CUDA driver"
    return loaded


def serving(task: str):
    """The task's ``serving`` module (what its own commands call), loaded quietly."""
    return load(f"{registry.TASKS[task]}.serving")


def task_object(task: str, strategy: str | None = None):
    """The task's ``Task`` (``rnnapps.tasks.<task>.task.TASK``), loaded quietly."""
    return load(f"{registry.TASKS[task]}.task", strategy).TASK


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


# ----------------------------------------------- commands every task has
def _train(args) -> None:
    config = config_from_args(args, args.config_cls)
    task = task_object(config.task, config.train.strategy)
    run = task.train(config, run_dir=args.run_dir, resume=args.resume,
                     export_dir=None if args.no_export else args.export_dir,
                     tensorboard=args.tensorboard, verbose=0 if args.quiet else 1)
    args.show_run(run)


def _export(args) -> None:
    print(task_object(args.config_cls.task).export(args.run_dir, args.export_dir))


def _tune(args) -> None:
    base = config_from_args(args, args.config_cls)
    task = task_object(base.task)
    from rnnapps.tuning import tune

    result = tune(task, base, tuner=args.tuner, max_trials=args.max_trials,
                  max_epochs=args.max_epochs, directory=args.directory,
                  objective=args.objective, verbose=0 if args.quiet else 1)
    show({"best": result["best"], "best_config": result["best_config"]})


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


def add_task(tasks, config_cls: type[TaskConfig], *, help: str, description: str,
             train_help: str, train_description: str,
             show_run: Callable[[Any], None] = lambda run: show(run.summary())):
    """Adds ``rnnapps <task>`` with ``train``, ``export`` and ``tune``.

    ``show_run`` prints a finished ``Run`` (default: its summary as
    ``key: value`` lines).

    Returns:
        The task's sub-command set, for the task's own commands.
    """
    parser = tasks.add_parser(config_cls.task, help=help, description=description)
    parser.set_defaults(config_cls=config_cls)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train = commands.add_parser("train", help=train_help, description=train_description)
    add_train_arguments(train, config_cls)
    train.set_defaults(run=_train, show_run=show_run)
    export = commands.add_parser("export", help="export a finished run as a SavedModel")
    export.add_argument("--run-dir", required=True, metavar="DIR", help="the run to export")
    add_export_dir(export)
    export.set_defaults(run=_export)
    tune = commands.add_parser("tune", help="search hyperparameters with keras-tuner")
    add_tune_arguments(tune, config_cls)
    tune.set_defaults(run=_tune)
    return commands


# ------------------------------------------------------------------ main
def build_parser() -> argparse.ArgumentParser:
    """Returns the full ``rnnapps`` argument parser (tasks and tools from the registry)."""
    parser = _Parser(prog="rnnapps", description="Recurrent networks done properly: "
                     "train, evaluate, export and serve RNN models.")
    parser.add_argument("--version", action="version", version=f"rnnapps {__version__}")
    tasks = parser.add_subparsers(dest="task", required=True, metavar="TASK",
                                  parser_class=_Parser)
    for name in registry.TASKS:
        registry.commands(name).register(tasks)
    for module in registry.TOOLS.values():
        importlib.import_module(module).register(tasks)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except UsageError as err:
        print(f"rnnapps: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except Diverged as err:
        print(f"rnnapps: error: {err}; nothing was exported, and the run's checkpoints "
              "(from before the bad step) are kept", file=sys.stderr)
        return 1
    except KeyboardInterrupt as err:  # rnnapps.errors.Interrupted says where it stopped
        print(f"rnnapps: {err or 'interrupted'}", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
