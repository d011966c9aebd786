"""Calendar inputs: the phases agree with pandas' calendar, ``auto`` picks what
varies at the series' step, a model learns a weekday effect from them, and the
export computes them in its graph from the time stamps it is sent."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import run_tensorflow_only
from rnnapps.data import calendar
from rnnapps.errors import UsageError
from rnnapps.tasks import regression
from rnnapps.tasks.regression import RegressionConfig
from rnnapps.tasks.regression.serving import evaluate, predict


def _phases(seconds, names):
    f = np.asarray(calendar.features(seconds, names), np.float64)
    return [(np.arctan2(f[..., 2 * i], f[..., 2 * i + 1]) / (2 * np.pi)) % 1
            for i in range(len(names))]


def test_phases_agree_with_pandas_calendar():
    seconds = np.random.default_rng(0).integers(-2_000_000_000, 4_000_000_000, size=5000)
    stamps = pd.to_datetime(seconds, unit="s")
    hour, weekday, year, month = _phases(seconds, ["hour", "dayofweek", "dayofyear", "month"])
    np.testing.assert_array_equal(np.round(weekday * 7) % 7, stamps.day_of_week)
    np.testing.assert_array_equal(np.round(month * 12) % 12, stamps.month - 1)
    np.testing.assert_allclose(hour * 24, stamps.hour + stamps.minute / 60 + stamps.second / 3600,
                               atol=1e-4)
    in_year = stamps.day_of_year - 1 + (stamps.hour + stamps.minute / 60) / 24
    days_off = (year * 365.2425 - in_year + 182) % 365.2425 - 182
    assert np.abs(days_off).max() < 1.5  # the mean year's phase, within a day or so


def test_auto_picks_what_varies_at_the_step_and_names_are_checked():
    assert calendar.auto("h") == ["hour", "dayofweek", "dayofyear"]
    assert calendar.auto("D") == ["dayofweek", "dayofyear"]
    assert calendar.auto("W-SUN") == ["dayofyear"]
    assert calendar.auto("MS") == ["month"]
    assert calendar.auto("YS") == []
    assert calendar.parse("none") == [] and calendar.parse("month, hour") == ["month", "hour"]
    with pytest.raises(ValueError, match="unknown calendar feature 'weekday'"):
        calendar.parse("weekday")
    with pytest.raises(UsageError, match="--calendar needs a time index"):
        RegressionConfig().replace(csv="x.csv", target="y", calendar="auto")


@pytest.fixture(scope="module")
def weekday_run(tmp_path_factory):
    """Sales that jump on Saturdays: a 2-day window cannot tell the next
    Saturday from the past values; the calendar can."""
    root = tmp_path_factory.mktemp("weekday")
    days = pd.date_range("2021-01-01", periods=420, freq="D")
    noise = np.random.default_rng(0).normal(0, 0.3, len(days))
    sales = 2.0 + 6.0 * (days.day_of_week == 5) + noise
    path = root / "sales.csv"
    pd.DataFrame({"day": days.strftime("%Y-%m-%d"), "sales": sales.round(3)}).drop(
        index=[100, 250]).to_csv(path, index=False)  # two missing days, inserted back
    config = RegressionConfig().replace(csv=str(path), target="sales", date_column="day",
                                        calendar="dayofweek", window=2, horizon=2,
                                        cell="gru", units=16, epochs=40, patience=None,
                                        learning_rate=1e-2, seed=1)
    result = regression.train(config, run_dir=root / "run", export_dir=root / "saved",
                              verbose=0).summary()
    return config, result, path


def test_a_weekday_effect_is_learned_from_the_calendar(weekday_run):
    _, result, _ = weekday_run
    test = result["test"]
    assert result["data"]["inserted"] == 2 and result["data"]["features"] == 1 + 2 + 1
    assert test["model"]["mae"] < 0.5 * test["persistence"]["mae"], test


def test_the_export_computes_the_calendar_from_the_times_it_is_sent(weekday_run, tmp_path):
    config, result, path = weekday_run
    served = evaluate(result["export"])
    assert served["model"]["mae"] == pytest.approx(result["test"]["model"]["mae"], rel=1e-5)

    ahead = predict(result["export"], csv=path)
    assert ahead["times"] == ["2022-02-25T00:00:00", "2022-02-26T00:00:00"]  # Fri, Sat
    assert ahead["forecast"][1] > ahead["forecast"][0] + 3  # Saturday's jump
    monday = pd.Timestamp("2022-02-21").value // 10**9
    # Read Monday-Tuesday, forecast Wednesday-Thursday; read Thursday-Friday,
    # forecast Saturday-Sunday: the same values, only the times differ.
    times = [[monday + d * 86400 for d in range(start, start + 4)] for start in (0, 3)]
    out = run_tensorflow_only(f"""
        import json, tensorflow as tf
        sig = tf.saved_model.load({json.dumps(result["export"])}).signatures["serving_default"]
        got = sig(values=tf.fill([2, 2, 1], 2.0), times=tf.constant({times}, tf.int64))
        print(json.dumps({{"inputs": sorted(sig.structured_input_signature[1]),
                           "forecast": got["forecast"].numpy().tolist()}}))
    """)
    assert out["inputs"] == ["times", "values"]
    weekdays, weekend = out["forecast"]
    assert weekend[0] > weekdays[0] + 3  # Saturday's jump, from the times alone
