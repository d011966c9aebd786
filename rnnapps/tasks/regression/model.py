"""Forecasting model: recurrent stack -> Dense(horizon), all steps at once.

With quantiles, ``Dense(horizon * Q)`` reshaped to ``[horizon, Q]`` and the
pinball loss: one forecast per quantile level.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from rnnapps.layers import recurrent_stack
from rnnapps.tasks.regression.config import RegressionConfig, median_index, quantile_levels

LOSSES = {"mse": keras.losses.MeanSquaredError, "mae": keras.losses.MeanAbsoluteError}


def build_model(config: RegressionConfig, n_features: int) -> keras.Model:
    """Recurrent stack -> ``Dense(horizon)`` on ``[batch, time, n_features]``.

    With the defaults this is the reference ``SimpleRNN(128) -> Dense(1)``;
    all ``horizon`` steps are forecast at once from the last state. With
    ``quantiles``, the output is ``[batch, horizon, Q]``.
    """
    horizon, levels = config.data.horizon, quantile_levels(config.train.quantiles)
    # The head computes in float32 under mixed precision too (``rnnapps.precision``).
    head = [keras.layers.Dense(horizon, dtype="float32", name="forecast")] if not levels else [
        keras.layers.Dense(horizon * len(levels), dtype="float32", name="forecast"),
        keras.layers.Reshape((horizon, len(levels)), dtype="float32", name="quantiles")]
    return keras.Sequential([
        keras.Input(shape=(None, n_features), name="inputs"),
        *recurrent_stack(config.model, seed=config.train.seed),
        *head,
    ], name="regression")


def loss_and_metrics(config: RegressionConfig) -> tuple[keras.losses.Loss, list]:
    """The training loss and the ``mae`` metric (of the point forecast)."""
    levels = quantile_levels(config.train.quantiles)
    if not levels:
        return LOSSES[config.train.loss](), [keras.metrics.MeanAbsoluteError(name="mae")]
    middle = median_index(levels)

    def point_error(y_true, y_pred):
        return ops.mean(ops.abs(y_true - y_pred[..., middle]), axis=-1)

    return PinballLoss(levels), [keras.metrics.MeanMetricWrapper(point_error, name="mae")]


class PinballLoss(keras.losses.Loss):
    """The quantile (pinball) loss, averaged over horizon steps and levels.

    For level ``q`` and error ``e = y - f``: ``max(q e, (q - 1) e)``; its
    minimiser is the ``q``-quantile of ``y``, so each output learns its level.
    """

    def __init__(self, levels, name: str = "pinball", **kwargs):
        super().__init__(name=name, **kwargs)
        self.levels = [float(q) for q in levels]

    def call(self, y_true, y_pred):
        """``y_true [batch, horizon]``, ``y_pred [batch, horizon, Q]`` -> ``[batch]``."""
        q = ops.convert_to_tensor(self.levels, y_pred.dtype)
        error = ops.expand_dims(ops.cast(y_true, y_pred.dtype), -1) - y_pred
        return ops.mean(ops.maximum(q * error, (q - 1.0) * error), axis=(-2, -1))

    def get_config(self) -> dict:
        return {**super().get_config(), "levels": self.levels}


def forecast_with(model: keras.Model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Runs ``model`` on encoded windows in batches; returns normalised forecasts
    (``[n, horizon]``, or ``[n, horizon, Q]`` with quantiles, ``rearranged``)."""
    out = [model(x[i:i + batch_size], training=False).numpy()
           for i in range(0, len(x), batch_size)]
    out = np.concatenate(out) if out else np.zeros((0, *model.output_shape[1:]), np.float32)
    return ops.convert_to_numpy(rearranged(out)) if out.ndim == 3 else out


def rearranged(quantiles):
    """Quantile forecasts ``[..., Q]`` sorted along their levels.

    Each level has its own output, so an undertrained or extrapolating model
    can cross them (its 0.1 forecast above its 0.9 one). Sorting is the
    monotone rearrangement of Chernozhukov, Fernandez-Val and Galichon (2010):
    every interval becomes proper, and the sorted forecasts are never further
    from the true quantiles than the crossed ones. ``keras.ops``, so that
    evaluation in process and the exported graph share it.
    """
    return ops.sort(quantiles, axis=-1)
