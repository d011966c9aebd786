"""Several series in one CSV (long format): a column names the series of each row.

Each series is read as ``rnnapps.data.series`` reads one: its own time grid
(missing time stamps inserted), its own gap filling. The series share their
columns, the decision which features are categorical (made on all rows) and
the time step. Series are kept in the order of their first row in the file.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

import numpy as np

from rnnapps.data.series import (
    Columns,
    Series,
    build_series,
    categorical_features,
    parse_index,
    read_columns,
    resolve_csv,
)
from rnnapps.errors import UsageError


@dataclasses.dataclass
class Panel:
    """Several series with the same columns, each with its gaps filled.

    Attributes:
        column: The CSV column that names the series.
        series: Series name -> its ``Series``, in the file's order.
    """

    column: str
    series: dict[str, Series]

    @property
    def target(self) -> str:
        """The column every series forecasts."""
        return next(iter(self.series.values())).target

    @property
    def freq(self) -> str | None:
        """The series' common time step, or None without a time index."""
        return next(iter(self.series.values())).freq

    def __len__(self) -> int:
        return sum(len(one) for one in self.series.values())


def by_name(loaded: Series | Panel) -> dict[str | None, Series]:
    """Every series by name: a panel's, or ``{None: series}`` for one series."""
    return loaded.series if isinstance(loaded, Panel) else {None: loaded}


def load_panel(path: str | Path, series_column: str, columns: Columns,
               categorical: Sequence[str] | None = None, *, date_format: str | None = None,
               freq: str | None = None) -> Panel:
    """Reads several series from a long-format CSV with a header row.

    Args:
        path: The CSV file, or a name under ``$RNNAPPS_DATA_DIR/timeseries``.
        series_column: The column that names each row's series.
        columns: The target, features and time index, as for one series.
        categorical: Which features are categorical (None: decided from all rows).
        date_format: A ``strftime`` format for the date column.
        freq: The time step of every series (None: inferred, and then the
            same for all of them).

    Returns:
        The ``Panel``.

    Raises:
        UsageError: On anything ``load_csv`` refuses (naming the series), an
            empty series name, or series with different time steps.
    """
    path = resolve_csv(path)
    columns = dataclasses.replace(columns, extra=[series_column])
    cells = read_columns(path, columns)
    names = cells[series_column]
    if (names == "").any():
        line = int(np.flatnonzero(names == "")[0]) + 2
        raise UsageError(f"series column {series_column!r}: line {line} names no series")
    times = parse_index(cells, columns, date_format)
    if categorical is None:  # one decision for every series, from all the rows
        categorical = categorical_features(cells, path, columns)
    groups = {name: np.flatnonzero(names == name) for name in dict.fromkeys(names.tolist())}
    series, step = {}, freq
    # The longest series first: the step inferred from it is the likeliest right,
    # and a series with too few time stamps to infer one takes it.
    for name in sorted(groups, key=lambda n: -len(groups[n])):
        rows = groups[name]
        part = {column: values[rows] for column, values in cells.items()}
        own = freq or (step if len(rows) < 3 else None)
        try:
            series[name] = build_series(part, None if times is None else times[rows], path,
                                        columns, categorical, own, lines=rows + 2)
        except UsageError as err:
            raise UsageError(f"series {name!r}: {err}") from None
        step = step or series[name].freq
    first, *_ = series.items()  # the longest
    for name, one in series.items():
        if one.freq != first[1].freq:
            raise UsageError(f"the series have different time steps (series {first[0]!r}: "
                             f"{first[1].freq}, series {name!r}: {one.freq}): give the step "
                             "with --freq")
    series = {name: series[name] for name in groups}  # the file's order
    return Panel(series_column, series)
