"""The time index of a series: parsed, sorted, checked, and laid on a regular grid.

pandas does the calendar work (parsing, frequencies, date arithmetic): it
knows month lengths, ISO 8601 variants and ``strftime`` formats, which a
hand-written parser would get wrong at the edges. This module only adds what
forecasting needs on top:

* one line naming the CSV line when a time stamp does not parse, or repeats;
* the time step inferred even when rows are missing (``pd.infer_freq`` needs
  a gapless index), else a clear request for ``--freq``;
* the missing time stamps, so the loader can insert and fill those rows:
  a window of ``w`` rows is then always ``w`` time steps, and the seasonal
  baseline's "same time last season" is really that.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Sequence

import numpy as np

from rnnapps.errors import UsageError

PARTS = ("year", "month", "day", "hour", "minute", "second")
"""The date parts ``--date-columns`` may name (pandas' own names for them)."""

_PROBES = 50
"""How many runs of three time stamps ``infer_freq`` tries when the index has gaps."""


@dataclasses.dataclass
class TimeIndex:
    """Sorted, unique time stamps and where they sit on their regular grid.

    Attributes:
        order: Row order that sorts the file's rows by time.
        grid: Every time stamp from the first to the last, one ``freq`` apart
            (``datetime64[s]``).
        rows: For each sorted row, its position in ``grid``.
        freq: The step, as a pandas frequency string (``D``, ``h``, ``MS``).
    """

    order: np.ndarray
    grid: np.ndarray
    rows: np.ndarray
    freq: str

    @property
    def inserted(self) -> int:
        """How many grid time stamps no row had."""
        return len(self.grid) - len(self.rows)


def parse_times(cells: Sequence[str], column: str, date_format: str | None = None):
    """Parses time stamps: ISO 8601 dates, datetimes and ``YYYY-MM``, or ``date_format``.

    Args:
        cells: The column's cells, in file order (line ``i + 2`` is cell ``i``).
        column: The column's name, for messages.
        date_format: A ``strftime`` format such as ``%m/%d/%Y`` (None: ISO 8601).

    Returns:
        A ``pandas.DatetimeIndex`` (time-zone-aware stamps are converted to UTC).

    Raises:
        UsageError: Naming the first line that does not parse.
    """
    import pandas as pd

    cells = np.asarray(cells, dtype=object)
    times = pd.to_datetime(cells, format=date_format or "ISO8601", errors="coerce", utc=True)
    bad = np.flatnonzero(times.isna())
    if bad.size:
        i = int(bad[0])
        expected = (f"a time in the format {date_format!r}" if date_format else
                    "an ISO 8601 date such as 1981-01-31, 1949-01 or 2010-01-01 05:00 "
                    "(give --date-format for other layouts, e.g. %m/%d/%Y)")
        raise UsageError(f"date column {column!r}: line {i + 2} has {cells[i]!r}, not "
                         f"{expected}")
    return times.tz_convert(None)


def assemble_times(parts: dict[str, np.ndarray]):
    """Builds time stamps from date parts (``year``, ``month``, ``day``, ``hour``...).

    Args:
        parts: Part name -> the column's cells (texts of integers).

    Returns:
        A ``pandas.DatetimeIndex``.

    Raises:
        UsageError: If a name is not a date part, ``year`` is missing, or a row's
            parts are not integers or not a valid date (naming the line).
    """
    import pandas as pd

    unknown = [name for name in parts if name not in PARTS]
    if unknown or "year" not in parts:
        raise UsageError(f"--date-columns names date parts, among {', '.join(PARTS)} "
                         f"(year needed); got {', '.join(parts)}")
    numbers = {name: pd.to_numeric(pd.Series(cells), errors="coerce")
               for name, cells in parts.items()}
    defaults = {"month": 1, "day": 1}
    frame = pd.DataFrame({name: numbers.get(name, defaults.get(name, 0))
                          for name in PARTS if name in parts or name in defaults})
    times = pd.DatetimeIndex(pd.to_datetime(frame, errors="coerce"))
    bad = np.flatnonzero(times.isna())
    if bad.size:
        i = int(bad[0])
        shown = ", ".join(f"{name}={parts[name][i]!r}" for name in parts)
        raise UsageError(f"date columns: line {i + 2} is not a valid time ({shown})")
    return times


def time_index(times, column: str, freq: str | None = None,
               lines: np.ndarray | None = None) -> TimeIndex:
    """Sorts the time stamps, refuses repeats, and lays them on a regular grid.

    Args:
        times: A ``pandas.DatetimeIndex`` in file order.
        column: What the time stamps came from, for messages.
        freq: The step as a pandas frequency (``D``, ``h``, ``15min``, ``MS``);
            None infers it.
        lines: The file line of each time stamp, for messages (default:
            stamp ``i`` is line ``i + 2``).

    Returns:
        The ``TimeIndex``.

    Raises:
        UsageError: On a repeated time stamp (naming both lines), an unknown
            ``freq``, stamps off the ``freq`` grid, or no inferable step.
    """
    import pandas as pd

    lines = np.arange(len(times)) + 2 if lines is None else np.asarray(lines)
    order = np.argsort(times.values, kind="stable")
    stamps = times[order]
    repeats = np.flatnonzero(stamps[1:] == stamps[:-1])
    if repeats.size:
        first, second = sorted(lines[order[repeats[0]:repeats[0] + 2]])
        raise UsageError(f"{column}: lines {first} and {second} have the same time stamp "
                         f"{stamps[repeats[0]]}: one row per time step is needed")
    offset = _offset(freq) if freq else _infer_offset(stamps, column)
    grid = pd.date_range(stamps[0], stamps[-1], freq=offset)
    rows = grid.get_indexer(stamps)
    if (rows < 0).any():
        i = int(order[np.flatnonzero(rows < 0)[0]])
        raise UsageError(f"{column}: line {lines[i]} ({times[i]}) is not on the {offset.freqstr} "
                         "grid the other time stamps follow; fix it or give --freq")
    return TimeIndex(order, grid.values.astype("datetime64[s]"), rows, offset.freqstr)


def future_times(last: np.datetime64, freq: str, steps: int) -> list[str]:
    """The ``steps`` time stamps after ``last``, one ``freq`` apart, as ISO texts."""
    import pandas as pd

    future = pd.date_range(pd.Timestamp(last), periods=steps + 1, freq=_offset(freq))[1:]
    return [str(t) for t in future.values.astype("datetime64[s]")]


def _offset(freq: str):
    from pandas.tseries.frequencies import to_offset

    try:
        return to_offset(freq)
    except ValueError:
        raise UsageError(f"--freq {freq!r} is not a pandas frequency (e.g. D, h, 15min, W, "
                         "MS for month starts)") from None


def _infer_offset(stamps, column: str):
    """The step of sorted, unique stamps: pandas' inference on the whole index,
    else on short gapless runs of it, kept only if every stamp is on its grid."""
    import pandas as pd
    from pandas.tseries.frequencies import to_offset

    if len(stamps) < 3:  # pandas needs three; two give their step, one none
        if len(stamps) == 2:
            return to_offset(pd.Timedelta(stamps[1] - stamps[0]))
        raise UsageError(f"{column}: one time stamp has no step: give it with --freq")
    # Runs of three: the shortest pandas infers from, the likeliest to have no gap.
    starts = np.unique(np.linspace(0, len(stamps) - 3, _PROBES).astype(int))
    candidates = [stamps] + [stamps[i:i + 3] for i in starts]
    tried = set()
    for run in candidates:
        with warnings.catch_warnings():  # pandas 3 warns that a string is returned
            warnings.simplefilter("ignore")
            freq = pd.infer_freq(run)
        if freq is None or freq in tried:
            continue
        tried.add(freq)
        offset = to_offset(freq)
        if (pd.date_range(stamps[0], stamps[-1], freq=offset).get_indexer(stamps) >= 0).all():
            return offset
    steps = [str(step).replace(" 00:00:00", "") for step in
             sorted({pd.Timedelta(d) for d in np.diff(stamps.values)[:1000]})[:3]]
    raise UsageError(f"{column}: the time stamps follow no regular step (steps such as "
                     f"{', '.join(steps)}): give it with --freq (e.g. D, h, MS)")
