"""The shared GradientTape loop: learning, clipping, early stopping, resume, hooks."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnapps.errors import UsageError
from rnnapps.training import Epochs, History, HistoryWriter, Trainer, metric_direction


def regression_data(n=256, seed=0, sign=1.0):
    x = np.random.default_rng(seed).normal(size=(n, 5, 2)).astype("float32")
    return x, sign * x[:, :, 0].sum(axis=1, keepdims=True)


def make_model(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((5, 2)), keras.layers.GRU(8), keras.layers.Dense(1)])


def batches(x, y, size=32):
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(size)


def shuffled(x, y, seed=0):
    """The epoch -> dataset form: one fixed shuffle per epoch."""
    base = tf.data.Dataset.from_tensor_slices((x, y))
    return lambda epoch: base.shuffle(len(x), seed=seed + epoch,
                                      reshuffle_each_iteration=False).batch(32)


def test_loop_drives_the_loss_down():
    x, y = regression_data()
    trainer = Trainer(make_model(), keras.losses.MeanSquaredError(), keras.optimizers.Adam(0.02),
                      [keras.metrics.MeanAbsoluteError(name="mae")])
    history = trainer.fit(shuffled(x, y), batches(*regression_data(64, seed=1)), epochs=8,
                          verbose=0)
    loss = history.history["loss"]
    assert loss[-1] < 0.2 * loss[0]
    assert history.history["val_mae"][-1] < history.history["val_mae"][0]
    assert history.best_epoch == int(np.argmin(history.history["val_loss"])) + 1


def test_loss_is_the_mean_over_examples_even_with_a_partial_batch():
    x, y = regression_data(10)
    model = make_model()
    trainer = Trainer(model, keras.losses.MeanSquaredError(), keras.optimizers.Adam())
    logs = trainer.evaluate(batches(x, y, size=4))  # batches of 4, 4 and 2
    expected = np.mean((model(x).numpy() - y) ** 2)
    assert logs["loss"] == pytest.approx(expected, rel=1e-5)


def test_clipping_bounds_the_update_by_the_global_norm():
    x, y = regression_data(32)
    model = make_model()
    model(x[:1])
    before = [v.numpy().copy() for v in model.trainable_variables]
    trainer = Trainer(model, keras.losses.MeanSquaredError(), keras.optimizers.SGD(1.0),
                      clip_norm=0.01)
    trainer.fit(batches(x, y, size=32), epochs=1, monitor="loss", restore_best=False, verbose=0)
    step = np.sqrt(sum(np.sum((v.numpy() - b) ** 2)
                       for v, b in zip(model.trainable_variables, before)))
    assert 0.009 < step <= 0.01 + 1e-6  # one SGD step of lr 1 moves exactly the clipped norm


class RecordWeights(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.weights = {}

    def on_epoch_end(self, epoch, logs=None):
        self.weights[epoch + 1] = self.model.get_weights()  # keyed by 1-based epoch


def test_early_stopping_restores_the_best_weights():
    x, y = regression_data()
    # Validation targets have the opposite sign: the better the fit, the worse val_loss.
    val = batches(*regression_data(64, seed=1, sign=-1.0))
    model = make_model()
    recorder = RecordWeights()
    trainer = Trainer(model, keras.losses.MeanSquaredError(), keras.optimizers.Adam(0.05))
    history = trainer.fit(shuffled(x, y), val, epochs=20, patience=2, callbacks=[recorder],
                          verbose=0)
    assert history.stopped_early and history.epochs == history.best_epoch + 2
    for restored, best in zip(model.get_weights(), recorder.weights[history.best_epoch]):
        np.testing.assert_array_equal(restored, best)


def test_resume_continues_the_same_run(tmp_path):
    x, y = regression_data()
    val = batches(*regression_data(64, seed=1))

    def trainer():
        return Trainer(make_model(), keras.losses.MeanSquaredError(), keras.optimizers.Adam(0.01))

    straight = trainer()
    full = straight.fit(shuffled(x, y), val, epochs=4, restore_best=False, verbose=0)

    first = trainer()
    first.fit(shuffled(x, y), val, epochs=2, checkpoint_dir=tmp_path, verbose=0)
    resumed = trainer()  # a new model and optimizer, as in a new process
    history = resumed.fit(shuffled(x, y), val, epochs=4, checkpoint_dir=tmp_path, resume=True,
                          restore_best=False, verbose=0)

    assert history.epochs == 4 and history.epoch == [0, 1, 2, 3]  # earlier epochs included
    np.testing.assert_allclose(history.history["loss"], full.history["loss"], rtol=1e-5)
    assert history.best_epoch == full.best_epoch  # BestEpoch's state came back too
    for a, b in zip(resumed.model.get_weights(), straight.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert int(resumed.optimizer.iterations.numpy()) == 4 * 8


def test_history_file_and_tensorboard_summaries(tmp_path):
    x, y = regression_data(64)
    trainer = Trainer(make_model(), keras.losses.MeanSquaredError(), keras.optimizers.Adam())
    trainer.fit(batches(x, y), batches(x, y), epochs=2, verbose=0,
                callbacks=[HistoryWriter(tmp_path / "history.json"),
                           keras.callbacks.TensorBoard(str(tmp_path / "tb"))])
    rows = json.loads((tmp_path / "history.json").read_text())
    assert [r["epoch"] for r in rows] == [1, 2] and {"loss", "val_loss"} <= set(rows[0])
    assert list((tmp_path / "tb").rglob("events.out.tfevents.*"))  # train/, validation/


def test_argument_errors(tmp_path):
    x, y = regression_data(32)
    trainer = Trainer(make_model(), keras.losses.MeanSquaredError(), keras.optimizers.Adam())
    with pytest.raises(ValueError, match="monitor must be one of loss; got 'val_loss'"):
        trainer.fit(batches(x, y), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="no checkpoint to resume from"):
        trainer.fit(batches(x, y), epochs=1, monitor="loss", checkpoint_dir=tmp_path,
                    resume=True, verbose=0)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1, got 0"):
        trainer.fit(batches(x, y), epochs=0, monitor="loss", verbose=0)
    with pytest.raises(ValueError, match="resume=True needs a checkpoint_dir"):
        trainer.fit(batches(x, y), epochs=1, monitor="loss", resume=True, verbose=0)
    with pytest.raises(ValueError, match="clip_norm must be positive"):
        Trainer(make_model(), keras.losses.MeanSquaredError(), keras.optimizers.Adam(),
                clip_norm=0)


def test_a_non_finite_loss_stops_training_before_the_bad_update():
    from rnnapps.training import Diverged

    x, y = regression_data(64)
    y[40] = np.nan  # the second batch of 32 has a NaN target
    model = make_model()
    trainer = Trainer(model, keras.losses.MeanSquaredError(), keras.optimizers.Adam())
    trainer.fit(batches(x[:32], y[:32]), epochs=1, monitor="loss", verbose=0)
    before = model.get_weights()
    with pytest.raises(Diverged, match="not finite at epoch 1, step 2") as caught:
        Trainer(model, keras.losses.MeanSquaredError(), keras.optimizers.Adam()).fit(
            batches(x, y), epochs=1, monitor="loss", verbose=0)
    assert (caught.value.epoch, caught.value.step) == (1, 2)
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert not all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # step 1 ran


def test_ctrl_c_mid_epoch_saves_where_it_stood_and_the_run_resumes_exactly(tmp_path):
    import os
    import signal

    from rnnapps.training import Interrupted

    x, y = regression_data(512)  # 16 batches of 32 per epoch
    val = batches(*regression_data(64, seed=1))

    def dropout_model():
        keras.utils.set_random_seed(0)
        return keras.Sequential([keras.Input((5, 2)), keras.layers.GRU(8, dropout=0.2, seed=1),
                                 keras.layers.Dropout(0.2, seed=2), keras.layers.Dense(1)])

    def trainer():
        return Trainer(dropout_model(), keras.losses.MeanSquaredError(),
                       keras.optimizers.Adam(0.01))

    straight = trainer()
    full = straight.fit(shuffled(x, y), val, epochs=3, restore_best=False, verbose=0)

    fired = []

    def interrupt_at_batch_6(i):
        if i == 5 and not fired:
            fired.append(True)
            os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C does
        return i

    def data(epoch):
        ds = shuffled(x, y)(epoch)
        if epoch != 1:
            return ds
        ds = ds.enumerate().map(
            lambda i, b: (tf.py_function(interrupt_at_batch_6, [i], tf.int64), b))
        return ds.map(lambda i, b: b)

    with pytest.raises(Interrupted) as stopped:
        trainer().fit(data, val, epochs=3, checkpoint_dir=tmp_path, checkpoint_every=100,
                      restore_best=False, verbose=0)
    assert stopped.value.epoch == 2 and 1 <= stopped.value.step < 16  # in the middle of it

    resumed = trainer()
    history = resumed.fit(data, val, epochs=3, checkpoint_dir=tmp_path, resume=True,
                          restore_best=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], full.history["loss"], rtol=1e-6)
    np.testing.assert_allclose(history.history["val_loss"], full.history["val_loss"], rtol=1e-6)
    for a, b in zip(resumed.model.get_weights(), straight.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


# ----------------------------------------------------------- Keras callbacks
def small_fit(callbacks, epochs=3, n=64, **options):
    """A GRU regression of ``n // 32`` steps per epoch, validated on 32 examples."""
    x, y = regression_data(n)
    trainer = Trainer(make_model(), keras.losses.MeanSquaredError(),
                      keras.optimizers.Adam(options.pop("learning_rate", 0.01)),
                      [keras.metrics.MeanAbsoluteError(name="mae")],
                      steps_per_execution=options.pop("steps_per_execution", 1))
    history = trainer.fit(batches(x, y), batches(*regression_data(32, seed=1)), epochs=epochs,
                          callbacks=callbacks, verbose=0, **options)
    return trainer, history


class Hooks(keras.callbacks.Callback):
    """Records every hook call the loop makes."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin",))

    def on_train_end(self, logs=None):
        self.calls.append(("train_end",))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, sorted(logs)))

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(("batch_end", batch, sorted(logs)))

    def on_test_begin(self, logs=None):
        self.calls.append(("test_begin",))

    def on_test_end(self, logs=None):
        self.calls.append(("test_end", sorted(logs)))


def test_a_users_keras_callback_sees_every_hook_with_keras_numbering():
    hooks = Hooks()
    trainer, history = small_fit([hooks], epochs=2)
    train, val = ["loss", "mae"], ["loss", "mae", "val_loss", "val_mae"]
    epoch = lambda e: [("epoch_begin", e), ("batch_end", 0, train), ("batch_end", 1, train),  # noqa: E731
                       ("test_begin",), ("test_end", train), ("epoch_end", e, val)]
    assert hooks.calls == [("train_begin",), *epoch(0), *epoch(1), ("train_end",)]
    assert hooks.params["epochs"] == 2 and hooks.params["steps"] == 2
    assert hooks.model is trainer.model
    assert history.epoch == [0, 1] and sorted(history.history) == val

    # With several steps per call, a call is one batch: its index is its last step.
    hooks = Hooks()
    small_fit([hooks], epochs=1, n=96, steps_per_execution=2)
    assert [c[1] for c in hooks.calls if c[0] == "batch_end"] == [1, 2]


def test_a_callback_that_sets_stop_training_ends_training_after_the_epoch():
    class StopAfterSecond(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    _, history = small_fit([StopAfterSecond()], epochs=5)
    assert history.epochs == 2 and history.stopped_early


def test_keras_early_stopping_stops_training():
    # Nothing beats the first epoch by 1e9: EarlyStopping stops after patience 1.
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=1, min_delta=1e9)
    _, history = small_fit([stop], epochs=6)
    assert history.epochs == 2 and history.stopped_early and stop.stopped_epoch == 1


def test_keras_reduce_lr_on_plateau_lowers_the_optimizers_learning_rate():
    reduce = keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=0, factor=0.5,
                                               min_delta=1e9, verbose=0)
    trainer, _ = small_fit([reduce], epochs=3, learning_rate=0.01)
    # Epoch 1 sets the best; epochs 2 and 3 do not beat it by min_delta: halved twice.
    assert float(trainer.optimizer.learning_rate) == pytest.approx(0.0025)
    assert not hasattr(trainer.model, "optimizer")  # set for the callbacks only during fit


def test_keras_csv_logger_writes_one_row_per_epoch(tmp_path):
    import csv

    _, history = small_fit([keras.callbacks.CSVLogger(str(tmp_path / "log.csv"))], epochs=3)
    with open(tmp_path / "log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert {"loss", "mae", "val_loss", "val_mae"} <= set(rows[0])
    np.testing.assert_allclose([float(r["val_mae"]) for r in rows], history.history["val_mae"],
                               rtol=1e-6)


# ------------------------------------------------- masks and sample weights
def sequence_model():
    keras.utils.set_random_seed(3)
    return keras.Sequential([keras.Input((None,), dtype="int32"),
                             keras.layers.Embedding(12, 4, mask_zero=True),
                             keras.layers.LSTM(6, return_sequences=True),
                             keras.layers.Dense(12)])


def sequence_fit(x, y):
    trainer = Trainer(sequence_model(),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      keras.optimizers.Adam(0.05),
                      [keras.metrics.SparseCategoricalAccuracy(name="acc")])
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    history = trainer.fit(data, data, epochs=2, monitor="loss", restore_best=False, verbose=0)
    return history.history, trainer.model.get_weights()


def test_padded_masked_sequences_train_as_the_unpadded_ones():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 12, size=(20, 4)).astype("int32")  # every true length is 4
    y = rng.integers(0, 12, size=(20, 4)).astype("int32")
    # Three padded steps; their targets are junk that the mask must hide.
    padded_x = np.pad(x, [(0, 0), (0, 3)])
    padded_y = np.concatenate([y, rng.integers(0, 12, size=(20, 3))], axis=1).astype("int32")
    plain, plain_weights = sequence_fit(x, y)
    padded, padded_weights = sequence_fit(padded_x, padded_y)
    for name, values in plain.items():
        np.testing.assert_allclose(padded[name], values, rtol=1e-5, err_msg=name)
    for a, b in zip(plain_weights, padded_weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_zero_sample_weights_remove_examples_and_the_loss_is_the_weighted_mean():
    x, y = regression_data(32)
    keep = np.arange(32) % 4 != 0  # 8 of the 32 get weight 0

    def fit(data):
        trainer = Trainer(make_model(), keras.losses.MeanSquaredError(),
                          keras.optimizers.SGD(0.05), [keras.metrics.MeanAbsoluteError(name="mae")])
        history = trainer.fit(data, data, epochs=2, monitor="loss", restore_best=False,
                              verbose=0)
        return trainer, history

    weighted, with_zeros = fit(tf.data.Dataset.from_tensor_slices(
        (x, y, keep.astype("float32"))).batch(32))
    _, without = fit(tf.data.Dataset.from_tensor_slices((x[keep], y[keep])).batch(32))
    for name, values in without.history.items():
        np.testing.assert_allclose(with_zeros.history[name], values, rtol=1e-5, err_msg=name)

    w = np.random.default_rng(1).uniform(0, 2, size=32).astype("float32")
    logs = weighted.evaluate(tf.data.Dataset.from_tensor_slices((x, y, w)).batch(10))
    errors = (weighted.model(x).numpy()[:, 0] - y[:, 0]) ** 2
    assert logs["loss"] == pytest.approx(np.sum(errors * w) / np.sum(w), rel=1e-5)


MIRRORED = """
import json, os
os.environ["RNNAPPS_CPU_DEVICES"] = "2"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
from rnnapps.distribute import configure_cpu_devices, make_strategy
configure_cpu_devices()
import keras, numpy as np, tensorflow as tf
from rnnapps.training import Trainer

rng = np.random.default_rng(0)
x = rng.normal(size=(11, 5, 2)).astype("float32")
y = x[:, :, :1].sum(axis=1)
w = rng.uniform(0, 2, size=11).astype("float32")
w[2] = 0.0
# Global batches of 4, 4 and 3: the last splits 2 + 1 over two replicas.
data = tf.data.Dataset.from_tensor_slices((x, y, w)).batch(4)

def run(strategy):
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([
            keras.Input((5, 2)), keras.layers.GRU(4),
            keras.layers.Dense(1, kernel_regularizer=keras.regularizers.L2(0.01))])
        trainer = Trainer(model, keras.losses.MeanSquaredError(), keras.optimizers.SGD(0.05),
                          [keras.metrics.MeanAbsoluteError(name="mae")], strategy=strategy)
    history = trainer.fit(data, data, epochs=2, monitor="loss", verbose=0)
    return {"history": history.history, "eval": trainer.evaluate(data),
            "weights": [v.tolist() for v in model.get_weights()]}

mirrored = make_strategy("mirrored")
print(json.dumps({"replicas": mirrored.num_replicas_in_sync,
                  "one": run(tf.distribute.get_strategy()), "two": run(mirrored)}))
"""


def test_the_weighted_loss_over_two_replicas_equals_one_devices_with_an_uneven_batch():
    import subprocess
    import sys

    from conftest import REPO

    proc = subprocess.run([sys.executable, "-c", MIRRORED], cwd=REPO, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["replicas"] == 2
    one, two = out["one"], out["two"]
    for name, values in one["history"].items():
        np.testing.assert_allclose(two["history"][name], values, rtol=1e-5, err_msg=name)
    for name, value in one["eval"].items():
        assert two["eval"][name] == pytest.approx(value, rel=1e-5)
    for a, b in zip(one["weights"], two["weights"]):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


# ------------------------------------------------- metric direction, epochs
@pytest.mark.parametrize("name, direction", [
    ("loss", "min"), ("val_loss", "min"), ("val_bits_per_char", "min"), ("perplexity", "min"),
    ("mae", "min"), ("val_mean_squared_error", "min"), ("binary_crossentropy", "min"),
    ("kl_divergence", "min"), ("nats_per_token", "min"), ("accuracy", "max"),
    ("val_acc", "max"), ("auc", "max"), ("sparse_categorical_accuracy", "max"),
    ("val_precision", "max"), ("recall", "max"), ("f1_score", "max"), ("mean_iou", "max")])
def test_metric_direction_from_the_name(name, direction):
    assert metric_direction(name) == direction


def test_metric_direction_modes_and_unknown_names():
    assert metric_direction("val_loss", "max") == "max"
    assert metric_direction("anything", "min") == "min"
    with pytest.raises(UsageError, match="'val_cosine'.*pass monitor_mode 'min' or 'max'"):
        metric_direction("val_cosine")
    with pytest.raises(UsageError, match="monitor_mode must be one of auto, min, max; got 'up'"):
        metric_direction("loss", "up")


def test_an_unknown_monitor_direction_fails_before_training():
    x, y = regression_data(32)
    trainer = Trainer(make_model(), keras.losses.MeanSquaredError(), keras.optimizers.Adam(),
                      [keras.metrics.CosineSimilarity(name="cosine")])
    with pytest.raises(UsageError, match="'cosine'"):
        trainer.fit(batches(x, y), epochs=1, monitor="cosine", verbose=0)
    history = trainer.fit(batches(x, y), epochs=1, monitor="cosine", monitor_mode="max",
                          verbose=0)
    assert history.best_epoch == 1
    assert trainer.metric_names(validation=True) == ["loss", "cosine", "val_loss", "val_cosine"]


def test_the_data_function_is_called_once_per_epoch_run(tmp_path):
    x, y = regression_data(64)
    calls = []

    def data(epoch):
        calls.append(epoch)
        return shuffled(x, y)(epoch)

    def trainer():
        return Trainer(make_model(), keras.losses.MeanSquaredError(), keras.optimizers.Adam())

    history = trainer().fit(Epochs(data, 2), epochs=3, monitor="loss", checkpoint_dir=tmp_path,
                            verbose=0)
    assert calls == [0, 1, 2] and history.epochs == 3
    calls.clear()
    trainer().fit(Epochs(data, 2), epochs=5, monitor="loss", checkpoint_dir=tmp_path,
                  resume=True, verbose=0)
    assert calls == [3, 4]  # a resumed run asks only for the epochs it runs


def test_epochs_of_a_dataset_a_function_or_epochs():
    x, y = regression_data(64)
    assert Epochs.of(batches(x, y)).steps == 2
    assert Epochs.of(batches(x, y).repeat()).steps is None  # infinite
    assert Epochs.of(batches(x, y).filter(lambda a, b: True)).steps is None  # unknown
    assert Epochs.of(shuffled(x, y)).steps == 2  # from epoch 0's dataset
    epochs = Epochs(shuffled(x, y), 2)
    assert Epochs.of(epochs) is epochs
    with pytest.raises(ValueError, match="steps must be None or a non-negative integer"):
        Epochs(shuffled(x, y), -1)


def test_history_is_a_keras_history_and_round_trips_through_its_dict():
    _, history = small_fit([], epochs=2)
    assert isinstance(history, keras.callbacks.History)
    again = History.from_dict(json.loads(json.dumps(history.to_dict())))
    assert again.history == history.history and again.epoch == history.epoch == [0, 1]
    assert (again.best_epoch, again.best_value, again.epochs) == (
        history.best_epoch, history.best_value, 2)
