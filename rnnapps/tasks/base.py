"""The task contract: what a task provides, and what every task gets written once.

A task is one package ``rnnapps/tasks/<name>/`` listed in
``rnnapps.registry.TASKS``:

* ``config.py`` -- its ``TaskConfig`` subclass, exported as ``Config``
  (``data``/``model``/``train`` sections of ``option()`` fields; no
  TensorFlow import, so ``--help`` stays instant).
* ``data.py``, ``model.py`` -- reading and encoding the data; the Keras model.
* ``task.py`` -- a ``Task`` subclass and its instance ``TASK``. It implements
  four hooks:

  - ``load(config, verbose)`` reads and checks the raw data (``UsageError``
    on anything the user can fix; nothing is written before this);
  - ``experiment(config, raw)`` returns an ``Experiment``: model, loss,
    metrics, the epochs' data with their length, validation/test data, the
    task files a run keeps beside its weights (a vocabulary, statistics);
  - ``build_model(config, files)`` rebuilds the model from a run's files;
  - ``serving(run)`` returns the resources and endpoints of the SavedModel;
  - optionally ``after_train(run)`` adds files to a finished run (plots).

  ``train``, ``export``, ``load_run`` and ``predictor`` are written here,
  once, for every task; ``rnnapps.tuning`` builds trials from ``load`` and
  ``experiment`` the same way.
* ``serving.py`` -- what users call on an export (predict, evaluate, ...).
* ``commands.py`` -- ``register(subcommands)`` adding ``rnnapps <name> ...``;
  ``rnnapps.cli.add_task`` gives it ``train``/``export``/``tune``.

A run directory holds everything one training run wrote, next to the config
that produced it::

    runs/<task>/<timestamp>/
        config.json           the full config (reuse with --config)
        history.json          per-epoch metrics, rewritten after each epoch
        checkpoints/          tf.train.CheckpointManager files + best.weights.h5
        model.weights.h5      the final (best) weights
        model.keras           the whole model: keras.models.load_model reopens it
        metrics.json          test metrics
        <task files>          e.g. vocabulary.txt, series.json
        tensorboard/          summaries, when asked for
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Callable, ClassVar, Sequence

import keras
import tensorflow as tf

from rnnapps import precision
from rnnapps.artifacts import ensure_dir, read_json, write_json, write_text
from rnnapps.config import TaskConfig
from rnnapps.distribute import is_chief, make_strategy, worker_dir
from rnnapps.errors import Interrupted, UsageError
from rnnapps.export import Endpoint, Predictor, export_saved_model, open_export
from rnnapps.training import Epochs, History, HistoryWriter, Trainer, metric_direction

WEIGHTS = "model.weights.h5"
MODEL = "model.keras"


@dataclasses.dataclass
class Experiment:
    """Everything the shared loop needs to train one config of a task.

    Attributes:
        model: The (built or unbuilt) Keras model.
        loss: The Keras loss.
        metrics: Keras metrics besides the loss.
        train_data: The epochs' batches and their number (``Epochs``).
        val_data: Validation batches, or None.
        test_data: Test batches, or None.
        files: Name -> content of the task files a run keeps beside its weights
            (``.json`` names get JSON, others text); ``build_model`` and
            ``serving`` read them back.
        score: Computes the test metrics from the trained ``Trainer``
            (default: ``trainer.evaluate(test_data)``).
        notes: Lines ``train`` prints first (what was loaded, what was filled).
        data_info: Facts about the data recorded in ``metrics.json``.
    """

    model: keras.Model
    loss: keras.losses.Loss
    metrics: list
    train_data: Epochs
    val_data: Any = None
    test_data: Any = None
    files: dict = dataclasses.field(default_factory=dict)
    score: Callable[[Trainer, int], dict] | None = None
    notes: list = dataclasses.field(default_factory=list)
    data_info: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Run:
    """A training run, just trained or reopened from its directory.

    Attributes:
        config: The run's settings.
        model: The Keras model with the run's final (best) weights.
        run_dir: Where the run's files are.
        files: The task files (vocabulary, statistics), as ``Experiment.files``.
        metrics: ``metrics.json``: test and best-epoch validation metrics.
        history: Metric name -> per-epoch values (Keras's ``History.history`` shape).
        export: The SavedModel version directory, if one was exported.
    """

    config: TaskConfig
    model: keras.Model
    run_dir: Path
    files: dict
    metrics: dict
    history: dict
    export: Path | None = None

    def summary(self) -> dict:
        """``metrics.json`` plus the run and export paths: what ``train`` prints."""
        paths = {"run_dir": str(self.run_dir)}
        if self.export is not None:
            paths["export"] = str(self.export)
        return {**self.metrics, **paths}


class Task:
    """Base class of a task: implement the four hooks; the rest is shared.

    Attributes:
        name: The task's name (``rnnapps <name> ...``, ``runs/<name>/``).
        config_class: Its ``TaskConfig`` subclass.
        files: Names of the task files every finished run holds.
    """

    name: ClassVar[str] = ""
    config_class: ClassVar[type[TaskConfig]] = TaskConfig
    files: ClassVar[tuple[str, ...]] = ()

    # ---------------------------------------------------- the hooks a task writes
    def load(self, config: TaskConfig, verbose: int = 1) -> Any:
        """Reads and checks the raw data ``config.data`` names."""
        raise NotImplementedError

    def experiment(self, config: TaskConfig, raw: Any) -> Experiment:
        """Seeds, encodes ``raw`` into datasets and builds the model."""
        raise NotImplementedError

    def build_model(self, config: TaskConfig, files: dict) -> keras.Model:
        """Rebuilds the model of a run from its config and task files."""
        raise NotImplementedError

    def serving(self, run: Run) -> tuple[list, list[Endpoint]]:
        """Returns the SavedModel's resources and endpoints for a finished run."""
        raise NotImplementedError

    def after_train(self, run: Run) -> None:
        """Optional: writes what the task adds to a finished run (plots of its
        test metrics); by default nothing."""

    # ------------------------------------------------------------ written once
    def train(self, config: TaskConfig, *, run_dir: str | Path | None = None,
              resume: bool = False, export_dir: str | Path | None = "saved_models",
              tensorboard: bool = False, callbacks: Sequence[keras.callbacks.Callback] = (),
              verbose: int = 1) -> Run:
        """Loads the data, trains with the shared loop, scores on test, exports.

        Everything that can fail on the user's input (options, data, the
        monitored metric) fails before the run directory is created.

        Args:
            config: The run's settings.
            run_dir: Where checkpoints, history and weights go (default: a new
                ``runs/<task>/<timestamp>``).
            resume: Continue the run in ``run_dir`` from its last checkpoint.
            export_dir: Root of the SavedModel versions; None skips the export.
            tensorboard: Also write TensorBoard summaries to ``<run_dir>/tensorboard``.
            callbacks: Keras callbacks for the loop, besides the run's own.
            verbose: 1 for progress bars and messages, 0 for none.

        Returns:
            The ``Run``.

        Raises:
            UsageError: On unusable data, options or run directory.
            rnnapps.errors.Diverged: If the loss becomes NaN or infinite.
            rnnapps.errors.Interrupted: On Ctrl-C, after a checkpoint was saved;
                its message gives the command that resumes the run.
        """
        precision.check(config.train)
        run_dir = resolve_run_dir(self.name, run_dir, resume)
        raw = self.load(config, verbose)
        strategy = make_strategy(config.train.strategy)
        config = precision.resolved(config, verbose)  # what runs is what is recorded
        with strategy.scope(), precision.policy(config.train.precision):
            exp = self.experiment(config, raw)  # the model's variables, the metrics'
            trainer = make_trainer(config, exp, strategy)  # the optimizer's
        check_monitor(config, trainer, has_val=exp.val_data is not None)
        for line in exp.notes if verbose else ():
            print(line)
        out = worker_dir(run_dir, strategy)  # other workers write to a scratch directory
        write_run_files(out, config, exp.files)
        own = [HistoryWriter(out / "history.json")]
        if tensorboard and is_chief(strategy):
            own.append(keras.callbacks.TensorBoard(str(out / "tensorboard")))
        try:
            # Every worker resumes from the chief's checkpoints: all restart at one step.
            history = fit(trainer, config, exp, out, resume=resume,
                          restore_dir=run_dir / "checkpoints",
                          callbacks=[*own, *callbacks], verbose=verbose)
        except Interrupted as stop:
            raise Interrupted(stop.epoch, stop.step, stop.checkpoint_dir,
                              f"rnnapps {self.name} train --run-dir {run_dir} --resume") from None
        test = (exp.score(trainer, verbose) if exp.score is not None
                else trainer.evaluate(exp.test_data, verbose=verbose))
        metrics = finish_run(out, history, test, exp.data_info)
        run = Run(config, exp.model, out, dict(exp.files), metrics, history.history)
        self.after_train(run)
        if export_dir is not None and is_chief(strategy):
            run.export = self.export(run_dir, export_dir)
        return run

    def load_run(self, run_dir: str | Path) -> Run:
        """Reopens a finished run: its config, files, metrics and trained model.

        Raises:
            UsageError: If ``run_dir`` is not a finished run of this task.
        """
        run_dir = Path(run_dir)
        for name in ("config.json", WEIGHTS, *self.files):
            if not (run_dir / name).exists():
                raise UsageError(f"{run_dir} is not a finished {self.name} run (no {name})")
        config = self.config_class.load(run_dir / "config.json")
        files = {name: read_json(run_dir / name) if name.endswith(".json")
                 else (run_dir / name).read_text(encoding="utf-8") for name in self.files}
        with precision.policy(config.train.precision):
            model = self.build_model(config, files)
        model.load_weights(run_dir / WEIGHTS)
        return Run(config, model, run_dir, files, _read_or(run_dir / "metrics.json", {}),
                   _history_columns(_read_or(run_dir / "history.json", [])))

    def export(self, run_dir: str | Path, export_dir: str | Path = "saved_models") -> Path:
        """Exports a finished run as ``<export_dir>/<task>/<N>`` (TF Serving's layout).

        Beside the SavedModel: ``config.json``, ``metrics.json`` and the task files.

        Raises:
            UsageError: If ``run_dir`` is not a finished run of this task.
        """
        run = self.load_run(run_dir)
        resources, endpoints = self.serving(run)
        return export_saved_model(
            Path(export_dir) / self.name, resources=resources, endpoints=endpoints,
            files={"config.json": run.config.to_dict(), **run.files, "metrics.json": run.metrics})

    def predictor(self, model_dir: str | Path) -> Predictor:
        """The export in ``model_dir`` (or its latest version), loaded once and cached.

        Raises:
            UsageError: If it is not a loadable SavedModel of this task.
        """
        return open_export(model_dir, self.name)


# ------------------------------------------------------------- run pieces
def default_run_dir(task: str, root: str | Path = "runs") -> Path:
    """Returns a fresh ``runs/<task>/<YYYYmmdd-HHMMSS>[-k]`` path (not created)."""
    base = Path(root) / task / time.strftime("%Y%m%d-%H%M%S")
    path, k = base, 1
    while path.exists():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path


def resolve_run_dir(task: str, run_dir: str | Path | None, resume: bool) -> Path:
    """Checks the run directory options without touching the disk.

    Raises:
        UsageError: If resuming a directory without checkpoints, starting a
            new run in a directory that already has some, or the path is a file.
    """
    if run_dir is None:
        if resume:
            raise UsageError("--resume needs --run-dir (the run to continue)")
        return default_run_dir(task)
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise UsageError(f"--run-dir {run_dir} exists and is not a directory")
    has_checkpoint = (run_dir / "checkpoints" / "checkpoint").exists()
    if resume and not has_checkpoint:
        raise UsageError(f"no checkpoint to resume from in {run_dir}")
    if not resume and has_checkpoint:
        raise UsageError(f"{run_dir} already holds a run: pass --resume to continue it "
                         "or choose another --run-dir")
    return run_dir


def make_trainer(config: TaskConfig, exp: Experiment,
                 strategy: tf.distribute.Strategy | None = None,
                 epochs: int | None = None) -> Trainer:
    """The shared loop with Adam, its schedule and clipping as ``config.train`` says.

    Call it under ``strategy``'s scope, like the model. A decaying schedule
    reaches its end after ``epochs`` (default ``config.train.epochs``) epochs
    of ``exp.train_data.steps`` steps.

    Raises:
        UsageError: If a decaying schedule has training data of unknown length.
    """
    train = config.train
    rate = train.learning_rate
    if train.lr_schedule == "cosine":
        if not exp.train_data.steps:
            raise UsageError("lr_schedule 'cosine' needs training data of known length")
        rate = keras.optimizers.schedules.CosineDecay(
            rate, exp.train_data.steps * (epochs or train.epochs))
    optimizer = keras.optimizers.Adam(rate)
    if train.precision == "mixed_float16":  # float16 gradients underflow without it
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return Trainer(exp.model, exp.loss, optimizer, exp.metrics, clip_norm=train.clip_norm,
                   strategy=strategy)


def check_monitor(config: TaskConfig, trainer: Trainer, has_val: bool) -> None:
    """Checks that the monitored metric exists and that its direction is known.

    Raises:
        UsageError: Naming the metric and the ones there are.
    """
    monitor, names = config.train.monitor, trainer.metric_names(validation=has_val)
    if monitor not in names:
        raise UsageError(f"monitor must be one of {', '.join(names)}; got {monitor!r}")
    metric_direction(monitor, config.train.monitor_mode)


def write_run_files(run_dir: Path, config: TaskConfig, files: dict) -> None:
    """Writes ``config.json`` and the task files into a (new) run directory."""
    ensure_dir(run_dir)
    config.save(run_dir / "config.json")
    for name, content in files.items():
        (write_json if name.endswith(".json") else write_text)(run_dir / name, content)


def fit(trainer: Trainer, config: TaskConfig, exp: Experiment, run_dir: Path, *,
        resume: bool = False, restore_dir: Path | None = None,
        callbacks: Sequence[keras.callbacks.Callback] = (), verbose: int = 1) -> History:
    """Trains the experiment's model as ``config.train`` says; keeps the result.

    Checkpoints go to ``run_dir/checkpoints``; the final (best) weights to
    ``run_dir/model.weights.h5`` and the whole model to ``run_dir/model.keras``.
    """
    train = config.train
    history = trainer.fit(exp.train_data, exp.val_data, epochs=train.epochs,
                          monitor=train.monitor, monitor_mode=train.monitor_mode,
                          patience=train.patience, checkpoint_dir=run_dir / "checkpoints",
                          checkpoint_every=train.checkpoint_every, resume=resume,
                          restore_dir=restore_dir, callbacks=callbacks, verbose=verbose)
    for name, save in ((WEIGHTS, exp.model.save_weights), (MODEL, exp.model.save)):
        tmp = run_dir / f".tmp-{name}"
        save(tmp)
        tmp.replace(run_dir / name)
    return history


def finish_run(run_dir: Path, history: History, test_metrics: dict,
               data_info: dict | None = None) -> dict:
    """Writes ``metrics.json`` (test and best-epoch validation metrics, wall
    time, data facts) and returns it."""
    at = (history.best_epoch or history.epochs) - 1  # the epoch whose weights were kept
    result = {"test": test_metrics, "epochs": history.epochs, "best_epoch": history.best_epoch,
              "train_seconds": round(history.seconds, 1),
              "val": {k: v[at] for k, v in history.history.items() if k.startswith("val_")}}
    if data_info:
        result["data"] = data_info
    write_json(run_dir / "metrics.json", result)
    return result


def _read_or(path: Path, default: Any) -> Any:
    return read_json(path) if path.exists() else default


def _history_columns(rows: list[dict]) -> dict:
    """``history.json`` rows -> metric name -> per-epoch values."""
    columns: dict = {}
    for row in rows:
        for name, value in row.items():
            if name != "epoch":
                columns.setdefault(name, []).append(value)
    return columns
