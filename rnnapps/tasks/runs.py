"""What every task's ``train`` does around its model: run dir, seed, loop, files.

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
from typing import Any, Sequence

import keras

from rnnapps.artifacts import ensure_dir, write_json
from rnnapps.config import TaskConfig
from rnnapps.errors import UsageError
from rnnapps.training import DataSource, History, HistoryWriter, TensorBoard, Trainer

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


def start_run(config: TaskConfig, run_dir: str | Path | None, resume: bool = False) -> Path:
    """Creates (or reopens) the run directory, writes its ``config.json`` and
    seeds everything. The options are checked by ``resolve_run_dir`` first.

    Returns:
        The run directory.

    Raises:
        UsageError: On bad run directory options, or if it cannot be created.
    """
    run_dir = ensure_dir(resolve_run_dir(config.task, run_dir, resume))
    config.save(run_dir / "config.json")
    keras.utils.set_random_seed(config.train.seed)
    return run_dir


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
        extras: Task things ``train`` keeps (a vocabulary, normalisation, ...).
    """

    model: keras.Model
    loss: keras.losses.Loss
    metrics: list
    train_data: DataSource
    val_data: Any = None
    test_data: Any = None
    extras: dict = dataclasses.field(default_factory=dict)


def make_trainer(config: TaskConfig, model: keras.Model, loss: keras.losses.Loss,
                 metrics: Sequence[keras.metrics.Metric]) -> Trainer:
    """The shared loop with Adam and clipping as ``config.train`` says."""
    return Trainer(model, loss, keras.optimizers.Adam(config.train.learning_rate), metrics,
                   clip_norm=config.train.clip_norm)


def fit(config: TaskConfig, model: keras.Model, loss: keras.losses.Loss,
        metrics: Sequence[keras.metrics.Metric], train_data: DataSource, val_data,
        run_dir: Path, *, resume: bool = False, tensorboard: bool = False,
        verbose: int = 1) -> tuple[Trainer, History]:
    """Trains ``model`` with the shared loop as ``config.train`` says.

    Checkpoints go to ``run_dir/checkpoints`` and the final (best) weights to
    ``run_dir/model.weights.h5``.

    Returns:
        The trainer (for ``evaluate``) and the history.
    """
    train = config.train
    trainer = make_trainer(config, model, loss, metrics)
    callbacks = [HistoryWriter(run_dir / "history.json")]
    if tensorboard:
        callbacks.append(TensorBoard(run_dir / "tensorboard"))
    try:
        history = trainer.fit(train_data, val_data, epochs=train.epochs, monitor=train.monitor,
                              patience=train.patience, checkpoint_dir=run_dir / "checkpoints",
                              resume=resume, callbacks=callbacks, verbose=verbose)
    except ValueError as err:  # e.g. an unknown monitor: a config mistake
        raise UsageError(str(err)) from None
    tmp = run_dir / f".tmp-{WEIGHTS}"
    model.save_weights(tmp)
    tmp.replace(run_dir / WEIGHTS)
    return trainer, history


def finish_run(run_dir: Path, history: History, test_metrics: dict) -> dict:
    """Writes ``metrics.json`` (test and best-epoch validation metrics, wall time)."""
    at = (history.best_epoch or history.epochs) - 1  # the epoch whose weights were kept
    result = {"test": test_metrics, "epochs": history.epochs, "best_epoch": history.best_epoch,
              "train_seconds": round(history.seconds, 1),
              "val": {k: v[at] for k, v in history.metrics.items() if k.startswith("val_")}}
    write_json(run_dir / "metrics.json", result)
    return result
