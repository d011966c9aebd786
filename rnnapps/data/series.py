"""Time series from a CSV or a synthetic signal, split in time and cut into windows.

The ``csv`` module and numpy; pandas for the time index (``timeindex``); no
TensorFlow.

* **Columns.** One numeric ``target`` column, optional ``features`` (numeric
  columns stay numbers; any other column is categorical and is one-hot
  encoded with the categories seen in the training split) and an optional
  time index: a ``date_column`` (ISO 8601, or any ``date_format``) or date
  parts in ``date_columns`` (``year,month,day,hour``). It orders the rows,
  labels plots and forecasts, and is never an input.
* **Time steps.** With a time index, the step is inferred (or given as
  ``freq``); a repeated time stamp is an error, and the time stamps no row
  has are inserted as rows with every cell missing (``Series.inserted``), so
  ``window`` rows are always ``window`` time steps.
* **Missing values.** Empty cells and ``NA``, ``N/A``, ``NaN``, ``null``,
  ``None``, ``?`` (any case) are missing, as are the inserted rows. Numeric
  gaps are filled by linear interpolation in time between the nearest
  observed rows (by row position without a time index), and gaps at either
  end take the nearest observed value; categorical gaps take the previous
  row's category (the next row's at the start). ``Series.filled`` counts the
  filled cells per column, and ``Series.observed`` marks the target values
  that were really there: scores are computed on those only.
* **Splits.** Chronological: the first rows train, the next validate, the
  last test; never shuffled across time. Normalisation statistics and the
  categories come from the training rows only.
* **Windows.** A window whose first forecast step is row ``t`` reads rows
  ``t - window .. t - 1`` and forecasts rows ``t .. t + horizon - 1``. A split
  owns the windows whose forecast rows all lie inside it; validation and test
  windows may read earlier rows (that is the past, not a leak).
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path
from typing import Sequence

import numpy as np

from rnnapps.data import find_in_data_root
from rnnapps.data.timeindex import TimeIndex, assemble_times, parse_times, time_index
from rnnapps.errors import UsageError

MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
"""Cell texts (lower-cased, stripped) that mean "no value"."""

MAX_CATEGORIES = 50
"""More distinct values than this in a categorical column is almost surely a
mistake (a date or an id given as a feature)."""

SYNTHETIC_TARGET = "value"
"""Name of the synthetic signal's only column."""


@dataclasses.dataclass
class Series:
    """One multivariate series with its gaps filled.

    Attributes:
        target: Name of the column to forecast.
        numeric: Column name -> float64 values; the target comes first.
        categorical: Column name -> string values.
        observed: True where the target value was present, not filled.
        times: ``datetime64`` time stamps, one ``freq`` apart, or None
            without a time index.
        filled: Column name -> number of cells filled (only columns with gaps).
        source: The CSV path, or ``"synthetic"``.
        freq: The time step as a pandas frequency (``D``, ``h``, ``MS``), or None.
        inserted: How many missing time stamps were inserted as rows.
    """

    target: str
    numeric: dict[str, np.ndarray]
    categorical: dict[str, np.ndarray]
    observed: np.ndarray
    times: np.ndarray | None = None
    filled: dict[str, int] = dataclasses.field(default_factory=dict)
    source: str = "synthetic"
    freq: str | None = None
    inserted: int = 0

    def __len__(self) -> int:
        return len(self.observed)

    @property
    def y(self) -> np.ndarray:
        """The target values (float64, gaps filled)."""
        return self.numeric[self.target]

    def raw(self) -> tuple[np.ndarray, np.ndarray]:
        """Returns the model inputs in the series' own units.

        Returns:
            ``values`` float32 ``[rows, len(numeric)]`` (target first, then the
            numeric features) and ``categories`` str ``[rows, len(categorical)]``.
        """
        values = np.stack(list(self.numeric.values()), axis=1).astype(np.float32)
        if self.categorical:
            categories = np.stack(list(self.categorical.values()), axis=1).astype(str)
        else:
            categories = np.zeros((len(self), 0), dtype=str)
        return values, categories


# ----------------------------------------------------------------- synthetic
def synthetic(length: int = 2000, periods: Sequence[float] = (24, 60), noise: float = 0.1,
              seed: int = 0) -> Series:
    """A noisy sum of sines: ``sum_i sin(2 pi t / p_i + phase_i) + N(0, noise^2)``.

    Args:
        length: Number of time steps.
        periods: Period of each sine, in steps.
        noise: Standard deviation of the Gaussian noise.
        seed: Seeds the phases and the noise.

    Returns:
        A one-column ``Series`` named ``value``.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype=np.float64)
    phases = rng.uniform(0, 2 * np.pi, size=len(periods))
    y = sum(np.sin(2 * np.pi * t / p + ph) for p, ph in zip(periods, phases))
    y = y + rng.normal(0.0, noise, size=length)
    return Series(SYNTHETIC_TARGET, {SYNTHETIC_TARGET: y}, {}, np.ones(length, bool))


# ----------------------------------------------------------------------- CSV
def resolve_csv(path: str | Path) -> Path:
    """Returns ``path`` if it exists, else ``$RNNAPPS_DATA_DIR/timeseries/<path>``.

    Raises:
        UsageError: If neither exists.
    """
    found = Path(path)
    if found.is_file():
        return found
    in_root = find_in_data_root("timeseries", str(path))
    if in_root is not None and in_root.is_file():
        return in_root
    raise UsageError(f"CSV file not found: {path}")


def split_names(text: str | None) -> list[str]:
    """Turns ``"a, b,c"`` into ``["a", "b", "c"]`` (None gives ``[]``)."""
    return [name.strip() for name in (text or "").split(",") if name.strip()]


def load_csv(path: str | Path, target: str, features: Sequence[str] = (),
             date_column: str | None = None,
             categorical: Sequence[str] | None = None, *, date_format: str | None = None,
             date_columns: Sequence[str] = (), freq: str | None = None) -> Series:
    """Reads a series from a CSV file with a header row.

    Args:
        path: The CSV file (UTF-8, optional BOM), or a name under
            ``$RNNAPPS_DATA_DIR/timeseries``.
        target: The numeric column to forecast; it is also the first input.
        features: Extra input columns.
        date_column: The time stamps (ISO 8601, or ``date_format``).
        categorical: Which features are categorical; None decides from the
            data (a column is numeric when every present cell is a number).
            Pass the training run's choice when reading new data for a model.
        date_format: A ``strftime`` format for ``date_column`` (``%m/%d/%Y``).
        date_columns: Date-part columns (``year``, ``month``, ``day``, ``hour``,
            ``minute``, ``second``) that make the time stamps instead.
        freq: The time step as a pandas frequency (None: inferred).

    Returns:
        The ``Series``: sorted by time, missing time stamps inserted, gaps
        filled, as the module docstring says.

    Raises:
        UsageError: On a missing, empty or malformed file, an unknown or
            repeated column, a non-numeric or all-missing target, a numeric
            feature with text in it, unparsable or repeated time stamps, or
            no inferable time step.
    """
    path = resolve_csv(path)
    columns = Columns(target, list(features), date_column, list(date_columns))
    cells = read_columns(path, columns)
    times = parse_index(cells, columns, date_format)
    return build_series(cells, times, path, columns, categorical, freq)


@dataclasses.dataclass
class Columns:
    """The CSV columns a series is read from.

    Attributes:
        target: The column to forecast.
        features: Extra input columns.
        date_column: The time stamps, or None.
        date_parts: Date-part columns that make the time stamps instead.
        extra: Other columns to read (a series id); never inputs.
    """

    target: str
    features: list[str]
    date_column: str | None = None
    date_parts: list[str] = dataclasses.field(default_factory=list)
    extra: list[str] = dataclasses.field(default_factory=list)

    @property
    def inputs(self) -> list[str]:
        """The target, then the features."""
        return [self.target, *self.features]

    @property
    def time(self) -> list[str]:
        """The columns the time stamps come from."""
        return [self.date_column] if self.date_column else self.date_parts

    @property
    def time_label(self) -> str:
        """How messages name the time stamps' source."""
        if self.date_column:
            return f"date column {self.date_column!r}"
        return f"date columns {','.join(self.date_parts)}"


def parse_index(cells: dict, columns: Columns, date_format: str | None = None):
    """The file's time stamps (a ``DatetimeIndex`` in file order), or None
    without a time index.

    Raises:
        UsageError: Naming the first line that does not parse.
    """
    if columns.date_column:
        return parse_times(cells[columns.date_column], columns.date_column, date_format)
    if columns.date_parts:
        return assemble_times({name: cells[name] for name in columns.date_parts})
    return None


def build_series(cells: dict, times, path: Path, columns: Columns,
                 categorical: Sequence[str] | None = None, freq: str | None = None,
                 lines: np.ndarray | None = None) -> Series:
    """Turns a file's cells into a ``Series``: numbers checked, rows laid on
    the time grid, gaps filled.

    Args:
        cells: Column name -> stripped cells, in file order.
        times: Their time stamps (``parse_index``), or None.
        path: The file, for messages.
        columns: Which column is what.
        categorical: Which features are categorical (None: decided from the data).
        freq: The time step (None: inferred).
        lines: The file line of each cell (default: cell ``i`` is line ``i + 2``).

    Raises:
        UsageError: As ``load_csv`` says.
    """
    if lines is None:
        lines = np.arange(len(cells[columns.target])) + 2
    numbers = {name: _numeric_column(cells[name], name, name == columns.target, categorical,
                                     path, lines) for name in columns.inputs}
    index = None if times is None else time_index(times, columns.time_label, freq, lines)
    x = None if index is None else index.grid.astype(np.int64)
    numeric, categories, filled, missing_target = {}, {}, {}, None
    for name, column in numbers.items():
        if column is None:
            column = cells[name] if index is None else _on_grid(cells[name], index, "")
            categories[name], count = _fill_categories(column, name, path)
        else:
            column = column if index is None else _on_grid(column, index, np.nan)
            if name == columns.target:
                missing_target = np.isnan(column)
            numeric[name], count = _interpolate(column, x)
        if count:
            filled[name] = count
    if index is None:
        return Series(columns.target, numeric, categories, ~missing_target, None, filled,
                      str(path))
    return Series(columns.target, numeric, categories, ~missing_target, index.grid, filled,
                  str(path), index.freq, index.inserted)


def categorical_features(cells: dict, path: Path, columns: Columns) -> list[str]:
    """The features that are categorical, decided from all their cells as
    ``build_series`` decides (a feature is numeric when every present cell is
    a number).

    Raises:
        UsageError: On a numeric feature with a few stray texts (naming the line).
    """
    lines = np.arange(len(cells[columns.target])) + 2
    return [name for name in columns.features
            if _numeric_column(cells[name], name, False, None, path, lines) is None]


def _on_grid(column: np.ndarray, index: TimeIndex, missing) -> np.ndarray:
    """The column sorted by time, with a ``missing`` cell at each inserted time stamp."""
    out = np.full(len(index.grid), missing, dtype=column.dtype)
    out[index.rows] = column[index.order]
    return out


def read_columns(path: Path, columns: Columns) -> dict[str, np.ndarray]:
    """The stripped cells of the columns used, each named once in the header.

    A date part (``hour``, ``month``) may also be a feature; a date column,
    the target or an extra column may not.

    Raises:
        UsageError: On an unreadable file, or a column missing, repeated in
            the header or used twice.
    """
    inputs, time_columns = columns.inputs, columns.time
    wanted = inputs + [name for name in time_columns + columns.extra if name not in inputs]
    header, rows = _read_rows(path)
    for name in wanted:
        if name not in header:
            raise UsageError(f"column {name!r} not in {path.name}; its columns are: "
                             f"{', '.join(header)}")
    single = time_columns if len(time_columns) == 1 else []  # date parts may be features too
    used = [*inputs, *single, *columns.extra]
    if len(set(used)) < len(used) or set(time_columns) & {columns.target, *columns.extra}:
        raise UsageError(f"a column is used twice among target {columns.target!r}, features "
                         f"{columns.features}, date columns {time_columns}"
                         + (f" and series column {columns.extra[0]!r}" if columns.extra
                            else ""))
    for name in wanted:
        if header.count(name) > 1:
            raise UsageError(f"column {name!r} appears {header.count(name)} times in "
                             f"{path.name}")
    return {name: np.array([row[header.index(name)].strip() for row in rows], dtype=object)
            for name in wanted}


def _numeric_column(cells: np.ndarray, name: str, is_target: bool,
                    categorical: Sequence[str] | None, path: Path,
                    lines: np.ndarray) -> np.ndarray | None:
    """The column as floats (NaN where missing), or None if it is categorical."""
    values, bad = _parse_numbers(cells, lines)
    if categorical is not None:
        is_categorical = name in categorical
    else:
        is_categorical = not is_target and bad is not None
        if is_categorical:
            _reject_stray_text(name, values, bad)
    if is_categorical:
        return None
    if bad is not None:
        line, text = bad
        raise UsageError(f"{'target' if is_target else 'feature'} column {name!r} is not "
                         f"numeric: line {line} of {path.name} has {text!r}")
    if np.isnan(values).all():
        raise UsageError(f"column {name!r} has no values in {path.name}: all "
                         f"{len(values)} cells are missing")
    return values


def _read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            rows = [row for row in reader if any(cell.strip() for cell in row)]
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None
    except csv.Error as err:
        raise UsageError(f"{path} is not a readable CSV: {err}") from None
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror}") from None
    if not header or not any(cell.strip() for cell in header):
        raise UsageError(f"{path} is empty: a header row and data rows are needed")
    header = [cell.strip() for cell in header]
    if not rows:
        raise UsageError(f"{path} has a header but no data rows")
    for i, row in enumerate(rows):
        if len(row) != len(header):
            # The line number is exact unless quoted cells span lines.
            raise UsageError(f"{path.name}: a row near line {i + 2} has {len(row)} "
                             f"fields, the header has {len(header)}")
    return header, rows


def _parse_numbers(cells: np.ndarray,
                   lines: np.ndarray) -> tuple[np.ndarray, tuple[int, str] | None]:
    """Floats with NaN for missing cells, and the first (line, text) that is
    neither a finite number nor missing."""
    values = np.full(len(cells), np.nan)
    bad = None
    for i, text in enumerate(cells):
        if text.lower() in MISSING:
            continue
        try:
            value = float(text)
        except ValueError:
            value = np.inf
        if not np.isfinite(value):
            bad = bad or (int(lines[i]), text)
            continue
        values[i] = value
    return values, bad


def _reject_stray_text(name: str, values: np.ndarray, bad: tuple[int, str]) -> None:
    """Raises if a feature is numbers with a few stray texts (a typo, not categories)."""
    if np.count_nonzero(~np.isnan(values)) >= 0.9 * len(values):
        raise UsageError(f"feature column {name!r} is numeric but line {bad[0]} has "
                         f"{bad[1]!r}: fix it or leave the cell empty")


def _interpolate(values: np.ndarray, x: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Fills NaNs linearly in ``x`` (time; default: row position) between observed
    rows, and with the nearest one at the ends."""
    gaps = np.isnan(values)
    if not gaps.any():
        return values, 0
    x = np.arange(len(values)) if x is None else x
    filled = values.copy()
    filled[gaps] = np.interp(x[gaps], x[~gaps], values[~gaps])
    return filled, int(gaps.sum())


def _fill_categories(cells: np.ndarray, name: str, path: Path) -> tuple[np.ndarray, int]:
    """Carries the last category forward (the first one backward at the start)."""
    present = np.array([text.lower() not in MISSING for text in cells])
    if not present.any():
        raise UsageError(f"column {name!r} has no values in {path.name}: all "
                         f"{len(cells)} cells are missing")
    last = np.maximum.accumulate(np.where(present, np.arange(len(cells)), -1))
    last[last < 0] = np.flatnonzero(present)[0]
    return cells[last].astype(str), int((~present).sum())


# ------------------------------------------------------------ split, windows
def split_bounds(rows: int, val_fraction: float, test_fraction: float) -> tuple[int, int]:
    """Returns ``(train_end, val_end)``: rows ``[0, train_end)`` train,
    ``[train_end, val_end)`` validate and ``[val_end, rows)`` test."""
    val_end = rows - int(round(rows * test_fraction))
    train_end = val_end - int(round(rows * val_fraction))
    return train_end, val_end


def window_starts(rows: int, window: int, horizon: int, val_fraction: float,
                  test_fraction: float) -> dict[str, np.ndarray]:
    """The first forecast row ``t`` of every window, per split.

    Returns:
        ``{"train", "val", "test"}`` -> ascending int arrays (``val`` may be
        empty when ``val_fraction`` is 0).

    Raises:
        UsageError: If the series is shorter than ``window + horizon`` or a
            split (train or test) holds no complete window.
    """
    if window <= 0 or horizon <= 0:
        raise UsageError(f"window and horizon must be positive, got {window} and {horizon}")
    if rows < window + horizon:
        raise UsageError(f"the series has {rows} rows, fewer than window + horizon = "
                         f"{window} + {horizon}")
    train_end, val_end = split_bounds(rows, val_fraction, test_fraction)
    starts = {}
    for split, lo, hi in (("train", 0, train_end), ("val", train_end, val_end),
                          ("test", val_end, rows)):
        starts[split] = np.arange(max(lo, window), hi - horizon + 1)
        if split != "val" and starts[split].size == 0:
            need = (f"window + horizon = {window + horizon}" if split == "train"
                    else f"horizon = {horizon}")
            raise UsageError(f"the {split} split (rows {lo}..{hi - 1} of {rows}) is too short "
                             f"for one window: it needs {need} rows; use a longer series, "
                             "a smaller window/horizon or other split fractions")
    return starts


def windows(array: np.ndarray, starts: np.ndarray, window: int) -> np.ndarray:
    """Returns ``array[t - window : t]`` for every ``t`` in ``starts``, stacked.

    Args:
        array: ``[rows, ...]``.
        starts: First forecast rows (each ``>= window``).
        window: Rows per window.

    Returns:
        ``[len(starts), window, ...]`` (a copy).
    """
    view = np.lib.stride_tricks.sliding_window_view(array, window, axis=0)
    view = np.moveaxis(view, -1, 1)  # [rows - window + 1, window, ...]
    return view[np.asarray(starts) - window].copy()


def targets(y: np.ndarray, starts: np.ndarray, horizon: int) -> np.ndarray:
    """Returns ``y[t : t + horizon]`` for every ``t`` in ``starts``: ``[len(starts), horizon]``."""
    return windows(y, np.asarray(starts) + horizon, horizon)


# ------------------------------------------------------------------ encoding
@dataclasses.dataclass
class Encoder:
    """Training-split statistics that turn raw inputs into model inputs.

    Model inputs are ``(numeric - mean) / std`` for each numeric column
    (target first), then a one-hot block per categorical column; a category
    not seen in training encodes as all zeros. With ``calendar`` features, a
    window also has ``horizon`` future steps: their inputs are zeros, then
    every step (past and future) has the calendar's sin/cos pairs and a last
    column that is 1 on the future steps (``rnnapps.data.calendar``).

    Attributes:
        target: The target column.
        numeric: Numeric column names, target first (the raw ``values`` order).
        mean: Their training means.
        std: Their training standard deviations (1 where a column is constant, or
            varies by less than float32 can scale: the model reads float32).
        categories: Categorical column -> its sorted training categories.
        freq: The series' time step (a pandas frequency), or None: new data
            for the model is laid on the same grid.
        calendar: The calendar features the model reads (``[]``: none).
        series_column: For several series: the column that names them.
        series: For several series: name -> ``{"mean", "std"}`` of its
            training rows (then ``mean`` and ``std`` are empty:
            ``for_series`` gives each series' encoder).
        series_onehot: For several series: the model also reads which series
            a window is, as a one-hot block after the others.
        onehot: One series' encoder (``for_series``) with ``series_onehot``:
            its one-hot row.
    """

    target: str
    numeric: list[str]
    mean: list[float]
    std: list[float]
    categories: dict[str, list[str]]
    freq: str | None = None
    calendar: list[str] = dataclasses.field(default_factory=list)
    series_column: str | None = None
    series: dict[str, dict] = dataclasses.field(default_factory=dict)
    series_onehot: bool = False
    onehot: list[float] = dataclasses.field(default_factory=list)

    @classmethod
    def fit(cls, series: Series, rows: int, calendar: Sequence[str] = ()) -> "Encoder":
        """Computes the statistics on the first ``rows`` rows (the training split);
        ``calendar`` names the calendar features to add.

        Raises:
            UsageError: If a categorical column has more than ``MAX_CATEGORIES``
                distinct training values.
        """
        values = np.stack(list(series.numeric.values()), axis=1)[:rows]
        std = values.std(axis=0)
        categories = {}
        for name, column in series.categorical.items():
            seen = sorted(set(column[:rows].tolist()))
            if len(seen) > MAX_CATEGORIES:
                raise UsageError(f"feature column {name!r} has {len(seen)} distinct values "
                                 f"(at most {MAX_CATEGORIES} categories are allowed): is it "
                                 "a date or an id? Give a date as --date-column")
            categories[name] = seen
        return cls(series.target, list(series.numeric), values.mean(axis=0).tolist(),
                   np.where(std > np.finfo(np.float32).tiny, std, 1.0).tolist(), categories,
                   series.freq, list(calendar))

    @classmethod
    def fit_panel(cls, column: str, series: dict[str, Series], rows: dict[str, int],
                  calendar: Sequence[str] = (), onehot: bool = False) -> "Encoder":
        """The encoder of several series: each one's statistics from its own
        first ``rows[name]`` rows, the categories from all of them; with
        ``onehot``, the model also reads which series a window is.

        Raises:
            UsageError: As ``fit`` does, for the categories of all series
                together, or for more than ``MAX_CATEGORIES`` series with ``onehot``.
        """
        if onehot and len(series) > MAX_CATEGORIES:
            raise UsageError(f"--series-onehot takes at most {MAX_CATEGORIES} series, the "
                             f"data has {len(series)}")
        fitted = {name: cls.fit(one, rows[name], calendar) for name, one in series.items()}
        first = next(iter(fitted.values()))
        categories = {}
        for name in first.categories:
            categories[name] = sorted(set().union(*(f.categories[name] for f in fitted.values())))
            if len(categories[name]) > MAX_CATEGORIES:
                raise UsageError(f"feature column {name!r} has {len(categories[name])} distinct "
                                 f"values across the series (at most {MAX_CATEGORIES} "
                                 "categories are allowed)")
        return cls(first.target, first.numeric, [], [], categories, first.freq, list(calendar),
                   column, {name: {"mean": f.mean, "std": f.std} for name, f in fitted.items()},
                   onehot)

    def for_series(self, name: str) -> "Encoder":
        """The encoder of one of several series: its own statistics, the shared rest.

        Raises:
            UsageError: If the model was not trained on a series of that name.
        """
        if name not in self.series:
            known = ", ".join(list(self.series)[:10]) + (", ..." if len(self.series) > 10 else "")
            raise UsageError(f"series {name!r} is not one the model was trained on "
                             f"({self.series_column}: {known})")
        stats = self.series[name]
        onehot = [float(other == name) for other in self.series] if self.series_onehot else []
        return dataclasses.replace(self, mean=list(stats["mean"]), std=list(stats["std"]),
                                   series_column=None, series={}, series_onehot=False,
                                   onehot=onehot)

    @property
    def n_features(self) -> int:
        """Width of the model input: ``n_encoded``, then the calendar columns."""
        return self.n_encoded + (2 * len(self.calendar) + 1 if self.calendar else 0)

    @property
    def n_encoded(self) -> int:
        """Width of what ``encode`` returns: numeric columns and one-hot blocks."""
        return (len(self.numeric) + sum(len(c) for c in self.categories.values())
                + len(self.onehot) + (len(self.series) if self.series_onehot else 0))

    def encode(self, values: np.ndarray, categories: np.ndarray) -> np.ndarray:
        """Raw ``values [..., len(numeric)]`` and ``categories [..., n_cat]`` ->
        float32 model inputs ``[..., n_encoded]`` (the calendar comes apart)."""
        parts = [(values - np.float32(self.mean)) / np.float32(self.std)]
        for j, seen in enumerate(self.categories.values()):
            parts.append(categories[..., j:j + 1] == np.array(seen, dtype=str))
        if self.onehot:  # the series this encoder is for, on every row
            parts.append(np.broadcast_to(np.float32(self.onehot),
                                         values.shape[:-1] + (len(self.onehot),)))
        return np.concatenate([p.astype(np.float32) for p in parts], axis=-1)

    def scale_target(self, y: np.ndarray) -> np.ndarray:
        """Target in its own units -> normalised."""
        return ((y - self.mean[0]) / self.std[0]).astype(np.float32)

    def unscale_target(self, z: np.ndarray) -> np.ndarray:
        """Normalised target -> its own units."""
        return np.asarray(z, np.float64) * self.std[0] + self.mean[0]

    def to_dict(self) -> dict:
        """JSON-ready data, with the raw input layout spelt out."""
        raw = {"target": self.target, "values": self.numeric, "mean": self.mean,
               "std": self.std, "categories": self.categories, "freq": self.freq,
               "calendar": self.calendar}
        if self.series_column:
            raw.update(series_column=self.series_column, series=self.series,
                       series_onehot=self.series_onehot)
        return raw

    @classmethod
    def from_dict(cls, raw: dict) -> "Encoder":
        """Rebuilds an encoder written by ``to_dict``."""
        return cls(raw["target"], list(raw["values"]), list(raw["mean"]), list(raw["std"]),
                   {k: list(v) for k, v in raw["categories"].items()}, raw.get("freq"),
                   list(raw.get("calendar", [])), raw.get("series_column"),
                   dict(raw.get("series", {})), bool(raw.get("series_onehot", False)))
