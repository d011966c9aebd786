"""The one training loop every task uses, speaking Keras.

``Trainer`` takes explicit objects -- a Keras model, a Keras loss, an
optimizer, metrics and a ``tf.distribute`` strategy -- and knows nothing about
tasks, vocabularies or labels. Each step runs under ``tf.GradientTape`` in a
``tf.function`` through ``strategy.run``. Batches are ``(x, y)`` or
``(x, y, sample_weight)``; the mask Keras attaches to the predictions times
the sample weight weighs every loss element, and the loss is the weighted
mean over the *global* batch (each replica divides its weighted sum by the
all-reduced sum of weights), so one device and many give the same numbers.

``Trainer.fit`` drives real ``keras.callbacks.Callback`` objects through a
``keras.callbacks.CallbackList``, as ``model.fit`` does: Keras's
``EarlyStopping``, ``ReduceLROnPlateau``, ``CSVLogger``, ``TensorBoard`` or a
keras-tuner's callbacks work unchanged. The loop's own concerns are
callbacks too:

* ``History`` (Keras's, plus how training ended) records the epochs;
* ``BestEpoch`` keeps the best weights of the monitored metric and stops
  after ``patience`` epochs without improvement;
* ``Checkpointer`` saves model, optimizer, metric state, random-number state
  and loop position after each epoch and every ``checkpoint_every`` steps,
  so a run killed (or Ctrl-C'd) mid-epoch resumes exactly;
* ``HistoryWriter`` keeps a JSON file of the epochs; the progress bar is
  Keras's ``ProgbarLogger``.

An epoch's data is described once, by ``Epochs``: a function from the epoch
index to that epoch's dataset (which lets a resumed run see exactly the
shuffling it would have seen) and the number of steps.
"""

from rnnapps.errors import Diverged, Interrupted
from rnnapps.training.callbacks import BestEpoch, History, HistoryWriter, metric_direction
from rnnapps.training.checkpoints import Checkpointer, Checkpoints
from rnnapps.training.data import Epochs
from rnnapps.training.trainer import Trainer

__all__ = ["BestEpoch", "Checkpointer", "Checkpoints", "Diverged", "Epochs", "History",
           "HistoryWriter", "Interrupted", "Trainer", "metric_direction"]
