"""Backtests: expanding-window folds whose test spans tile the series' end, a
fresh model per fold scored with every baseline, per fold and overall."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rnnapps import cli
from rnnapps.tasks.regression.backtest import fold_bounds


def test_folds_expand_and_their_test_spans_tile_the_end():
    bounds = fold_bounds(1000, 4, 0.1, 0.15)
    assert bounds == [(300, 400, 550), (450, 550, 700), (600, 700, 850), (750, 850, 1000)]
    for (train_end, val_end, end), (next_train_end, _, _) in zip(bounds, bounds[1:]):
        assert next_train_end == train_end + (end - val_end)  # one more span to train on


@pytest.fixture(scope="module")
def backtest_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("backtest")
    code = cli.main(["regression", "backtest", "--signal-length", "700", "--window", "12",
                     "--units", "8", "--epochs", "2", "--season", "24", "--folds", "3",
                     "--test-fraction", "0.1", "--run-dir", str(root / "bt"), "--plot",
                     str(root / "folds.png"), "--quiet", "--seed", "4"])
    assert code == 0
    return root


def test_backtest_writes_every_fold_and_the_overall_means(backtest_run, capsys):
    result = json.loads((backtest_run / "bt" / "backtest.json").read_text())
    folds = result["folds"]
    assert [f["fold"] for f in folds] == [1, 2, 3]
    assert [f["train_rows"] for f in folds] == [385, 455, 525]
    assert [f["test_span"] for f in folds] == ["rows 490 .. 559", "rows 560 .. 629",
                                               "rows 630 .. 699"]
    for method in ("model", "persistence", "seasonal_naive", "linear"):
        for metric in ("mae", "rmse", "mase", "smape"):
            assert result["overall"][method][metric] == pytest.approx(
                np.mean([f[method][metric] for f in folds]))
    for k in (1, 2, 3):  # each fold is an ordinary run beside its config
        run = backtest_run / "bt" / f"fold-{k}"
        assert (run / "config.json").exists() and (run / "metrics.json").exists()
    assert (backtest_run / "bt" / "config.json").exists()
    assert (backtest_run / "folds.png").stat().st_size > 0


def test_backtest_prints_the_fold_table(backtest_run, tmp_path, capsys):
    assert cli.main(["regression", "backtest", "--signal-length", "300", "--window", "8",
                     "--units", "4", "--epochs", "1", "--folds", "2", "--test-fraction",
                     "0.1", "--run-dir", str(tmp_path / "bt"), "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["fold", "method", "MAE", "RMSE", "MASE", "sMAPE", "%"]
    assert [line.split()[0] for line in lines[2:] if not line.startswith(" ")][:3] == [
        "1", "2", "overall"]
    assert lines[-1] == f"run: {tmp_path / 'bt'}"
    assert Path(tmp_path / "bt" / "backtest.json").exists()
