"""Sequence regression: forecast the next ``horizon`` values of a series.

Reads top to bottom as data -> model -> baselines -> train -> export -> serve
the export. The series is a CSV of the user's (``--csv --target``, optional
``--features`` and ``--date-column``) or a synthetic noisy sum of sines;
``rnnapps.data.series`` documents the columns, the missing-value policy, the
chronological split and the windows.

Every evaluation scores the model next to the baselines a forecaster tries
first -- persistence (the last value), seasonal naive (with ``season``) and a
least-squares linear model on the same window -- in the series' own units, on
the same test windows, counting only target values that were observed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from rnnapps.artifacts import ensure_dir, read_json
from rnnapps.config import RegressionConfig, RegressionData
from rnnapps.data.series import (
    SYNTHETIC_TARGET,
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
from rnnapps.export import export_saved_model, load_saved_model
from rnnapps.layers import recurrent_stack
from rnnapps.tasks import runs

TASK = "regression"
SERIES = "series.json"
"""The encoder (raw input layout, training statistics, categories), beside
the weights in a run and beside the SavedModel in an export."""
PLOT_SUFFIXES = (".png", ".svg", ".pdf")


# ------------------------------------------------------------------ data
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
                    categorical)


def encoded_windows(series: Series, encoder: Encoder, starts: np.ndarray, window: int,
                    horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Model inputs ``[n, window, n_features]`` and normalised targets ``[n, horizon]``."""
    values, categories = series.raw()
    x = encoder.encode(windows(values, starts, window), windows(categories, starts, window))
    return x, encoder.scale_target(targets(series.y, starts, horizon))


# ----------------------------------------------------------------- model
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


# ------------------------------------------------------------- baselines
def persistence(y: np.ndarray, starts: np.ndarray, horizon: int) -> np.ndarray:
    """Every step forecast as the window's last value: ``[n, horizon]``."""
    return np.repeat(y[np.asarray(starts) - 1][:, None], horizon, axis=1)


def seasonal_naive(y: np.ndarray, starts: np.ndarray, horizon: int,
                   season: int) -> np.ndarray | None:
    """Each step forecast as the value one season earlier (whole seasons back
    for steps beyond the first season); None if the history is too short."""
    h = np.arange(horizon)
    rows = np.asarray(starts)[:, None] + h - season * (h // season + 1)
    return None if rows.min() < 0 else y[rows]


class LinearBaseline:
    """Least squares from a flattened encoded window (plus a bias) to the
    normalised horizon: the linear model on the same inputs as the RNN."""

    def __init__(self, x: np.ndarray, y: np.ndarray):
        design = self._design(x)
        # lstsq gives the minimum-norm solution when one-hot blocks and the
        # bias are collinear.
        self.coef = np.linalg.lstsq(design, y.astype(np.float64), rcond=None)[0]

    @staticmethod
    def _design(x: np.ndarray) -> np.ndarray:
        flat = x.reshape(len(x), -1).astype(np.float64)
        return np.concatenate([flat, np.ones((len(x), 1))], axis=1)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Normalised forecasts ``[n, horizon]``."""
        return self._design(x) @ self.coef


def score(actual: np.ndarray, forecast: np.ndarray, observed: np.ndarray) -> dict:
    """MAE and RMSE over the observed cells of ``[n, horizon]`` arrays."""
    err = (np.asarray(forecast, np.float64) - actual)[observed]
    return {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err ** 2)))}


def check_scorable(series: Series, test_starts: np.ndarray, horizon: int) -> np.ndarray:
    """Returns which test targets were observed (not filled).

    Raises:
        UsageError: If none was: there is nothing to score.
    """
    observed = targets(series.observed, test_starts, horizon)
    if not observed.any():
        raise UsageError(f"no observed {series.target!r} value in the test split to score")
    return observed


def compare(series: Series, encoder: Encoder, starts: dict, data: RegressionData,
            forecast: np.ndarray, x_train: np.ndarray, y_train: np.ndarray,
            x_test: np.ndarray) -> dict:
    """Scores the model's test forecasts next to every baseline.

    Args:
        series: The whole series.
        encoder: Its training-split encoder.
        starts: ``window_starts`` output.
        data: Window, horizon and season.
        forecast: The model's test forecasts in the series' units, ``[n, horizon]``.
        x_train, y_train: Encoded training windows and normalised targets (the
            linear baseline is fitted on them).
        x_test: Encoded test windows.

    Returns:
        ``{"windows", "scored", "model", "persistence", ["seasonal_naive"], "linear"}``
        with ``{"mae", "rmse"}`` per method in the series' units.
    """
    t, horizon = starts["test"], data.horizon
    actual = targets(series.y, t, horizon)
    observed = check_scorable(series, t, horizon)
    result = {"windows": int(len(t)), "scored": int(observed.sum()),
              "model": score(actual, forecast, observed),
              "persistence": score(actual, persistence(series.y, t, horizon), observed)}
    if data.season:
        naive = seasonal_naive(series.y, t, horizon, data.season)
        result["seasonal_naive"] = (
            score(actual, naive, observed) if naive is not None
            else f"n/a: season {data.season} reaches before the first row")
    linear = LinearBaseline(x_train, y_train)
    result["linear"] = score(actual, encoder.unscale_target(linear(x_test)), observed)
    return result


def scores_table(result: dict, target: str = "") -> str:
    """The model and baseline scores as an aligned text table."""
    lines = [f"test: {result['windows']} windows, {result['scored']} forecasts of observed "
             + (f"{target!r} " if target else "") + "values (in the series' units)",
             f"{'':16}{'MAE':>12}{'RMSE':>12}"]
    for name in ("model", "persistence", "seasonal_naive", "linear"):
        if name not in result:
            continue
        s = result[name]
        label = name.replace("_", " ")
        lines.append(f"{label:16}{s['mae']:12.4f}{s['rmse']:12.4f}" if isinstance(s, dict)
                     else f"{label:16}{s}")
    return "\n".join(lines)


# ----------------------------------------------------------------- train
def load(config: RegressionConfig) -> Series:
    """Loads the series ``config.data`` names (checked before anything is written)."""
    return load_series(config.data)


def experiment(config: RegressionConfig, series: Series) -> runs.Experiment:
    """Cuts the series into chronological windows, normalises them with training
    statistics and builds the model (what ``train`` and ``tune`` share).

    Its ``score`` rates the test forecasts in the series' units next to the
    baselines, on the same windows.
    """
    keras.utils.set_random_seed(config.train.seed)  # the model's initial weights
    data = config.data
    starts = window_starts(len(series), data.window, data.horizon, data.val_fraction,
                           data.test_fraction)
    check_scorable(series, starts["test"], data.horizon)  # before training, not after
    encoder = Encoder.fit(series, split_bounds(len(series), data.val_fraction,
                                               data.test_fraction)[0])
    x, y = {}, {}
    for split, t in starts.items():
        x[split], y[split] = encoded_windows(series, encoder, t, data.window, data.horizon)
    batch, seed = config.train.batch_size, config.train.seed
    train_ds = tf.data.Dataset.from_tensor_slices((x["train"], y["train"])).cache()

    def train_data(epoch: int) -> tf.data.Dataset:
        # One fixed shuffle of the windows per (seed, epoch): a resumed run
        # sees the same batches. Windows are shuffled, never the time axis.
        return (train_ds.shuffle(len(x["train"]), seed=seed + epoch,
                                 reshuffle_each_iteration=False)
                .batch(batch).prefetch(tf.data.AUTOTUNE))

    def batched(split):
        return tf.data.Dataset.from_tensor_slices((x[split], y[split])).batch(batch).cache()

    model = build_model(config, encoder.n_features)
    test_ds = batched("test")

    def score(trainer, verbose: int) -> dict:
        """Test loss, then MAE/RMSE in series units for the model and the baselines."""
        test_loss = trainer.evaluate(test_ds)["loss"]
        forecast = encoder.unscale_target(forecast_with(model, x["test"]))
        scores = compare(series, encoder, starts, data, forecast, x["train"], y["train"],
                         x["test"])
        if verbose:
            print(scores_table(scores, series.target))
        return {"loss": test_loss, **scores}

    notes = [f"{name}: filled {count} missing cells "
             f"({'linear interpolation' if name in series.numeric else 'last category'})"
             for name, count in series.filled.items()]
    return runs.Experiment(
        model, LOSSES[config.train.loss](), [keras.metrics.MeanAbsoluteError(name="mae")],
        train_data, batched("val") if len(x["val"]) else None, test_ds,
        files={SERIES: encoder.to_dict()}, score=score, notes=notes,
        data_info={"rows": len(series), "features": encoder.n_features,
                   "filled": series.filled,
                   **{f"{split}_windows": int(len(t)) for split, t in starts.items()}})


def train(config: RegressionConfig, **options) -> dict:
    """Loads the series, trains with the shared loop, scores on test, exports.

    The loss (``config.train.loss``) and the ``mae`` metric of the training history are on
    normalised targets; the test scores are in the series' units, next to
    the baselines'.

    Args:
        config: The run's settings.
        **options: ``run_dir``, ``resume``, ``export_dir``, ``tensorboard``,
            ``verbose``, as for ``rnnapps.tasks.runs.train_task``.

    Returns:
        ``metrics.json`` contents (test scores with baselines under ``test``,
        rows, windows and filled cells under ``data``) plus ``run_dir`` and
        ``export``.
    """
    return runs.train_task(sys.modules[__name__], config, **options)


# ---------------------------------------------------------------- export
def export(run_dir: str | Path, export_dir: str | Path = "saved_models") -> Path:
    """Exports a finished run as ``<export_dir>/regression/<N>``.

    The ``serving_default`` signature (also callable as ``forecast``) takes raw
    windows in the series' own units and returns ``{"forecast": [batch,
    horizon]}`` in the same units; normalisation and one-hot encoding happen
    inside the graph. Inputs, in the order ``series.json`` lists them:

    * ``values``: float32 ``[batch, window, len(values)]`` -- the target, then
      the numeric features; no NaNs (fill gaps first).
    * ``categories``: string ``[batch, window, len(categories)]`` -- only when
      the model has categorical features; an unseen category encodes as zeros.

    Raises:
        UsageError: If ``run_dir`` is not a finished regression run.
    """
    run_dir = Path(run_dir)
    config = runs.open_run(run_dir, RegressionConfig, SERIES)
    encoder = Encoder.from_dict(read_json(run_dir / SERIES))
    model = build_model(config, encoder.n_features)
    model.load_weights(run_dir / runs.WEIGHTS)
    endpoint = _serving_function(model, encoder, config.data.window)
    return export_saved_model(
        Path(export_dir) / TASK, resources=[model],
        endpoints=[("forecast", endpoint, endpoint.input_signature)],
        files={"config.json": config.to_dict(), SERIES: encoder.to_dict(),
               "metrics.json": runs.run_metrics(run_dir)})


def _serving_function(model: keras.Model, encoder: Encoder, window: int):
    """The exported ``tf.function``: raw windows -> forecasts in series units."""
    mean = tf.constant(encoder.mean, tf.float32)
    std = tf.constant(encoder.std, tf.float32)
    seen = [tf.constant(c, tf.string) for c in encoder.categories.values()]
    values_spec = tf.TensorSpec([None, window, len(encoder.numeric)], tf.float32, name="values")

    def run(values, categories=None):
        parts = [(values - mean) / std]
        for j, known in enumerate(seen):
            # [batch, window, 1] == [n_categories] -> one-hot [batch, window, n_categories]
            parts.append(tf.cast(tf.equal(categories[..., j:j + 1], known), tf.float32))
        z = model(tf.concat(parts, axis=-1), training=False)
        return {"forecast": z * std[0] + mean[0]}

    if not seen:
        return tf.function(lambda values: run(values), input_signature=[values_spec])
    categories_spec = tf.TensorSpec([None, window, len(seen)], tf.string, name="categories")
    return tf.function(run, input_signature=[values_spec, categories_spec])


# ------------------------------------------------------- serve the export
def _load(model_dir: str | Path, csv: str | Path | None,
          season: int | None = None) -> tuple:
    """Loads an export, its config (pointed at ``csv`` if given) and encoder."""
    loaded, raw, path = load_saved_model(model_dir, TASK)
    config = RegressionConfig.from_dict(raw)
    changes = {}
    if csv is not None:
        changes["csv"] = str(csv)
        if config.data.csv is None:  # a synthetic model reads a CSV's "value" column
            changes["target"] = SYNTHETIC_TARGET
    if season is not None:
        changes["season"] = season
    config = config.replace(**changes)
    encoder = Encoder.from_dict(read_json(path / SERIES))
    return loaded, config, encoder, path


def _serve(loaded, encoder: Encoder, values: np.ndarray, categories: np.ndarray,
           batch_size: int = 1024) -> np.ndarray:
    """Calls the exported signature in batches; returns forecasts in series units."""
    out = []
    for i in range(0, len(values), batch_size):
        args = [tf.constant(values[i:i + batch_size], tf.float32)]
        if encoder.categories:
            args.append(tf.constant(categories[i:i + batch_size].astype(str), tf.string))
        out.append(loaded.forecast(*args)["forecast"].numpy())
    return np.concatenate(out).astype(np.float64)


def _check_series(series: Series, encoder: Encoder) -> None:
    if list(series.numeric) != encoder.numeric:
        raise UsageError(f"the data has numeric columns {list(series.numeric)}, the model "
                         f"reads {encoder.numeric}")


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
        ``compare`` output plus ``target`` and ``model_dir`` (the version dir).

    Raises:
        UsageError: On a bad model directory, data or plot path.
    """
    _check_plot_path(plot)
    loaded, config, encoder, path = _load(model_dir, csv, season)
    data = config.data
    series = load_series(data, categorical=list(encoder.categories))
    _check_series(series, encoder)
    starts = window_starts(len(series), data.window, data.horizon, data.val_fraction,
                           data.test_fraction)
    values, categories = series.raw()
    t = starts["test"]
    forecast = _serve(loaded, encoder, windows(values, t, data.window),
                      windows(categories, t, data.window))
    x_train, y_train = encoded_windows(series, encoder, starts["train"], data.window,
                                       data.horizon)
    x_test, _ = encoded_windows(series, encoder, t, data.window, data.horizon)
    result = compare(series, encoder, starts, data, forecast, x_train, y_train, x_test)
    result.update(target=series.target, model_dir=str(path))
    if plot is not None:
        result["plot"] = str(plot_test(plot, series, t, forecast))
    return result


def predict(model_dir: str | Path, csv: str | Path | None = None,
            plot: str | Path | None = None) -> dict:
    """Forecasts the ``horizon`` steps after the last row of a CSV.

    Args:
        model_dir: ``saved_models/regression/<N>`` (or its parent: latest).
        csv: Recent rows with the model's columns; the last ``window`` rows
            (after sorting by the date column and filling gaps) are read.
            Default: the training data.
        plot: Draw the window and the forecast into this file.

    Returns:
        ``{"target", "forecast": [horizon floats], "times": [horizon labels]}``.

    Raises:
        UsageError: On a bad model directory, too few rows or a bad plot path.
    """
    _check_plot_path(plot)
    loaded, config, encoder, _ = _load(model_dir, csv)
    window = config.data.window
    series = load_series(config.data, categorical=list(encoder.categories))
    _check_series(series, encoder)
    if len(series) < window:
        raise UsageError(f"the model reads {window} rows, {series.source} has {len(series)}")
    values, categories = series.raw()
    forecast = _serve(loaded, encoder, values[None, -window:], categories[None, -window:])[0]
    times = _future_times(series, len(forecast))
    result = {"target": series.target, "forecast": forecast.tolist(), "times": times}
    if plot is not None:
        result["plot"] = str(plot_forecast(plot, series, window, forecast))
    return result


def _future_times(series: Series, horizon: int) -> list[str]:
    """Labels of the forecast steps: time stamps one step apart, or ``t+k``."""
    if series.times is not None and len(series.times) > 1:
        step = series.times[-1] - series.times[-2]
        return [str(series.times[-1] + step * (k + 1)) for k in range(horizon)]
    return [f"t+{k + 1}" for k in range(horizon)]


# ------------------------------------------------------------------ plots
def _check_plot_path(plot: str | Path | None) -> None:
    if plot is not None and Path(plot).suffix.lower() not in PLOT_SUFFIXES:
        raise UsageError(f"--plot must end in {', '.join(PLOT_SUFFIXES)}, got {str(plot)!r}")


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    ensure_dir(path.parent)
    tmp = path.with_name(f".tmp-{path.name}")
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    os.replace(tmp, path)
    return path


def _figure():
    # The object-oriented API renders with Agg and touches no global backend
    # (safe inside notebooks); matplotlib is imported only when plotting.
    from matplotlib.figure import Figure
    fig = Figure(figsize=(12, 4))
    return fig, fig.subplots()


def plot_test(path: str | Path, series: Series, starts: np.ndarray,
              forecast: np.ndarray) -> Path:
    """Draws the actual test span and the model's 1-step (and last-step) forecasts.

    Returns:
        The written file.
    """
    fig, ax = _figure()
    horizon = forecast.shape[1]
    x = series.times if series.times is not None else np.arange(len(series))
    span = np.arange(starts[0], starts[-1] + horizon)
    ax.plot(x[span], series.y[span], color="black", lw=1, label="actual")
    ax.plot(x[starts], forecast[:, 0], lw=1, label="forecast, 1 step ahead")
    if horizon > 1:
        ax.plot(x[starts + horizon - 1], forecast[:, -1], lw=1, alpha=0.7,
                label=f"forecast, {horizon} steps ahead")
    ax.set_title(f"{series.target}: test span")
    ax.set_ylabel(series.target)
    ax.legend(loc="upper right")
    return _save(fig, path)


def plot_forecast(path: str | Path, series: Series, window: int,
                  forecast: np.ndarray) -> Path:
    """Draws the last ``window`` rows and the forecast after them.

    Returns:
        The written file.
    """
    fig, ax = _figure()
    n, horizon = len(series), len(forecast)
    ax.plot(np.arange(n - window, n), series.y[-window:], color="black", label="recent")
    ax.plot(np.arange(n - 1, n + horizon), np.r_[series.y[-1], forecast], marker=".",
            label="forecast")
    ax.set_title(f"{series.target}: next {horizon} step{'s' * (horizon > 1)}")
    ax.set_xlabel("row")
    ax.legend(loc="upper left")
    return _save(fig, path)

