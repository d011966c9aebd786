"""The ``rnnapps`` command: ``rnnapps <task> <command> [options]``.

The generic machinery lives here: options generated from a task's config
dataclasses (so ``--help`` always matches the code), grouped by config
section, and the commands every task shares (``train``, ``export``,
``tune``). Each task adds its own commands in
``rnnapps/tasks/<task>/commands.py``, with the examples their ``--help``
shows (``epilog``); ``rnnapps.registry`` lists the tasks and tools. A command
that has sub-commands, typed alone, prints its help. TensorFlow is imported
only once a command runs, after the arguments have been checked
(``--print-config`` never imports it).

Exit codes: 0 done; 2 a mistake the user can fix (``UsageError``, one line,
no traceback); 1 training diverged, or a bug (with its traceback); 130
interrupted, after a checkpoint was saved.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable, Sequence

from rnnapps import __version__, registry
from rnnapps.config import TaskConfig, check_tune_strategy, iter_options
from rnnapps.errors import Diverged, UsageError

EXIT_USAGE = 2


# ---------------------------------------------------------------- help
class _HelpFormatter(argparse.HelpFormatter):
    """Wraps one-line paragraphs (descriptions) to the terminal and keeps
    paragraphs of several lines (the examples) as they are written. Lines
    break between words only, never inside ``--an-option`` or ``best-sst2``."""

    def _split_lines(self, text, width):
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)

    def _fill_text(self, text, width, indent):
        return "\n\n".join(
            "\n".join(indent + line for line in paragraph.splitlines()) if "\n" in paragraph
            else textwrap.fill(" ".join(paragraph.split()), width, initial_indent=indent,
                               subsequent_indent=indent, break_on_hyphens=False)
            for paragraph in text.split("\n\n"))


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit code 2, and whose
    help keeps the examples' lines as written."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def epilog(*commands: str, note: str | None = None) -> str:
    """A help epilog listing example commands, one a line under ``examples:``.

    Args:
        *commands: Whole command lines, each starting with ``rnnapps``.
        note: A paragraph said before the examples.

    Returns:
        The epilog text (the examples' lines are kept as written in ``--help``).
    """
    listed = "examples:\n" + "\n".join(f"  {command}" for command in commands)
    return f"{note}\n\n{listed}" if note else listed


def _examples_of(parser: argparse.ArgumentParser) -> list[str]:
    """The example commands in a parser's epilog."""
    return [line.strip() for line in (parser.epilog or "").splitlines()
            if line.strip().startswith("rnnapps ")]


def option_group(parser: argparse.ArgumentParser, title: str):
    """The parser's argument group called ``title``, made on first use.

    Args:
        parser: A command's parser.
        title: The group's heading in ``--help``, e.g. "run options".

    Returns:
        The argument group (``add_argument`` adds to it).
    """
    for group in parser._action_groups:  # argparse has no public look-up by title
        if group.title == title:
            return group
    return parser.add_argument_group(title)


# ------------------------------------------------------------- options
SECTION_TITLES = {"data": "data options", "model": "model options",
                  "train": "training options"}
"""Config section -> the title of its group of options in ``--help``."""

_STATED_DEFAULT = re.compile(r"\(default[:\s][^()]*\)")
"""A "(default: ...)" a field's help text already gives in its own words."""
_OFF_WHEN_UNSET = " (off when unset)"
"""How a shared field that may be None says so (``rnnapps.config.TrainConfig``)."""


def add_config_options(parser: argparse.ArgumentParser, config_cls: type[TaskConfig],
                       only: Sequence[str] | None = None, default_note: str | None = None
                       ) -> None:
    """Adds one ``--option`` per config field (all, or the names in ``only``),
    in a group per config section ("data options", "model options", ...).

    Defaults are suppressed so that only options typed on the command line
    override a ``--config`` file (or the config an export was trained with).

    Args:
        parser: The command's parser.
        config_cls: The task's config class.
        only: Field names to add (default: every field of every section).
        default_note: Replaces the default in the help, e.g. "as in training".
    """
    defaults = config_cls()
    for section, name, kind, optional, meta in iter_options(config_cls):
        if only is not None and name not in only:
            continue
        group = option_group(parser, SECTION_TITLES.get(section, f"{section} options"))
        flag = "--" + name.replace("_", "-")
        help_text = option_help(meta.get("help", ""), getattr(getattr(defaults, section), name),
                                optional, default_note).replace("%", "%%")  # argparse formats it
        if kind is bool:
            group.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction,
                               default=argparse.SUPPRESS, help=help_text)
            continue
        group.add_argument(flag, dest=name, type=_or_none(kind) if optional else kind,
                           choices=meta.get("choices"), default=argparse.SUPPRESS,
                           help=help_text,
                           metavar=None if meta.get("choices") else name.upper())


def option_help(text: str, default: Any, optional: bool, note: str | None = None) -> str:
    """A config option's help, stating its default once.

    Args:
        text: The field's help text; it may say "(default: ...)" itself.
        default: The field's default value.
        optional: Whether the field may be None ("off").
        note: Said instead of the default (and of one the text states).

    Returns:
        ``text`` with "(default: ...)" added where it does not say it already;
        nothing is added for an optional field that is off by default.
    """
    if note is not None:
        replaced, found = _STATED_DEFAULT.subn(f"(default: {note})", text, count=1)
        return replaced if found else f"{text} (default: {note})"
    if _STATED_DEFAULT.search(text) or (optional and default is None):
        return text
    if optional:  # a task's default replaces the base field's "off when unset"
        return f"{text.replace(_OFF_WHEN_UNSET, '')} (default: {default}; 'none' turns it off)"
    return f"{text} (default: {default})"


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
    """The options every task's ``train`` takes: the config's, then the run's."""
    add_config_options(parser, config_cls)
    run = option_group(parser, "run options")
    add_base_options(run, config_cls, "start from a saved config")
    run.add_argument("--run-dir", metavar="DIR",
                     help="checkpoints, history and weights (default: runs/<task>/<time>)")
    run.add_argument("--resume", action="store_true",
                     help="continue the run in --run-dir from its last checkpoint")
    add_export_dir(run)
    run.add_argument("--no-export", action="store_true", help="do not export a SavedModel")
    run.add_argument("--tensorboard", action="store_true",
                     help="write TensorBoard summaries to <run-dir>/tensorboard")
    run.add_argument("--quiet", action="store_true",
                     help="print only the device line, the results and errors (no "
                          "progress bars or notes)")
    run.add_argument("--print-config", action="store_true",
                     help="print the config this run would use (its config.json) and exit")


def add_base_options(group, config_cls: type[TaskConfig], config_help: str) -> None:
    """``--config`` and ``--preset``: where a run's settings start from.

    Args:
        group: The parser or argument group to add them to.
        config_cls: The task's config class (its presets are listed).
        config_help: What ``--config`` says first.
    """
    group.add_argument("--config", metavar="FILE.json",
                       help=f"{config_help} (options typed here override it; 'none' "
                            "turns an optional one off)")
    group.add_argument("--preset", choices=list(config_cls.presets), metavar="NAME",
                       help=f"start from named settings: {', '.join(config_cls.presets)} "
                            "(reference: the defaults; options typed here override it)")


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


def print_config(config: TaskConfig) -> None:
    """Prints a config as the JSON a run writes to its ``config.json``."""
    print(json.dumps(config.to_dict(), indent=2))


def print_device(strategy: str) -> None:
    """Prints the one line naming the devices and the strategy of a run, e.g.
    ``device: CPU (2 cores) · strategy: default``, so that a GPU TensorFlow
    cannot use is seen before training starts (also with ``--quiet``).

    Args:
        strategy: The strategy's name (``config.train.strategy``).

    Raises:
        UsageError: If the strategy cannot be made (see ``rnnapps.distribute``).
    """
    from rnnapps.logs import native_stderr_silenced

    with native_stderr_silenced():
        line = importlib.import_module("rnnapps.distribute").describe_devices(strategy)
    print(line, flush=True)


# ----------------------------------------------- commands every task has
def _train(args) -> None:
    config = config_from_args(args, args.config_cls)
    if args.print_config:
        print_config(config)
        return
    task = task_object(config.task, config.train.strategy)
    print_device(config.train.strategy)
    run = task.train(config, run_dir=args.run_dir, resume=args.resume,
                     export_dir=None if args.no_export else args.export_dir,
                     tensorboard=args.tensorboard, verbose=0 if args.quiet else 1)
    args.show_run(run)


def _export(args) -> None:
    print(task_object(args.config_cls.task).export(args.run_dir, args.export_dir))


def _tune(args) -> None:
    base = config_from_args(args, args.config_cls)
    if args.print_config:
        print_config(base)
        return
    check_tune_strategy(base)  # before TensorFlow loads
    tuning = load("rnnapps.tuning")
    task = task_object(base.task)
    print_device(base.train.strategy)
    result = tuning.tune(task, base, tuner=args.tuner, max_trials=args.max_trials,
                         max_epochs=args.max_epochs, directory=args.directory,
                         objective=args.objective, distributed=args.distributed,
                         verbose=0 if args.quiet else 1)
    show({"best": result["best"], "best_config": result["best_config"]}
         if "best" in result else {"tuner": result["tuner_id"],
                                   "trials run": result["trials_run"]})


def add_tune_arguments(parser: argparse.ArgumentParser, config_cls: type[TaskConfig]) -> None:
    """The options every task's ``tune`` takes: the search's, the base config's, the run's."""
    search = option_group(parser, "search options")
    search.add_argument("--tuner", choices=("random", "bayesian", "hyperband"),
                        default="hyperband", help="search algorithm (default: hyperband)")
    search.add_argument("--max-trials", type=int, default=10, metavar="N",
                        help="trials for random/bayesian search (default: 10)")
    search.add_argument("--max-epochs", type=int, default=3, metavar="N",
                        help="epochs per trial; hyperband's largest budget (default: 3)")
    search.add_argument("--directory", metavar="DIR",
                        help="search state and results; re-run to resume "
                             "(default: tuning/<task>)")
    search.add_argument("--objective", metavar="METRIC",
                        help=f"validation metric to optimise (default: {config_cls.objective})")
    search.add_argument("--distributed", action="store_true",
                        help="be the chief or a worker of one search shared by several "
                             "processes (keras-tuner's KERASTUNER_TUNER_ID, "
                             "KERASTUNER_ORACLE_IP, KERASTUNER_ORACLE_PORT)")
    add_config_options(parser, config_cls)
    run = option_group(parser, "run options")
    add_base_options(run, config_cls, "base settings for what is not searched")
    run.add_argument("--quiet", action="store_true",
                     help="print only the device line, the results and errors (no "
                          "progress output)")
    run.add_argument("--print-config", action="store_true",
                     help="print the base config of the search and exit")


def add_task(tasks, config_cls: type[TaskConfig], *, help: str, description: str,
             train_help: str, train_description: str, examples: dict[str, Sequence[str]],
             show_run: Callable[[Any], None] = lambda run: show(run.summary())):
    """Adds ``rnnapps <task>`` with ``train``, ``export`` and ``tune``.

    Args:
        tasks: The ``rnnapps`` sub-command set.
        config_cls: The task's config class.
        help: One line for ``rnnapps --help``.
        description: What ``rnnapps <task> --help`` says first.
        train_help: One line for the list of the task's commands.
        train_description: What ``rnnapps <task> train --help`` says first.
        examples: ``train``, ``export`` and ``tune`` -> example command lines
            for their ``--help``.
        show_run: Prints a finished ``Run`` (default: its summary as
            ``key: value`` lines).

    Returns:
        The task's sub-command set, for the task's own commands.
    """
    task = config_cls.task
    parser = tasks.add_parser(task, help=help, description=description)
    parser.set_defaults(config_cls=config_cls)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    train = commands.add_parser("train", help=train_help, description=train_description,
                                epilog=epilog(*examples["train"]))
    add_train_arguments(train, config_cls)
    train.set_defaults(run=_train, show_run=show_run)
    export = commands.add_parser(
        "export", help="export a finished run as a SavedModel",
        description=f"Export a finished run (its best weights, task files and config) as "
                    f"the next SavedModel version, <export-dir>/{task}/<N>: the layout "
                    "TF Serving reads. Prints the version's directory.",
        epilog=epilog(*examples["export"]))
    export.add_argument("--run-dir", required=True, metavar="DIR", help="the run to export")
    add_export_dir(export)
    export.set_defaults(run=_export)
    searched = ", ".join(config_cls.search_space)
    tune = commands.add_parser(
        "tune", help="search hyperparameters with keras-tuner",
        description="Search hyperparameters with keras-tuner, each trial trained by the "
                    "loop train uses; writes best_config.json (for train --config) and "
                    "trials.json to --directory.",
        epilog=epilog(*examples["tune"],
                      note=f"Searched: {searched}. Other options set the fixed base config."))
    add_tune_arguments(tune, config_cls)
    tune.set_defaults(run=_tune)
    return commands


# ------------------------------------------------------------------ main
def build_parser() -> argparse.ArgumentParser:
    """Returns the full ``rnnapps`` argument parser (tasks and tools from the registry)."""
    parser = _Parser(prog="rnnapps", description="Recurrent networks done properly: "
                     "train, evaluate, export and serve RNN models.")
    parser.add_argument("--version", action="version", version=f"rnnapps {__version__}")
    tasks = parser.add_subparsers(dest="task", metavar="TASK", parser_class=_Parser)
    for name in registry.TASKS:
        registry.commands(name).register(tasks)
    for module in registry.TOOLS.values():
        importlib.import_module(module).register(tasks)
    _help_when_bare(parser)
    return parser


def _help_when_bare(parser: argparse.ArgumentParser) -> None:
    """Makes ``rnnapps``, ``rnnapps <task>`` and ``rnnapps <tool>`` without a
    command print their help (and exit 0), and gives each an epilog of its
    commands' first examples if it has none. Walks every parser with
    sub-commands, so a tool added to ``registry.TOOLS`` gets the same."""
    subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subcommands:
        return
    firsts = []
    for action in subcommands:
        action.required = False
        for sub in dict.fromkeys(action.choices.values()):  # an alias names a parser again
            _help_when_bare(sub)
            firsts += _examples_of(sub)[:1]
    if parser.epilog is None and firsts:
        parser.epilog = epilog(*firsts)
    if parser.get_default("run") is None:
        parser.set_defaults(run=lambda args: parser.print_help())


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
