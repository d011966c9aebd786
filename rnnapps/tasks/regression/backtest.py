"""Backtests: rolling-origin evaluation with an expanding training window.

Fold k of K trains a fresh model on every row before its test span (the last
``val_fraction`` of them validate, for early stopping) and scores it next to
every baseline on the span: ``test_fraction`` of the rows. The K test spans
tile the end of the series, the last one ending at its last row, so each
fold trains on the previous fold's rows plus one span: the errors a model
retrained every period would have made. Each fold is an ordinary run of the
task (``fold-<k>/`` holds its config, history, weights and metrics).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from rnnapps.artifacts import ensure_dir, write_json
from rnnapps.data.panel import Panel, by_name
from rnnapps.data.series import Series, split_bounds
from rnnapps.errors import UsageError
from rnnapps.plots import check_plot_path, figure, save
from rnnapps.tasks.base import default_run_dir, resolve_run_dir
from rnnapps.tasks.regression.baselines import METHODS
from rnnapps.tasks.regression.config import RegressionConfig
from rnnapps.tasks.regression.data import load_series
from rnnapps.tasks.regression.task import RegressionTask

BACKTEST = "backtest.json"
"""Per-fold and overall scores, beside the config in the backtest's directory."""


class _Fold(RegressionTask):
    """The regression task on one fold's rows, loaded once for all folds."""

    def __init__(self, rows: Series | Panel):
        self.rows = rows

    def load(self, config: RegressionConfig, verbose: int = 1) -> Series | Panel:
        return self.rows


def fold_bounds(rows: int, folds: int, val_fraction: float,
                test_fraction: float) -> list[tuple[int, int, int]]:
    """``(train_end, val_end, end)`` of each fold: it trains on rows
    ``[0, train_end)``, validates on ``[train_end, val_end)``, tests on ``[val_end, end)``."""
    train_end, val_end = split_bounds(rows, val_fraction, test_fraction)
    span, val = rows - val_end, val_end - train_end
    ends = [rows - (folds - 1 - k) * span for k in range(folds)]
    return [(end - span - val, end - span, end) for end in ends]


def backtest(config: RegressionConfig, folds: int, *, run_dir: str | Path | None = None,
             plot: str | Path | None = None, verbose: int = 1) -> dict:
    """Trains and scores ``folds`` models on expanding windows of the series.

    Args:
        config: The runs' settings; ``val_fraction`` and ``test_fraction``
            size each fold's validation and test spans (as shares of all rows).
        folds: How many folds (test spans), at least 2.
        run_dir: Where the folds' runs and ``backtest.json`` go (default:
            ``runs/backtest/regression/<time>``).
        plot: Draw each method's MAE per fold into this PNG/SVG/PDF file.
        verbose: 1 for a line per fold, 0 for none.

    Several series (``series_column``) are cut into folds each by its own
    rows, and a fold's scores are the mean over the series (its run's
    ``metrics.json`` has each one's).

    Returns:
        ``{"folds": [{"fold", "train_rows", "test_span", <method>: scores}],
        "overall": {<method>: mean scores over folds}, "run_dir"[, "plot"]}``.

    Raises:
        UsageError: On bad data or options, or too few rows for the folds.
    """
    check_plot_path(plot)
    if folds < 2:
        raise UsageError(f"--folds must be >= 2, got {folds}")
    loaded = load_series(config.data)
    data = config.data
    named = by_name(loaded)
    bounds = {}
    for name, series in named.items():
        bounds[name] = fold_bounds(len(series), folds, data.val_fraction, data.test_fraction)
        _check_folds(bounds[name][0], len(series), folds, data, name)
    root = resolve_run_dir("regression", run_dir or default_run_dir("regression",
                                                                   "runs/backtest"), False)
    ensure_dir(root)
    config.save(root / "config.json")
    rows = [_fold(loaded, config, k, {name: b[k - 1] for name, b in bounds.items()}, root,
                  verbose) for k in range(1, folds + 1)]
    result = {"folds": rows, "overall": _overall(rows), "run_dir": str(root)}
    if plot is not None:
        result["plot"] = str(plot_folds(plot, rows, loaded.target))
    write_json(root / BACKTEST, result)
    return result


def _check_folds(first: tuple, rows: int, folds: int, data, name: str | None) -> None:
    """Raises if the first fold of a series has too few rows to train on."""
    need = data.window + data.horizon
    if first[0] < need:
        of = f"series {name!r}: " if name is not None else ""
        raise UsageError(
            f"{of}{rows} rows are too few for {folds} folds of {first[2] - first[1]} test rows: "
            f"the first fold would train on {max(first[0], 0)} rows, and window + horizon = "
            f"{need} are needed; use fewer folds or a smaller --test-fraction")


def _fold(loaded: Series | Panel, config: RegressionConfig, k: int, bounds: dict, root: Path,
          verbose: int) -> dict:
    """Trains and scores one fold (``bounds``: each series' fold bounds); returns its row."""
    name, (train_end, val_end, end) = next(iter(bounds.items()))  # the first series labels it
    if isinstance(loaded, Panel):
        part = dataclasses.replace(loaded, series={
            n: _head(one, bounds[n][2]) for n, one in loaded.series.items()})
        series = loaded.series[name]
    else:
        part, series = _head(loaded, end), loaded
    # Each series' fractions of its rows are the first one's (equal for equal lengths).
    fold_config = config.replace(val_fraction=(val_end - train_end) / end,
                                 test_fraction=(end - val_end) / end)
    run = _Fold(part).train(fold_config, run_dir=root / f"fold-{k}", export_dir=None,
                            verbose=0)
    test = run.metrics["test"]
    span = (f"{series.times[val_end]} .. {series.times[end - 1]}" if series.times is not None
            else f"rows {val_end} .. {end - 1}")
    row = {"fold": k, "train_rows": sum(b[0] for b in bounds.values()), "test_span": span,
           **{m: test[m] for m in METHODS if isinstance(test.get(m), dict)}}
    if verbose:
        best = min((m for m in row if m in METHODS and m != "model"),
                   key=lambda m: row[m]["mae"])
        print(f"fold {k}: trained on {row['train_rows']} rows, tested on {span}: model MAE "
              f"{row['model']['mae']:.4f}, best baseline {best.replace('_', ' ')} "
              f"{row[best]['mae']:.4f}", flush=True)
    return row


def _head(series: Series, end: int) -> Series:
    """The first ``end`` rows of a series (its fills and counts as loaded)."""
    return dataclasses.replace(
        series, numeric={k: v[:end] for k, v in series.numeric.items()},
        categorical={k: v[:end] for k, v in series.categorical.items()},
        observed=series.observed[:end],
        times=None if series.times is None else series.times[:end])


def _overall(rows: list[dict]) -> dict:
    """Each method's scores averaged over the folds (equal test spans)."""
    methods = [m for m in METHODS if all(m in row for row in rows)]
    return {m: {metric: float(np.mean([row[m][metric] for row in rows]))
                for metric in rows[0][m]} for m in methods}


def backtest_table(result: dict) -> str:
    """The per-fold and overall scores as an aligned text table."""
    lines = [f"{'fold':<8}{'method':<16}{'MAE':>11}{'RMSE':>11}{'MASE':>8}{'sMAPE %':>9}"]
    for label, scores in [(str(row["fold"]), row) for row in result["folds"]] + [
            ("overall", result["overall"])]:
        for i, method in enumerate(m for m in METHODS if m in scores):
            s = scores[method]
            lines.append(f"{label if i == 0 else '':<8}{method.replace('_', ' '):<16}"
                         f"{s['mae']:11.4f}{s['rmse']:11.4f}{s.get('mase', np.nan):8.3f}"
                         f"{s['smape']:9.2f}")
    return "\n".join(lines)


def plot_folds(path: str | Path, rows: list[dict], target: str) -> Path:
    """Draws each method's test MAE per fold.

    Returns:
        The written file.
    """
    fig, ax = figure(10, 4)
    folds = [row["fold"] for row in rows]
    for method in (m for m in METHODS if all(m in row for row in rows)):
        ax.plot(folds, [row[method]["mae"] for row in rows], marker="o",
                lw=2 if method == "model" else 1, label=method.replace("_", " "))
    ax.set_xticks(folds, [row["test_span"].split(" .. ")[0] for row in rows])
    ax.set(xlabel="fold (first test step)", ylabel=f"test MAE ({target})",
           title="Backtest: expanding window, one model per fold")
    ax.legend()
    return save(fig, path)
