"""Several series in one long-format CSV: reading, per-series statistics, one
model for all, per-series and overall scores, and the export's series input.

The fixture is daily sales of three stores four orders of magnitude apart
(``rnnapps.testing.write_store_sales``), one of which opens later and one of
which has a missing day and an empty cell.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import run_tensorflow_only
from rnnapps.cli import main
from rnnapps.data.panel import load_panel
from rnnapps.data.series import Columns, Encoder, split_bounds
from rnnapps.errors import UsageError
from rnnapps.tasks import regression
from rnnapps.tasks.regression import RegressionConfig
from rnnapps.tasks.regression.data import per_part, split_parts, stacked_windows
from rnnapps.testing import STORES, write_store_sales

COLUMNS = Columns("sales", ["promo"], "date")


@pytest.fixture(scope="module")
def sales_csv(tmp_path_factory) -> Path:
    return write_store_sales(tmp_path_factory.mktemp("sales") / "sales.csv")


@pytest.fixture(scope="module")
def panel_run(sales_csv, tmp_path_factory):
    root = tmp_path_factory.mktemp("panel")
    config = RegressionConfig().replace(
        csv=str(sales_csv), target="sales", features="promo", date_column="date",
        series_column="store", season=7, window=14, cell="gru", units=16, epochs=12,
        learning_rate=3e-3)
    run = regression.train(config, run_dir=root / "run", export_dir=root / "saved", verbose=0)
    return config, run.summary()


def test_each_name_in_the_series_column_is_a_series_with_its_own_grid(sales_csv):
    panel = load_panel(sales_csv, "store", COLUMNS)
    assert list(panel.series) == list(STORES)  # the order of their first rows
    north, south, harbour = panel.series.values()
    assert (len(north), len(south), len(harbour)) == (400, 400, 340)
    assert (south.inserted, south.filled) == (1, {"sales": 2, "promo": 1})
    assert north.inserted == 0 and north.filled == {} and panel.freq == "D"
    assert str(harbour.times[0]) == "2023-03-03T00:00:00"  # opened 60 days later
    assert np.all(np.diff(south.times) == np.timedelta64(1, "D"))
    line = next(r for r in sales_csv.read_text().splitlines() if r.startswith("2023-01-03,south"))
    assert south.y[1] == pytest.approx(float(line.split(",")[2]))
    assert not south.observed[[100, 200]].any() and south.observed.sum() == 398


def test_each_series_is_normalised_by_its_own_training_rows(sales_csv):
    config = RegressionConfig().replace(csv=str(sales_csv), target="sales", features="promo",
                                        date_column="date", series_column="store")
    panel = regression.load_series(config.data)
    encoder, parts = split_parts(panel, config.data)
    assert encoder.mean == [] and list(encoder.series) == list(STORES)
    for part in parts:
        rows = split_bounds(len(part.series), 0.15, 0.15)[0]
        assert part.encoder.mean[0] == pytest.approx(part.series.y[:rows].mean())
        assert part.encoder.std[0] == pytest.approx(part.series.y[:rows].std())
        x, _ = stacked_windows([part], "train", config.data)
        assert abs(x[..., 0].mean()) < 0.3 and 0.7 < x[..., 0].std() < 1.3
    assert Encoder.from_dict(json.loads(json.dumps(encoder.to_dict()))) == encoder


def _rewrite(path: Path, out: Path, edit) -> Path:
    lines = path.read_text().splitlines()
    out.write_text("\n".join(edit(lines)) + "\n")
    return out


def test_mistakes_name_the_series_and_the_file_line(sales_csv, tmp_path):
    def at(line_no, text):
        return lambda lines: [text if i + 1 == line_no else line for i, line in enumerate(lines)]

    south_line = next(i + 1 for i, line in enumerate(sales_csv.read_text().splitlines())
                      if ",south," in line and i > 50)
    date = sales_csv.read_text().splitlines()[south_line - 1].split(",")[0]
    cases = [
        (at(south_line, f"{date},south,lots,0"),
         f"target column 'sales' is not numeric: line {south_line} of bad0.csv has 'lots'"),
        (at(south_line, f"{date},,1.0,0"), f"line {south_line} names no series"),
        (lambda lines: lines + [lines[-1]], "have the same time stamp"),
        (lambda lines: lines + ["2030-01-01,weekly,1,0", "2030-01-08,weekly,2,0",
                                "2030-01-15,weekly,3,0"], "different time steps"),
    ]
    for k, (edit, message) in enumerate(cases):
        with pytest.raises(UsageError, match=message.replace("(", r"\(")):
            load_panel(_rewrite(sales_csv, tmp_path / f"bad{k}.csv", edit), "store", COLUMNS)
    with pytest.raises(UsageError, match="used twice"):
        load_panel(sales_csv, "promo", COLUMNS)
    short = _rewrite(sales_csv, tmp_path / "short.csv",
                     lambda lines: lines + ["2030-01-01,tiny,1,0", "2030-01-02,tiny,2,0"])
    config = RegressionConfig().replace(csv=str(short), target="sales", date_column="date",
                                        series_column="store")
    with pytest.raises(UsageError, match="series 'tiny': the series has 2 rows"):
        split_parts(regression.load_series(config.data), config.data)


def test_one_model_scores_every_series_and_their_mean(panel_run):
    _, result = panel_run
    test = result["test"]
    assert list(test["series"]) == list(STORES)
    for name, scores in test["series"].items():
        # One model across four orders of magnitude beats the naive forecasts on each.
        assert scores["model"]["mase"] < 1.0, (name, scores["model"])
        assert scores["model"]["mae"] < scores["persistence"]["mae"], name
    for method in ("model", "persistence", "seasonal_naive", "linear", "ets"):
        for metric in ("mae", "rmse", "smape", "mase"):
            assert test[method][metric] == pytest.approx(
                np.mean([s[method][metric] for s in test["series"].values()]))
    assert test["windows"] == sum(s["windows"] for s in test["series"].values())
    assert result["data"]["series"] == 3 and result["data"]["inserted"] == 1


def _in_process(config, run_dir):
    """The rebuilt Keras model's test forecasts per series, and the raw windows."""
    encoder = Encoder.from_dict(json.loads((Path(run_dir) / "series.json").read_text()))
    model = regression.build_model(config, encoder.n_features)
    model.load_weights(Path(run_dir) / "model.weights.h5")
    _, parts = split_parts(regression.load_series(config.data), config.data, encoder)
    x, _ = stacked_windows(parts, "test", config.data)
    forecasts = per_part(parts, regression.forecast_with(model, x))
    raw = {}
    for part, forecast in zip(parts, forecasts):
        values = part.series.raw()[0]
        t = part.starts["test"]
        w = config.data.window
        raw[part.name] = {"values": np.stack([values[i - w:i] for i in t]).tolist(),
                          "forecast": forecast.tolist()}
    return raw


def test_the_export_looks_up_each_series_statistics_in_the_graph(panel_run):
    config, result = panel_run
    expected = _in_process(config, result["run_dir"])
    served = run_tensorflow_only(f"""
        import json, numpy as np, tensorflow as tf
        loaded = tf.saved_model.load({result["export"]!r})
        sig = loaded.signatures["serving_default"]
        cases = json.loads({json.dumps(json.dumps(expected))})
        out = {{"inputs": sorted(sig.structured_input_signature[1])}}
        for name, case in cases.items():
            values = tf.constant(case["values"], tf.float32)
            out[name] = sig(values=values, series=tf.constant([name] * len(values)))[
                "forecast"].numpy().tolist()
        try:
            sig(values=values[:1], series=tf.constant(["nowhere"]))
            out["unknown"] = "served"
        except tf.errors.InvalidArgumentError as err:
            out["unknown"] = err.message
        print(json.dumps(out))
    """)
    assert served["inputs"] == ["series", "values"]
    for name, case in expected.items():
        np.testing.assert_allclose(served[name], case["forecast"], rtol=1e-4, atol=1e-4)
    assert np.mean(served["south"]) > 1000 and np.mean(served["harbour"]) < 1
    assert "unknown series" in served["unknown"] and "nowhere" in served["unknown"]


def test_with_series_onehot_the_model_reads_which_series_a_window_is(sales_csv, tmp_path):
    config = RegressionConfig().replace(
        csv=str(sales_csv), target="sales", date_column="date", series_column="store",
        series_onehot=True, season=7, window=7, units=8, epochs=2)
    run = regression.train(config, run_dir=tmp_path / "run", export_dir=tmp_path / "saved",
                           verbose=0)
    encoder = Encoder.from_dict(run.files["series.json"])
    assert encoder.series_onehot and encoder.n_features == 1 + len(STORES)
    _, parts = split_parts(regression.load_series(config.data), config.data, encoder)
    x, _ = stacked_windows(parts[1:2], "train", config.data)  # south: the second column
    assert (x[..., 1:] == [0.0, 1.0, 0.0]).all()
    expected = _in_process(config, run.run_dir)
    served = run_tensorflow_only(f"""
        import json, numpy as np, tensorflow as tf
        sig = tf.saved_model.load({str(run.export)!r}).signatures["serving_default"]
        cases = json.loads({json.dumps(json.dumps(expected))})
        print(json.dumps({{name: sig(values=tf.constant(case["values"], tf.float32),
                                     series=tf.constant([name] * len(case["values"])))[
                               "forecast"].numpy().tolist() for name, case in cases.items()}}))
    """)
    for name, case in expected.items():
        np.testing.assert_allclose(served[name], case["forecast"], rtol=1e-4, atol=1e-4)


def test_predict_and_evaluate_give_a_line_per_series(panel_run, sales_csv, tmp_path, capsys):
    config, result = panel_run
    assert main(["regression", "predict", "--model", result["export"]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t") == ["series", "time", "forecast"]
    assert [line.split("\t")[:2] for line in lines[1:]] == [
        [name, "2024-02-06T00:00:00"] for name in STORES]
    assert main(["regression", "evaluate", "--model", result["export"],
                 "--plot", str(tmp_path / "test.png")]) == 0
    out = capsys.readouterr().out
    assert "3 series" in out and "mean over the series" in out
    south = next(line for line in out.splitlines() if line.startswith("south"))
    assert float(south.split()[2]) == pytest.approx(
        result["test"]["series"]["south"]["model"]["mae"], abs=1e-3)
    assert (tmp_path / "test.png").stat().st_size > 10_000
    other = _rewrite(sales_csv, tmp_path / "other.csv",
                     lambda lines: lines + ["2024-02-05,airport,3.0,0"])
    assert main(["regression", "predict", "--model", result["export"], "--csv", str(other)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "series 'airport' is not one the model was trained on" in err


def test_backtest_cuts_every_series_into_its_own_folds(sales_csv, tmp_path):
    from rnnapps.tasks.regression.backtest import backtest

    config = RegressionConfig().replace(
        csv=str(sales_csv), target="sales", date_column="date", series_column="store",
        season=7, window=7, units=8, epochs=1, test_fraction=0.1)
    result = backtest(config, 2, run_dir=tmp_path / "bt", verbose=0)
    assert [row["test_span"] for row in result["folds"]] == [
        "2023-11-18T00:00:00 .. 2023-12-27T00:00:00",  # of the first series, north
        "2023-12-28T00:00:00 .. 2024-02-05T00:00:00"]
    for k in (1, 2):
        metrics = json.loads((tmp_path / "bt" / f"fold-{k}" / "metrics.json").read_text())
        assert list(metrics["test"]["series"]) == list(STORES)
        assert result["folds"][k - 1]["model"]["mase"] == pytest.approx(np.mean(
            [s["model"]["mase"] for s in metrics["test"]["series"].values()]))
