"""The baselines every forecast is scored beside, on the same test windows.

Persistence (the last value), seasonal naive (with ``season``) and a
least-squares linear model on the same window, in the series' own units,
counting only target values that were observed.
"""

from __future__ import annotations

import numpy as np

from rnnapps.data.series import Encoder, Series, targets
from rnnapps.errors import UsageError
from rnnapps.tasks.regression.config import RegressionData


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
