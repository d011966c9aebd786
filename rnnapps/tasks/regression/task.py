"""Sequence regression: forecast the next ``horizon`` values of a series.

The series is a CSV of the user's (``--csv --target``, optional
``--features`` and ``--date-column``) or a synthetic noisy sum of sines.
Every evaluation scores the model next to the baselines a forecaster tries
first (``baselines``), on the same test windows.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from rnnapps.data.series import Encoder, Series, split_bounds, window_starts
from rnnapps.tasks.base import Experiment, Run, Task
from rnnapps.tasks.regression.baselines import check_scorable, compare, scores_table
from rnnapps.tasks.regression.config import RegressionConfig, median_index, quantile_levels
from rnnapps.tasks.regression.data import (
    SERIES,
    calendar_names,
    encoded_windows,
    load_series,
    with_calendar,
)
from rnnapps.tasks.regression.model import build_model, forecast_with, loss_and_metrics
from rnnapps.training import Epochs


class RegressionTask(Task):
    """The forecasting task (see ``rnnapps.tasks.base`` for the contract)."""

    name = "regression"
    config_class = RegressionConfig
    files = (SERIES,)

    def load(self, config: RegressionConfig, verbose: int = 1) -> Series:
        """Loads the series ``config.data`` names (checked before anything is written)."""
        return load_series(config.data)

    def experiment(self, config: RegressionConfig, series: Series) -> Experiment:
        """Cuts the series into chronological windows, normalises them with training
        statistics and builds the model.

        Its ``score`` rates the test forecasts in the series' units next to the
        baselines, on the same windows.
        """
        keras.utils.set_random_seed(config.train.seed)  # the model's initial weights
        data = config.data
        starts = window_starts(len(series), data.window, data.horizon, data.val_fraction,
                               data.test_fraction)
        check_scorable(series, starts["test"], data.horizon)  # before training, not after
        encoder = Encoder.fit(series, split_bounds(len(series), data.val_fraction,
                                                   data.test_fraction)[0],
                              calendar_names(data, series))
        x, y = {}, {}
        for split, t in starts.items():
            x[split], y[split] = encoded_windows(series, encoder, t, data.window, data.horizon)
        batch = config.train.batch_size

        def batched(split):
            return tf.data.Dataset.from_tensor_slices((x[split], y[split])).batch(batch).cache()

        model = build_model(config, encoder.n_features)
        levels = quantile_levels(config.train.quantiles)
        test_ds = batched("test")

        def score(trainer, verbose: int) -> dict:
            """Test loss, then MAE/RMSE in series units for the model and the baselines."""
            test_loss = trainer.evaluate(test_ds)["loss"]
            forecast, quantiles = point_and_quantiles(
                encoder.unscale_target(forecast_with(model, x["test"])), levels)
            scores = compare(series, encoder, starts, data, forecast, x["train"], y["train"],
                             x["test"], quantiles)
            if verbose:
                print(scores_table(scores, series.target))
            return {"loss": test_loss, **scores}

        return Experiment(
            model, *loss_and_metrics(config),
            _train_epochs(config, x["train"], y["train"]),
            batched("val") if len(x["val"]) else None, test_ds,
            files={SERIES: encoder.to_dict()}, score=score, notes=_filled_notes(series),
            data_info={"rows": len(series), "features": encoder.n_features,
                       "filled": series.filled, "freq": series.freq,
                       "inserted": series.inserted,
                       **{f"{split}_windows": int(len(t)) for split, t in starts.items()}})

    def build_model(self, config: RegressionConfig, files: dict) -> keras.Model:
        return build_model(config, Encoder.from_dict(files[SERIES]).n_features)

    def serving(self, run: Run) -> tuple[list, list]:
        """``forecast`` (also ``serving_default``): raw windows in the series' own
        units -> ``{"forecast": [batch, horizon]}`` in the same units;
        normalisation and one-hot encoding happen inside the graph. Inputs, in
        the order ``series.json`` lists them:

        * ``values``: float32 ``[batch, window, len(values)]`` -- the target, then
          the numeric features; no NaNs (fill gaps first).
        * ``categories``: string ``[batch, window, len(categories)]`` -- only when
          the model has categorical features; an unseen category encodes as zeros.
        * ``times``: int64 ``[batch, window + horizon]`` -- only when the model
          has calendar inputs: the Unix seconds of the window's rows and of the
          forecast steps; the calendar is computed from them in the graph.

        A quantile model also returns ``quantiles``: ``[batch, horizon, Q]``
        for the config's levels, ascending; ``forecast`` is the level nearest 0.5.
        """
        encoder = Encoder.from_dict(run.files[SERIES])
        endpoint = _serving_function(run.model, encoder, run.config.data.window,
                                     run.config.data.horizon, run.config.train.quantiles)
        return [run.model], [("forecast", endpoint, endpoint.input_signature)]


def point_and_quantiles(forecast: np.ndarray, levels: list[float]) -> tuple:
    """Splits a quantile model's ``[n, horizon, Q]`` forecasts into the point
    forecast (the level nearest 0.5) and ``(levels, forecasts)``; a point
    model's ``[n, horizon]`` comes back with None."""
    if not levels:
        return forecast, None
    return forecast[..., median_index(levels)], (levels, forecast)


def _train_epochs(config: RegressionConfig, x: np.ndarray, y: np.ndarray) -> Epochs:
    """One fixed shuffle of the windows per (seed, epoch): a resumed run sees the
    same batches. Windows are shuffled, never the time axis."""
    batch, seed = config.train.batch_size, config.train.seed
    windows = tf.data.Dataset.from_tensor_slices((x, y)).cache()
    return Epochs(lambda epoch: windows.shuffle(len(x), seed=seed + epoch,
                                                reshuffle_each_iteration=False)
                  .batch(batch).prefetch(tf.data.AUTOTUNE), -(-len(x) // batch))


def _filled_notes(series: Series) -> list[str]:
    notes = [f"time step {series.freq}: inserted {series.inserted} missing time stamps"
             ] if series.inserted else []
    how = "linear interpolation" + (" in time" if series.freq else "")
    return notes + [f"{name}: filled {count} missing cells "
                    f"({how if name in series.numeric else 'last category'})"
                    for name, count in series.filled.items()]


def _serving_function(model: keras.Model, encoder: Encoder, window: int, horizon: int,
                      quantiles: str | None = None):
    """The exported ``tf.function``: raw windows -> forecasts in series units
    (and the ``quantiles`` levels' forecasts ``[batch, horizon, Q]``).

    Its inputs are ``values``, then ``categories`` and ``times`` where the
    model has them (a signature cannot have optional inputs).
    """
    mean = tf.constant(encoder.mean, tf.float32)
    std = tf.constant(encoder.std, tf.float32)
    seen = [tf.constant(c, tf.string) for c in encoder.categories.values()]
    levels = quantile_levels(quantiles)
    specs = [tf.TensorSpec([None, window, len(encoder.numeric)], tf.float32, name="values")]
    if seen:
        specs.append(tf.TensorSpec([None, window, len(seen)], tf.string, name="categories"))
    if encoder.calendar:
        specs.append(tf.TensorSpec([None, window + horizon], tf.int64, name="times"))

    def run(values, *rest):
        categories = rest[0] if seen else None
        parts = [(values - mean) / std]
        for j, known in enumerate(seen):
            # [batch, window, 1] == [n_categories] -> one-hot [batch, window, n_categories]
            parts.append(tf.cast(tf.equal(categories[..., j:j + 1], known), tf.float32))
        x = tf.concat(parts, axis=-1)
        if encoder.calendar:
            x = with_calendar(x, rest[-1], encoder.calendar)
        out = model(x, training=False) * std[0] + mean[0]
        if not levels:
            return {"forecast": out}
        return {"forecast": out[..., median_index(levels)], "quantiles": out}

    return tf.function(run, input_signature=specs)

TASK = RegressionTask()
# The Task's methods as module functions: rnnapps.tasks.regression.train(config) etc.
load, experiment, train, export, load_run = (TASK.load, TASK.experiment, TASK.train,
                                             TASK.export, TASK.load_run)
