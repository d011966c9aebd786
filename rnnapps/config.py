"""Run configuration: dataclasses, validation and JSON round-trip.

A task's configuration has three sections -- ``data``, ``model`` and
``train`` -- each a dataclass whose fields carry their help text and bounds.
The command line generates one ``--option`` per field from the same
declarations, so a field name is unique across the sections of a task.

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

CELLS = ("simple_rnn", "lstm", "gru", "elman")
"""Recurrent cell names: Keras's three, and ``elman``, our own cell."""

STRATEGIES = ("default", "mirrored", "multiworker")
"""``tf.distribute`` strategy names (``rnnapps.distribute`` builds them)."""
LR_SCHEDULES = ("constant", "cosine")


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
    checkpoint_every: Optional[int] = option(
        None, "also checkpoint every N steps within an epoch (off when unset)", low=1)
    strategy: str = option("default", "tf.distribute strategy: one device, all local GPUs "
                           "(mirrored), or the hosts in TF_CONFIG (multiworker); "
                           "batch_size is the global batch", choices=STRATEGIES)
    seed: int = option(42, "seed for weights, shuffling and dropout", low=0)


@dataclass
class SentimentData:
    """Where the IMDB reviews come from and how they become token ids."""

    data: Optional[str] = option(
        None, "aclImdb folder or aclImdb_v1.tar.gz (default: $RNNAPPS_DATA_DIR, "
        "then tensorflow-datasets)")
    max_tokens: int = option(10000, "vocabulary size, padding and OOV included",
                             low=3)
    seq_length: int = option(200, "tokens per review (longer ones are cut)", low=1)
    validation_split: float = option(
        0.2, "fraction of the training reviews held out for validation",
        low=0.0, high=1.0, open_high=True)
    bucket_by_length: bool = option(
        False, "batch training reviews of similar length together, so less padding is "
        "computed (same reviews per epoch, grouped differently)")
    teacher: Optional[str] = option(
        None, "self-training: an exported sentiment SavedModel whose probabilities label "
        "the 50,000 unlabelled IMDB reviews, which then join the training reviews")


@dataclass
class SentimentModel(RNNConfig):
    """Embedding -> recurrent stack -> Dense(1, sigmoid)."""

    embedding_dim: int = option(128, "size of the token embedding", low=1)
    bigram_buckets: int = option(0, "also embed each pair of adjacent tokens, hashed into "
                                 "this many rows (0: words only)", low=0)
    pooling: str = option("last", "how the sequence is summarised: the last state, or the "
                          "maximum over time of every step's output", choices=("last", "max"))


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


@dataclass
class SentimentConfig(TaskConfig):
    """IMDB sentiment classification."""

    task: ClassVar[str] = "sentiment"
    objective: ClassVar[str] = "val_accuracy"
    presets: ClassVar[dict] = {
        "reference": {},
        # The learning rate decays to 0 over the three epochs: at a constant
        # rate the pair table memorises the training reviews in the third.
        # With --teacher, the same settings train the self-training student.
        "best": {"cell": "gru", "bidirectional": True, "units": 64, "layers": 1,
                 "max_tokens": 40000, "seq_length": 800, "validation_split": 0.05,
                 "embedding_dim": 64, "bigram_buckets": 262144, "pooling": "max",
                 "dropout": 0.5, "bucket_by_length": True, "batch_size": 64,
                 "learning_rate": 5e-4, "lr_schedule": "cosine", "epochs": 3,
                 "monitor": "val_accuracy"},
    }
    search_space: ClassVar[dict] = {
        "cell": Choice(CELLS), "units": Int(32, 256, step=32), "layers": Int(1, 2),
        "bidirectional": Bool(), "dropout": Float(0.0, 0.5),
        "learning_rate": Float(1e-4, 1e-2, log=True), "clip_norm": Float(0.5, 5.0, log=True),
        "batch_size": Choice((32, 64, 128)), "max_tokens": Choice((5000, 10000, 20000)),
        "seq_length": Choice((100, 200, 400)),
    }
    data: SentimentData = field(default_factory=SentimentData)
    model: SentimentModel = field(default_factory=SentimentModel)
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass
class RegressionData:
    """Which series to forecast, how it is cut into windows and split in time."""

    csv: Optional[str] = option(
        None, "CSV file of the series (default: a synthetic noisy sum of sines); "
        "a bare name is also looked up in $RNNAPPS_DATA_DIR/timeseries")
    target: Optional[str] = option(None, "CSV column to forecast (needed with --csv)")
    features: Optional[str] = option(
        None, "comma-separated extra input columns; non-numeric ones are one-hot encoded")
    date_column: Optional[str] = option(
        None, "CSV column of ISO 8601 times: rows are sorted by it; never an input")
    window: int = option(30, "past time steps the model reads", low=1)
    horizon: int = option(1, "future steps forecast at once", low=1)
    season: Optional[int] = option(
        None, "season length in steps, for the seasonal-naive baseline", low=1)
    val_fraction: float = option(0.15, "fraction of the rows (after train) for validation",
                                 low=0.0, high=1.0, open_high=True)
    test_fraction: float = option(0.15, "fraction of the rows (the last ones) for test",
                                  low=0.0, high=1.0, open_high=True)
    signal_length: int = option(2000, "synthetic signal: number of time steps", low=2)
    signal_periods: str = option("24,60", "synthetic signal: comma-separated sine periods")
    signal_noise: float = option(0.1, "synthetic signal: std of the Gaussian noise", low=0.0)
    signal_seed: int = option(0, "synthetic signal: random seed", low=0)


@dataclass
class RegressionModel(RNNConfig):
    """Recurrent stack -> Dense(horizon); defaults mirror SimpleRNN(128) -> Dense(1)."""

    cell: str = option("simple_rnn", "recurrent cell", choices=CELLS)
    units: int = option(128, "units per recurrent layer", low=1)
    layers: int = option(1, "number of stacked recurrent layers", low=1)


@dataclass
class RegressionTrain(TrainConfig):
    """The shared loop's settings, with defaults suited to small series."""

    epochs: int = option(20, "passes over the training data", low=1)
    batch_size: int = option(64, "examples per step", low=1)
    patience: Optional[int] = option(
        5, "stop after this many epochs without improvement (off when unset)", low=1)
    loss: str = option("mse", "training loss on the normalised targets: mse, or mae "
                       "(the median forecast, what the MAE scores)", choices=("mse", "mae"))


@dataclass
class RegressionConfig(TaskConfig):
    """Time-series forecasting from a CSV or a synthetic signal."""

    task: ClassVar[str] = "regression"
    presets: ClassVar[dict] = {
        "reference": {},
        "best": {"cell": "gru", "units": 32, "epochs": 200, "patience": 15},
        # pm2.5 24 hours ahead: a longer window, and the median (MAE) of a skewed series.
        "best-pollution-24h": {"cell": "gru", "units": 32, "layers": 2, "loss": "mae",
                               "learning_rate": 3e-4, "epochs": 40, "patience": 6,
                               "window": 96, "horizon": 24, "season": 24},
    }
    search_space: ClassVar[dict] = {
        "cell": Choice(CELLS), "units": Int(16, 128, step=16), "layers": Int(1, 2),
        "dropout": Float(0.0, 0.3), "learning_rate": Float(1e-4, 1e-2, log=True),
        "clip_norm": Float(0.5, 5.0, log=True), "batch_size": Choice((32, 64, 128)),
        "window": Choice((12, 24, 48)),
    }
    data: RegressionData = field(default_factory=RegressionData)
    model: RegressionModel = field(default_factory=RegressionModel)
    train: RegressionTrain = field(default_factory=RegressionTrain)

    def validate(self) -> None:
        """Checks the bounds of every field, then how the data options fit together.

        Raises:
            UsageError: Naming the first bad option.
        """
        super().validate()
        data = self.data
        check_chronological_split(data.val_fraction, data.test_fraction)
        if data.val_fraction <= 0.0 and self.train.monitor.startswith("val_"):
            raise UsageError(f"monitor {self.train.monitor!r} needs val_fraction > 0")
        if data.csv is None:
            for name in ("target", "features", "date_column"):
                if getattr(data, name) is not None:
                    raise UsageError(f"{name} needs --csv (the synthetic signal has one "
                                     "column, 'value')")
            try:
                periods = [float(p) for p in data.signal_periods.split(",")]
            except ValueError:
                periods = []
            if not periods or min(periods) <= 0:
                raise UsageError("signal_periods must be comma-separated positive numbers, "
                                 f"got {data.signal_periods!r}")
        elif not data.target:
            raise UsageError("--csv needs --target (the column to forecast)")


@dataclass
class TextgenData:
    """Where the text comes from and how it is cut into training windows."""

    data: Optional[str] = option(
        None, "Tiny Shakespeare offline: a TFDS manual dir holding input.txt, or that "
        "input.txt (default: $RNNAPPS_DATA_DIR/tiny_shakespeare, then tensorflow-datasets)")
    corpus: Optional[str] = option(
        None, "any UTF-8 text file instead of Tiny Shakespeare (split in order: "
        "train, validation, test)")
    tfds_dir: Optional[str] = option(
        None, "where tensorflow-datasets keeps prepared data (default: its own, "
        "$TFDS_DATA_DIR or ~/tensorflow_datasets)")
    seq_length: int = option(100, "characters per training window", low=1)
    val_fraction: float = option(0.05, "--corpus: fraction of the text (after train) "
                                 "for validation", low=0.0, high=1.0, open_high=True)
    test_fraction: float = option(0.05, "--corpus: fraction of the text (the end) for test",
                                  low=0.0, high=1.0, open_high=True)


@dataclass
class TextgenModel(RNNConfig):
    """Embedding -> recurrent layers (state in and out) -> Dense(vocabulary) logits.

    GRU(512), not the TensorFlow tutorial's GRU(1024): on 2 CPU cores a step of
    64 x 100 characters took 1.7 s with 512 units (0.5 s with 256), and the cost
    grows with units squared, so 1024 units would need over a quarter of an hour
    per Tiny Shakespeare epoch.
    """

    cell: str = option("gru", "recurrent cell", choices=CELLS)
    units: int = option(512, "units per recurrent layer", low=1)
    layers: int = option(1, "number of stacked recurrent layers", low=1)
    embedding_dim: int = option(256, "size of the character embedding", low=1)


@dataclass
class TextgenTrain(TrainConfig):
    """The shared loop's settings, with the text-generation tutorial's batch size."""

    epochs: int = option(10, "passes over the training data", low=1)
    batch_size: int = option(64, "windows per step", low=1)
    clip_norm: Optional[float] = option(
        5.0, "clip gradients to this global norm (off when unset)", low=0.0)


@dataclass
class TextgenConfig(TaskConfig):
    """Character-level language model and text generator."""

    task: ClassVar[str] = "textgen"
    presets: ClassVar[dict] = {
        "reference": {},
        "best": {"learning_rate": 2e-3, "epochs": 10, "patience": 2},
    }
    search_space: ClassVar[dict] = {
        "cell": Choice(("lstm", "gru")), "units": Int(128, 512, step=128), "layers": Int(1, 2),
        "embedding_dim": Choice((64, 128, 256)), "dropout": Float(0.0, 0.3),
        "learning_rate": Float(1e-4, 1e-2, log=True), "clip_norm": Float(0.5, 5.0, log=True),
        "batch_size": Choice((32, 64, 128)), "seq_length": Choice((50, 100, 200)),
    }
    data: TextgenData = field(default_factory=TextgenData)
    model: TextgenModel = field(default_factory=TextgenModel)
    train: TextgenTrain = field(default_factory=TextgenTrain)

    def validate(self) -> None:
        """Checks the bounds of every field, then how the options fit together.

        Raises:
            UsageError: Naming the first bad option.
        """
        super().validate()
        data = self.data
        if data.data is not None and data.corpus is not None:
            raise UsageError("give --data (Tiny Shakespeare) or --corpus (your text), not both")
        check_chronological_split(data.val_fraction, data.test_fraction)
        if data.val_fraction <= 0.0:
            raise UsageError(f"val_fraction must be > 0, got {data.val_fraction!r}")
        if self.model.bidirectional:
            raise UsageError("bidirectional layers cannot generate text: they read the "
                             "characters they are asked to predict")


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
