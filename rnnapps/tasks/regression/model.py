"""Forecasting model: recurrent stack -> Dense(horizon), all steps at once."""

from __future__ import annotations

import keras
import numpy as np

from rnnapps.layers import recurrent_stack
from rnnapps.tasks.regression.config import RegressionConfig

LOSSES = {"mse": keras.losses.MeanSquaredError, "mae": keras.losses.MeanAbsoluteError}


def build_model(config: RegressionConfig, n_features: int) -> keras.Model:
    """Recurrent stack -> ``Dense(horizon)`` on ``[batch, time, n_features]``.

    With the defaults this is the reference ``SimpleRNN(128) -> Dense(1)``;
    all ``horizon`` steps are forecast at once from the last state.
    """
    return keras.Sequential([
        keras.Input(shape=(None, n_features), name="inputs"),
        *recurrent_stack(config.model, seed=config.train.seed),
        keras.layers.Dense(config.data.horizon, name="forecast"),
    ], name="regression")


def forecast_with(model: keras.Model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Runs ``model`` on encoded windows in batches; returns normalised forecasts."""
    out = [model(x[i:i + batch_size], training=False).numpy()
           for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, model.output_shape[-1]), np.float32)
