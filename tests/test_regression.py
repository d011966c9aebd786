"""Sequence regression end to end: learning, baselines, export, CLI, errors.

Two small runs are trained once per module (a synthetic signal, and a CSV
fixture with gaps and a categorical column) and shared by the tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from test_series_data import write_series_csv

from conftest import run_cli, run_tensorflow_only
from rnnapps.cli import main
from rnnapps.data.series import Encoder, window_starts, windows
from rnnapps.tasks import regression
from rnnapps.tasks.regression import RegressionConfig

FEATURES = "temp,wind"


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    config = RegressionConfig().replace(signal_length=1200, window=24, units=32, epochs=12,
                                        batch_size=32, learning_rate=3e-3, season=120)
    result = regression.train(config, run_dir=root / "run", export_dir=root / "saved",
                              verbose=0).summary()
    return config, result


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("csv")
    path = write_series_csv(root / "series.csv")
    config = RegressionConfig().replace(csv=str(path), target="load", features=FEATURES,
                                        date_column="time", window=12, horizon=3,
                                        season=24, units=16, epochs=3)
    result = regression.train(config, run_dir=root / "run", export_dir=root / "saved",
                              verbose=0).summary()
    return config, result, path


def test_synthetic_signal_is_learned(synthetic_run):
    _, result = synthetic_run
    test = result["test"]
    # Noise std is 0.1, so the best possible MAE is about 0.08; persistence ~0.2.
    assert test["model"]["mae"] < 0.7 * test["persistence"]["mae"], test
    assert test["model"]["rmse"] < 0.7 * test["persistence"]["rmse"], test
    assert set(test) >= {"persistence", "seasonal_naive", "linear"}
    assert result["data"]["rows"] == 1200 and result["data"]["filled"] == {}


def test_csv_run_reports_gaps_and_scores_every_baseline(csv_run):
    _, result, _ = csv_run
    assert result["data"]["filled"] == {"load": 3, "temp": 1, "wind": 1}
    assert result["data"]["features"] == 2 + 3  # load, temp, one-hot(E, N, S)
    test = result["test"]
    for name in ("model", "persistence", "seasonal_naive", "linear"):
        assert np.isfinite(test[name]["mae"]) and test[name]["rmse"] >= test[name]["mae"]
    assert test["windows"] == 60 - 3 + 1
    metrics = json.loads((Path(result["export"]) / "metrics.json").read_text())
    assert metrics["test"]["model"] == test["model"]
    series = json.loads((Path(result["export"]) / "series.json").read_text())
    assert series["values"] == ["load", "temp"] and series["categories"] == {
        "wind": ["E", "N", "S"]}


def test_baselines_on_known_series():
    y = np.arange(50, dtype=float)
    t = np.array([30, 40])
    assert regression.persistence(y, t, 2).tolist() == [[29, 29], [39, 39]]
    # Season 7: each step repeats the value one season back, whole seasons for later steps.
    assert regression.seasonal_naive(y, t, 9, 7)[0].tolist() == [
        23, 24, 25, 26, 27, 28, 29, 23, 24]
    assert regression.seasonal_naive(y, np.array([5]), 1, 7) is None
    x = y[:, None, None][np.arange(10, 40)[:, None] - np.arange(3, 0, -1)]  # windows of 3
    linear = regression.LinearBaseline(x, y[10:40, None])
    np.testing.assert_allclose(linear(x), y[10:40, None], atol=1e-8)  # a ramp is linear
    s = regression.score(np.array([[1.0, 2.0]]), np.array([[2.0, 4.0]]),
                         np.array([[True, False]]), scale=0.5)
    # |2 - 1| / ((|2| + |1|) / 2) = 2/3; MASE divides the MAE by the naive scale.
    assert s == pytest.approx({"mae": 1.0, "rmse": 1.0, "smape": 200 / 3, "mase": 2.0})
    assert "mase" not in regression.score(np.zeros((1, 1)), np.zeros((1, 1)),
                                          np.ones((1, 1), bool))


def test_mase_scale_is_the_in_sample_seasonal_naive_error():
    from rnnapps.data.series import Series
    from rnnapps.tasks.regression.baselines import mase_scale

    y = np.array([0.0, 1.0, 3.0, 6.0, 10.0, 15.0])
    series = Series("y", {"y": y}, {}, np.array([True, True, True, True, False, True]))
    # Lag 1 on the first 5 rows: |1-0|, |3-1|, |6-3|; row 4 is not observed.
    assert mase_scale(series, 5, None) == pytest.approx(2.0)
    assert mase_scale(series, 5, 2) == pytest.approx((3 + 5) / 2)


def _in_process_forecasts(config, run_dir):
    """Forecasts of the Keras model rebuilt from the run's weights, in series units,
    and the raw test windows the export reads."""
    encoder = Encoder.from_dict(json.loads((Path(run_dir) / "series.json").read_text()))
    model = regression.build_model(config, encoder.n_features)
    model.load_weights(Path(run_dir) / "model.weights.h5")
    data = config.data
    series = regression.load_series(data)
    t = window_starts(len(series), data.window, data.horizon, data.val_fraction,
                      data.test_fraction)["test"]
    x, _ = regression.encoded_windows(series, encoder, t, data.window, data.horizon)
    values, categories = series.raw()
    forecast = encoder.unscale_target(regression.forecast_with(model, x))
    return forecast, windows(values, t, data.window), windows(categories, t, data.window)


def test_export_serves_raw_windows_with_tensorflow_alone(synthetic_run, csv_run, tmp_path):
    cases = {}
    for name, (config, result) in {"synthetic": synthetic_run,
                                   "csv": csv_run[:2]}.items():
        forecast, values, categories = _in_process_forecasts(config, result["run_dir"])
        np.save(tmp_path / f"{name}-values.npy", values)
        np.save(tmp_path / f"{name}-categories.npy", categories.astype(str))
        cases[name] = (result["export"], forecast)
    served = run_tensorflow_only(f"""
        import json, numpy as np, tensorflow as tf
        out = {{}}
        for name, model_dir in {json.dumps({k: v[0] for k, v in cases.items()})}.items():
            loaded = tf.saved_model.load(model_dir)
            values = tf.constant(np.load("{tmp_path}/" + name + "-values.npy"))
            args = {{"values": values}}
            if name == "csv":
                args["categories"] = tf.constant(np.load("{tmp_path}/" + name + "-categories.npy"))
            sig = loaded.signatures["serving_default"]
            out[name] = {{"forecast": sig(**args)["forecast"].numpy().tolist(),
                          "inputs": sorted(sig.structured_input_signature[1])}}
        print(json.dumps(out))
    """)
    assert served["synthetic"]["inputs"] == ["values"]
    assert served["csv"]["inputs"] == ["categories", "values"]
    for name, (_, forecast) in cases.items():
        got = np.array(served[name]["forecast"])
        assert got.shape == forecast.shape
        # Original units: the CSV's load is around 15, not a normalised ~0.
        np.testing.assert_allclose(got, forecast, rtol=1e-4, atol=1e-4)
    assert abs(np.mean(served["csv"]["forecast"])) > 5


def test_evaluate_prints_baselines_and_draws_the_plot(csv_run, tmp_path, capsys):
    _, result, _ = csv_run
    plot = tmp_path / "plots" / "test.png"
    assert main(["regression", "evaluate", "--model", str(Path(result["export"]).parent),
                 "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[-4:-2] for line in out.splitlines()[2:6]}
    assert set(rows) == {"model", "persistence", "seasonal", "linear"}
    # The exported graph scores what the in-process model scored at train time.
    assert float(rows["model"][0]) == pytest.approx(result["test"]["model"]["mae"], abs=1e-3)
    assert float(rows["persistence"][1]) == pytest.approx(
        result["test"]["persistence"]["rmse"], abs=1e-3)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 10_000


def test_predict_reads_the_last_window_of_a_csv(csv_run, tmp_path, capsys):
    config, result, path = csv_run
    recent = tmp_path / "recent.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    recent.write_text("\n".join(lines[:1] + lines[-20:]) + "\n", encoding="utf-8")
    plot = tmp_path / "forecast.png"
    assert main(["regression", "predict", "--model", result["export"], "--csv", str(recent),
                 "--plot", str(plot)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == config.data.horizon
    assert out[0].startswith("2020-01-17T16:00")  # one hour after the last row
    got = [float(line.split("\t")[1]) for line in out]
    loaded = tf.saved_model.load(result["export"])
    rows = [line.split(",") for line in lines[-12:]]
    values = tf.constant([[[float(r[1]), float(r[2])] for r in rows]], tf.float32)
    categories = tf.constant([[[r[3]] for r in rows]])
    expected = loaded.forecast(values, categories)["forecast"].numpy()[0]
    np.testing.assert_allclose(got, expected, atol=1e-3)
    assert plot.exists()


def test_serving_mistakes_exit_2(csv_run, tmp_path, capsys):
    _, result, path = csv_run
    few = tmp_path / "few.csv"
    few.write_text("\n".join(path.read_text().splitlines()[:6]) + "\n", encoding="utf-8")
    cases = [
        (["predict", "--model", result["export"], "--csv", str(few)], "reads 12 rows"),
        (["evaluate", "--model", result["export"], "--plot", str(tmp_path / "p.txt")],
         "--plot must end in"),
        (["evaluate", "--model", str(tmp_path)], "not a SavedModel"),
    ]
    for args, message in cases:
        assert main(["regression", *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "p.txt").exists()


def test_command_line_help_lists_the_options():
    proc = run_cli("regression", "train", "--help")
    assert proc.returncode == 0, proc.stderr
    for flag in ("--csv", "--target", "--features", "--date-column", "--window", "--horizon",
                 "--season", "--cell", "--units"):
        assert flag in proc.stdout


def test_loss_option_trains_on_absolute_error():
    import keras

    config = RegressionConfig().replace(signal_length=300, window=12, units=4, loss="mae")
    experiment = regression.TASK.experiment(config, regression.TASK.load(config))
    assert isinstance(experiment.loss, keras.losses.MeanAbsoluteError)
    x, y = next(iter(experiment.train_data.dataset(0)))
    np.testing.assert_allclose(experiment.loss(y, experiment.model(x)),
                               np.mean(np.abs(y - experiment.model(x))), rtol=1e-6)
