"""Checkpoints of a training run: what they hold, and the callback that saves them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Protocol, Sequence

import keras
import tensorflow as tf

from rnnapps.artifacts import ensure_dir
from rnnapps.errors import Interrupted

_EPOCH_KEY = "epoch/.ATTRIBUTES/VARIABLE_VALUE"
_STEP_KEY = "step/.ATTRIBUTES/VARIABLE_VALUE"


class Stateful(Protocol):
    """What keeps state in a checkpoint's JSON: ``History``, ``BestEpoch``."""

    def get_state(self) -> dict: ...

    def set_state(self, state: dict) -> None: ...


class Checkpoints:
    """The loop's ``tf.train.CheckpointManager``: what it saves and where it was.

    A checkpoint holds the model, the optimizer, the metrics' running state,
    the random-number state of the model's layers (dropout seed generators),
    a JSON string of loop state (history, best epoch), and the loop's
    position: ``epoch`` epochs finished plus ``step`` steps into the next one.
    Checkpoints are numbered by the optimizer's step; the last two are kept.

    Args:
        directory: Where the checkpoints go (created if missing).
        model: The (built) model.
        optimizer: Its (built) optimizer.
        metrics: The metrics whose running state is saved.
    """

    def __init__(self, directory: str | os.PathLike, *, model: keras.Model,
                 optimizer: keras.optimizers.Optimizer,
                 metrics: Sequence[keras.metrics.Metric] = ()):
        self.directory = ensure_dir(directory)
        self._epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._step = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._state = tf.Variable("{}", dtype=tf.string, trainable=False)
        self._iterations = optimizer.iterations
        # model.variables adds what the model's own tracking leaves out of a
        # checkpoint: the layers' weights and the dropout seed-generator state.
        self._checkpoint = tf.train.Checkpoint(
            model=model, optimizer=optimizer, epoch=self._epoch, step=self._step,
            state=self._state, variables=list(model.variables),
            metrics=[v for m in metrics for v in m.variables])
        self._manager = tf.train.CheckpointManager(self._checkpoint, str(self.directory),
                                                   max_to_keep=2)

    @property
    def epoch(self) -> int:
        """Epochs finished at the last save or restore."""
        return int(self._epoch.numpy())

    @property
    def step(self) -> int:
        """Steps into the next epoch at the last save or restore."""
        return int(self._step.numpy())

    @staticmethod
    def position(directory: str | os.PathLike) -> tuple[int, int]:
        """Reads ``(epoch, step)`` of the latest checkpoint in ``directory``
        without restoring anything (so the model can be built first).

        Raises:
            ValueError: If ``directory`` holds no checkpoint.
        """
        reader = tf.train.load_checkpoint(_latest(directory))
        return int(reader.get_tensor(_EPOCH_KEY)), int(reader.get_tensor(_STEP_KEY))

    def save(self, epochs_done: int, steps: int, state: dict) -> None:
        """Saves a checkpoint at ``epochs_done`` epochs plus ``steps`` steps, with
        the JSON-ready loop ``state``."""
        self._epoch.assign(epochs_done)
        self._step.assign(steps)
        self._state.assign(json.dumps(state))
        self._manager.save(checkpoint_number=int(self._iterations.numpy()))

    def restore(self, directory: str | os.PathLike | None = None) -> dict:
        """Restores the latest checkpoint (of ``directory``, by default this one's).

        Returns:
            The loop state saved with it.

        Raises:
            ValueError: If there is no checkpoint.
        """
        latest = _latest(self.directory if directory is None else directory)
        self._checkpoint.restore(latest).assert_existing_objects_matched()
        return json.loads(self._state.numpy().decode())


def _latest(directory: str | os.PathLike) -> str:
    latest = tf.train.latest_checkpoint(str(directory))
    if latest is None:
        raise ValueError(f"no checkpoint to resume from in {directory}")
    return latest


class Checkpointer(keras.callbacks.Callback):
    """Saves a checkpoint after every epoch and every ``every`` steps within one.

    Args:
        checkpoints: Where and what to save.
        every: Also save once this many steps of an epoch have run since the
            last save (checked after each call, so with several steps per call
            it is rounded up to whole calls). None: only after epochs.
        state: Name -> object with ``get_state()``/``set_state()`` whose state
            goes into every checkpoint and comes back on ``restore``.
    """

    def __init__(self, checkpoints: Checkpoints, every: int | None = None,
                 state: dict[str, Stateful] | None = None):
        super().__init__()
        self.checkpoints = checkpoints
        self.every = every
        self.state = dict(state or {})
        self._epoch = 0
        self._training = False  # inside an epoch's training steps

    @property
    def directory(self) -> Path:
        """The checkpoint directory."""
        return self.checkpoints.directory

    def save(self, epochs_done: int, steps: int) -> None:
        """Saves a checkpoint at ``epochs_done`` epochs plus ``steps`` steps."""
        self.checkpoints.save(epochs_done, steps,
                              {name: obj.get_state() for name, obj in self.state.items()})

    def restore(self, directory: str | os.PathLike | None = None) -> tuple[int, int]:
        """Restores the latest checkpoint (of ``directory``, by default its own)
        into the variables and the stateful objects.

        Returns:
            ``(epochs finished, steps into the next epoch)``.
        """
        state = self.checkpoints.restore(directory)
        for name, obj in self.state.items():
            obj.set_state(state[name])
        self._epoch = self.checkpoints.epoch
        return self.checkpoints.epoch, self.checkpoints.step

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self._training = True

    def on_train_batch_end(self, batch, logs=None):
        steps = batch + 1  # Keras's batch index is 0-based
        if self.every and steps - self.checkpoints.step >= self.every:
            self.save(self._epoch, steps)

    def on_test_begin(self, logs=None):
        self._training = False

    def on_epoch_end(self, epoch, logs=None):
        self._training = False
        self.save(epoch + 1, 0)

    def interrupted(self, steps_done: int) -> Interrupted:
        """Saves where training stood on Ctrl-C; returns the ``Interrupted`` to raise.

        Args:
            steps_done: Steps of the running epoch that had finished. Saved only
                if the interrupt came during training steps; otherwise
                (validation, bookkeeping) the last checkpoint stands.
        """
        if self._training:
            self.save(self._epoch, steps_done)
        return Interrupted(self.checkpoints.epoch + 1, self.checkpoints.step, self.directory)
