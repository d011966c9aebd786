"""Calendar inputs: what a forecaster knows about every future time step.

Each calendar feature is a phase in [0, 1) -- the hour in the day, the day in
the week, the time in the year, the month in the year -- given to the model
as ``sin`` and ``cos`` of ``2 pi phase``, so that 23:00 sits next to 00:00 and
December next to January.

The phases are computed from Unix seconds with ``keras.ops`` only, so the
very same function makes the training inputs (on NumPy arrays) and runs
inside the exported graph (on the ``times`` a client sends): the two cannot
drift apart.
"""

from __future__ import annotations

import math

NAMES = ("hour", "dayofweek", "dayofyear", "month")
"""The calendar features ``--calendar`` may list."""

DAY = 86400
MEAN_YEAR = 31556952
"""Seconds in the mean Gregorian year (365.2425 days): ``dayofyear`` is the
phase in it, within about a day of the calendar's at any date since 1900."""


def parse(text: str) -> list[str]:
    """``"none"`` -> ``[]``, ``"auto"`` -> ``["auto"]``, else the listed names.

    Raises:
        ValueError: Naming an unknown feature.
    """
    names = [name.strip() for name in text.split(",") if name.strip()]
    if names in ([], ["none"]):
        return []
    if names == ["auto"]:
        return ["auto"]
    unknown = [name for name in names if name not in NAMES]
    if unknown:
        raise ValueError(f"unknown calendar feature {unknown[0]!r}: use auto, none, or a "
                         f"comma-separated list of {', '.join(NAMES)}")
    return list(dict.fromkeys(names))


def auto(freq: str) -> list[str]:
    """The features that vary from step to step at this time step and repeat later.

    Hourly or finer: hour, day of week, day of year; daily: day of week, day
    of year; weekly: day of year; monthly: month; coarser: none.
    """
    from pandas.tseries.frequencies import to_offset

    offset = to_offset(freq)
    try:
        step = offset.nanos / 1e9
    except ValueError:  # not a fixed length: weeks, months, quarters, years
        name = offset.name.split("-")[0]
        return ["dayofyear"] if name == "W" else ["month"] if "M" in name else []
    if step < DAY:
        return ["hour", "dayofweek", "dayofyear"]
    if step < 7 * DAY:
        return ["dayofweek", "dayofyear"]
    return ["dayofyear"] if step < 28 * DAY else []


def features(seconds, names):
    """Calendar inputs of Unix time stamps, with ``keras.ops``.

    Args:
        seconds: int64 Unix seconds, any shape ``[...]`` (NumPy or a tensor).
        names: Features among ``NAMES``, in order.

    Returns:
        float32 ``[..., 2 * len(names)]``: ``sin, cos`` of each phase.
    """
    from keras import ops

    seconds = ops.cast(seconds, "int64")
    days = ops.floor_divide(seconds, DAY)
    phases = {
        "hour": lambda: ops.cast(ops.mod(seconds, DAY), "float64") / DAY,
        "dayofweek": lambda: ops.cast(ops.mod(days + 3, 7), "float64") / 7,  # 1970-01-01: Thu
        "dayofyear": lambda: ops.cast(ops.mod(seconds, MEAN_YEAR), "float64") / MEAN_YEAR,
        "month": lambda: ops.cast(_civil_month(days) - 1, "float64") / 12,
    }
    parts = []
    for name in names:
        angle = 2 * math.pi * phases[name]()
        parts += [ops.sin(angle), ops.cos(angle)]
    return ops.cast(ops.stack(parts, axis=-1), "float32")


def _civil_month(days):
    """The month (1-12) of days since 1970-01-01, by integer arithmetic only.

    H. Hinnant's ``civil_from_days``: eras of 400 years, years from March,
    so that the leap day is the last day of the year.
    """
    from keras import ops

    z = days + 719468
    era = ops.floor_divide(z, 146097)
    doe = z - era * 146097  # day of the era, [0, 146096]
    yoe = ops.floor_divide(doe - ops.floor_divide(doe, 1460) + ops.floor_divide(doe, 36524)
                           - ops.floor_divide(doe, 146096), 365)
    doy = doe - (365 * yoe + ops.floor_divide(yoe, 4) - ops.floor_divide(yoe, 100))
    mp = ops.floor_divide(5 * doy + 2, 153)  # 0 = March
    return mp + 3 - 12 * ops.cast(mp >= 10, "int64")
