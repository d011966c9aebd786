"""The ETS baseline: its recursion reproduces statsmodels' one-step fitted values
and its multi-step forecast, with and without a season, and says so when
statsmodels is missing."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from rnnapps.tasks.regression.ets import MISSING, ets_forecasts

holtwinters = pytest.importorskip("statsmodels.tsa.holtwinters")


def _series(n=400, m=12, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 10 + 3 * np.sin(2 * np.pi * t / m) + np.cumsum(rng.normal(0, 0.2, n)) \
        + rng.normal(0, 0.5, n)


@pytest.mark.parametrize("season", [12, None])
def test_recursion_matches_statsmodels(season):
    y, train_end = _series(), 300
    fit = holtwinters.ExponentialSmoothing(
        y[:train_end], trend=None, seasonal="add" if season else None, seasonal_periods=season,
        initialization_method="heuristic" if season else "estimated").fit()
    one_step = ets_forecasts(y, train_end, np.arange(1, train_end), 1, season)
    np.testing.assert_allclose(one_step[:, 0], fit.fittedvalues[1:], rtol=1e-9, atol=1e-9)
    # From the last training row, 30 steps ahead: two and a half seasons. At a
    # whole number of seasons ahead statsmodels takes the season before the newest
    # state of that phase; the textbook forecast (Hyndman & Athanasopoulos,
    # section 8.3) and this one take the newest, the one updated at the origin.
    ahead = ets_forecasts(y, train_end, np.array([train_end]), 30, season)[0]
    same = np.arange(1, 31) % 12 != 0 if season else np.ones(30, bool)
    np.testing.assert_allclose(ahead[same], fit.forecast(30)[same], rtol=1e-9, atol=1e-9)


def test_too_short_or_no_statsmodels_is_said(monkeypatch):
    y = _series(50)
    assert "two seasons" in ets_forecasts(y, 20, np.array([30]), 1, 12)
    monkeypatch.setitem(sys.modules, "statsmodels.tsa.holtwinters", None)
    assert ets_forecasts(y, 40, np.array([45]), 1, 12) == MISSING
