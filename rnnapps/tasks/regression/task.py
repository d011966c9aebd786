"""Sequence regression: forecast the next ``horizon`` values of a series.

The series is a CSV of the user's (``--csv --target``, optional
``--features`` and ``--date-column``) or a synthetic noisy sum of sines.
Every evaluation scores the model next to the baselines a forecaster tries
first (``baselines``), on the same test windows.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from rnnapps.data.panel import Panel
from rnnapps.data.series import Encoder, Series
from rnnapps.tasks.base import Experiment, Run, Task
from rnnapps.tasks.regression.baselines import (
    LinearBaseline,
    check_scorable,
    compare_parts,
    scores_table,
)
from rnnapps.tasks.regression.config import RegressionConfig, median_index, quantile_levels
from rnnapps.tasks.regression.data import (
    SERIES,
    Part,
    load_series,
    per_part,
    split_parts,
    stacked_windows,
    with_calendar,
)
from rnnapps.tasks.regression.model import (
    build_model,
    forecast_with,
    loss_and_metrics,
    rearranged,
)
from rnnapps.training import Epochs


class RegressionTask(Task):
    """The forecasting task (see ``rnnapps.tasks.base`` for the contract)."""

    name = "regression"
    config_class = RegressionConfig
    files = (SERIES,)

    def load(self, config: RegressionConfig, verbose: int = 1) -> Series | Panel:
        """Loads the series ``config.data`` names (checked before anything is written)."""
        return load_series(config.data)

    def experiment(self, config: RegressionConfig, loaded: Series | Panel) -> Experiment:
        """Cuts every series into chronological windows, normalises them with its
        training statistics and builds one model for all of them.

        Its ``score`` rates the test forecasts in the series' units next to the
        baselines, on the same windows (per series and overall, for several).
        """
        keras.utils.set_random_seed(config.train.seed)  # the model's initial weights
        data = config.data
        encoder, parts = split_parts(loaded, data)
        for part in parts:  # before training, not after
            check_scorable(part.series, part.starts["test"], data.horizon)
        x, y = {}, {}
        for split in ("train", "val", "test"):
            x[split], y[split] = stacked_windows(parts, split, data)
        batch = config.train.batch_size

        def batched(split):
            return tf.data.Dataset.from_tensor_slices((x[split], y[split])).batch(batch).cache()

        model = build_model(config, encoder.n_features)
        test_ds = batched("test")

        def score(trainer, verbose: int) -> dict:
            """Test loss, then the scores in series units for the model and the baselines."""
            test_loss = trainer.evaluate(test_ds)["loss"]
            linear = LinearBaseline(x["train"], y["train"])(x["test"])
            scores = compare_parts(parts, data, per_part(parts, forecast_with(model, x["test"])),
                                   per_part(parts, linear), quantile_levels(config.train.quantiles))
            if verbose:
                print(scores_table(scores, loaded.target))
            return {"loss": test_loss, **scores}

        return Experiment(
            model, *loss_and_metrics(config),
            _train_epochs(config, x["train"], y["train"]),
            batched("val") if len(x["val"]) else None, test_ds,
            files={SERIES: encoder.to_dict()}, score=score,
            notes=[note for p in parts for note in _filled_notes(p.series, p.name)],
            data_info=_data_info(parts, encoder))

    def build_model(self, config: RegressionConfig, files: dict) -> keras.Model:
        return build_model(config, Encoder.from_dict(files[SERIES]).n_features)

    def serving(self, run: Run) -> tuple[list, list]:
        """``forecast`` (also ``serving_default``): raw windows in the series' own
        units -> ``{"forecast": [batch, horizon]}`` in the same units;
        normalisation and one-hot encoding happen inside the graph. Inputs, in
        the order ``series.json`` lists them:

        * ``values``: float32 ``[batch, window, len(values)]`` -- the target, then
          the numeric features; no NaNs (fill gaps first).
        * ``categories``: string ``[batch, window, len(categories)]`` -- only when
          the model has categorical features; an unseen category encodes as zeros.
        * ``times``: int64 ``[batch, window + horizon]`` -- only when the model
          has calendar inputs: the Unix seconds of the window's rows and of the
          forecast steps; the calendar is computed from them in the graph.
        * ``series``: string ``[batch]`` -- only for a model of several series:
          each window's series, whose training statistics normalise it (looked
          up in the graph); a name the model does not know fails the call.

        A quantile model also returns ``quantiles``: ``[batch, horizon, Q]``
        for the config's levels, ascending; ``forecast`` is the level nearest 0.5.
        """
        encoder = Encoder.from_dict(run.files[SERIES])
        endpoint = _serving_function(run.model, encoder, run.config.data.window,
                                     run.config.data.horizon, run.config.train.quantiles)
        return [run.model], [("forecast", endpoint, endpoint.input_signature)]


def _train_epochs(config: RegressionConfig, x: np.ndarray, y: np.ndarray) -> Epochs:
    """One fixed shuffle of the windows per (seed, epoch): a resumed run sees the
    same batches. Windows are shuffled, never the time axis."""
    batch, seed = config.train.batch_size, config.train.seed
    windows = tf.data.Dataset.from_tensor_slices((x, y)).cache()
    return Epochs(lambda epoch: windows.shuffle(len(x), seed=seed + epoch,
                                                reshuffle_each_iteration=False)
                  .batch(batch).prefetch(tf.data.AUTOTUNE), -(-len(x) // batch))


def _filled_notes(series: Series, name: str | None = None) -> list[str]:
    """What loading inserted and filled, a line each (prefixed by the series' name)."""
    notes = [f"time step {series.freq}: inserted {series.inserted} missing time stamps"
             ] if series.inserted else []
    how = "linear interpolation" + (" in time" if series.freq else "")
    notes += [f"{column}: filled {count} missing cells "
              f"({how if column in series.numeric else 'last category'})"
              for column, count in series.filled.items()]
    return [f"series {name}: {note}" for note in notes] if name is not None else notes


def _data_info(parts: list[Part], encoder: Encoder) -> dict:
    """The data summary a run records: rows, fills and windows, totals over the series."""
    filled = {}
    for part in parts:
        for column, count in part.series.filled.items():
            filled[column] = filled.get(column, 0) + count
    info = {"rows": sum(len(p.series) for p in parts), "features": encoder.n_features,
            "filled": filled, "freq": encoder.freq,
            "inserted": sum(p.series.inserted for p in parts),
            **{f"{split}_windows": sum(int(len(p.starts[split])) for p in parts)
               for split in ("train", "val", "test")}}
    if parts[0].name is not None:
        info["series"] = len(parts)
    return info


def _serving_function(model: keras.Model, encoder: Encoder, window: int, horizon: int,
                      quantiles: str | None = None):
    """The exported ``tf.function``: raw windows -> forecasts in series units
    (and the ``quantiles`` levels' forecasts ``[batch, horizon, Q]``).

    Its inputs are ``values``, then ``categories``, ``times`` and ``series``
    where the model has them (a signature cannot have optional inputs).
    """
    names, mean, std = _statistics(encoder)
    seen = [tf.constant(c, tf.string) for c in encoder.categories.values()]
    levels = quantile_levels(quantiles)
    specs = [tf.TensorSpec([None, window, len(encoder.numeric)], tf.float32, name="values")]
    if seen:
        specs.append(tf.TensorSpec([None, window, len(seen)], tf.string, name="categories"))
    if encoder.calendar:
        specs.append(tf.TensorSpec([None, window + horizon], tf.int64, name="times"))
    if names is not None:
        specs.append(tf.TensorSpec([None], tf.string, name="series"))

    def run(values, *rest):
        rest = list(rest)
        categories = rest.pop(0) if seen else None
        times = rest.pop(0) if encoder.calendar else None
        # Each row's statistics [batch, 1, n]: its series' (found by name) or the only ones.
        row_mean, row_std = mean[None, None], std[None, None]
        if names is not None:
            rows = _series_rows(rest.pop(0), names)
            row_mean, row_std = tf.gather(mean, rows)[:, None], tf.gather(std, rows)[:, None]
        parts = [(values - row_mean) / row_std]
        for j, known in enumerate(seen):
            # [batch, window, 1] == [n_categories] -> one-hot [batch, window, n_categories]
            parts.append(tf.cast(tf.equal(categories[..., j:j + 1], known), tf.float32))
        if encoder.series_onehot:  # [batch, S] -> the same on every row of the window
            parts.append(tf.tile(tf.one_hot(rows, len(encoder.series))[:, None], [1, window, 1]))
        x = tf.concat(parts, axis=-1)
        if encoder.calendar:
            x = with_calendar(x, times, encoder.calendar)
        out = model(x, training=False)
        scale, shift = row_std[..., :1], row_mean[..., :1]  # [batch, 1, 1]
        if not levels:
            return {"forecast": out * scale[..., 0] + shift[..., 0]}
        out = rearranged(out * scale + shift)
        return {"forecast": out[..., median_index(levels)], "quantiles": out}

    return tf.function(run, input_signature=specs)


def _statistics(encoder: Encoder) -> tuple:
    """``(series names or None, mean, std)`` as constants: ``[S, n]`` per
    series for several series, else ``[n]``."""
    if not encoder.series_column:
        return (None, tf.constant(encoder.mean, tf.float32),
                tf.constant(encoder.std, tf.float32))
    stats = list(encoder.series.values())
    return (tf.constant(list(encoder.series), tf.string),
            tf.constant([s["mean"] for s in stats], tf.float32),
            tf.constant([s["std"] for s in stats], tf.float32))


def _series_rows(series: tf.Tensor, names: tf.Tensor) -> tf.Tensor:
    """The position of each requested series among the model's; an unknown
    name fails the call with a message, not a wrong forecast."""
    match = tf.equal(series[:, None], names[None, :])  # [batch, S]
    known = tf.reduce_any(match, axis=1)
    check = tf.debugging.Assert(tf.reduce_all(known), [
        "unknown series (not one the model was trained on; series.json lists them):",
        tf.boolean_mask(series, ~known)], summarize=3)
    with tf.control_dependencies([check]):
        return tf.argmax(tf.cast(match, tf.int32), axis=1)


TASK = RegressionTask()
# The Task's methods as module functions: rnnapps.tasks.regression.train(config) etc.
load, experiment, train, export, load_run = (TASK.load, TASK.experiment, TASK.train,
                                             TASK.export, TASK.load_run)
