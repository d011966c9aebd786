"""Run configuration: the ``option()`` mechanism, base sections, JSON round-trip.

A task's configuration has three sections -- ``data``, ``model`` and
``train`` -- each a dataclass whose fields carry their help text and bounds.
The command line generates one ``--option`` per field from the same
declarations, so a field name is unique across the sections of a task.
Each task declares its own sections in ``rnnapps/tasks/<task>/config.py``,
on top of the bases here (``RNNConfig``, ``TrainConfig``; ``with_defaults``
changes a base's defaults without copying its fields).

This module imports neither TensorFlow nor Keras, so ``--help`` is instant.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterator, Optional

from rnnapps.errors import UsageError
from rnnapps.precision import PRECISIONS
from rnnapps.registry import CELLS as _CELL_TABLE

CELLS = tuple(_CELL_TABLE)
"""Recurrent cell names (``rnnapps.registry.CELLS``): Keras's three, and ``elman``, ours."""

STRATEGIES = ("default", "mirrored", "multiworker")
"""``tf.distribute`` strategy names (``rnnapps.distribute`` builds them)."""
TUNE_STRATEGIES = ("default", "mirrored")
"""The strategies ``tune`` runs its trials under: one process's devices. The
trials of a search run one after another in one process, so each host of a
multi-worker cluster would run a search of its own."""
LR_SCHEDULES = ("constant", "cosine")
MONITOR_MODES = ("auto", "min", "max")


def option(default: Any, help: str, *, low: float | None = None,
           high: float | None = None, open_high: bool = False,
           choices: tuple[str, ...] | None = None) -> Any:
    """Declare a config field with its help text and bounds.

    Args:
        default: The default value.
        help: One line for ``--help``.
        low: Smallest allowed value (inclusive), if any.
        high: Largest allowed value (inclusive unless ``open_high``), if any.
        open_high: Make ``high`` exclusive.
        choices: The allowed values of a string field.

    Returns:
        A ``dataclasses.field``.
    """
    meta = {"help": help, "low": low, "high": high, "open_high": open_high,
            "choices": choices}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Choice:
    """Search space: one of ``values``."""

    values: tuple


@dataclass(frozen=True)
class Int:
    """Search space: an integer in ``[low, high]`` by ``step``."""

    low: int
    high: int
    step: int = 1


@dataclass(frozen=True)
class Float:
    """Search space: a float in ``[low, high]``, sampled on a log scale if ``log``."""

    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class Bool:
    """Search space: True or False."""


@dataclass
class RNNConfig:
    """The recurrent part of a model; tasks subclass it to add their own."""

    cell: str = option("lstm", "recurrent cell", choices=CELLS)
    units: int = option(128, "units per recurrent layer", low=1)
    layers: int = option(2, "number of stacked recurrent layers", low=1)
    bidirectional: bool = option(False, "read sequences in both directions")
    dropout: float = option(0.0, "dropout on each recurrent layer's inputs",
                            low=0.0, high=1.0, open_high=True)
    recurrent_dropout: float = option(0.0, "dropout on the recurrent state",
                                      low=0.0, high=1.0, open_high=True)


@dataclass
class TrainConfig:
    """Settings of the shared training loop."""

    epochs: int = option(3, "passes over the training data", low=1)
    batch_size: int = option(128, "examples per step", low=1)
    learning_rate: float = option(1e-3, "Adam learning rate", low=0.0)
    lr_schedule: str = option(
        "constant", "learning rate over the run: constant, or cosine decay from "
        "learning_rate to 0 over all the epochs' steps", choices=LR_SCHEDULES)
    clip_norm: Optional[float] = option(
        None, "clip gradients to this global norm (off when unset)", low=0.0)
    patience: Optional[int] = option(
        None, "stop after this many epochs without improvement (off when unset)",
        low=1)
    monitor: str = option("val_loss", "metric for early stopping and best weights")
    monitor_mode: str = option(
        "auto", "whether the monitored metric should fall (min) or rise (max); auto knows "
        "losses and errors (min) and accuracy, AUC, precision, recall, F1 (max)",
        choices=MONITOR_MODES)
    checkpoint_every: Optional[int] = option(
        None, "also checkpoint every N steps within an epoch (off when unset)", low=1)
    strategy: str = option("default", "tf.distribute strategy: one device, all local GPUs "
                           "(mirrored), or the hosts in TF_CONFIG (multiworker); "
                           "batch_size is the global batch", choices=STRATEGIES)
    precision: str = option(
        "float32", "arithmetic of the layers: float32, or mixed_bfloat16 / mixed_float16 "
        "(Keras mixed precision: low-precision compute, float32 variables and outputs; "
        "float32 where the device lacks it)", choices=PRECISIONS)
    seed: int = option(42, "seed for weights, shuffling and dropout", low=0)


@dataclass
class TaskConfig:
    """Base of every task's configuration: ``data``, ``model``, ``train``."""

    task: ClassVar[str] = ""
    search_space: ClassVar[dict] = {}
    """Field name -> ``Choice`` / ``Int`` / ``Float`` / ``Bool``: what ``tune`` searches."""
    objective: ClassVar[str] = "val_loss"
    """The validation metric ``tune`` optimises by default."""
    presets: ClassVar[dict] = {"reference": {}}
    """Named settings (field -> value) for ``--preset``: ``reference`` is the
    reference example's (the defaults); ``best`` the best settings known."""

    def to_dict(self) -> dict:
        """Returns the config as plain JSON-ready data, task name included."""
        return {"task": self.task, **dataclasses.asdict(self)}

    def save(self, path: str | Path) -> None:
        """Writes the config as JSON (atomically)."""
        from rnnapps.artifacts import write_json
        write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, raw: dict) -> "TaskConfig":
        """Builds and validates a config from ``to_dict`` output.

        Raises:
            UsageError: On another task's config, an unknown key or a bad value.
        """
        if not isinstance(raw, dict):
            raise UsageError(f"a config must be a JSON object, got {type(raw).__name__}")
        raw = dict(raw)
        task = raw.pop("task", cls.task)
        if task != cls.task:
            raise UsageError(f"config is for task {task!r}, not {cls.task!r}")
        sections = {}
        hints = typing.get_type_hints(cls)
        for name, values in raw.items():
            if name not in hints or name == "task":
                raise UsageError(f"unknown config section {name!r}")
            if not isinstance(values, dict):
                raise UsageError(f"config section {name!r} must be an object")
            sections[name] = _build_section(hints[name], values)
        config = cls(**sections)
        config.validate()
        return config

    @classmethod
    def load(cls, path: str | Path) -> "TaskConfig":
        """Reads a JSON config written by ``save``.

        Raises:
            UsageError: If the file is missing, not JSON, or not a valid config.
        """
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"config file not found: {path}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise UsageError(f"cannot read config {path}: {err}") from None
        return cls.from_dict(raw)

    def validate(self) -> None:
        """Checks every field against its declared bounds.

        Raises:
            UsageError: Naming the first field out of bounds and its value.
        """
        for section in self.sections():
            for f in dataclasses.fields(section):
                _check(f, getattr(section, f.name))

    def sections(self) -> list:
        """Returns the section objects (data, model, train)."""
        return [getattr(self, f.name) for f in dataclasses.fields(self)]

    @classmethod
    def preset(cls, name: str) -> "TaskConfig":
        """The config of a named preset (see ``presets``).

        Raises:
            UsageError: On an unknown preset name.
        """
        if name not in cls.presets:
            raise UsageError(f"preset must be one of {', '.join(cls.presets)}; got {name!r}")
        return cls().replace(**cls.presets[name])

    def replace(self, **overrides: Any) -> "TaskConfig":
        """Returns a validated copy with fields changed by name.

        Args:
            **overrides: Field names from any section, e.g. ``units=64``.

        Raises:
            UsageError: On an unknown field or a value out of bounds.
        """
        owner = {name: section for section, name, *_ in iter_options(type(self))}
        unknown = sorted(set(overrides) - set(owner))
        if unknown:
            raise UsageError(f"unknown option(s) for {self.task}: {', '.join(unknown)}")
        new = {}
        for f in dataclasses.fields(self):
            changes = {k: v for k, v in overrides.items() if owner[k] == f.name}
            new[f.name] = dataclasses.replace(getattr(self, f.name), **changes)
        config = type(self)(**new)
        config.validate()
        return config


def with_defaults(base: type, **defaults: Any) -> type:
    """A subclass of the config section ``base`` with other defaults.

    The fields keep their help text and bounds (one declaration each); only
    the defaults change. Subclass the result to add a task's own fields.

    Args:
        base: A section dataclass such as ``TrainConfig``.
        **defaults: Field name -> new default.

    Returns:
        The new dataclass (named after ``base``).

    Raises:
        TypeError: On a name that is not a field of ``base``.
    """
    hints = typing.get_type_hints(base)
    known = {f.name: f for f in dataclasses.fields(base)}
    unknown = sorted(set(defaults) - set(known))
    if unknown:
        raise TypeError(f"{base.__name__} has no field(s) {', '.join(unknown)}")
    changed = [(name, hints[name], field(default=value, metadata=known[name].metadata))
               for name, value in defaults.items()]
    return dataclasses.make_dataclass(base.__name__, changed, bases=(base,))


def check_tune_strategy(config: "TaskConfig") -> None:
    """Checks that a search can run its trials under ``config.train.strategy``.

    Args:
        config: The search's base config.

    Raises:
        UsageError: On a strategy outside ``TUNE_STRATEGIES`` (a multi-worker one).
    """
    name = config.train.strategy
    if name not in TUNE_STRATEGIES:
        raise UsageError(f"tune runs its trials in one process: --strategy must be one of "
                         f"{', '.join(TUNE_STRATEGIES)}; got {name!r}")


def check_chronological_split(val_fraction: float, test_fraction: float) -> None:
    """Checks the fractions of a train/validation/test split in time order.

    Raises:
        UsageError: If there is no test part or no training part left.
    """
    if test_fraction <= 0.0:
        raise UsageError(f"test_fraction must be > 0, got {test_fraction!r}")
    if val_fraction + test_fraction >= 1.0:
        raise UsageError(f"val_fraction + test_fraction must be < 1, got "
                         f"{val_fraction} + {test_fraction}")


def iter_options(config_cls: type) -> Iterator[tuple[str, str, type, bool, dict]]:
    """Yields ``(section, name, type, optional, metadata)`` for every field.

    The type is the plain scalar type (``Optional[int]`` gives ``int``, with
    ``optional`` True: the field may be None, meaning "off").
    """
    for section_field in dataclasses.fields(config_cls):
        section_cls = typing.get_type_hints(config_cls)[section_field.name]
        hints = typing.get_type_hints(section_cls)
        for f in dataclasses.fields(section_cls):
            hint = hints[f.name]
            yield section_field.name, f.name, _scalar(hint), _optional(hint), f.metadata


def _scalar(hint: Any) -> type:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args else hint


def _optional(hint: Any) -> bool:
    return type(None) in typing.get_args(hint)


def _build_section(section_cls: type, values: dict) -> Any:
    hints = typing.get_type_hints(section_cls)
    known = {f.name for f in dataclasses.fields(section_cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise UsageError(f"unknown config key(s): {', '.join(unknown)}")
    return section_cls(**{k: _coerce(k, v, hints[k]) for k, v in values.items()})


def _coerce(name: str, value: Any, hint: Any) -> Any:
    """Checks a JSON value against a field's type (ints are accepted as floats)."""
    if value is None and _optional(hint):
        return None
    kind = _scalar(hint)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise UsageError(f"{name} must be {kind.__name__}, got {value!r}")
    return value


def _check(f: dataclasses.Field, value: Any) -> None:
    meta = f.metadata
    if value is None:
        return
    if meta.get("choices") and value not in meta["choices"]:
        raise UsageError(f"{f.name} must be one of {', '.join(meta['choices'])}; "
                         f"got {value!r}")
    low, high = meta.get("low"), meta.get("high")
    if low is not None and value < low:
        raise UsageError(f"{f.name} must be >= {low}, got {value!r}")
    if high is not None and (value >= high if meta["open_high"] else value > high):
        op = "<" if meta["open_high"] else "<="
        raise UsageError(f"{f.name} must be {op} {high}, got {value!r}")
