"""Forecasting data: the series the options name, cut into encoded windows.

``rnnapps.data.series`` documents the columns, the missing-value policy, the
chronological split and the windows.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from rnnapps.data import calendar
from rnnapps.data.panel import Panel, by_name, load_panel
from rnnapps.data.series import (
    Columns,
    Encoder,
    Series,
    load_csv,
    split_bounds,
    split_names,
    synthetic,
    targets,
    window_starts,
    windows,
)
from rnnapps.errors import UsageError
from rnnapps.tasks.regression.config import RegressionData

SERIES = "series.json"
"""The encoder (raw input layout, training statistics, categories), beside
the weights in a run and beside the SavedModel in an export."""


def load_series(data: RegressionData,
                categorical: Sequence[str] | None = None) -> Series | Panel:
    """Loads the series the ``data`` options describe.

    Args:
        data: The data section of the config.
        categorical: Feature columns to treat as categorical (None: infer).

    Returns:
        The CSV's series (a ``Panel`` of them with ``data.series_column``), or
        the synthetic signal when ``data.csv`` is None.

    Raises:
        UsageError: On any problem with the CSV (see ``load_csv``, ``load_panel``).
    """
    if data.csv is None:
        periods = [float(p) for p in data.signal_periods.split(",")]
        return synthetic(data.signal_length, periods, data.signal_noise, data.signal_seed)
    if data.series_column:
        columns = Columns(data.target, split_names(data.features), data.date_column,
                          split_names(data.date_columns))
        return load_panel(data.csv, data.series_column, columns, categorical,
                          date_format=data.date_format, freq=data.freq)
    return load_csv(data.csv, data.target, split_names(data.features), data.date_column,
                    categorical, date_format=data.date_format,
                    date_columns=split_names(data.date_columns), freq=data.freq)


@dataclasses.dataclass
class Part:
    """One series of the data, with its encoder and its windows' first forecast rows.

    Attributes:
        name: The series' name, or None for the only series.
        series: Its rows.
        encoder: Its encoder (its own statistics).
        starts: ``window_starts`` of its rows.
    """

    name: str | None
    series: Series
    encoder: Encoder
    starts: dict[str, np.ndarray]


def split_parts(loaded: Series | Panel, data: RegressionData,
                encoder: Encoder | None = None) -> tuple[Encoder, list[Part]]:
    """Splits every series in time and fits (or applies) the encoder.

    Args:
        loaded: ``load_series`` output.
        data: Window, horizon and split fractions.
        encoder: A trained model's encoder (None: fit on the training rows).

    Returns:
        The encoder (of all series) and one ``Part`` per series.

    Raises:
        UsageError: If a series is too short for the windows and splits
            (naming it), or is not one the ``encoder`` knows.
    """
    named = by_name(loaded)
    starts = {}
    for name, one in named.items():
        try:
            starts[name] = window_starts(len(one), data.window, data.horizon,
                                         data.val_fraction, data.test_fraction)
        except UsageError as err:
            raise UsageError(f"series {name!r}: {err}" if name is not None else str(err)) \
                from None
    if encoder is None:
        train_rows = {name: split_bounds(len(one), data.val_fraction, data.test_fraction)[0]
                      for name, one in named.items()}
        names = calendar_names(data, next(iter(named.values())))
        encoder = (Encoder.fit_panel(loaded.column, loaded.series, train_rows, names,
                                     data.series_onehot)
                   if isinstance(loaded, Panel) else Encoder.fit(loaded, train_rows[None], names))
    parts = [Part(name, one, encoder.for_series(name) if name is not None else encoder,
                  starts[name]) for name, one in named.items()]
    return encoder, parts


def stacked_windows(parts: list[Part], split: str, data: RegressionData
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``encoded_windows`` of one split of every series, one after the other."""
    pairs = [encoded_windows(p.series, p.encoder, p.starts[split], data.window, data.horizon)
             for p in parts]
    return np.concatenate([x for x, _ in pairs]), np.concatenate([y for _, y in pairs])


def calendar_names(data: RegressionData, series: Series) -> list[str]:
    """The calendar features ``--calendar`` asks for, ``auto`` resolved from the time step."""
    names = calendar.parse(data.calendar)
    return calendar.auto(series.freq) if names == ["auto"] else names


def encoded_windows(series: Series, encoder: Encoder, starts: np.ndarray, window: int,
                    horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Model inputs ``[n, steps, n_features]`` and normalised targets ``[n, horizon]``;
    ``steps`` is ``window``, plus ``horizon`` with calendar features."""
    values, categories = series.raw()
    x = encoder.encode(windows(values, starts, window), windows(categories, starts, window))
    if encoder.calendar:
        x = with_calendar(x, window_seconds(series, starts, window, horizon), encoder.calendar)
    return x, encoder.scale_target(targets(series.y, starts, horizon))


def unix_seconds(times: np.ndarray) -> np.ndarray:
    """``datetime64`` time stamps as int64 Unix seconds: the export's ``times``."""
    return np.asarray(times).astype("datetime64[s]").astype(np.int64)


def window_seconds(series: Series, starts: np.ndarray, window: int, horizon: int) -> np.ndarray:
    """Unix seconds of each window's rows and forecast steps: ``[n, window + horizon]``."""
    return windows(unix_seconds(series.times), np.asarray(starts) + horizon, window + horizon)


def with_calendar(x, seconds, names: Sequence[str]):
    """Adds the forecast steps and the calendar columns to encoded windows.

    The same ``keras.ops`` code builds the training inputs (NumPy in, NumPy
    out) and runs in the exported graph (tensors in, tensors out).

    Args:
        x: Encoded windows ``[n, window, k]``.
        seconds: Unix seconds of their rows and forecast steps ``[n, window + horizon]``.
        names: The calendar features.

    Returns:
        ``[n, window + horizon, k + 2 * len(names) + 1]``: the windows, zeros on
        the forecast steps, the calendar, and 1 on the forecast steps.
    """
    from keras import ops

    is_array = isinstance(x, np.ndarray)
    x = ops.convert_to_tensor(x, "float32")
    horizon = ops.shape(seconds)[1] - ops.shape(x)[1]
    future = ops.zeros((ops.shape(x)[0], horizon, ops.shape(x)[2]), "float32")
    flag = ops.concatenate([ops.zeros_like(x[..., :1]), ops.ones_like(future[..., :1])], axis=1)
    out = ops.concatenate([ops.concatenate([x, future], axis=1), calendar.features(seconds, names),
                           flag], axis=-1)
    return ops.convert_to_numpy(out) if is_array else out


def per_part(parts: list[Part], z: np.ndarray, split: str = "test") -> list[np.ndarray]:
    """Normalised forecasts of ``stacked_windows`` rows -> each series' own, in its units."""
    bounds = np.cumsum([0] + [len(p.starts[split]) for p in parts])
    return [p.encoder.unscale_target(z[lo:hi]) for p, lo, hi in zip(parts, bounds, bounds[1:])]
