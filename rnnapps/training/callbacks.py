"""The loop's own Keras callbacks: ``History``, ``BestEpoch``, ``HistoryWriter``.

Each keeps the state a resumed run needs in ``get_state()``/``set_state()``
(JSON-ready dicts), which the ``Checkpointer`` stores with every checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from pathlib import Path

import keras

from rnnapps.artifacts import write_json
from rnnapps.config import MONITOR_MODES
from rnnapps.errors import UsageError

# Name parts of metrics where lower is better (losses, errors) and higher is
# better (scores). A name matches a part that it equals or ends with ("_" joined),
# e.g. "val_mean_absolute_error" -> "error", "sparse_categorical_accuracy" -> "accuracy".
_LOWER_IS_BETTER = ("loss", "crossentropy", "mae", "mse", "rmse", "mape", "msle", "error",
                    "errors", "perplexity", "bits_per_char", "bpc", "nats", "nats_per_char",
                    "hinge", "kl_divergence", "kld", "kullback_leibler_divergence", "logcosh",
                    "log_cosh", "huber")
_HIGHER_IS_BETTER = ("accuracy", "acc", "auc", "precision", "recall", "f1", "f1_score", "fbeta",
                     "fbeta_score", "iou", "r2", "r2_score")


def metric_direction(name: str, mode: str = "auto") -> str:
    """Whether a smaller or a larger value of a metric is better.

    Args:
        name: The metric, e.g. ``val_loss`` or ``accuracy``.
        mode: ``"min"`` or ``"max"`` (returned as they are), or ``"auto"``:
            judged from the name without its ``val_`` prefix -- losses and
            errors (``loss``, ``*_loss``, ``crossentropy``, ``mae``, ``mse``,
            ``rmse``, ``perplexity``, ``bits_per_char``, ...) are ``"min"``;
            ``accuracy``, ``acc``, ``auc``, ``precision``, ``recall``,
            ``f1``/``fbeta``, ``iou`` are ``"max"``.

    Returns:
        ``"min"`` or ``"max"``.

    Raises:
        UsageError: If ``mode`` is not one of auto, min, max, or ``"auto"``
            cannot tell the direction of ``name``.
    """
    if mode not in MONITOR_MODES:
        raise UsageError(f"monitor_mode must be one of {', '.join(MONITOR_MODES)}; "
                         f"got {mode!r}")
    if mode != "auto":
        return mode
    base = name[len("val_"):] if name.startswith("val_") else name
    for direction, parts in (("min", _LOWER_IS_BETTER), ("max", _HIGHER_IS_BETTER)):
        if any(base == part or base.endswith("_" + part) for part in parts):
            return direction
    # A part at the start only when no ending decided: "nats_per_token", "precision_at_1".
    for direction, parts in (("min", _LOWER_IS_BETTER), ("max", _HIGHER_IS_BETTER)):
        if any(base.startswith(part + "_") for part in parts):
            return direction
    raise UsageError(f"cannot tell whether a higher or lower {name!r} is better; "
                     "pass monitor_mode 'min' or 'max'")


class History(keras.callbacks.History):
    """What ``Trainer.fit`` returns: Keras's ``History`` plus how training ended.

    Unlike Keras's, it keeps the epochs it holds when training begins, so a
    resumed run's history (restored from the checkpoint) includes the epochs
    of the run it continues.

    Attributes:
        history: Metric name -> one value per epoch (``val_`` for validation).
        epoch: The 0-based epochs recorded.
        best_epoch: 1-based epoch of the best monitored value, if any was finite.
        best_value: That value.
        stopped_early: Whether a callback (``patience``, ``EarlyStopping``)
            ended training.
        seconds: Wall time of the epochs run, in all calls that trained it.
    """

    def __init__(self):
        super().__init__()
        self.epoch: list[int] = []
        self.best_epoch: int | None = None
        self.best_value: float | None = None
        self.stopped_early = False
        self.seconds = 0.0

    def on_train_begin(self, logs=None):
        """Keeps the epochs recorded so far (Keras's History forgets them)."""

    @property
    def epochs(self) -> int:
        """Number of epochs recorded."""
        return len(self.epoch)

    def to_dict(self) -> dict:
        """Returns the history as JSON-ready data (``from_dict`` reads it back)."""
        return {"history": {name: list(values) for name, values in self.history.items()},
                "epoch": list(self.epoch), "best_epoch": self.best_epoch,
                "best_value": self.best_value, "stopped_early": self.stopped_early,
                "seconds": self.seconds}

    @classmethod
    def from_dict(cls, data: dict) -> History:
        """Rebuilds a ``History`` from ``to_dict()``'s data."""
        history = cls()
        history.set_state(data)
        return history

    def get_state(self) -> dict:
        """The state a checkpoint keeps: ``to_dict()``."""
        return self.to_dict()

    def set_state(self, state: dict) -> None:
        """Restores ``to_dict()``'s data into this history."""
        self.history = {name: list(values) for name, values in state["history"].items()}
        self.epoch = list(state["epoch"])
        self.best_epoch, self.best_value = state["best_epoch"], state["best_value"]
        self.stopped_early, self.seconds = state["stopped_early"], state["seconds"]


class BestEpoch(keras.callbacks.Callback):
    """Keeps the weights of the best epoch of ``monitor``; stops after ``patience``.

    A value counts only if finite. The best epoch's weights go to ``path``
    (and survive a restart) or, without one, stay in memory.

    Args:
        monitor: The metric in the epoch's logs that picks the best epoch.
        mode: Its direction, as ``metric_direction`` takes it.
        patience: Sets ``model.stop_training`` after this many epochs
            without improvement (None: never).
        path: A ``.weights.h5`` file for the best weights, or None.
        restore: Load the best weights into the model when training ends.
        verbose: 1 prints a line when patience runs out.

    Attributes:
        epoch: 1-based epoch of the best value (None until one is finite).
        value: The best value.
        stopped_early: Whether patience ran out.

    Raises:
        UsageError: If the direction of ``monitor`` is unknown (``mode`` auto).
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto",
                 patience: int | None = None, *, path: str | os.PathLike | None = None,
                 restore: bool = True, verbose: int = 0):
        super().__init__()
        self.monitor = monitor
        self.mode = metric_direction(monitor, mode)
        self.patience = patience
        self.path = None if path is None else Path(path)
        self.restore = restore
        self.verbose = verbose
        self.epoch: int | None = None
        self.value: float | None = None
        self.stopped_early = False
        self._weights = None

    def improves(self, value: float) -> bool:
        """Whether ``value`` beats the best so far (NaN and infinities never do)."""
        if not math.isfinite(value):
            return False
        if self.value is None:
            return True
        return value < self.value if self.mode == "min" else value > self.value

    def on_epoch_end(self, epoch, logs=None):
        epoch += 1  # Keras counts from 0; best_epoch is 1-based
        value = (logs or {})[self.monitor]
        if self.improves(value):
            self.value, self.epoch = float(value), epoch
            self._keep(self.model)
        if self.patience is not None and epoch - (self.epoch or 0) >= self.patience:
            self.model.stop_training = self.stopped_early = True
            if self.verbose:
                print(f"Early stopping: no {self.monitor} improvement in {self.patience} "
                      "epochs.")

    def on_train_end(self, logs=None):
        if self.restore:
            self.restore_weights(self.model)

    def _keep(self, model: keras.Model) -> None:
        if self.path is None:
            self._weights = model.get_weights()
            return
        tmp = self.path.with_name(".tmp-" + self.path.name)
        with _weights_only(model):
            model.save_weights(tmp)
        os.replace(tmp, self.path)  # a crash mid-write leaves the previous best intact

    def restore_weights(self, model: keras.Model) -> None:
        """Loads the best weights into ``model`` (no-op if none were kept)."""
        if self.path is not None and self.path.exists():
            with _weights_only(model):
                model.load_weights(self.path)
        elif self._weights is not None:
            model.set_weights(self._weights)

    def get_state(self) -> dict:
        """The state a checkpoint keeps: the best value and its epoch."""
        return {"value": self.value, "epoch": self.epoch}

    def set_state(self, state: dict) -> None:
        """Restores ``get_state()``'s data (the weights stay in ``path``)."""
        self.value, self.epoch = state["value"], state["epoch"]


@contextlib.contextmanager
def _weights_only(model: keras.Model):
    """Hides ``model.optimizer`` (which ``fit`` sets for callbacks): Keras's
    weight files would otherwise hold the optimizer's state, and loading the
    best epoch's weights would roll the optimizer back too."""
    if getattr(model, "optimizer", None) is None:
        yield
        return
    optimizer = model.optimizer
    model.optimizer = None
    try:
        yield
    finally:
        model.optimizer = optimizer


class HistoryWriter(keras.callbacks.Callback):
    """Rewrites a JSON file of the metrics so far after every epoch.

    The file holds rows ``{"epoch": <1-based>, <metric>: <value>, ...}``. An
    existing file (a resumed run's) is continued: its rows before the epoch
    that ends are kept.

    Args:
        path: The JSON file.
    """

    def __init__(self, path: str | os.PathLike):
        super().__init__()
        self.path = Path(path)
        self.rows: list[dict] = json.loads(self.path.read_text()) if self.path.exists() else []

    def on_epoch_end(self, epoch, logs=None):
        epoch += 1
        self.rows = [row for row in self.rows if row["epoch"] < epoch]
        self.rows.append({"epoch": epoch, **(logs or {})})
        write_json(self.path, self.rows)
