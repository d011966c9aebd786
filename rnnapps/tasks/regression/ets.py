"""The ETS baseline: exponential smoothing, the statistical forecast a user would pick.

ETS(A,N,A) -- additive errors, no trend, an additive season of ``season``
steps -- or, without a season, simple exponential smoothing, ETS(A,N,N).
statsmodels (the ``ets`` extra) fits the smoothing parameters and the initial
states on the training rows. The forecasts from every test window's origin
come from running the same recursion over the whole series here: statsmodels
forecasts from one origin per call, and a test split has thousands of them.
A test checks the recursion against statsmodels' own one-step forecasts.
"""

from __future__ import annotations

import warnings

import numpy as np

MISSING = "n/a: the ETS baseline needs statsmodels (pip install 'rnnapps[ets]')"
"""What the scores say in place of ETS's when statsmodels is not installed."""


def ets_forecasts(y: np.ndarray, train_end: int, starts: np.ndarray, horizon: int,
                  season: int | None) -> np.ndarray | str:
    """ETS forecasts of ``y[t : t + horizon]`` from each origin ``t - 1``.

    Args:
        y: The whole series (gaps filled).
        train_end: Rows ``[0, train_end)`` fit the parameters.
        starts: First forecast row of each window.
        horizon: Steps per window.
        season: The season in steps (None: no season).

    Returns:
        ``[len(starts), horizon]`` forecasts, or a text saying why there are none.
    """
    try:
        from statsmodels.tsa.holtwinters import ExponentialSmoothing
    except ImportError:
        return MISSING
    m = season or 0
    if m and train_end < 2 * m:
        return f"n/a: ETS needs two seasons ({2 * m} rows) of training data"
    with warnings.catch_warnings():  # convergence chatter: the fit is still the best found
        warnings.simplefilter("ignore")
        fit = ExponentialSmoothing(y[:train_end], trend=None, seasonal="add" if m else None,
                                   seasonal_periods=m or None,
                                   initialization_method="heuristic" if m else "estimated"
                                   ).fit()
    levels, seasons = _states(y, fit.params, m)
    origins = np.asarray(starts) - 1
    h = np.arange(1, horizon + 1)
    forecast = levels[origins][:, None] + np.zeros(horizon)
    if m:
        # The latest seasonal state of each forecast step's phase known at the origin.
        phase = origins[:, None] + h - m * ((h - 1) // m + 1)
        forecast = forecast + seasons[phase + m]
    return forecast


def _states(y: np.ndarray, params: dict, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The level after each row and the seasonal states (the ``m`` initial ones first).

    The error-correction form of additive Holt-Winters without a trend:
    ``l_t = a (y_t - s_{t-m}) + (1 - a) l_{t-1}``,
    ``s_t = g (y_t - l_{t-1}) + (1 - g) s_{t-m}``.
    """
    alpha = params["smoothing_level"]
    gamma = params.get("smoothing_seasonal") or 0.0
    level = params["initial_level"]
    seasons = np.zeros(m + len(y))
    seasons[:m] = params["initial_seasons"] if m else []
    levels = np.empty(len(y))
    for t, value in enumerate(y):
        previous = seasons[t] if m else 0.0  # s_{t-m}
        new_level = alpha * (value - previous) + (1 - alpha) * level
        if m:
            seasons[t + m] = gamma * (value - level) + (1 - gamma) * previous
        level = levels[t] = new_level
    return levels, seasons
