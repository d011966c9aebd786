"""``Epochs``: the training data, described once for every epoch."""

from __future__ import annotations

from typing import Callable, Union

import tensorflow as tf


def dataset_steps(dataset: tf.data.Dataset) -> int | None:
    """The number of batches ``dataset`` yields, or None if unknown or infinite."""
    steps = int(dataset.cardinality())
    return steps if steps >= 0 else None  # UNKNOWN (-2) and INFINITE (-1)


class Epochs:
    """The batches of every epoch and how many there are.

    ``Trainer.fit`` asks for each epoch's dataset exactly once, when that
    epoch runs; the progress bar's target and a resumed run's bookkeeping
    read ``steps``.

    Args:
        dataset_for_epoch: A function from the 0-based epoch index to that
            epoch's batches. A run resumed in the middle of an epoch skips the
            batches already done, so the same epoch must come in the same
            order every time it is asked for (seed its shuffle with the epoch).
        steps: Batches per epoch, or None when unknown. An epoch ends when its
            data runs out or after ``steps`` batches, so give the true number.

    Raises:
        TypeError: If ``dataset_for_epoch`` is not callable.
        ValueError: If ``steps`` is not None or a non-negative integer.
    """

    def __init__(self, dataset_for_epoch: Callable[[int], tf.data.Dataset],
                 steps: int | None):
        if not callable(dataset_for_epoch):
            raise TypeError(f"dataset_for_epoch must be callable, got {dataset_for_epoch!r}")
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int)
                                  or steps < 0):
            raise ValueError(f"steps must be None or a non-negative integer, got {steps!r}")
        self._dataset_for_epoch = dataset_for_epoch
        self.steps = steps

    def dataset(self, epoch: int) -> tf.data.Dataset:
        """Returns the batches of the 0-based ``epoch``."""
        return self._dataset_for_epoch(epoch)

    @classmethod
    def of(cls, data: EpochsLike) -> Epochs:
        """Wraps what ``Trainer.fit`` accepts as training data into ``Epochs``.

        Args:
            data: An ``Epochs`` (returned unchanged); a ``tf.data.Dataset``,
                the same every epoch (steps from its cardinality); or a
                function ``epoch -> dataset``. For a bare function the steps
                come from the cardinality of epoch 0's dataset, which costs
                one extra call: a fallback, so prefer ``Epochs(fn, steps)``.

        Returns:
            The ``Epochs``.

        Raises:
            TypeError: If ``data`` is none of these.
        """
        if isinstance(data, Epochs):
            return data
        if isinstance(data, tf.data.Dataset):
            return cls(lambda epoch: data, dataset_steps(data))
        if callable(data):
            return cls(data, dataset_steps(data(0)))
        raise TypeError("training data must be Epochs, a tf.data.Dataset or a function "
                        f"epoch -> dataset, got {type(data).__name__}")

    def __repr__(self) -> str:
        return f"Epochs({self._dataset_for_epoch!r}, steps={self.steps!r})"


EpochsLike = Union[Epochs, tf.data.Dataset, Callable[[int], tf.data.Dataset]]
"""What ``Trainer.fit`` takes as training data (see ``Epochs.of``)."""
