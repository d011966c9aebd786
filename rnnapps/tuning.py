"""Hyperparameter search with keras-tuner, training through the shared loop.

A task's search space is declared once, as ``search_space`` on its config
class. ``TaskHyperModel.build(hp)`` maps ``hp`` -> config -> the task's
``experiment`` (data + model); ``fit`` trains with ``Trainer`` (never
``model.fit``) and hands the tuner's Keras callbacks to it, so Hyperband and
the tuner's best-epoch bookkeeping work as with Keras's own loop.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Any

import keras
import keras_tuner
import tensorflow as tf

from rnnapps import precision, registry
from rnnapps.artifacts import ensure_dir, write_json
from rnnapps.config import Bool, Choice, Float, Int, TaskConfig, check_tune_strategy
from rnnapps.distribute import make_strategy
from rnnapps.errors import Diverged, UsageError
from rnnapps.tasks.base import Task, make_trainer
from rnnapps.training import metric_direction

TUNERS = ("random", "bayesian", "hyperband")
DISTRIBUTED_ENV = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")
"""What keras-tuner's chief/worker mode reads: this process's id (``chief``, or
``tuner0``, ``tuner1``, ... for the workers) and where the chief listens."""


def sample(hp: keras_tuner.HyperParameters, name: str, spec: Any) -> Any:
    """Declares ``name`` in ``hp`` from a config search-space spec; returns its value."""
    if isinstance(spec, Choice):
        return hp.Choice(name, list(spec.values))
    if isinstance(spec, Int):
        return hp.Int(name, spec.low, spec.high, step=spec.step)
    if isinstance(spec, Float):
        return hp.Float(name, spec.low, spec.high, sampling="log" if spec.log else "linear")
    if isinstance(spec, Bool):
        return hp.Boolean(name)
    raise TypeError(f"unknown search-space spec for {name}: {spec!r}")


class _ShiftEpochs(keras.callbacks.Callback):
    """Hands the tuner's callbacks epochs counted from ``initial_epoch``.

    Hyperband continues a trial of an earlier bracket for the epochs it lacks;
    Keras's ``fit(initial_epoch=k)`` would number them from k, so we do too.
    """

    def __init__(self, callbacks, offset: int):
        super().__init__()
        self.inner = keras.callbacks.CallbackList(list(callbacks))
        self.offset = offset

    def set_model(self, model):
        super().set_model(model)
        self.inner.set_model(model)

    def on_train_begin(self, logs=None):
        self.inner.on_train_begin(logs)

    def on_train_end(self, logs=None):
        self.inner.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs=None):
        self.inner.on_epoch_begin(epoch + self.offset, logs)

    def on_epoch_end(self, epoch, logs=None):
        self.inner.on_epoch_end(epoch + self.offset, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.inner.on_train_batch_end(batch, logs)


class TaskHyperModel(keras_tuner.HyperModel):
    """A keras-tuner HyperModel for any rnnapps task.

    The task's ``experiment`` seeds with ``config.train.seed`` before it builds,
    so every trial starts from the weights its config determines. Each trial's
    model and optimizer are made under ``strategy``'s scope, as in ``train``.

    Args:
        task: The ``Task`` (or any object with an ``experiment(config, raw)`` method).
        base: The config whose searched fields ``hp`` replaces.
        raw: The task's loaded data (``task.load(base)``), shared by all trials.
        objective: The metric the search optimises, e.g. ``val_loss``.
        strategy: The ``tf.distribute`` strategy of the trials (default: the
            current one, usually one device).
    """

    def __init__(self, task: Task, base: TaskConfig, raw: Any, objective: str,
                 strategy: tf.distribute.Strategy | None = None):
        super().__init__(name=base.task)
        self.task, self.base, self.raw, self.objective = task, base, raw, objective
        self.strategy = strategy or tf.distribute.get_strategy()
        self._experiment = None
        self.trials_run = 0

    def config(self, hp: keras_tuner.HyperParameters) -> TaskConfig:
        """The config of one trial: ``base`` with the searched fields from ``hp``."""
        return self.base.replace(**{name: sample(hp, name, spec)
                                    for name, spec in self.base.search_space.items()})

    def build(self, hp):
        config = self.config(hp)
        if self.raw is None:  # a distributed search's chief: it only learns the space
            return None
        with self.strategy.scope(), precision.policy(config.train.precision):
            self._experiment = self.task.experiment(config, self.raw)
        return self._experiment.model

    def fit(self, hp, model, *args, callbacks=(), epochs=1, initial_epoch=0, verbose=0,
            **kwargs):
        """Trains one trial with the shared loop.

        Returns:
            The metrics of the trial's best epoch (the objective among them).

        Raises:
            keras_tuner.errors.FailedTrialError: If training diverged; the
                tuner records the trial as failed and goes on.
        """
        exp = self._experiment
        if exp is None or exp.model is not model:
            raise RuntimeError("fit() must follow build() for the same trial")
        config = self.config(hp)
        epochs = max(1, epochs - initial_epoch)
        with self.strategy.scope():  # the optimizer's variables and the metrics'
            trainer = make_trainer(config, exp, self.strategy, epochs=epochs)
        try:
            history = trainer.fit(
                exp.train_data, exp.val_data, epochs=epochs, monitor=self.objective,
                monitor_mode=self.base.train.monitor_mode, patience=config.train.patience,
                callbacks=[_ShiftEpochs(callbacks, initial_epoch)] if initial_epoch
                else list(callbacks), verbose=verbose)
        except Diverged as err:
            raise keras_tuner.errors.FailedTrialError(str(err)) from None
        self.trials_run += 1
        best = (history.best_epoch or history.epochs) - 1
        return {name: values[best] for name, values in history.history.items()}


def make_tuner(hypermodel: TaskHyperModel, tuner: str, directory: str | Path, *,
               max_trials: int, max_epochs: int, seed: int) -> keras_tuner.Tuner:
    """Builds (or reloads, to resume) a tuner writing to ``directory``."""
    direction = metric_direction(hypermodel.objective, hypermodel.base.train.monitor_mode)
    directory = Path(directory)
    common = dict(objective=keras_tuner.Objective(hypermodel.objective, direction),
                  directory=str(directory.parent), project_name=directory.name,
                  overwrite=False, seed=seed, max_consecutive_failed_trials=max_trials)
    if tuner == "random":
        return keras_tuner.RandomSearch(hypermodel, max_trials=max_trials, **common)
    if tuner == "bayesian":
        return keras_tuner.BayesianOptimization(hypermodel, max_trials=max_trials, **common)
    if tuner == "hyperband":
        return keras_tuner.Hyperband(hypermodel, max_epochs=max_epochs, factor=3, **common)
    raise UsageError(f"tuner must be one of {', '.join(TUNERS)}; got {tuner!r}")


def tune(task: str | Task, base: TaskConfig, *, tuner: str = "hyperband",
         max_trials: int = 10, max_epochs: int = 3, directory: str | Path | None = None,
         objective: str | None = None, distributed: bool = False, verbose: int = 1) -> dict:
    """Searches the task's hyperparameters and writes ``best_config.json``.

    Re-running with the same ``directory`` resumes the search: finished trials
    are kept, a trial cut short (the process killed) runs again, and only the
    missing ones follow. The trials train under ``base.train.strategy``
    (``default`` or ``mirrored``). With ``distributed``, this process is the
    chief or a worker of one search shared by several (``distributed_role``):
    the chief reads no data, trains nothing and writes the results; each
    worker trains the trials the chief hands it.

    Args:
        task: A task name (``"sentiment"``) or ``Task``.
        base: Settings of everything not searched (data paths, seed, ...).
        tuner: ``random``, ``bayesian`` or ``hyperband``.
        max_trials: Trials for random and bayesian search (Hyperband's count
            follows from ``max_epochs``).
        max_epochs: Epochs per trial (Hyperband: the most for any trial).
        directory: Where the tuner keeps its state and the results go
            (default ``tuning/<task>``).
        objective: The metric to optimise (default: the task's ``objective``);
            ``base.train.monitor_mode`` says whether it should fall or rise.
        distributed: Take part in a distributed search, as the environment says.
        verbose: 1 prints progress and the summary table.

    Returns:
        ``{"best_config": path, "best": {...}, "trials": [...]}``; for a
        distributed search's worker, ``{"tuner_id", "trials_run"}``.

    Raises:
        UsageError: On a bad tuner name, bounds, objective, strategy or
            distributed set-up.
    """
    objective = _checked_objective(base, tuner, max_trials, max_epochs, objective)
    role = distributed_role(distributed)
    base = precision.resolved(base, verbose)
    chief = role is not None and "chief" in role  # keras-tuner's own rule for the chief
    task = registry.get_task(task) if isinstance(task, str) else task
    directory = ensure_dir(directory or Path("tuning") / base.task)
    hypermodel = TaskHyperModel(task, base, None if chief else task.load(base, verbose),
                                objective, make_strategy(base.train.strategy))
    # keras-tuner prints "Reloading Tuner from ..." on a resumed search, whatever its verbosity.
    with contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO()):
        search = make_tuner(hypermodel, tuner, directory / "search", max_trials=max_trials,
                            max_epochs=max_epochs, seed=base.train.seed)
    search.search(epochs=max_epochs, verbose=verbose)
    if role is not None and not chief:  # the results are the chief's to write
        return {"tuner_id": role, "trials_run": hypermodel.trials_run}
    return _write_results(search, hypermodel, directory, verbose)


def _write_results(search: keras_tuner.Tuner, hypermodel: TaskHyperModel, directory: Path,
                   verbose: int) -> dict:
    """Writes ``best_config.json`` and ``trials.json``; returns ``tune``'s result."""
    objective, base = hypermodel.objective, hypermodel.base
    trials = trial_table(search)
    done = [t for t in trials if t["score"] is not None]
    if not done:
        raise UsageError(f"no trial finished ({len(trials)} failed); see {directory}")
    best_hp = search.get_best_hyperparameters(1)[0]
    best_config = hypermodel.config(best_hp)
    best_config.save(directory / "best_config.json")
    write_json(directory / "trials.json", trials)
    if verbose:
        print(format_table(trials, objective, base.train.monitor_mode))
        print(f"best config: {directory / 'best_config.json'}")
    return {"best_config": str(directory / "best_config.json"),
            "best": {"objective": objective, **next(t for t in trials
                                                     if t["trial"] == _best_id(search))},
            "trials": trials}


def _checked_objective(base: TaskConfig, tuner: str, max_trials: int, max_epochs: int,
                       objective: str | None) -> str:
    """Checks the search's options before any data is read; returns the objective."""
    if tuner not in TUNERS:
        raise UsageError(f"tuner must be one of {', '.join(TUNERS)}; got {tuner!r}")
    for name, value in (("max_trials", max_trials), ("max_epochs", max_epochs)):
        if value < 1:
            raise UsageError(f"{name} must be >= 1, got {value}")
    check_tune_strategy(base)
    precision.check(base.train)
    objective = objective or type(base).objective
    if not objective.startswith("val_"):
        raise UsageError(f"objective must be a validation metric (val_...), got {objective!r}")
    metric_direction(objective, base.train.monitor_mode)  # known before any trial runs
    return objective


def distributed_role(distributed: bool) -> str | None:
    """This process's id in a distributed search (``chief``, ``tuner0``, ...), or None.

    keras-tuner's chief/worker mode is set by the environment (``DISTRIBUTED_ENV``):
    the chief runs the search's oracle as a gRPC service on
    ``KERASTUNER_ORACLE_IP:KERASTUNER_ORACLE_PORT``; each worker asks it for a
    trial, trains it and reports the score, until the search is done.

    Raises:
        UsageError: With ``distributed``, if a variable is missing or the port
            is not a number; without it, if ``KERASTUNER_ORACLE_IP`` is set
            (keras-tuner would quietly join that search).
    """
    if not distributed:
        if os.environ.get("KERASTUNER_ORACLE_IP"):
            raise UsageError("KERASTUNER_ORACLE_IP is set, which makes keras-tuner join a "
                             "distributed search: pass --distributed, or unset it")
        return None
    missing = [name for name in DISTRIBUTED_ENV if not os.environ.get(name)]
    if missing:
        raise UsageError(f"--distributed needs {', '.join(missing)} in the environment "
                         "(KERASTUNER_TUNER_ID: chief for one process, tuner0, tuner1, ... "
                         "for the others)")
    port = os.environ["KERASTUNER_ORACLE_PORT"]
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"KERASTUNER_ORACLE_PORT must be a port number, got {port!r}")
    return os.environ["KERASTUNER_TUNER_ID"]


def _best_id(search: keras_tuner.Tuner) -> str:
    return search.oracle.get_best_trials(1)[0].trial_id


def trial_table(search: keras_tuner.Tuner) -> list[dict]:
    """One row per trial: id, status, score and the values it tried."""
    return [{"trial": t.trial_id, "status": t.status, "score": t.score,
             "values": dict(t.hyperparameters.values)}
            for t in sorted(search.oracle.trials.values(), key=lambda t: t.trial_id)]


def format_table(trials: list[dict], objective: str, mode: str = "auto") -> str:
    """The trials as an aligned text table, best score first (``mode`` as
    ``metric_direction`` takes it)."""
    reverse = metric_direction(objective, mode) == "max"
    ordered = sorted(trials, key=lambda t: (t["score"] is None,
                                            (-1 if reverse else 1) * (t["score"] or 0)))
    names = sorted({k for t in trials for k in t["values"] if not k.startswith("tuner/")})
    header = ["trial", "status", objective, *names]
    rows = [[t["trial"], t["status"], "-" if t["score"] is None else f"{t['score']:.4f}",
             *[_fmt(t["values"].get(n)) for n in names]] for t in ordered]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths))
                     for r in [header, *rows])


def _fmt(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
