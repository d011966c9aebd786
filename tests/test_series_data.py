"""The series loader, split, windows and encoder (numpy only, no TensorFlow)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from rnnapps.data.series import (
    Encoder,
    load_csv,
    split_bounds,
    synthetic,
    targets,
    window_starts,
    windows,
)
from rnnapps.errors import UsageError
from rnnapps.tasks.regression import RegressionConfig

WIND_EFFECT = {"N": 2.0, "S": -2.0, "E": 0.0, "W": 5.0}


def write_series_csv(path: Path, rows: int = 400, *, gaps: bool = True,
                     unseen_category_at_end: bool = True, seed: int = 0) -> Path:
    """Writes an hourly CSV in a real-world shape: ``time`` (ISO 8601),
    ``load`` (target), ``temp`` (numeric), ``wind`` (categorical) and an unused
    ``note`` column. With ``gaps``: ``load`` is missing at rows 10-11 (NA) and
    50 (empty), ``temp`` at row 5, ``wind`` at row 7. The last 3 rows blow
    from ``W``, a category the training split never sees."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    wind = np.array(["N", "S", "E"])[(t // 5) % 3]
    if unseen_category_at_end:
        wind[-3:] = "W"
    temp = 15 + 5 * np.sin(2 * np.pi * t / 24 + 1)
    load = (10 + 3 * np.sin(2 * np.pi * t / 24) + 0.3 * temp
            + np.array([WIND_EFFECT[w] for w in wind]) + rng.normal(0, 0.2, rows))
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["time", "load", "temp", "wind", "note"])
        for i in range(rows):
            stamp = np.datetime64("2020-01-01T00:00") + np.timedelta64(int(i), "h")
            cells = [str(stamp).replace("T", " "), f"{load[i]:.4f}", f"{temp[i]:.3f}",
                     wind[i], "ok" if i % 2 else "check"]
            if gaps:
                if i in (10, 11):
                    cells[1] = "NA"
                if i == 50:
                    cells[1] = ""
                if i == 5:
                    cells[2] = "nan"
                if i == 7:
                    cells[3] = ""
            out.writerow(cells)
    return path


@pytest.fixture
def series_csv(tmp_path) -> Path:
    return write_series_csv(tmp_path / "series.csv")


def _column(path: Path, name: str) -> list[str]:
    with open(path, newline="", encoding="utf-8") as f:
        return [row[name] for row in csv.DictReader(f)]


def test_loader_fills_gaps_by_interpolation_and_reports_them(series_csv):
    s = load_csv(series_csv, "load", ["temp", "wind"], "time")
    raw = [float(v) if v not in ("NA", "") else np.nan for v in _column(series_csv, "load")]
    assert s.filled == {"load": 3, "temp": 1, "wind": 1}
    # Rows 10 and 11 lie a third and two thirds of the way from row 9 to row 12.
    np.testing.assert_allclose(s.y[10], raw[9] + (raw[12] - raw[9]) / 3)
    np.testing.assert_allclose(s.y[11], raw[9] + 2 * (raw[12] - raw[9]) / 3)
    np.testing.assert_allclose(s.y[50], (raw[49] + raw[51]) / 2)
    assert not s.observed[[10, 11, 50]].any() and s.observed.sum() == 397
    assert s.categorical["wind"][7] == s.categorical["wind"][6]  # carried forward
    assert list(s.numeric) == ["load", "temp"] and list(s.categorical) == ["wind"]
    assert s.times[0] == np.datetime64("2020-01-01T00:00")
    assert np.all(np.diff(s.times) == np.timedelta64(1, "h"))


def test_loader_sorts_rows_by_the_date_column(tmp_path):
    path = tmp_path / "unsorted.csv"
    path.write_text("Date,Temp\n1981-01-03,3\n1981-01-01,1\n1981-01-02,2\n", encoding="utf-8")
    s = load_csv(path, "Temp", date_column="Date")
    assert s.y.tolist() == [1.0, 2.0, 3.0]
    assert s.filled == {} and s.observed.all()


def test_gaps_at_the_ends_take_the_nearest_value(tmp_path):
    path = tmp_path / "ends.csv"
    path.write_text("x\nNA\n2\n4\n?\n", encoding="utf-8")
    s = load_csv(path, "x")
    assert s.y.tolist() == [2.0, 2.0, 4.0, 4.0] and s.filled == {"x": 2}


def test_encoder_uses_training_rows_only(series_csv):
    s = load_csv(series_csv, "load", ["temp", "wind"], "time")
    train_end, _ = split_bounds(len(s), 0.15, 0.15)
    enc = Encoder.fit(s, train_end)
    np.testing.assert_allclose(enc.mean[0], s.y[:train_end].mean())
    assert enc.categories == {"wind": ["E", "N", "S"]}  # "W" appears only in test
    values, categories = s.raw()
    x = enc.encode(values, categories)
    assert x.shape == (len(s), 2 + 3) and enc.n_features == 5
    np.testing.assert_allclose(x[:train_end, 0].mean(), 0, atol=1e-5)
    np.testing.assert_allclose(x[:train_end, 0].std(), 1, atol=1e-4)
    north = categories[:, 0] == "N"
    assert (x[north, 2:] == [0, 1, 0]).all()
    assert (x[-3:, 2:] == 0).all()  # the unseen category encodes as zeros


def test_windows_are_chronological_and_targets_stay_in_their_split():
    rows, window, horizon = 100, 8, 3
    starts = window_starts(rows, window, horizon, 0.2, 0.2)
    train_end, val_end = split_bounds(rows, 0.2, 0.2)
    assert (train_end, val_end) == (60, 80)
    assert starts["train"][0] == window and starts["train"][-1] + horizon == train_end
    assert starts["val"][0] == train_end and starts["val"][-1] + horizon == val_end
    assert starts["test"][0] == val_end and starts["test"][-1] + horizon == rows
    y = np.arange(rows, dtype=float)
    x = windows(y[:, None], starts["test"], window)
    assert x.shape == (len(starts["test"]), window, 1)
    assert x[0, :, 0].tolist() == list(range(val_end - window, val_end))
    assert targets(y, starts["test"], horizon)[0].tolist() == [80, 81, 82]


def test_synthetic_signal_is_seeded():
    a, b, c = synthetic(300, (24, 60), 0.1, 1), synthetic(300, (24, 60), 0.1, 1), \
        synthetic(300, (24, 60), 0.1, 2)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.allclose(a.y, c.y)
    assert a.target == "value" and a.observed.all()


@pytest.mark.parametrize("text, message", [
    ("", "is empty"),
    ("a,b\n", "no data rows"),
    ("a,b\n1,2\n3\n", "has 1 fields, the header has 2"),
])
def test_malformed_csv_is_a_usage_error(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=message):
        load_csv(path, "a")


def test_config_checks_how_the_data_options_fit():
    with pytest.raises(UsageError, match="needs --target"):
        RegressionConfig().replace(csv="x.csv")
    with pytest.raises(UsageError, match="target needs --csv"):
        RegressionConfig().replace(target="Temp")
    with pytest.raises(UsageError, match="window must be >= 1"):
        RegressionConfig().replace(window=0)
    with pytest.raises(UsageError, match="val_fraction \\+ test_fraction"):
        RegressionConfig().replace(val_fraction=0.5, test_fraction=0.5)
    config = RegressionConfig().replace(csv="x.csv", target="y", horizon=24, season=24)
    assert RegressionConfig.from_dict(config.to_dict()) == config
