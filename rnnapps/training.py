"""The one training loop every task uses.

``Trainer`` takes explicit objects -- a Keras model, a Keras loss, an
optimizer, metrics and a ``tf.distribute`` strategy -- and knows nothing about
tasks, vocabularies or labels. Each step runs under ``tf.GradientTape`` in a
``tf.function`` through ``strategy.run``; the loss is averaged over the global
batch with ``tf.nn.compute_average_loss`` so the same code is correct on one
device or many. Checkpoints, best weights and early stopping live in ``fit``;
anything else (history files, TensorBoard) is a callback.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence, Union

import keras
import tensorflow as tf

from rnnapps.artifacts import ensure_dir, write_json

_NON_FINITE = "rnnapps: non-finite loss"

DataSource = Union[tf.data.Dataset, Callable[[int], tf.data.Dataset]]
"""A dataset, or a function from the epoch index to that epoch's dataset
(which lets a resumed run see exactly the shuffling it would have seen)."""


@dataclasses.dataclass
class History:
    """What ``Trainer.fit`` returns: per-epoch metrics and how training ended.

    Attributes:
        metrics: Metric name -> one value per epoch (``val_`` for validation).
        best_epoch: 1-based epoch of the best monitored value, if monitored.
        best_value: That value.
        stopped_early: Whether early stopping ended training.
        seconds: Wall time of the epochs run in this call.
    """

    metrics: dict = dataclasses.field(default_factory=dict)
    best_epoch: int | None = None
    best_value: float | None = None
    stopped_early: bool = False
    seconds: float = 0.0

    @property
    def epochs(self) -> int:
        """Number of epochs recorded."""
        return len(next(iter(self.metrics.values()), []))

    def to_dict(self) -> dict:
        """Returns the history as JSON-ready data."""
        return dataclasses.asdict(self)


class Diverged(RuntimeError):
    """The training loss became NaN or infinite.

    Attributes:
        epoch: 1-based epoch of the bad step.
        step: 1-based step within that epoch.
    """

    def __init__(self, epoch: int, step: int):
        super().__init__(f"training diverged: the loss is not finite at epoch {epoch}, "
                         f"step {step}")
        self.epoch, self.step = epoch, step


class Interrupted(KeyboardInterrupt):
    """Training was interrupted (Ctrl-C) and a checkpoint of where it stood was saved.

    Attributes:
        epoch: 1-based epoch that was running.
        step: Steps of that epoch that had finished (and are in the checkpoint).
        checkpoint_dir: Where the checkpoint is; ``fit(..., resume=True)`` goes on.
    """

    def __init__(self, epoch: int, step: int, checkpoint_dir: Path, hint: str = ""):
        self.epoch, self.step, self.checkpoint_dir, self.hint = epoch, step, checkpoint_dir, hint
        super().__init__(f"interrupted in epoch {epoch} after step {step}; a checkpoint was "
                         f"saved in {checkpoint_dir}" + (f": {hint}" if hint else ""))


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` is better (accuracy, AUC) or worse (losses)."""
    return "acc" in metric or "auc" in metric


class Callback:
    """Base class of loop hooks; override what you need."""

    def on_epoch_begin(self, epoch: int) -> None:
        """Called before each epoch with its 1-based number."""

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        """Called after each epoch with 1-based ``epoch`` and its metrics."""


class HistoryWriter(Callback):
    """Rewrites a JSON file of the metrics so far after every epoch.

    An existing file (a resumed run's) is continued: its rows before the
    epoch that ends are kept.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.rows: list[dict] = json.loads(self.path.read_text()) if self.path.exists() else []

    def on_epoch_end(self, epoch, logs):
        self.rows = [row for row in self.rows if row["epoch"] < epoch] + [{"epoch": epoch, **logs}]
        write_json(self.path, self.rows)


class TensorBoard(Callback):
    """Writes each epoch's metrics as TensorBoard scalars under ``logdir``."""

    def __init__(self, logdir: str | os.PathLike):
        self.writer = tf.summary.create_file_writer(str(logdir))

    def on_epoch_end(self, epoch, logs):
        with self.writer.as_default(step=epoch):
            for name, value in logs.items():
                tf.summary.scalar(name, value)
        self.writer.flush()


class Trainer:
    """Trains a Keras model with one shared ``tf.GradientTape`` step.

    Args:
        model: Any Keras model; built or not.
        loss: A ``keras.losses.Loss``; its per-example values are averaged
            over the global batch (extra axes, e.g. time, are averaged first).
        optimizer: A Keras optimizer (``optimizer.apply`` is used).
        metrics: Keras metrics updated with ``(y_true, y_pred)`` each step.
        clip_norm: If set, gradients are clipped to this global norm.
        strategy: A ``tf.distribute.Strategy``; the default strategy if None.
            Create the model, optimizer and metrics under its scope.
        steps_per_execution: Batches run per ``tf.function`` call (a
            ``tf.while_loop`` over the dataset iterator, as Orbit does); the
            progress bar moves once per call.
        jit_compile: Compile the forward and backward pass with XLA (the
            numerics check, update and metrics stay outside).

    Raises:
        ValueError: If ``clip_norm`` or ``steps_per_execution`` is not positive.
    """

    def __init__(self, model: keras.Model, loss: keras.losses.Loss,
                 optimizer: keras.optimizers.Optimizer,
                 metrics: Sequence[keras.metrics.Metric] = (), *,
                 clip_norm: float | None = None,
                 strategy: tf.distribute.Strategy | None = None,
                 steps_per_execution: int = 1, jit_compile: bool = False):
        if clip_norm is not None and not clip_norm > 0:
            raise ValueError(f"clip_norm must be positive, got {clip_norm!r}")
        if not isinstance(steps_per_execution, int) or steps_per_execution < 1:
            raise ValueError(f"steps_per_execution must be a positive integer, "
                             f"got {steps_per_execution!r}")
        self.model = model
        self.loss = loss
        self.optimizer = optimizer
        self.clip_norm = clip_norm
        self.steps_per_execution = steps_per_execution
        self.jit_compile = jit_compile
        self.strategy = strategy or tf.distribute.get_strategy()
        with self.strategy.scope():
            self.loss_metric = keras.metrics.Mean(name="loss")
        self.metrics = [self.loss_metric, *metrics]
        # Steps finished in the current epoch; names the failing step on divergence.
        self._steps_done = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._gradients = (tf.function(self._loss_and_gradients, jit_compile=True)
                           if jit_compile else self._loss_and_gradients)
        self._train_fn = self._looped(self._train_step)
        self._test_fn = self._looped(self._test_step)

    # ----------------------------------------------------------------- steps
    def _looped(self, step):
        """Wraps a per-replica step into one ``tf.function`` over an iterator.

        Taking the iterator (not a batch) means the function is traced once per
        element spec: a short last batch or a new epoch does not retrace it.
        """
        def run(iterator):
            ran = tf.constant(0, tf.int64)
            for _ in tf.range(self.steps_per_execution):
                batch = iterator.get_next_as_optional()
                if not batch.has_value():
                    break
                done = self.strategy.run(step, args=(batch.get_value(),))
                # Counted only once the step (and its numerics check) has finished.
                with tf.control_dependencies(self.strategy.experimental_local_results(done)):
                    self._steps_done.assign_add(1)
                ran += 1
            return ran
        return tf.function(run)

    def _per_example_loss(self, y_true, y_pred):
        values = self.loss.call(y_true, y_pred)
        if len(values.shape) > 1:  # e.g. [batch, time] for sequence targets
            values = tf.reduce_mean(values, axis=list(range(1, len(values.shape))))
        return values

    def _loss_and_gradients(self, x, y):
        """Forward and backward pass: the part ``jit_compile`` hands to XLA."""
        with tf.GradientTape() as tape:
            y_pred = self.model(x, training=True)
            per_example = self._per_example_loss(y, y_pred)
            loss = tf.nn.compute_average_loss(per_example)
            if self.model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(self.model.losses))
        grads = tape.gradient(loss, self.model.trainable_variables)
        if self.clip_norm is not None:
            grads, _ = tf.clip_by_global_norm(grads, self.clip_norm)
        return loss, grads, y_pred, per_example

    def _train_step(self, batch):
        x, y = batch
        loss, grads, y_pred, per_example = self._gradients(x, y)
        # Fails the step (InvalidArgumentError) before a bad update is applied.
        # Outside XLA, which drops CheckNumerics.
        loss = tf.debugging.check_numerics(loss, _NON_FINITE)
        with tf.control_dependencies([loss]):
            grads = [_after_check(g) for g in grads]
        self.optimizer.apply(grads, self.model.trainable_variables)
        self._update_metrics(y, y_pred, per_example)
        return loss

    def _test_step(self, batch):
        x, y = batch
        y_pred = self.model(x, training=False)
        per_example = self._per_example_loss(y, y_pred)
        self._update_metrics(y, y_pred, per_example)
        return per_example

    def _update_metrics(self, y, y_pred, per_example):
        self.loss_metric.update_state(per_example)
        for metric in self.metrics[1:]:
            metric.update_state(y, y_pred)

    def _results(self) -> dict:
        return {m.name: float(m.result()) for m in self.metrics}

    def _run_epoch(self, fn, dataset, progbar=None, epoch=0, start_step=0, after_call=None):
        """Runs ``fn`` until the data is exhausted; the progress bar is left for the
        caller to finalize.

        ``start_step`` > 0 continues an epoch restored from a checkpoint: the
        metrics keep their restored state and ``dataset`` must already skip the
        batches done. ``after_call(steps)`` runs after every call.
        """
        if start_step == 0:
            for metric in self.metrics:
                metric.reset_state()
        self._steps_done.assign(start_step)
        iterator = iter(self.strategy.experimental_distribute_dataset(dataset))
        steps = start_step
        while True:
            try:
                ran = int(fn(iterator))
            except tf.errors.InvalidArgumentError as err:
                if _NON_FINITE in str(err):
                    raise Diverged(epoch, int(self._steps_done.numpy()) + 1) from None
                raise
            steps += ran
            if progbar is not None and ran:
                progbar.update(steps, list(self._results().items()), finalize=False)
            if after_call is not None and ran:
                after_call(steps)
            if ran < self.steps_per_execution:
                return self._results(), steps

    # -------------------------------------------------------------- public
    def evaluate(self, data: tf.data.Dataset, verbose: int = 0) -> dict:
        """Computes the loss and metrics over ``data`` of ``(x, y)`` batches.

        Args:
            data: The batched dataset.
            verbose: 1 shows a progress bar.

        Returns:
            Metric name -> value.
        """
        progbar = _progbar(data, verbose, [m.name for m in self.metrics])
        logs, steps = self._run_epoch(self._test_fn, data, progbar)
        if progbar is not None:
            progbar.update(steps, list(logs.items()), finalize=True)
        return logs

    def fit(self, train_data: DataSource, val_data: tf.data.Dataset | None = None, *,
            epochs: int, monitor: str = "val_loss", patience: int | None = None,
            restore_best: bool = True, checkpoint_dir: str | os.PathLike | None = None,
            checkpoint_every: int | None = None, resume: bool = False,
            restore_dir: str | os.PathLike | None = None,
            callbacks: Iterable[Callback] = (), verbose: int = 1) -> History:
        """Trains for ``epochs`` epochs, validating after each.

        Args:
            train_data: Batches of ``(x, y)``, or a function ``epoch -> dataset``
                (0-based epoch). A run resumed in the middle of an epoch skips
                the batches already done, so the epoch's dataset must come in
                the same order every time it is asked for (seed its shuffle).
            val_data: Validation batches; metrics get a ``val_`` prefix.
            epochs: Total number of epochs (a resumed run counts those done).
            monitor: Metric that picks the best epoch (``val_*`` needs
                ``val_data``); lower is better unless its name contains
                ``acc`` or ``auc``.
            patience: Stop after this many epochs without improvement.
            restore_best: End with the weights of the best epoch.
            checkpoint_dir: Where ``tf.train.CheckpointManager`` keeps the
                model, optimizer, metrics, random-number state and loop state
                after each epoch, and where the best weights go
                (``best.weights.h5``).
            checkpoint_every: Also checkpoint every this many steps within an
                epoch (rounded up to whole calls of ``steps_per_execution``).
            resume: Continue from the latest checkpoint in ``checkpoint_dir``,
                in the middle of an epoch if that is where it was taken.
            restore_dir: Resume from the checkpoints in this directory instead
                (the other workers of a cluster resume from the chief's, so all
                restart from the same step).
            callbacks: Hooks called before and after each epoch.
            verbose: 1 for a progress bar per epoch, 0 for silence.

        Returns:
            The ``History`` of all epochs, resumed ones included.

        Raises:
            ValueError: On ``epochs < 1``, ``resume`` without a checkpoint, or
                a ``monitor`` that no metric produces.
            Diverged: If the loss becomes NaN or infinite; the model keeps the
                weights from before the bad step, and the checkpoints hold the
                last one saved.
            Interrupted: On Ctrl-C with a ``checkpoint_dir``, after saving a
                checkpoint of the steps done (without one, KeyboardInterrupt).
        """
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs!r}")
        if resume and checkpoint_dir is None:
            raise ValueError("resume=True needs a checkpoint_dir")
        names = [m.name for m in self.metrics]
        names += [f"val_{n}" for n in names] if val_data is not None else []
        if monitor not in names:
            raise ValueError(f"monitor must be one of {', '.join(names)}; got {monitor!r}")
        data_for = train_data if callable(train_data) else (lambda epoch: train_data)
        self._build(data_for(0))
        best = _Best(monitor, patience)
        history = History()
        checkpoints = None
        if checkpoint_dir is not None:
            checkpoints = _Checkpoints(self, checkpoint_dir)
            best.path = checkpoints.directory / "best.weights.h5"
            if resume:
                state = checkpoints.restore(restore_dir)
                history = History(**state["history"])
                best.load_state(state["best"])

        def save(epochs_done: int, steps: int) -> None:
            checkpoints.save(epochs_done, steps, {"history": history.to_dict(),
                                                  "best": best.state()})

        def save_periodically(steps: int) -> None:
            if steps - checkpoints.step >= checkpoint_every:
                save(epoch, steps)

        start = time.perf_counter()
        first, skip = (checkpoints.epoch, checkpoints.step) if resume else (0, 0)
        epoch, training = first, False
        try:
            for epoch in range(first, epochs):
                if verbose:
                    print(f"Epoch {epoch + 1}/{epochs}" + (f", from step {skip + 1}"
                                                           if skip else ""))
                for callback in callbacks:
                    callback.on_epoch_begin(epoch + 1)
                progbar = _progbar(data_for(epoch), verbose, [m.name for m in self.metrics])
                training = True
                logs, steps = self._run_epoch(
                    self._train_fn, data_for(epoch).skip(skip), progbar, epoch + 1,
                    start_step=skip,
                    after_call=save_periodically if checkpoints and checkpoint_every else None)
                training, skip = False, 0
                if val_data is not None:
                    val_logs, _ = self._run_epoch(self._test_fn, val_data)
                    logs.update({f"val_{k}": v for k, v in val_logs.items()})
                if progbar is not None:
                    progbar.update(steps, list(logs.items()), finalize=True)
                for name, value in logs.items():
                    history.metrics.setdefault(name, []).append(value)
                stop = best.update(epoch + 1, logs, self.model)
                history.best_epoch, history.best_value = best.epoch, best.value
                history.stopped_early = stop
                if checkpoints is not None:
                    save(epoch + 1, 0)
                for callback in callbacks:
                    callback.on_epoch_end(epoch + 1, logs)
                if stop:
                    if verbose:
                        print(f"Early stopping: no {monitor} improvement in {patience} epochs.")
                    break
        except KeyboardInterrupt:
            if checkpoints is None:
                raise
            if training:
                # A call finishes its steps before Python sees the signal, so the
                # counter names exactly the batches the variables have seen.
                save(epoch, int(self._steps_done.numpy()))
            # Otherwise (validating, bookkeeping) the last checkpoint stands.
            raise Interrupted(checkpoints.epoch + 1, checkpoints.step,
                              checkpoints.directory) from None
        finally:
            history.seconds += time.perf_counter() - start
        if restore_best:
            best.restore(self.model)
        return history

    def _build(self, dataset: tf.data.Dataset) -> None:
        """Creates the model's and optimizer's variables (before any restore)."""
        with self.strategy.scope():
            if not self.model.built:
                x, _ = next(iter(dataset))
                self.model(x)
            self.optimizer.build(self.model.trainable_variables)


def _after_check(grad):
    """An identity that runs in the caller's control-dependency context."""
    if grad is None:
        return None
    if isinstance(grad, tf.IndexedSlices):
        return tf.IndexedSlices(tf.identity(grad.values), grad.indices, grad.dense_shape)
    return tf.identity(grad)


class _Checkpoints:
    """The loop's ``tf.train.CheckpointManager``: what it saves and where it was.

    A checkpoint holds the model, the optimizer, the metrics' running state,
    the random-number state of the model's layers, and the loop's position:
    ``epoch`` epochs finished plus ``step`` steps into the next one.
    """

    def __init__(self, trainer: Trainer, directory: str | os.PathLike):
        self.directory = ensure_dir(directory)
        self._epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._step = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._state = tf.Variable("{}", dtype=tf.string, trainable=False)
        self._iterations = trainer.optimizer.iterations
        # model.variables adds what the model's own tracking leaves out of a
        # checkpoint: the dropout layers' seed-generator state.
        checkpoint = tf.train.Checkpoint(
            model=trainer.model, optimizer=trainer.optimizer, epoch=self._epoch,
            step=self._step, state=self._state, variables=list(trainer.model.variables),
            metrics=[v for m in trainer.metrics for v in m.variables])
        self._manager = tf.train.CheckpointManager(checkpoint, str(self.directory),
                                                   max_to_keep=2)
        self._checkpoint = checkpoint

    @property
    def epoch(self) -> int:
        """Epochs finished at the last save or restore."""
        return int(self._epoch.numpy())

    @property
    def step(self) -> int:
        """Steps into the next epoch at the last save or restore."""
        return int(self._step.numpy())

    def save(self, epochs_done: int, steps: int, state: dict) -> None:
        self._epoch.assign(epochs_done)
        self._step.assign(steps)
        self._state.assign(json.dumps(state))
        self._manager.save(checkpoint_number=int(self._iterations.numpy()))

    def restore(self, directory: str | os.PathLike | None = None) -> dict:
        """Restores the latest checkpoint (of ``directory``, by default this one's);
        returns the loop state saved with it."""
        directory = self.directory if directory is None else directory
        latest = tf.train.latest_checkpoint(str(directory))
        if latest is None:
            raise ValueError(f"no checkpoint to resume from in {directory}")
        self._checkpoint.restore(latest).assert_existing_objects_matched()
        return json.loads(self._state.numpy().decode())


class _Best:
    """Tracks the best value of the monitored metric, its epoch and weights."""

    def __init__(self, monitor: str, patience: int | None):
        self.monitor = monitor
        self.patience = patience
        self.higher_is_better = higher_is_better(monitor)
        self.value: float | None = None
        self.epoch: int | None = None
        self.path: Path | None = None  # None: keep the best weights in memory
        self._weights = None

    def update(self, epoch: int, logs: dict, model: keras.Model) -> bool:
        """Records ``logs``; returns True if training should stop."""
        value = logs[self.monitor]
        improved = self.value is None or (
            value > self.value if self.higher_is_better else value < self.value)
        if improved and math.isfinite(value):
            self.value, self.epoch = value, epoch
            if self.path is not None:
                tmp = self.path.with_name(".tmp-" + self.path.name)
                model.save_weights(tmp)
                os.replace(tmp, self.path)
            else:
                self._weights = model.get_weights()
        return self.patience is not None and epoch - (self.epoch or 0) >= self.patience

    def restore(self, model: keras.Model) -> None:
        """Loads the best weights into ``model`` (no-op if none were kept)."""
        if self.path is not None and self.path.exists():
            model.load_weights(self.path)
        elif self._weights is not None:
            model.set_weights(self._weights)

    def state(self) -> dict:
        return {"value": self.value, "epoch": self.epoch}

    def load_state(self, state: dict) -> None:
        self.value, self.epoch = state["value"], state["epoch"]


def _progbar(dataset, verbose, names):
    if not verbose:
        return None
    steps = int(dataset.cardinality())
    return keras.utils.Progbar(steps if steps > 0 else None,
                               stateful_metrics=names + [f"val_{n}" for n in names])
