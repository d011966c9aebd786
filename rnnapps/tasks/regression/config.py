"""Forecasting settings: which series, its windows and split, the model.

No TensorFlow here: the command line builds ``--help`` from these fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Optional

from rnnapps.config import (
    CELLS,
    Choice,
    Float,
    Int,
    RNNConfig,
    TaskConfig,
    TrainConfig,
    check_chronological_split,
    option,
    with_defaults,
)
from rnnapps.data.calendar import parse as parse_calendar
from rnnapps.errors import UsageError


@dataclass
class RegressionData:
    """Which series to forecast, how it is cut into windows and split in time."""

    csv: Optional[str] = option(
        None, "CSV file of the series (default: a synthetic noisy sum of sines); "
        "a bare name is also looked up in $RNNAPPS_DATA_DIR/timeseries")
    target: Optional[str] = option(None, "CSV column to forecast (needed with --csv)")
    features: Optional[str] = option(
        None, "comma-separated extra input columns; non-numeric ones are one-hot encoded")
    series_column: Optional[str] = option(
        None, "CSV column naming each row's series, for several series in one file (long "
        "format): one model for all, each series normalised by its own training rows")
    series_onehot: bool = option(
        False, "with --series-column: the model also reads which series a window is (a "
        "one-hot block, at most 50 series)")
    date_column: Optional[str] = option(
        None, "CSV column of time stamps (ISO 8601 dates or datetimes, YYYY-MM, or "
        "--date-format): rows are sorted by it, missing steps inserted; never an input")
    date_format: Optional[str] = option(
        None, "strftime format of --date-column for non-ISO dates, e.g. %m/%d/%Y")
    date_columns: Optional[str] = option(
        None, "comma-separated date-part columns that make the time stamps instead, "
        "e.g. year,month,day,hour")
    freq: Optional[str] = option(
        None, "time step as a pandas frequency: D, h, 15min, W, MS (default: inferred "
        "from the time stamps)")
    calendar: str = option(
        "none", "calendar inputs, known for the forecast steps too: auto (from the time "
        "step), none, or a comma-separated list of hour, dayofweek, dayofyear, month")
    window: int = option(30, "past time steps the model reads", low=1)
    horizon: int = option(1, "future steps forecast at once", low=1)
    season: Optional[int] = option(
        None, "season length in steps, for the seasonal-naive baseline", low=1)
    val_fraction: float = option(0.15, "fraction of the rows (after train) for validation",
                                 low=0.0, high=1.0, open_high=True)
    test_fraction: float = option(0.15, "fraction of the rows (the last ones) for test",
                                  low=0.0, high=1.0, open_high=True)
    signal_length: int = option(2000, "synthetic signal: number of time steps", low=2)
    signal_periods: str = option("24,60", "synthetic signal: comma-separated sine periods")
    signal_noise: float = option(0.1, "synthetic signal: std of the Gaussian noise", low=0.0)
    signal_seed: int = option(0, "synthetic signal: random seed", low=0)


RegressionModel = with_defaults(RNNConfig, cell="simple_rnn", units=128, layers=1)
"""Recurrent stack -> Dense(horizon); defaults mirror SimpleRNN(128) -> Dense(1)."""


@dataclass
class RegressionTrain(with_defaults(TrainConfig, epochs=20, batch_size=64, patience=5)):
    """The shared loop's settings, with defaults suited to small series."""

    loss: str = option("mse", "training loss on the normalised targets: mse, or mae "
                       "(the median forecast, what the MAE scores)", choices=("mse", "mae"))
    quantiles: Optional[str] = option(
        None, "comma-separated quantiles to forecast, e.g. 0.1,0.5,0.9: trains on their "
        "pinball loss instead of --loss; the point forecast is the one nearest 0.5")


@dataclass
class RegressionConfig(TaskConfig):
    """Time-series forecasting from a CSV or a synthetic signal."""

    task: ClassVar[str] = "regression"
    presets: ClassVar[dict] = {
        "reference": {},
        "best": {"cell": "gru", "units": 32, "epochs": 200, "patience": 15},
        # pm2.5 24 hours ahead: a longer window, and the median (MAE) of a skewed series.
        "best-pollution-24h": {"cell": "gru", "units": 32, "layers": 2, "loss": "mae",
                               "learning_rate": 3e-4, "epochs": 40, "patience": 6,
                               "window": 96, "horizon": 24, "season": 24},
        # Several series of 40,000 hours each: fewer epochs go further.
        "best-several-series": {"cell": "gru", "units": 32, "epochs": 40, "patience": 5},
    }
    # The same with an 80 % prediction interval (and its median as the point forecast).
    presets["best-intervals"] = {**presets["best"], "quantiles": "0.1,0.5,0.9"}
    presets["best-pollution-24h-intervals"] = {**presets["best-pollution-24h"],
                                               "quantiles": "0.1,0.5,0.9"}
    search_space: ClassVar[dict] = {
        "cell": Choice(CELLS), "units": Int(16, 128, step=16), "layers": Int(1, 2),
        "dropout": Float(0.0, 0.3), "learning_rate": Float(1e-4, 1e-2, log=True),
        "clip_norm": Float(0.5, 5.0, log=True), "batch_size": Choice((32, 64, 128)),
        "window": Choice((12, 24, 48)),
    }
    data: RegressionData = field(default_factory=RegressionData)
    model: RegressionModel = field(default_factory=RegressionModel)
    train: RegressionTrain = field(default_factory=RegressionTrain)

    def validate(self) -> None:
        """Checks the bounds of every field, then how the data options fit together.

        Raises:
            UsageError: Naming the first bad option.
        """
        super().validate()
        quantile_levels(self.train.quantiles)  # raises on a bad list
        data = self.data
        check_chronological_split(data.val_fraction, data.test_fraction)
        if data.val_fraction <= 0.0 and self.train.monitor.startswith("val_"):
            raise UsageError(f"monitor {self.train.monitor!r} needs val_fraction > 0")
        if data.date_column and data.date_columns:
            raise UsageError("give --date-column or --date-columns, not both")
        if data.date_format and not data.date_column:
            raise UsageError("--date-format needs --date-column")
        if data.series_onehot and not data.series_column:
            raise UsageError("--series-onehot needs --series-column")
        if data.freq and not (data.date_column or data.date_columns):
            raise UsageError("--freq needs a time index: --date-column or --date-columns")
        try:
            calendar = parse_calendar(data.calendar)
        except ValueError as err:
            raise UsageError(str(err)) from None
        if calendar and not (data.date_column or data.date_columns):
            raise UsageError("--calendar needs a time index: --date-column or --date-columns")
        if data.csv is None:
            for name in ("target", "features", "date_column", "date_columns", "series_column"):
                if getattr(data, name) is not None:
                    raise UsageError(f"{name} needs --csv (the synthetic signal has one "
                                     "column, 'value')")
            try:
                periods = [float(p) for p in data.signal_periods.split(",")]
            except ValueError:
                periods = []
            if not periods or min(periods) <= 0:
                raise UsageError("signal_periods must be comma-separated positive numbers, "
                                 f"got {data.signal_periods!r}")
        elif not data.target:
            raise UsageError("--csv needs --target (the column to forecast)")


Config = RegressionConfig


def quantile_levels(text: str | None) -> list[float]:
    """``"0.9, 0.1,0.5"`` -> ``[0.1, 0.5, 0.9]``; None -> ``[]``.

    Raises:
        UsageError: On a value that is not a number, outside (0, 1), or repeated.
    """
    if text is None:
        return []
    levels = []
    for part in text.split(","):
        try:
            level = float(part)
        except ValueError:
            raise UsageError(f"quantiles must be numbers, got {part.strip()!r}") from None
        if not 0.0 < level < 1.0:
            raise UsageError(f"a quantile must lie in (0, 1), got {level}")
        levels.append(level)
    if len(set(levels)) < len(levels):
        raise UsageError(f"quantiles repeat a value: {text}")
    return sorted(levels)


def median_index(levels: list[float]) -> int:
    """The position of the quantile nearest 0.5: the point forecast."""
    return min(range(len(levels)), key=lambda i: (abs(levels[i] - 0.5), i))
