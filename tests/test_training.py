"""The shared GradientTape loop: learning, clipping, early stopping, resume, hooks."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnapps.training import Callback, HistoryWriter, TensorBoard, Trainer


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
    loss = history.metrics["loss"]
    assert loss[-1] < 0.2 * loss[0]
    assert history.metrics["val_mae"][-1] < history.metrics["val_mae"][0]
    assert history.best_epoch == int(np.argmin(history.metrics["val_loss"])) + 1


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


class RecordWeights(Callback):
    def __init__(self, model):
        self.model, self.weights = model, {}

    def on_epoch_end(self, epoch, logs):
        self.weights[epoch] = self.model.get_weights()


def test_early_stopping_restores_the_best_weights():
    x, y = regression_data()
    # Validation targets have the opposite sign: the better the fit, the worse val_loss.
    val = batches(*regression_data(64, seed=1, sign=-1.0))
    model = make_model()
    recorder = RecordWeights(model)
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

    assert history.epochs == 4
    np.testing.assert_allclose(history.metrics["loss"], full.metrics["loss"], rtol=1e-5)
    for a, b in zip(resumed.model.get_weights(), straight.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert int(resumed.optimizer.iterations.numpy()) == 4 * 8


def test_history_file_and_tensorboard_summaries(tmp_path):
    x, y = regression_data(64)
    trainer = Trainer(make_model(), keras.losses.MeanSquaredError(), keras.optimizers.Adam())
    trainer.fit(batches(x, y), batches(x, y), epochs=2, verbose=0,
                callbacks=[HistoryWriter(tmp_path / "history.json"),
                           TensorBoard(tmp_path / "tb")])
    rows = json.loads((tmp_path / "history.json").read_text())
    assert [r["epoch"] for r in rows] == [1, 2] and {"loss", "val_loss"} <= set(rows[0])
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))


def test_argument_errors(tmp_path):
    x, y = regression_data(32)
    trainer = Trainer(make_model(), keras.losses.MeanSquaredError(), keras.optimizers.Adam())
    with pytest.raises(ValueError, match="monitor must be one of loss; got 'val_loss'"):
        trainer.fit(batches(x, y), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="no checkpoint to resume from"):
        trainer.fit(batches(x, y), epochs=1, monitor="loss", checkpoint_dir=tmp_path,
                    resume=True, verbose=0)
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
    np.testing.assert_allclose(history.metrics["loss"], full.metrics["loss"], rtol=1e-6)
    np.testing.assert_allclose(history.metrics["val_loss"], full.metrics["val_loss"], rtol=1e-6)
    for a, b in zip(resumed.model.get_weights(), straight.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
