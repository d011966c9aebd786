"""The time index: ISO dates, other formats and date parts parse; the step is
inferred despite gaps; missing time stamps are inserted and filled in time;
repeats, irregular steps and bad stamps are one clear error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED_DATA
from rnnapps.data.series import load_csv, window_starts, windows
from rnnapps.data.timeindex import future_times
from rnnapps.errors import UsageError
from rnnapps.tasks.regression import RegressionConfig

TEMPERATURES = SHARED_DATA / "timeseries" / "daily-min-temperatures.csv"
POLLUTION = SHARED_DATA / "timeseries" / "pollution.csv"
PASSENGERS = SHARED_DATA / "timeseries" / "airline-passengers.csv"


def csv_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "series.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.skipif(not TEMPERATURES.exists(), reason="needs ../shared/data")
def test_the_two_missing_days_of_the_temperatures_are_inserted_and_filled():
    s = load_csv(TEMPERATURES, "Temp", date_column="Date")
    assert (len(s), s.freq, s.inserted, s.filled) == (3652, "D", 2, {"Temp": 2})
    missing = np.flatnonzero(~s.observed)
    assert s.times[missing].astype(str).tolist() == ["1984-12-31T00:00:00",
                                                     "1988-12-31T00:00:00"]
    np.testing.assert_allclose(s.y[missing], (s.y[missing - 1] + s.y[missing + 1]) / 2)
    assert np.all(np.diff(s.times) == np.timedelta64(1, "D"))  # every row one day on


@pytest.mark.skipif(not POLLUTION.exists(), reason="needs ../shared/data")
def test_pollution_takes_its_time_index_from_the_date_parts():
    s = load_csv(POLLUTION, "pm2.5", ["DEWP", "cbwd"], date_columns=["year", "month", "day",
                                                                    "hour"])
    assert (len(s), s.freq, s.inserted) == (43824, "h", 0)
    assert s.times[[0, -1]].astype(str).tolist() == ["2010-01-01T00:00:00",
                                                     "2014-12-31T23:00:00"]
    assert s.filled == {"pm2.5": 2067}


@pytest.mark.skipif(not PASSENGERS.exists(), reason="needs ../shared/data")
def test_year_month_stamps_are_month_starts():
    s = load_csv(PASSENGERS, "Passengers", date_column="Month")
    assert (len(s), s.freq, s.inserted) == (144, "MS", 0)
    assert future_times(s.times[-1], s.freq, 2) == ["1961-01-01T00:00:00",
                                                    "1961-02-01T00:00:00"]


def test_a_missing_month_is_inserted_and_filled_in_time(tmp_path):
    # February 2020 is missing: its value lies 31 of the 60 days from January to March.
    s = load_csv(csv_file(tmp_path, "m,y\n2019-12,0\n2020-01,10\n2020-03,70\n2020-04,80\n"
                                    "2020-05,90\n2020-06,100\n"), "y", date_column="m")
    assert (s.freq, s.inserted, len(s)) == ("MS", 1, 7)
    np.testing.assert_allclose(s.y[2], 10 + 60 * 31 / 60)
    assert s.observed.tolist() == [True, True, False, True, True, True, True]


def test_other_date_layouts_parse_with_a_format_and_rows_are_sorted(tmp_path):
    s = load_csv(csv_file(tmp_path, "d,y\n1/3/1981,3\n1/1/1981,1\n1/2/1981,2\n"), "y",
                 date_column="d", date_format="%m/%d/%Y")
    assert s.y.tolist() == [1.0, 2.0, 3.0] and s.freq == "D"
    with pytest.raises(UsageError, match=r"line 2 has '1/3/1981', not an ISO 8601 date.*"
                                         r"--date-format"):
        load_csv(csv_file(tmp_path, "d,y\n1/3/1981,3\n"), "y", date_column="d")


def test_a_given_freq_is_used_and_checked(tmp_path):
    path = csv_file(tmp_path, "t,y\n2020-01-01 00:00,1\n2020-01-01 00:30,2\n"
                              "2020-01-01 02:00,5\n")
    s = load_csv(path, "y", date_column="t", freq="30min")
    assert (s.inserted, len(s)) == (2, 5)
    with pytest.raises(UsageError, match=r"line 3 .* is not on the h grid"):
        load_csv(path, "y", date_column="t", freq="h")
    with pytest.raises(UsageError, match="is not a pandas frequency"):
        load_csv(path, "y", date_column="t", freq="fortnightly")


def test_windows_span_time_steps_not_rows(tmp_path):
    # Day 4 is missing: the window before day 6 reads days 3, 4 (inserted) and 5.
    path = csv_file(tmp_path, "d,y\n" + "".join(f"2020-01-{d:02d},{d}\n" for d in
                                                (1, 2, 3, 5, 6, 7, 8, 9, 10, 11)))
    s = load_csv(path, "y", date_column="d")
    starts = window_starts(len(s), 3, 1, 0.0, 0.2)
    assert windows(s.y, np.array([5]), 3).tolist() == [[3.0, 4.0, 5.0]]
    assert len(s) == 11 and starts["test"].tolist() == [9, 10]


@pytest.mark.parametrize("text, options, message", [
    ("d,y\n2020-01-01,1\n2020-01-02,2\n2020-01-01,3\n", {"date_column": "d"},
     "lines 2 and 4 have the same time stamp 2020-01-01"),
    ("d,y\n2020-01-01,1\n2020-01-02,2\n2020-01-05,3\n2020-01-12,4\n2020-01-13,5\n",
     {"date_column": "d"}, "follow no regular step .*give it with --freq"),
    ("d,y\n2020-01-01,1\nsoon,2\n", {"date_column": "d"}, "line 3 has 'soon'"),
    ("year,month,y\n2020,1,1\n2020,13,2\n", {"date_columns": ["year", "month"]},
     r"line 3 is not a valid time \(year='2020', month='13'\)"),
    ("yr,y\n2020,1\n", {"date_columns": ["yr"]}, "--date-columns names date parts"),
])
def test_bad_time_stamps_are_one_clear_error(tmp_path, text, options, message):
    with pytest.raises(UsageError, match=message):
        load_csv(csv_file(tmp_path, text), "y", **options)


def test_config_checks_the_time_options():
    for options, message in (({"date_column": "d", "date_columns": "year,month"}, "not both"),
                             ({"date_format": "%d.%m.%Y"}, "--date-format needs --date-column"),
                             ({"freq": "D"}, "--freq needs a time index")):
        with pytest.raises(UsageError, match=message):
            RegressionConfig().replace(csv="x.csv", target="y", **options)
