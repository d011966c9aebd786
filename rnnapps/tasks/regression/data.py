"""Forecasting data: the series the options name, cut into encoded windows.

``rnnapps.data.series`` documents the columns, the missing-value policy, the
chronological split and the windows.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from rnnapps.data.series import Encoder, Series, load_csv, split_names, synthetic, targets, windows
from rnnapps.tasks.regression.config import RegressionData

SERIES = "series.json"
"""The encoder (raw input layout, training statistics, categories), beside
the weights in a run and beside the SavedModel in an export."""


def load_series(data: RegressionData, categorical: Sequence[str] | None = None) -> Series:
    """Loads the series the ``data`` options describe.

    Args:
        data: The data section of the config.
        categorical: Feature columns to treat as categorical (None: infer).

    Returns:
        The CSV's series, or the synthetic signal when ``data.csv`` is None.

    Raises:
        UsageError: On any problem with the CSV (see ``load_csv``).
    """
    if data.csv is None:
        periods = [float(p) for p in data.signal_periods.split(",")]
        return synthetic(data.signal_length, periods, data.signal_noise, data.signal_seed)
    return load_csv(data.csv, data.target, split_names(data.features), data.date_column,
                    categorical, date_format=data.date_format,
                    date_columns=split_names(data.date_columns), freq=data.freq)


def encoded_windows(series: Series, encoder: Encoder, starts: np.ndarray, window: int,
                    horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Model inputs ``[n, window, n_features]`` and normalised targets ``[n, horizon]``."""
    values, categories = series.raw()
    x = encoder.encode(windows(values, starts, window), windows(categories, starts, window))
    return x, encoder.scale_target(targets(series.y, starts, horizon))
