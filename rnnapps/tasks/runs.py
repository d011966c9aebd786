"""What every task's ``train`` does around its model: run dir, loop, files.

A task module provides ``load(config)`` (read the data, checking it) and
``experiment(config, raw)`` (seed, datasets, model, loss, metrics: an
``Experiment``); ``train_task`` does the rest, the same way for every task,
and ``rnnapps.tuning`` builds its trials from the same two functions.

A run directory holds everything one training run wrote, next to the config
that produced it::

    runs/<task>/<timestamp>/
        config.json           the full config (reuse with --config)
        history.json          per-epoch metrics, rewritten after each epoch
        checkpoints/          tf.train.CheckpointManager files + best.weights.h5
        model.weights.h5      the final (best) weights
        metrics.json          test metrics
        tensorboard/          summaries, when asked for
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Sequence

import keras
import tensorflow as tf

from rnnapps.artifacts import ensure_dir, read_json, write_json, write_text
from rnnapps.config import TaskConfig
from rnnapps.distribute import is_chief, make_strategy, worker_dir
from rnnapps.errors import UsageError
from rnnapps.training import (
    DataSource,
    History,
    HistoryWriter,
    Interrupted,
    TensorBoard,
    Trainer,
)

WEIGHTS = "model.weights.h5"


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

    Call it before loading data, so a mistake costs nothing.

    Args:
        task: The task name (for the default directory).
        run_dir: The directory, or None for a fresh default one.
        resume: Whether to continue a run that has checkpoints.

    Returns:
        The run directory (not created yet).

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


def train_task(task: ModuleType, config: TaskConfig, *, run_dir: str | Path | None = None,
               resume: bool = False, export_dir: str | Path | None = "saved_models",
               tensorboard: bool = False, verbose: int = 1) -> dict:
    """The ``train`` of every task: load, build, train, score on test, export.

    Everything that can fail on the user's input (options, data) fails before
    the run directory is created.

    Args:
        task: The task module; it provides ``load(config)``,
            ``experiment(config, raw)`` and ``export(run_dir, export_dir)``.
        config: The run's settings.
        run_dir: Where checkpoints, history and weights go (default: a new
            ``runs/<task>/<timestamp>``).
        resume: Continue the run in ``run_dir`` from its last checkpoint.
        export_dir: Root of the SavedModel versions; None skips the export.
        tensorboard: Also write TensorBoard summaries.
        verbose: 1 for progress bars and messages, 0 for none.

    Returns:
        ``metrics.json`` contents plus ``run_dir`` and ``export`` paths.

    Raises:
        UsageError: On unusable data or run directory.
        rnnapps.training.Diverged: If the loss becomes NaN or infinite.
        rnnapps.training.Interrupted: On Ctrl-C, after a checkpoint was saved;
            its message gives the command that resumes the run.
    """
    run_dir = resolve_run_dir(config.task, run_dir, resume)
    raw = task.load(config)
    strategy = make_strategy(config.train.strategy)
    with strategy.scope():  # the model's variables, the optimizer's and the metrics'
        exp = task.experiment(config, raw)
    if verbose:
        for line in exp.notes:
            print(line)
    chief = is_chief(strategy)
    out = worker_dir(run_dir, strategy)  # other workers write to a scratch directory
    ensure_dir(out)
    config.save(out / "config.json")
    for name, content in exp.files.items():
        (write_json if name.endswith(".json") else write_text)(out / name, content)
    try:
        # Every worker resumes from the chief's checkpoints: all restart at one step.
        trainer, history = fit(config, exp, out, strategy=strategy, resume=resume,
                               restore_dir=run_dir / "checkpoints",
                               tensorboard=tensorboard and chief, verbose=verbose)
    except Interrupted as stop:
        raise Interrupted(stop.epoch, stop.step, stop.checkpoint_dir,
                          f"rnnapps {config.task} train --run-dir {run_dir} --resume") from None
    test = (exp.score(trainer, verbose) if exp.score is not None
            else trainer.evaluate(exp.test_data, verbose=verbose))
    result = finish_run(out, history, test, exp.data_info)
    result["run_dir"] = str(out)
    if export_dir is not None and chief:
        result["export"] = str(task.export(run_dir, export_dir))
    return result


def open_run(run_dir: str | Path, config_cls: type[TaskConfig], *files: str) -> TaskConfig:
    """Checks that ``run_dir`` is a finished run of the task and loads its config.

    Args:
        run_dir: The run directory.
        config_cls: The task's config class.
        *files: Task files the run must hold besides config and weights.

    Raises:
        UsageError: Naming the first missing file.
    """
    run_dir = Path(run_dir)
    for name in ("config.json", WEIGHTS, *files):
        if not (run_dir / name).exists():
            raise UsageError(f"{run_dir} is not a finished {config_cls.task} run (no {name})")
    return config_cls.load(run_dir / "config.json")


def run_metrics(run_dir: str | Path) -> dict:
    """The run's ``metrics.json`` ({} if it has none), to export beside the model."""
    path = Path(run_dir) / "metrics.json"
    return read_json(path) if path.exists() else {}


@dataclasses.dataclass
class Experiment:
    """Everything the shared loop needs to train one config of a task.

    Attributes:
        model: The (built or unbuilt) Keras model.
        loss: The Keras loss.
        metrics: Keras metrics besides the loss.
        train_data: A dataset or a function ``epoch -> dataset``.
        val_data: Validation batches, or None.
        test_data: Test batches, or None.
        files: Name -> content of the task files a run keeps beside its weights
            (a vocabulary, normalisation statistics); ``.json`` names get JSON.
        score: Computes the test metrics from the trained ``Trainer``
            (default: ``trainer.evaluate(test_data)``).
        notes: Lines ``train`` prints first (what was loaded, what was filled).
        data_info: Facts about the data recorded in ``metrics.json`` (sizes,
            filled gaps).
    """

    model: keras.Model
    loss: keras.losses.Loss
    metrics: list
    train_data: DataSource
    val_data: Any = None
    test_data: Any = None
    files: dict = dataclasses.field(default_factory=dict)
    score: Callable[[Trainer, int], dict] | None = None
    notes: list = dataclasses.field(default_factory=list)
    data_info: dict = dataclasses.field(default_factory=dict)


def make_trainer(config: TaskConfig, model: keras.Model, loss: keras.losses.Loss,
                 metrics: Sequence[keras.metrics.Metric],
                 strategy: tf.distribute.Strategy | None = None, *,
                 train_data: DataSource | None = None, epochs: int | None = None) -> Trainer:
    """The shared loop with Adam, its schedule and clipping as ``config.train``
    says; the optimizer is created under ``strategy``'s scope, like the model.

    ``train_data`` and ``epochs`` (default ``config.train.epochs``) size a
    decaying schedule: it reaches its end after that many epochs' steps.

    Raises:
        UsageError: If a decaying schedule has no training data of known length.
    """
    train = config.train
    rate = train.learning_rate
    if train.lr_schedule == "cosine":
        data = train_data(0) if callable(train_data) else train_data
        steps = -1 if data is None else int(data.cardinality())
        if steps <= 0:
            raise UsageError("lr_schedule 'cosine' needs training data of known length")
        rate = keras.optimizers.schedules.CosineDecay(rate, steps * (epochs or train.epochs))
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        optimizer = keras.optimizers.Adam(rate)
    return Trainer(model, loss, optimizer, metrics, clip_norm=train.clip_norm,
                   strategy=strategy)


def fit(config: TaskConfig, exp: Experiment, run_dir: Path, *,
        strategy: tf.distribute.Strategy | None = None, resume: bool = False,
        restore_dir: Path | None = None, tensorboard: bool = False,
        verbose: int = 1) -> tuple[Trainer, History]:
    """Trains the experiment's model with the shared loop as ``config.train`` says.

    Checkpoints go to ``run_dir/checkpoints`` and the final (best) weights to
    ``run_dir/model.weights.h5``.

    Returns:
        The trainer (for ``evaluate``) and the history.
    """
    train = config.train
    trainer = make_trainer(config, exp.model, exp.loss, exp.metrics, strategy,
                           train_data=exp.train_data)
    callbacks = [HistoryWriter(run_dir / "history.json")]
    if tensorboard:
        callbacks.append(TensorBoard(run_dir / "tensorboard"))
    try:
        history = trainer.fit(exp.train_data, exp.val_data, epochs=train.epochs,
                              monitor=train.monitor, patience=train.patience,
                              checkpoint_dir=run_dir / "checkpoints",
                              checkpoint_every=train.checkpoint_every, resume=resume,
                              restore_dir=restore_dir, callbacks=callbacks, verbose=verbose)
    except ValueError as err:  # e.g. an unknown monitor: a config mistake
        raise UsageError(str(err)) from None
    tmp = run_dir / f".tmp-{WEIGHTS}"
    exp.model.save_weights(tmp)
    tmp.replace(run_dir / WEIGHTS)
    return trainer, history


def finish_run(run_dir: Path, history: History, test_metrics: dict,
               data_info: dict | None = None) -> dict:
    """Writes ``metrics.json`` (test and best-epoch validation metrics, wall
    time, data facts) and returns it."""
    at = (history.best_epoch or history.epochs) - 1  # the epoch whose weights were kept
    result = {"test": test_metrics, "epochs": history.epochs, "best_epoch": history.best_epoch,
              "train_seconds": round(history.seconds, 1),
              "val": {k: v[at] for k, v in history.metrics.items() if k.startswith("val_")}}
    if data_info:
        result["data"] = data_info
    write_json(run_dir / "metrics.json", result)
    return result
