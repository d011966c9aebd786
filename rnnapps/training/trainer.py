"""``Trainer``: the shared ``tf.GradientTape`` step and a ``fit`` driven by Keras callbacks."""

from __future__ import annotations

import contextlib
import os
import time
from typing import Sequence

import keras
import tensorflow as tf

from rnnapps.errors import Diverged
from rnnapps.training.callbacks import BestEpoch, History
from rnnapps.training.checkpoints import Checkpointer, Checkpoints
from rnnapps.training.data import Epochs, EpochsLike, dataset_steps

_NON_FINITE = "rnnapps: non-finite loss"


class Trainer:
    """Trains a Keras model with one shared ``tf.GradientTape`` step.

    ``fit`` drives ``keras.callbacks.Callback`` objects through a
    ``keras.callbacks.CallbackList``, as ``model.fit`` does: 0-based epochs,
    one train batch per call (its index is the call's last step), test
    begin/end around validation. While it runs, ``model.optimizer`` is this
    trainer's optimizer (``ReduceLROnPlateau``, ``TensorBoard``); a callback
    that sets ``model.stop_training`` ends training after the epoch.

    A checkpointed run resumed in the middle of an epoch skips the batches
    already done, so an epoch's dataset must come in the same order every time
    it is asked for (seed its shuffle with the epoch, see ``Epochs``).

    Batches are ``(x, y)`` or ``(x, y, sample_weight)``.

    Args:
        model: Any Keras model; built or not.
        loss: A ``keras.losses.Loss``; its per-element values (``loss.call``)
            are averaged over the global batch, weighted by the predictions'
            Keras mask times the batches' sample weights (if any).
        optimizer: A Keras optimizer (``optimizer.apply`` is used).
        metrics: Keras metrics updated with ``(y_true, y_pred, sample_weight)``
            each step (``sample_weight`` None without mask and weights).
        clip_norm: If set, gradients are clipped to this global norm.
        strategy: A ``tf.distribute.Strategy``; the default strategy if None.
            Create the model, optimizer and metrics under its scope.
        steps_per_execution: Batches run per ``tf.function`` call (a
            ``tf.while_loop`` over the dataset iterator, as Orbit does); the
            callbacks (and the progress bar) see one batch end per call.
        jit_compile: Compile the forward and backward pass with XLA (the
            all-reduce, numerics check, update and metrics stay outside).

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
        # Grappler's arithmetic optimiser rewrites the gradient sums inside the
        # recurrent layers' while loops into temporary variables that collide
        # when the step itself runs in a loop (AlreadyExistsError "TemporaryVariable
        # ... AddOpsRewrite", tensorflow/tensorflow#23780, open): seen here with a
        # bidirectional GRU of 128 units. Without that one rewrite the graphs run.
        tf.config.optimizer.set_experimental_options({"arithmetic_optimization": False})
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
        # Steps finished in the current epoch; names the failing step on divergence
        # and the position an interrupted run saves.
        self._steps_done = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._gradients = (tf.function(self._loss_and_gradients, jit_compile=True)
                           if jit_compile else self._loss_and_gradients)
        self._train_fn = self._looped(self._train_step)
        self._test_fn = self._looped(self._test_step)

    def metric_names(self, validation: bool) -> list[str]:
        """The names ``fit`` logs each epoch (a ``monitor`` must be one of them).

        Args:
            validation: Whether there is validation data (adds ``val_`` names).
        """
        names = [m.name for m in self.metrics]
        return names + [f"val_{n}" for n in names] if validation else names

    # ----------------------------------------------------------------- steps
    def _looped(self, step):
        """Wraps a per-replica step into one ``tf.function`` over an iterator.

        Taking the iterator (not a batch) means the function is traced once per
        element spec: a short last batch or a new epoch does not retrace it.
        It returns the steps run and the metrics' results after them.
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
            return ran, {m.name: m.result() for m in self.metrics}
        return tf.function(run)

    def _loss_terms(self, y, y_pred, sample_weight):
        """This replica's weighted loss sum, its sum of weights, and the weights.

        The weights (None when there is neither a mask nor sample weights)
        have the shape of the per-element loss, e.g. [batch, time].
        """
        values = self.loss.call(y, y_pred)
        weights = None
        for part in (getattr(y_pred, "_keras_mask", None), sample_weight):
            if part is not None:
                part = _broadcast_like(tf.cast(part, values.dtype), values)
                weights = part if weights is None else weights * part
        if weights is None:
            return tf.reduce_sum(values), tf.cast(tf.size(values), values.dtype), None
        return tf.reduce_sum(values * weights), tf.reduce_sum(weights), weights

    def _loss_and_gradients(self, x, y, sample_weight):
        """Forward and backward pass: the part ``jit_compile`` hands to XLA.

        The gradients are of this replica's *sum*: the global sum of weights
        it is divided by comes from an all-reduce, which stays outside XLA.
        Regularisation gets its own gradients, as it is not divided by it.
        """
        # A LossScaleOptimizer (mixed_float16) scales the loss so that small
        # float16 gradients do not flush to zero, and unscales them in
        # ``apply``; for any other optimizer ``scale_loss`` returns the loss.
        scale = self.optimizer.scale_loss
        with tf.GradientTape(persistent=True) as tape:
            y_pred = self.model(x, training=True)
            total, count, weights = self._loss_terms(y, y_pred, sample_weight)
            regularization = tf.add_n(self.model.losses) if self.model.losses else None
            scaled = scale(total)
            scaled_regularization = None if regularization is None else scale(regularization)
        variables = self.model.trainable_variables
        grads = tape.gradient(scaled, variables)
        reg_grads = (tape.gradient(scaled_regularization, variables)
                     if regularization is not None else None)
        return total, count, regularization, grads, reg_grads, y_pred, weights

    def _train_step(self, batch):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
        total, count, regularization, grads, reg_grads, y_pred, weights = self._gradients(
            x, y, sample_weight)
        # Each replica divides its sum by the global sum of weights, so the
        # replicas' parts add up to the exact global weighted mean, even when
        # the last batch splits unevenly; zero (all-masked) weights give 0.
        global_count = tf.distribute.get_replica_context().all_reduce("sum", count)
        scale = tf.math.divide_no_nan(tf.ones_like(global_count), global_count)
        loss = total * scale
        grads = [_scaled(g, scale) for g in grads]
        if regularization is not None:
            share = 1.0 / self.strategy.num_replicas_in_sync  # summed over replicas
            loss += regularization * share
            grads = [_add(g, _scaled(r, share)) for g, r in zip(grads, reg_grads)]
        if self.clip_norm is not None:
            grads, _ = tf.clip_by_global_norm(grads, self.clip_norm)
        # Fails the step (InvalidArgumentError) before a bad update is applied.
        # Outside XLA, which drops CheckNumerics.
        loss = tf.debugging.check_numerics(loss, _NON_FINITE)
        with tf.control_dependencies([loss]):
            grads = [_after_check(g) for g in grads]
        self.optimizer.apply(grads, self.model.trainable_variables)
        self._update_metrics(y, y_pred, total, count, weights)
        return loss

    def _test_step(self, batch):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
        y_pred = self.model(x, training=False)
        total, count, weights = self._loss_terms(y, y_pred, sample_weight)
        self._update_metrics(y, y_pred, total, count, weights)
        return total

    def _update_metrics(self, y, y_pred, total, count, weights):
        # The batch's weighted mean, weighted by its sum of weights: the epoch's
        # "loss" is then the weighted mean over all its elements.
        self.loss_metric.update_state(tf.math.divide_no_nan(total, count), sample_weight=count)
        for metric in self.metrics[1:]:
            metric.update_state(y, y_pred, sample_weight=weights)

    def _results(self) -> dict:
        return {m.name: float(m.result()) for m in self.metrics}

    def _run(self, fn, dataset, callbacks, *, train: bool, epoch: int = 0, start: int = 0,
             steps: int | None = None) -> dict:
        """Runs ``fn`` over ``dataset`` until it is exhausted or ``steps`` are done.

        ``start`` > 0 continues an epoch restored from a checkpoint: the
        metrics keep their restored state and ``dataset`` must already skip the
        batches done. Each call is one batch for the callbacks (the index of
        its last step). Returns the metrics' results.
        """
        if start == 0:
            for metric in self.metrics:
                metric.reset_state()
        self._steps_done.assign(start)
        begin, end = ((callbacks.on_train_batch_begin, callbacks.on_train_batch_end) if train
                      else (callbacks.on_test_batch_begin, callbacks.on_test_batch_end))
        iterator = iter(self.strategy.experimental_distribute_dataset(dataset))
        done, logs = start, None
        while steps is None or done < steps:
            begin(done)
            try:
                ran, results = fn(iterator)
            except tf.errors.InvalidArgumentError as err:
                if _NON_FINITE in str(err):
                    raise Diverged(epoch + 1, int(self._steps_done.numpy()) + 1) from None
                raise
            ran = int(ran)
            if ran:
                done += ran
                logs = {name: float(value) for name, value in results.items()}
                end(done - 1, logs)
            if ran < self.steps_per_execution:
                break
        return logs if logs is not None else self._results()

    def _test(self, data: tf.data.Dataset, callbacks) -> dict:
        callbacks.on_test_begin()
        logs = self._run(self._test_fn, data, callbacks, train=False, steps=dataset_steps(data))
        callbacks.on_test_end(logs)
        return logs

    # -------------------------------------------------------------- public
    def evaluate(self, data: tf.data.Dataset, verbose: int = 0) -> dict:
        """Computes the loss and metrics over ``data``.

        Args:
            data: Batches of ``(x, y)`` or ``(x, y, sample_weight)``.
            verbose: 1 shows a progress bar (Keras's ``ProgbarLogger``).

        Returns:
            Metric name -> value.
        """
        self._build(data, optimizer=False)
        callbacks = keras.callbacks.CallbackList(
            add_history=False, add_progbar=verbose != 0, model=self.model, verbose=verbose,
            epochs=1, steps=dataset_steps(data))
        return self._test(data, callbacks)

    def fit(self, train_data: EpochsLike, val_data: tf.data.Dataset | None = None, *,
            epochs: int, monitor: str = "val_loss", monitor_mode: str = "auto",
            patience: int | None = None, restore_best: bool = True,
            checkpoint_dir: str | os.PathLike | None = None,
            checkpoint_every: int | None = None, resume: bool = False,
            restore_dir: str | os.PathLike | None = None,
            callbacks: Sequence[keras.callbacks.Callback] = (), verbose: int = 1) -> History:
        """Trains for ``epochs`` epochs, validating after each, as ``model.fit`` would.

        Args:
            train_data: ``Epochs``, a dataset or an ``epoch -> dataset`` function.
            val_data: Validation batches; their metrics get a ``val_`` prefix.
            epochs: Total number of epochs (a resumed run counts those done).
            monitor: The metric that picks the best epoch (one of ``metric_names``).
            monitor_mode: ``"min"``, ``"max"`` or ``"auto"`` (see ``metric_direction``).
            patience: Stop after this many epochs without improvement.
            restore_best: End with the weights of the best epoch.
            checkpoint_dir: Where checkpoints (``Checkpoints``) and ``best.weights.h5`` go.
            checkpoint_every: Also checkpoint every this many steps of an epoch.
            resume: Continue from the latest checkpoint, mid-epoch if it was taken so.
            restore_dir: Resume from this directory's checkpoints instead.
            callbacks: ``keras.callbacks.Callback`` objects (see the class).
            verbose: 1 for Keras's progress bar per epoch, 0 for silence.

        Returns:
            The ``History`` of all epochs, resumed ones included.

        Raises:
            ValueError: On ``epochs < 1``, ``resume`` without a checkpoint, an unknown monitor.
            rnnapps.errors.UsageError: If ``monitor``'s direction is unknown.
            Diverged: If the loss becomes NaN or infinite (before the bad update).
            Interrupted: On Ctrl-C, once the steps done are saved (KeyboardInterrupt
                without a ``checkpoint_dir``).
        """
        self._check_fit(epochs, monitor, val_data is not None, resume, checkpoint_dir)
        data, history = Epochs.of(train_data), History()
        best = BestEpoch(monitor, monitor_mode, patience, restore=restore_best, verbose=verbose)
        source = checkpoint_dir if restore_dir is None else restore_dir
        first, skip = Checkpoints.position(source) if resume else (0, 0)
        # Builds the model before any restore (a finished run's: from its last epoch).
        dataset = data.dataset(min(first, epochs - 1))
        self._build(dataset)
        with _optimizer_of(self.model, self.optimizer):
            checkpointer = self._checkpointer(checkpoint_dir, checkpoint_every, history, best,
                                              restore_from=source if resume else None)
            callback_list = self._callback_list([history, best, *callbacks, checkpointer],
                                                verbose, epochs, data.steps)
            start = time.perf_counter()
            try:
                self._epochs(callback_list, data, dataset, range(first, epochs), skip,
                             val_data, verbose)
            except KeyboardInterrupt:
                if checkpointer is None:
                    raise
                raise checkpointer.interrupted(int(self._steps_done.numpy())) from None
            finally:
                history.seconds += time.perf_counter() - start
        history.best_epoch, history.best_value = best.epoch, best.value
        history.stopped_early = bool(self.model.stop_training)
        return history

    # ------------------------------------------------------------ fit pieces
    def _check_fit(self, epochs, monitor, has_val, resume, checkpoint_dir) -> None:
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
        if resume and checkpoint_dir is None:
            raise ValueError("resume=True needs a checkpoint_dir, got checkpoint_dir=None")
        names = self.metric_names(validation=has_val)
        if monitor not in names:
            raise ValueError(f"monitor must be one of {', '.join(names)}; got {monitor!r}")

    def _checkpointer(self, directory, every, history, best, restore_from=None):
        """The ``Checkpointer`` of ``directory`` (None without one), restored from
        ``restore_from``'s latest checkpoint if given."""
        if directory is None:
            return None
        checkpoints = Checkpoints(directory, model=self.model, optimizer=self.optimizer,
                                  metrics=self.metrics)
        best.path = checkpoints.directory / "best.weights.h5"
        checkpointer = Checkpointer(checkpoints, every, {"history": history, "best": best})
        if restore_from is not None:
            checkpointer.restore(restore_from)
        return checkpointer

    def _callback_list(self, callbacks, verbose, epochs, steps):
        # History first and the Checkpointer last: a checkpoint holds what every
        # other callback did with the epoch (a learning rate lowered, say).
        return keras.callbacks.CallbackList(
            [c for c in callbacks if c is not None], add_history=False,
            add_progbar=verbose != 0, model=self.model, verbose=verbose, epochs=epochs,
            steps=steps)

    def _epochs(self, callbacks, data: Epochs, dataset, epochs: range, skip: int,
                val_data, verbose: int) -> None:
        """Runs ``epochs`` (``dataset`` is the first one's; ``skip`` its steps done)."""
        self.model.stop_training = False
        callbacks.on_train_begin()
        logs = None
        for epoch in epochs:
            if skip and verbose:
                print(f"Resuming epoch {epoch + 1} after step {skip}")
            callbacks.on_epoch_begin(epoch)
            logs = self._run(self._train_fn, dataset.skip(skip), callbacks, train=True,
                             epoch=epoch, start=skip, steps=data.steps)
            if val_data is not None:
                logs.update({f"val_{k}": v for k, v in self._test(val_data, callbacks).items()})
            callbacks.on_epoch_end(epoch, logs)
            if self.model.stop_training:
                break
            skip = 0
            if epoch + 1 < epochs.stop:
                dataset = data.dataset(epoch + 1)
        callbacks.on_train_end(logs)

    def _build(self, dataset: tf.data.Dataset, optimizer: bool = True) -> None:
        """Creates the model's (and optimizer's) variables before any restore.

        The model is called on ones shaped like the dataset's element spec
        (unknown sizes as 1), so building runs no input pipeline.
        """
        with self.strategy.scope():
            if not self.model.built:
                x, _, _ = keras.utils.unpack_x_y_sample_weight(dataset.element_spec)
                if all(isinstance(s, tf.TensorSpec) for s in tf.nest.flatten(x)):
                    x = tf.nest.map_structure(_example, x)
                else:  # ragged or sparse inputs: one real batch
                    x, _, _ = keras.utils.unpack_x_y_sample_weight(next(iter(dataset)))
                self.model(x)
            if optimizer and not self.optimizer.built:
                self.optimizer.build(self.model.trainable_variables)


def _example(spec: tf.TensorSpec) -> tf.Tensor:
    """A tensor that fits ``spec``: ones (empty strings), unknown sizes as 1."""
    shape = [1 if size is None else size for size in spec.shape]
    if spec.dtype == tf.string:
        return tf.fill(shape, "")
    return tf.ones(shape, spec.dtype)


@contextlib.contextmanager
def _optimizer_of(model: keras.Model, optimizer: keras.optimizers.Optimizer):
    """Makes ``optimizer`` the model's while training runs (callbacks such as
    ``ReduceLROnPlateau`` and ``TensorBoard`` read ``model.optimizer``), then
    puts back what was there: saved weights and ``.keras`` files stay as they
    were (Keras would store the optimizer's state in both)."""
    missing = object()
    previous = getattr(model, "optimizer", missing)
    model.optimizer = optimizer
    try:
        yield
    finally:
        if previous is missing:
            del model.optimizer
        else:
            model.optimizer = previous


def _broadcast_like(weight: tf.Tensor, values: tf.Tensor) -> tf.Tensor:
    """``weight`` ([batch], [batch, 1], [batch, time], ...) broadcast to ``values``' shape."""
    rank = values.shape.rank
    while weight.shape.rank > rank and weight.shape[-1] == 1:
        weight = tf.squeeze(weight, -1)
    if weight.shape.rank > rank:
        raise ValueError(f"a mask or sample weight of shape {weight.shape} does not fit "
                         f"the loss values of shape {values.shape}")
    for _ in range(rank - weight.shape.rank):
        weight = weight[..., tf.newaxis]
    return tf.broadcast_to(weight, tf.shape(values))


def _scaled(grad, factor):
    if grad is None:
        return None
    if isinstance(grad, tf.IndexedSlices):
        return tf.IndexedSlices(grad.values * factor, grad.indices, grad.dense_shape)
    return grad * factor


def _add(grad, other):
    if grad is None or other is None:
        return other if grad is None else grad
    return tf.convert_to_tensor(grad) + tf.convert_to_tensor(other)


def _after_check(grad):
    """An identity that runs in the caller's control-dependency context."""
    if grad is None:
        return None
    if isinstance(grad, tf.IndexedSlices):
        return tf.IndexedSlices(tf.identity(grad.values), grad.indices, grad.dense_shape)
    return tf.identity(grad)
