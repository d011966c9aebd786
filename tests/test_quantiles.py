"""Prediction intervals: the pinball loss, a quantile model's calibration on a
noisy signal, and its export returning every level with TensorFlow alone."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run_tensorflow_only
from rnnapps import cli
from rnnapps.errors import UsageError
from rnnapps.tasks import regression
from rnnapps.tasks.regression import RegressionConfig
from rnnapps.tasks.regression.config import median_index, quantile_levels
from rnnapps.tasks.regression.model import PinballLoss, rearranged
from rnnapps.tasks.regression.serving import evaluate, predict

LEVELS = "0.1,0.5,0.9"


def test_pinball_loss_is_minimised_by_each_level_quantile():
    y = np.random.default_rng(0).normal(size=(2000, 1)).astype("float32")
    loss = PinballLoss([0.1, 0.9])
    best = np.quantile(y, [0.1, 0.9])

    def at(offsets):
        f = np.broadcast_to((best + offsets)[None, None, :], (len(y), 1, 2)).astype("float32")
        return float(loss(y, f))

    assert at([0.0, 0.0]) < min(at([0.2, 0.0]), at([-0.2, 0.0]), at([0.0, 0.2]),
                                at([0.0, -0.2]))
    # One value by hand: y = 1, forecasts 0 and 3 -> (0.1 * 1 + 0.1 * 2) / 2.
    assert float(loss(np.ones((1, 1)), np.array([[[0.0, 3.0]]]))) == pytest.approx(0.15)


def test_levels_are_parsed_sorted_and_checked():
    assert quantile_levels("0.9, 0.1,0.5") == [0.1, 0.5, 0.9]
    assert median_index([0.05, 0.25, 0.95]) == 1 and quantile_levels(None) == []
    for text, message in (("0.1,1.5", r"must lie in \(0, 1\), got 1.5"),
                          ("0.1,0.1", "repeat"), ("0.1,x", "must be numbers")):
        with pytest.raises(UsageError, match=message):
            RegressionConfig().replace(quantiles=text)


@pytest.fixture(scope="module")
def quantile_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("quantiles")
    config = RegressionConfig().replace(signal_length=900, signal_noise=0.3, window=16,
                                        horizon=2, cell="gru", units=16, epochs=12,
                                        learning_rate=5e-3, quantiles=LEVELS, seed=3)
    result = regression.train(config, run_dir=root / "run", export_dir=root / "saved",
                              verbose=0).summary()
    return config, result


def test_crossed_quantiles_are_rearranged_into_order():
    crossed = np.array([[[0.8, 0.5, -0.1], [1.0, 2.0, 3.0]]], np.float32)
    np.testing.assert_allclose(np.asarray(rearranged(crossed)),
                                  [[[-0.1, 0.5, 0.8], [1.0, 2.0, 3.0]]])


def test_a_quantile_model_covers_about_its_nominal_share(quantile_run):
    _, result = quantile_run
    scores = result["test"]["quantiles"]
    assert set(scores) == {"0.1", "0.5", "0.9", "interval"}
    interval = scores["interval"]
    assert interval["nominal"] == pytest.approx(0.8)
    assert 0.65 <= interval["coverage"] <= 0.95, scores
    assert scores["0.1"]["coverage"] < scores["0.5"]["coverage"] < scores["0.9"]["coverage"]
    assert result["test"]["model"]["mae"] < result["test"]["persistence"]["mae"]


def test_the_export_returns_every_level(quantile_run, tmp_path, capsys):
    _, result = quantile_run
    served = evaluate(result["export"], plot=tmp_path / "band.png")
    for level, scores in result["test"]["quantiles"].items():
        assert served["quantiles"][level] == pytest.approx(scores, rel=1e-5), level
    assert (tmp_path / "band.png").stat().st_size > 0

    ahead = predict(result["export"])
    low, middle, high = (np.array(ahead["quantiles"][q]) for q in ("0.1", "0.5", "0.9"))
    assert np.all(low < middle) and np.all(middle < high)
    assert ahead["forecast"] == pytest.approx(middle.tolist())
    assert cli.main(["regression", "predict", "--model", result["export"]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "time\tforecast\tq0.1\tq0.5\tq0.9" and len(lines) == 3

    out = run_tensorflow_only(f"""
        import json, numpy as np, tensorflow as tf
        sig = tf.saved_model.load({json.dumps(result["export"])}).signatures["serving_default"]
        got = sig(values=tf.zeros([4, 16, 1]))
        print(json.dumps({{k: list(v.shape) for k, v in got.items()}}))
    """)
    assert out == {"forecast": [4, 2], "quantiles": [4, 2, 3]}
