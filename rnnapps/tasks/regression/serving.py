"""Serving a forecasting export: score it beside the baselines, forecast ahead, plot."""

from __future__ import annotations

import contextlib
import re
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from rnnapps.data.panel import Panel, by_name
from rnnapps.data.series import SYNTHETIC_TARGET, Encoder, Series, windows
from rnnapps.data.timeindex import future_times
from rnnapps.errors import UsageError
from rnnapps.export import Predictor, open_export
from rnnapps.plots import check_plot_path, figure, save
from rnnapps.tasks.regression.baselines import (  # noqa: F401 (the CLI prints scores_table)
    LinearBaseline,
    compare_parts,
    scores_table,
)
from rnnapps.tasks.regression.config import RegressionConfig, quantile_levels
from rnnapps.tasks.regression.data import (
    SERIES,
    Part,
    load_series,
    per_part,
    split_parts,
    stacked_windows,
    unix_seconds,
    window_seconds,
)

NAME = "regression"


def _load(model_dir: str | Path, csv: str | Path | None,
          season: int | None = None) -> tuple:
    """Loads an export, its config (pointed at ``csv`` if given) and encoder."""
    export = open_export(model_dir, NAME)
    loaded, path = export.loaded, export.path
    config = RegressionConfig.from_dict(export.config)
    changes = {}
    if csv is not None:
        changes["csv"] = str(csv)
        if config.data.csv is None:  # a synthetic model reads a CSV's "value" column
            changes["target"] = SYNTHETIC_TARGET
    if season is not None:
        changes["season"] = season
    encoder = Encoder.from_dict(export.file(SERIES))
    if config.data.freq is None and encoder.freq is not None and (
            config.data.date_column or config.data.date_columns):
        changes["freq"] = encoder.freq  # new rows go on the training grid, not a guess
    config = config.replace(**changes)
    return loaded, config, encoder, path


def _serve(loaded, encoder: Encoder, values: np.ndarray, categories: np.ndarray,
           seconds: np.ndarray | None = None, series: str | None = None,
           batch_size: int = 1024) -> dict:
    """Calls the exported signature in batches.

    ``seconds`` (``[n, window + horizon]`` Unix seconds) is sent for a model
    with calendar inputs, ``series`` (the windows' series) for a model of
    several series.

    Returns:
        The signature's outputs in series units (float64): ``forecast``
        ``[n, horizon]``, and ``quantiles`` ``[n, horizon, Q]`` for a quantile model.
    """
    out = []
    for i in range(0, len(values), batch_size):
        args = [tf.constant(values[i:i + batch_size], tf.float32)]
        if encoder.categories:
            args.append(tf.constant(categories[i:i + batch_size].astype(str), tf.string))
        if encoder.calendar:
            args.append(tf.constant(seconds[i:i + batch_size], tf.int64))
        if encoder.series_column:
            args.append(tf.constant([series] * len(args[0]), tf.string))
        out.append({k: v.numpy() for k, v in loaded.forecast(*args).items()})
    return {k: np.concatenate([o[k] for o in out]).astype(np.float64) for k in out[0]}


def _serve_windows(loaded, encoder: Encoder, part: Part, data) -> dict:
    """The export's forecasts of one series' test windows."""
    values, categories = part.series.raw()
    t = part.starts["test"]
    seconds = (window_seconds(part.series, t, data.window, data.horizon)
               if encoder.calendar else None)
    return _serve(loaded, encoder, windows(values, t, data.window),
                  windows(categories, t, data.window), seconds, part.name)


def _check_series(series: Series, encoder: Encoder) -> None:
    if list(series.numeric) != encoder.numeric:
        raise UsageError(f"the data has numeric columns {list(series.numeric)}, the model "
                         f"reads {encoder.numeric}")


def _parts(loaded: Series | Panel, data, encoder: Encoder) -> list[Part]:
    """The series of new data, checked against the model and split as in training."""
    for one in by_name(loaded).values():
        _check_series(one, encoder)
    return split_parts(loaded, data, encoder)[1]


def evaluate(model_dir: str | Path, csv: str | Path | None = None, season: int | None = None,
             plot: str | Path | None = None) -> dict:
    """Scores an exported model and the baselines on the test span.

    Args:
        model_dir: ``saved_models/regression/<N>`` (or its parent: latest).
        csv: A CSV with the model's columns (default: the training data); it is
            split with the training run's fractions.
        season: Season length for the seasonal-naive baseline (default: the
            training run's).
        plot: Draw forecast against actual on the test span into this file.

    Returns:
        ``compare_parts`` output plus ``target`` and ``model_dir`` (the version dir).

    Raises:
        UsageError: On a bad model directory, data or plot path, or a series
            the model was not trained on.
    """
    check_plot_path(plot)
    loaded, config, encoder, path = _load(model_dir, csv, season)
    data = config.data
    parts = _parts(load_series(data, categorical=list(encoder.categories)), data, encoder)
    served = [_serve_windows(loaded, encoder, part, data) for part in parts]
    levels = quantile_levels(config.train.quantiles)
    x_train, y_train = stacked_windows(parts, "train", data)
    x_test, _ = stacked_windows(parts, "test", data)
    linear = per_part(parts, LinearBaseline(x_train, y_train)(x_test))
    result = compare_parts(parts, data, [s["quantiles" if levels else "forecast"] for s in served],
                           linear, levels)
    result.update(target=parts[0].series.target, model_dir=str(path))
    if plot is not None:
        first = parts[0]  # for several series, the first one
        quantiles = (levels, served[0]["quantiles"]) if levels else None
        result["plot"] = str(plot_test(plot, first.series, first.starts["test"],
                                       served[0]["forecast"], quantiles, first.name))
    return result


def predict(model_dir: str | Path, csv: str | Path | None = None,
            plot: str | Path | None = None, history: bool = False) -> dict:
    """Forecasts the ``horizon`` steps after the last row of a CSV (of each series in it).

    Args:
        model_dir: ``saved_models/regression/<N>`` (or its parent: latest).
        csv: Recent rows with the model's columns; the last ``window`` rows
            (after sorting by the date column and filling gaps) are read.
            Default: the training data.
        plot: Draw the window and the forecast into this file (of the first series).
        history: Also return the window the forecast reads.

    Returns:
        ``{"target", "forecast": [horizon floats], "times": [horizon labels]}``,
        for a quantile model ``"quantiles": {level: [horizon floats]}``, and
        with ``history`` ``"history": {"times", "values"}`` (the target's last
        ``window`` rows). For a model of several series: ``{"target",
        "series": {name: that}}``.

    Raises:
        UsageError: On a bad model directory, too few rows, a series the model
            was not trained on, or a bad plot path.
    """
    check_plot_path(plot)
    loaded, config, encoder, _ = _load(model_dir, csv)
    data = load_series(config.data, categorical=list(encoder.categories))
    named = by_name(data)
    for name, series in named.items():
        _check_series(series, encoder)
        if name is not None:
            encoder.for_series(name)  # raises for a series the model does not know
    results = {name: _forecast_after(loaded, config, encoder, series, name, history)
               for name, series in named.items()}
    name, first = next(iter(results.items()))
    result = first if name is None else {"target": first["target"], "series": results}
    if plot is not None:
        result["plot"] = str(plot_forecast(plot, named[name], config.data.window,
                                           np.array(first["forecast"]), name))
    return result


def predict_text(model_dir: str | Path, text: str) -> dict:
    """``predict`` on rows given as text, with the history (``rnnapps serve``'s page).

    Args:
        model_dir: ``saved_models/regression/<N>`` (or its parent: latest).
        text: CSV text with a header row of the model's columns, or, for a
            model that reads the target alone, its recent values as numbers
            (separated by new lines, commas, semicolons or spaces).

    Raises:
        UsageError: As ``predict``, with "the given data" for the file.
    """
    tokens = re.split(r"[\s,;]+", text.strip())
    if not text.strip():
        raise UsageError("no rows given")
    with contextlib.suppress(ValueError):
        numbers = [float(token) for token in tokens]
        target = Encoder.from_dict(open_export(model_dir, NAME).file(SERIES)).target
        text = "\n".join([target, *map(repr, numbers)]) + "\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.csv"
        path.write_text(text, encoding="utf-8")
        try:
            return predict(model_dir, path, history=True)
        except UsageError as err:
            raise UsageError(str(err).replace(str(path), "the given data")) from None


def page_info(export: Predictor) -> dict:
    """What ``rnnapps serve``'s page shows of a forecasting export: the columns
    its rows need (the target first), the window, horizon and quantile levels."""
    config = RegressionConfig.from_dict(export.config)
    d = config.data
    encoder = Encoder.from_dict(export.file(SERIES))
    dates = [c for c in [d.date_column, *(d.date_columns or "").split(",")] if c]
    columns = [*encoder.numeric, *encoder.categories, *dates]
    if encoder.series_column:
        columns.append(encoder.series_column)
    return {"kind": "forecast", "target": encoder.target, "columns": columns,
            "window": d.window, "horizon": d.horizon,
            "quantiles": list(quantile_levels(config.train.quantiles))}


def _forecast_after(loaded, config: RegressionConfig, encoder: Encoder, series: Series,
                    name: str | None, history: bool = False) -> dict:
    """One series' forecast of the steps after its last row (``predict``'s result)."""
    window = config.data.window
    if len(series) < window:
        where = series.source + (f", series {name!r}," if name is not None else "")
        raise UsageError(f"the model reads {window} rows, {where} has {len(series)}")
    values, categories = series.raw()
    times = _future_times(series, config.data.horizon)
    seconds = None
    if encoder.calendar:
        seconds = unix_seconds(np.r_[series.times[-window:],
                                     np.array(times, dtype="datetime64[s]")])[None]
    served = _serve(loaded, encoder, values[None, -window:], categories[None, -window:], seconds,
                    name)
    result = {"target": series.target, "forecast": served["forecast"][0].tolist(),
              "times": times}
    levels = quantile_levels(config.train.quantiles)
    if levels:
        result["quantiles"] = {f"{q:g}": served["quantiles"][0, :, i].tolist()
                               for i, q in enumerate(levels)}
    if history:
        past = (series.times[-window:].astype("datetime64[s]").astype(str).tolist()
                if series.times is not None else [f"t-{k}" for k in range(window - 1, -1, -1)])
        result["history"] = {"times": past, "values": values[-window:, 0].tolist()}
    return result


def _future_times(series: Series, horizon: int) -> list[str]:
    """Labels of the forecast steps: the next time stamps on the series' grid, or ``t+k``."""
    if series.times is not None and series.freq is not None:
        return future_times(series.times[-1], series.freq, horizon)
    return [f"t+{k + 1}" for k in range(horizon)]


# ------------------------------------------------------------------ plots
def plot_test(path: str | Path, series: Series, starts: np.ndarray, forecast: np.ndarray,
              quantiles: tuple[list[float], np.ndarray] | None = None,
              name: str | None = None) -> Path:
    """Draws the actual test span and the model's 1-step (and last-step) forecasts,
    with the outer quantiles' band of the 1-step forecasts shaded.

    Returns:
        The written file.
    """
    fig, ax = figure()
    horizon = forecast.shape[1]
    x = series.times if series.times is not None else np.arange(len(series))
    span = np.arange(starts[0], starts[-1] + horizon)
    ax.plot(x[span], series.y[span], color="black", lw=1, label="actual")
    ax.plot(x[starts], forecast[:, 0], lw=1, label="forecast, 1 step ahead")
    if quantiles is not None and len(quantiles[0]) >= 2:
        levels, bands = quantiles
        ax.fill_between(x[starts], bands[:, 0, 0], bands[:, 0, -1], alpha=0.25, lw=0,
                        label=f"{levels[0]:g}-{levels[-1]:g} quantiles, 1 step ahead")
    if horizon > 1:
        ax.plot(x[starts + horizon - 1], forecast[:, -1], lw=1, alpha=0.7,
                label=f"forecast, {horizon} steps ahead")
    ax.set_title(f"{series.target}{f' of {name}' if name is not None else ''}: test span")
    ax.set_ylabel(series.target)
    ax.legend(loc="upper right")
    return save(fig, path)


def plot_forecast(path: str | Path, series: Series, window: int,
                  forecast: np.ndarray, name: str | None = None) -> Path:
    """Draws the last ``window`` rows and the forecast after them.

    Returns:
        The written file.
    """
    fig, ax = figure()
    n, horizon = len(series), len(forecast)
    ax.plot(np.arange(n - window, n), series.y[-window:], color="black", label="recent")
    ax.plot(np.arange(n - 1, n + horizon), np.r_[series.y[-1], forecast], marker=".",
            label="forecast")
    of = f" of {name}" if name is not None else ""
    ax.set_title(f"{series.target}{of}: next {horizon} step{'s' * (horizon > 1)}")
    ax.set_xlabel("row")
    ax.legend(loc="upper left")
    return save(fig, path)
