"""The baselines every forecast is scored beside, on the same test windows.

Persistence (the last value), seasonal naive (with ``season``), a
least-squares linear model on the same window and exponential smoothing
(``ets``, with the season), in the series' own units,
counting only target values that were observed. Each method gets MAE, RMSE,
sMAPE and MASE: the MAE divided by the in-sample MAE of the seasonal naive
forecast (one step back without a season) on the training rows, so that
MASE < 1 beats that naive forecast made with hindsight.
"""

from __future__ import annotations

import numpy as np

from rnnapps.data.series import Series, split_bounds, targets
from rnnapps.errors import UsageError
from rnnapps.tasks.regression.config import RegressionData, median_index
from rnnapps.tasks.regression.ets import ets_forecasts

METHODS = ("model", "persistence", "seasonal_naive", "linear", "ets")
"""What every forecast is scored as, in table order."""


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


def score(actual: np.ndarray, forecast: np.ndarray, observed: np.ndarray,
          scale: float | None = None) -> dict:
    """MAE, RMSE, sMAPE (%) and, given the ``scale``, MASE over the observed
    cells of ``[n, horizon]`` arrays."""
    forecast = np.asarray(forecast, np.float64)
    err = (forecast - actual)[observed]
    size = (np.abs(actual) + np.abs(forecast))[observed]
    # sMAPE's 0/0 (a zero forecast of a zero) is a perfect forecast, not NaN.
    ratio = np.divide(2 * np.abs(err), size, out=np.zeros_like(size), where=size > 0)
    result = {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err ** 2))),
              "smape": float(100 * np.mean(ratio))}
    if scale:
        result["mase"] = result["mae"] / scale
    return result


def mase_scale(series: Series, train_end: int, season: int | None) -> float | None:
    """The in-sample MAE of the seasonal naive forecast (lag ``season``, or 1)
    on the observed training rows: MASE's denominator; None if it is 0."""
    lag = season or 1
    y, seen = series.y[:train_end], series.observed[:train_end]
    both = seen[lag:] & seen[:-lag]
    scale = float(np.mean(np.abs(y[lag:] - y[:-lag])[both])) if both.any() else 0.0
    return scale or None


def quantile_scores(actual: np.ndarray, forecasts: np.ndarray, levels: list[float],
                    observed: np.ndarray) -> dict:
    """How well quantile forecasts are calibrated, over the observed cells.

    Args:
        actual: ``[n, horizon]`` in the series' units.
        forecasts: ``[n, horizon, Q]``, one slice per level.
        levels: The Q levels, ascending.
        observed: ``[n, horizon]``: which cells count.

    Returns:
        ``{"0.1": {"coverage"}, ...}``: the share of values at or below each
        level's forecast (ideally the level), and with two levels or more
        ``"interval"``: the outer pair's nominal and empirical coverage and
        its mean width.
    """
    result = {f"{q:g}": {"coverage": float(np.mean((actual <= forecasts[..., i])[observed]))}
              for i, q in enumerate(levels)}
    if len(levels) >= 2:
        low, high = forecasts[..., 0], forecasts[..., -1]
        inside = (actual >= low) & (actual <= high)
        result["interval"] = {"lower": levels[0], "upper": levels[-1],
                              "nominal": round(levels[-1] - levels[0], 10),
                              "coverage": float(np.mean(inside[observed])),
                              "width": float(np.mean((high - low)[observed]))}
    return result


def check_scorable(series: Series, test_starts: np.ndarray, horizon: int) -> np.ndarray:
    """Returns which test targets were observed (not filled).

    Raises:
        UsageError: If none was: there is nothing to score.
    """
    observed = targets(series.observed, test_starts, horizon)
    if not observed.any():
        raise UsageError(f"no observed {series.target!r} value in the test split to score")
    return observed


def compare(series: Series, starts: dict, data: RegressionData, forecast: np.ndarray,
            linear: np.ndarray, quantiles: tuple[list[float], np.ndarray] | None = None
            ) -> dict:
    """Scores the model's test forecasts of one series next to every baseline.

    Args:
        series: The whole series.
        starts: Its ``window_starts``.
        data: Window, horizon and season.
        forecast: The model's test forecasts in the series' units, ``[n, horizon]``.
        linear: The linear baseline's (``LinearBaseline``) test forecasts, the same way.
        quantiles: ``(levels, [n, horizon, Q] forecasts in the series' units)``
            of a quantile model, scored with ``quantile_scores``.

    Returns:
        ``{"windows", "scored", "model", "persistence", ["seasonal_naive"], "linear", "ets"}``
        with ``{"mae", "rmse", "smape"[, "mase"]}`` per method in the series'
        units, and ``"quantiles"`` for a quantile model.
    """
    t, horizon = starts["test"], data.horizon
    actual = targets(series.y, t, horizon)
    observed = check_scorable(series, t, horizon)
    train_end = split_bounds(len(series), data.val_fraction, data.test_fraction)[0]
    scale = mase_scale(series, train_end, data.season)
    result = {"windows": int(len(t)), "scored": int(observed.sum()),
              "model": score(actual, forecast, observed, scale),
              "persistence": score(actual, persistence(series.y, t, horizon), observed, scale)}
    if data.season:
        naive = seasonal_naive(series.y, t, horizon, data.season)
        result["seasonal_naive"] = (
            score(actual, naive, observed, scale) if naive is not None
            else f"n/a: season {data.season} reaches before the first row")
    result["linear"] = score(actual, linear, observed, scale)
    ets = ets_forecasts(series.y, train_end, t, horizon, data.season)
    result["ets"] = ets if isinstance(ets, str) else score(actual, ets, observed, scale)
    if quantiles is not None:
        result["quantiles"] = quantile_scores(actual, quantiles[1], quantiles[0], observed)
    return result


def compare_parts(parts: list, data: RegressionData, model: list[np.ndarray],
                  linear: list[np.ndarray], levels: list[float]) -> dict:
    """Scores the test forecasts of every series next to the baselines.

    Args:
        parts: The series (``rnnapps.tasks.regression.data.Part``).
        data: Window, horizon and season.
        model: Per series, the model's test forecasts in its units,
            ``[n, horizon]`` (``[n, horizon, Q]`` for the quantile ``levels``).
        linear: Per series, the linear baseline's test forecasts ``[n, horizon]``.
        levels: The quantile levels, or ``[]``.

    Returns:
        For one series, ``compare`` output. For several, the mean over the
        series of every score (``windows`` and ``scored`` are totals) and
        ``"series"``: each series' ``compare`` output by name.
    """
    results = {}
    for part, forecast, baseline in zip(parts, model, linear):
        quantiles = None
        if levels:
            forecast, quantiles = forecast[..., median_index(levels)], (levels, forecast)
        results[part.name] = compare(part.series, part.starts, data, forecast, baseline,
                                     quantiles)
    if list(results) == [None]:
        return results[None]
    return {**mean_scores(list(results.values())), "series": results}


def mean_scores(results: list[dict]) -> dict:
    """The mean of every score over several ``compare`` results (a method
    that some of them could not score is left out); counts are summed."""
    out = {"windows": sum(r["windows"] for r in results),
           "scored": sum(r["scored"] for r in results)}
    for key in [*METHODS, "quantiles"]:
        if all(isinstance(r.get(key), dict) for r in results):
            out[key] = _mean_tree([r[key] for r in results])
    return out


def _mean_tree(trees: list[dict]) -> dict:
    """The mean of equally shaped nested dicts of numbers (other leaves from the first)."""
    out = {}
    for key, value in trees[0].items():
        if not all(key in t for t in trees):
            continue
        if isinstance(value, dict):
            out[key] = _mean_tree([t[key] for t in trees])
        elif isinstance(value, float):
            out[key] = float(np.mean([t[key] for t in trees]))
        else:
            out[key] = value
    return out


def scores_table(result: dict, target: str = "") -> str:
    """The model and baseline scores as an aligned text table (for several
    series: the mean over them, then a line per series)."""
    several = "series" in result
    head = (f"test: {len(result['series'])} series, " if several else "test: ") + (
        f"{result['windows']} windows, {result['scored']} forecasts of observed "
        + (f"{target!r} " if target else "") + "values (in the series' units"
        + ("; each score is the mean over the series)" if several else ")"))
    lines = [head, f"{'':16}{'MAE':>12}{'RMSE':>12}{'MASE':>9}{'sMAPE %':>9}"]
    for name in METHODS:
        if name not in result:
            continue
        s = result[name]
        label = name.replace("_", " ")
        lines.append(f"{label:16}{s['mae']:12.4f}{s['rmse']:12.4f}{s.get('mase', np.nan):9.3f}"
                     f"{s['smape']:9.2f}" if isinstance(s, dict) else f"{label:16}{s}")
    quantiles = dict(result.get("quantiles", {}))
    interval = quantiles.pop("interval", None)
    if quantiles:
        lines.append("quantile coverage (share of values at or below): " + ", ".join(
            f"{level} {s['coverage']:.1%}" for level, s in quantiles.items()))
    if interval:
        lines.append(f"interval {interval['lower']:g}-{interval['upper']:g} (nominal "
                     f"{interval['nominal']:.0%}): coverage {interval['coverage']:.1%}, "
                     f"mean width {interval['width']:.4f}")
    if several:
        lines.append(series_table(result["series"]))
    return "\n".join(lines)


def series_table(results: dict) -> str:
    """One line per series: the model's MAE and MASE beside its best baseline's MAE."""
    width = max(12, *(len(str(name)) + 2 for name in results))
    lines = [f"{'series':{width}}{'windows':>8}{'model MAE':>12}{'MASE':>8}  best baseline"]
    for name, r in results.items():
        baselines = [m for m in METHODS[1:] if isinstance(r.get(m), dict)]
        best = min(baselines, key=lambda m: r[m]["mae"])
        lines.append(f"{str(name):{width}}{r['windows']:8d}{r['model']['mae']:12.4f}"
                     f"{r['model'].get('mase', np.nan):8.3f}  {best.replace('_', ' ')} "
                     f"{r[best]['mae']:.4f}")
    return "\n".join(lines)
