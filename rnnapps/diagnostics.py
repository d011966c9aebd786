"""Gradient flow and long-range memory, measured on real Keras layers.

``rnnapps.theory`` derives why ``||dL/dh_t||`` shrinks (or grows)
geometrically with the distance ``T - t`` between a state and the loss. This
module measures it for every cell type the package builds:

* ``gradient_flow`` steps a layer's cell through a sequence by hand, adds a
  zero "tap" to each hidden state and asks ``tf.GradientTape`` for the
  gradient w.r.t. the taps -- the *total* ``dL/dh_t``, through every later
  step -- and reports the decay per step, the global gradient norm and what
  clipping by global norm leaves of it.
* ``memory_experiment`` trains each cell with the shared ``Trainer`` on a
  long-range memory task: ``T`` random distractor symbols with one key
  symbol hidden among them, which the model must name after the last step.
  Naming a key ``k`` steps back needs a gradient that survives ``k`` steps.

The command line is ``rnnapps diagnose gradients`` and ``rnnapps diagnose memory``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from pathlib import Path
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from rnnapps.artifacts import ensure_dir
from rnnapps.config import CELLS
from rnnapps.errors import UsageError
from rnnapps.layers import recurrent_layer
from rnnapps.training import Diverged, Epochs, History, Trainer


# ---------------------------------------------------------------- checks
def check_cells(cells: Sequence[str]) -> list[str]:
    """Returns ``cells`` as a list after checking every name.

    Raises:
        UsageError: If it is empty or names an unknown cell.
    """
    cells = list(cells)
    if not cells:
        raise UsageError("cells must name at least one cell")
    for cell in cells:
        if cell not in CELLS:
            raise UsageError(f"cell must be one of {', '.join(CELLS)}; got {cell!r}")
    return cells


def check_positive(name: str, value, kind: type = int):
    """Returns ``value`` if it is a positive ``kind``.

    Raises:
        UsageError: Naming the argument and its value otherwise.
    """
    if isinstance(value, bool) or not isinstance(value, (int, kind)) or not value > 0:
        raise UsageError(f"{name} must be a positive {kind.__name__}, got {value!r}")
    return value


# ------------------------------------------------------------ the model
def build_model(cell: str, n_inputs: int, n_outputs: int, *, units: int = 32,
                recurrent_scale: float = 1.0, seed: int = 0,
                dtype: str = "float32") -> keras.Model:
    """One recurrent layer reading ``[batch, time, n_inputs]``, then a linear readout.

    Args:
        cell: A name from ``rnnapps.config.CELLS``.
        n_inputs: Features per step.
        n_outputs: Logits of the readout (of the last hidden state).
        units: Size of the hidden state.
        recurrent_scale: Multiplies the initialised recurrent kernel (orthogonal,
            so every singular value of a SimpleRNN's becomes this scale);
            above 1 gives the exploding case.
        seed: Seed of the initial weights.
        dtype: Float type of weights and computation (``"float64"`` lets
            ``gradient_flow`` follow norms far below and above float32's range).

    Returns:
        A built ``keras.Sequential`` whose layers are ``[rnn, readout]``.
    """
    keras.utils.set_random_seed(seed)
    with _floatx(dtype):
        model = keras.Sequential([
            keras.Input((None, n_inputs)),
            recurrent_layer(cell, units, name="rnn"),
            keras.layers.Dense(n_outputs, name="readout"),
        ], name=f"{cell}_memory")
    if recurrent_scale != 1.0:
        for variable in model.layers[0].trainable_weights:
            if variable.path.endswith("recurrent_kernel"):
                variable.assign(variable * recurrent_scale)
    return model


@contextlib.contextmanager
def _floatx(dtype: str):
    """Sets Keras's default float type while layers are created (and restores it).

    Both the float type and the global dtype policy are set: the policy is
    cached the first time a layer is made and would otherwise ignore floatx.
    """
    previous = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx(dtype)
    keras.config.set_dtype_policy(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(previous[0])
        keras.config.set_dtype_policy(previous[1])


def _loss(dtype: str | None = None) -> keras.losses.Loss:
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype=dtype)


# --------------------------------------------------------- the memory task
def memory_batch(rng: np.random.Generator, batch: int, length: int, symbols: int = 4,
                 distractors: int = 4, first: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Sequences with one key symbol that must be named after the last step.

    Every step is one of ``distractors`` filler symbols except one, the key:
    one of ``symbols`` other symbols, at a uniformly random step (so the lag
    to the end ranges over ``0 .. length - 1``, and a model can learn short
    lags before long ones), or at step 0 if ``first`` (a lag of exactly
    ``length - 1``). All symbols are one-hot.

    Args:
        rng: The NumPy generator.
        batch: Number of sequences.
        length: Steps per sequence, T.
        symbols: Number of classes (chance accuracy is ``1 / symbols``).
        distractors: Number of filler symbols.
        first: Put the key at step 0.

    Returns:
        ``x`` float32 ``[batch, length, symbols + distractors]`` and
        ``y`` int32 ``[batch]``.
    """
    keys = rng.integers(symbols, size=batch)
    ids = symbols + rng.integers(distractors, size=(batch, length))
    where = np.zeros(batch, int) if first else rng.integers(length, size=batch)
    ids[np.arange(batch), where] = keys
    return np.eye(symbols + distractors, dtype=np.float32)[ids], keys.astype(np.int32)


def _memory_dataset(seed: int, batches: int, batch_size: int, length: int,
                    symbols: int, distractors: int, first: bool) -> tf.data.Dataset:
    x, y = memory_batch(np.random.default_rng(seed), batches * batch_size, length,
                        symbols, distractors, first)
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)


def train_memory(model: keras.Model, length: int, *, epochs: int = 20,
                 steps_per_epoch: int = 50, batch_size: int = 64,
                 learning_rate: float = 1e-2, clip_norm: float | None = 1.0,
                 patience: int | None = 4, symbols: int = 4, distractors: int = 4,
                 first: bool = False, seed: int = 0, verbose: int = 0) -> History:
    """Trains ``model`` on the memory task with the shared ``Trainer``.

    Every epoch sees fresh sequences (so the model cannot memorise a fixed
    set); validation uses 1024 fixed ones. The best epoch by ``val_acc`` is
    restored at the end.

    Args:
        model: From ``build_model(cell, symbols + distractors, symbols)``.
        length: Sequence length T.
        epochs: Maximum number of epochs.
        steps_per_epoch: Batches per epoch.
        batch_size: Sequences per batch.
        learning_rate: Adam learning rate.
        clip_norm: Global-norm gradient clipping (None: off).
        patience: Stop after this many epochs without a better ``val_acc``.
        symbols: Number of classes.
        distractors: Number of filler symbols.
        first: Put the key at step 0 (a fixed lag of ``length - 1``).
        seed: Seed of the data.
        verbose: Passed to ``Trainer.fit``.

    Returns:
        The training ``History`` (its ``history`` holds ``loss``, ``acc``, ``val_loss``,
        ``val_acc``).
    """
    def train_data(epoch: int) -> tf.data.Dataset:
        return _memory_dataset(seed * 10_000 + epoch + 1, steps_per_epoch, batch_size,
                               length, symbols, distractors, first)

    val_data = _memory_dataset(seed * 10_000, max(1, 1024 // batch_size), batch_size,
                               length, symbols, distractors, first)
    trainer = Trainer(model, _loss(), keras.optimizers.Adam(learning_rate),
                      [keras.metrics.SparseCategoricalAccuracy(name="acc")],
                      clip_norm=clip_norm)
    return trainer.fit(Epochs(train_data, steps_per_epoch), val_data, epochs=epochs,
                       monitor="val_acc", patience=patience, verbose=verbose)


def memory_experiment(cells: Sequence[str], lengths: Sequence[int], *, units: int = 32,
                      threshold: float = 0.9, seed: int = 0, **train_options) -> list[dict]:
    """Trains every cell at every length; one result row per pair.

    Args:
        cells: Cell names.
        lengths: Sequence lengths T.
        units: Hidden size of every model.
        threshold: Validation accuracy that counts as "learned".
        seed: Seed of weights and data (the same for every cell).
        **train_options: Passed to ``train_memory`` (epochs, batch_size, ...).

    Returns:
        Rows with ``cell``, ``length``, ``val_acc`` (best; None if training
        diverged), ``learned``,
        ``solved_epoch`` (first epoch at or above ``threshold``, or None),
        ``epochs`` (run), ``chance`` and ``seconds``.

    Raises:
        UsageError: On an unknown cell or a length, units or threshold out of range.
    """
    cells = check_cells(cells)
    for length in lengths:
        check_positive("length", length)
    check_positive("units", units)
    if not 0 < threshold <= 1:
        raise UsageError(f"threshold must be in (0, 1], got {threshold!r}")
    symbols = train_options.get("symbols", 4)
    distractors = train_options.get("distractors", 4)
    rows = []
    for length in lengths:
        for cell in cells:
            model = build_model(cell, symbols + distractors, symbols, units=units, seed=seed)
            start = time.perf_counter()
            try:
                history = train_memory(model, length, seed=seed, **train_options)
                accs = history.history["val_acc"]
            except Diverged:  # one diverging run (e.g. no clipping) should not end the table
                accs = []
            solved = next((i + 1 for i, a in enumerate(accs) if a >= threshold), None)
            rows.append({"cell": cell, "length": length,
                         "val_acc": max(accs) if accs else None,
                         "learned": solved is not None, "solved_epoch": solved,
                         "epochs": len(accs), "chance": 1 / symbols,
                         "seconds": time.perf_counter() - start})
    return rows


# --------------------------------------------------------- gradient flow
@dataclasses.dataclass
class Flow:
    """One gradient-flow measurement.

    Attributes:
        cell: The cell name.
        recurrent_scale: Factor applied to the initial recurrent kernel.
        stage: ``"init"`` or ``"trained"``.
        norms: ``||dL/dh_{T-k}||`` for ``k = 0 .. T-1`` (Frobenius over the batch).
        grad_norm: Global norm of the gradient of all trainable weights.
        clip_norm: The clipping threshold applied, or None.
        clipped_norm: Global norm after ``tf.clip_by_global_norm``.
    """

    cell: str
    recurrent_scale: float
    stage: str
    norms: list
    grad_norm: float
    clip_norm: float | None
    clipped_norm: float

    @property
    def decay_per_step(self) -> float:
        """Geometric-mean ratio ``(||g_{T-1}|| / ||g_0||) ** (1 / (T - 1))``.

        Below 1 the gradient vanishes with distance, above 1 it explodes;
        1.0 for a single step.
        """
        return decay_per_step(self.norms)

    def relative(self, distance: int) -> float:
        """``||dL/dh_{T-distance}|| / ||dL/dh_T||`` (distance clamped to T - 1)."""
        k = min(distance, len(self.norms) - 1)
        return self.norms[k] / self.norms[0] if self.norms[0] else float("nan")


def decay_per_step(norms: Sequence[float]) -> float:
    """Geometric mean of the step-to-step ratios of ``norms`` (ordered by distance).

    Returns:
        ``(norms[-1] / norms[0]) ** (1 / (len - 1))``; 1.0 for one entry,
        0.0 when the gradient underflowed to zero.
    """
    if len(norms) < 2:
        return 1.0
    if norms[0] == 0 or norms[-1] == 0:
        return 0.0
    return math.exp((math.log(norms[-1]) - math.log(norms[0])) / (len(norms) - 1))


def hidden_state_gradients(model: keras.Model, x, y) -> tuple[np.ndarray, list, tf.Tensor]:
    """The total ``dL/dh_t`` at every step, by stepping the layer's cell by hand.

    A zero tensor (a "tap") is added to each hidden state; the gradient of
    the loss w.r.t. a tap equals the gradient w.r.t. that state through all
    later steps, which the layer's fused loop would not expose.

    Args:
        model: From ``build_model``: ``[rnn, readout]`` layers.
        x: Inputs ``[batch, T, features]``.
        y: Class ids ``[batch]`` (cross-entropy of the readout of ``h_T``).

    Returns:
        ``(norms, weight_grads, logits)``: norms ordered by distance from the
        loss (``norms[0]`` at ``h_T``), the gradients of
        ``model.trainable_variables`` and the logits (equal to ``model(x)``).
    """
    rnn, readout = model.layers
    x = tf.convert_to_tensor(x, dtype=rnn.compute_dtype)
    batch, steps = int(x.shape[0]), int(x.shape[1])
    taps = [tf.zeros((batch, rnn.cell.units), dtype=x.dtype) for _ in range(steps)]
    with tf.GradientTape() as tape:
        tape.watch(taps)
        states = rnn.cell.get_initial_state(batch_size=batch)
        for t in range(steps):
            _, states = rnn.cell(x[:, t], states)
            states = [states[0] + taps[t], *states[1:]]  # h_t; an LSTM's c_t is untouched
        logits = readout(states[0])
        loss = _loss(x.dtype.name)(y, logits)
    tap_grads, weight_grads = tape.gradient(loss, (taps, model.trainable_variables))
    norms = np.array([float(tf.norm(g)) for g in reversed(tap_grads)])
    return norms, weight_grads, logits


def gradient_flow(cells: Sequence[str], length: int, *, recurrent_scales: Sequence[float] = (1.0,),
                  units: int = 32, batch_size: int = 32, clip_norm: float | None = 1.0,
                  train_epochs: int = 0, symbols: int = 4, distractors: int = 4,
                  seed: int = 0, **train_options) -> list[Flow]:
    """Measures ``||dL/dh_t||`` against the distance from the loss for each cell.

    The loss is the cross-entropy of the memory task at the last step, on one
    batch of sequences of ``length`` steps.

    Args:
        cells: Cell names.
        length: Sequence length T.
        recurrent_scales: Each cell is measured with its recurrent kernel
            multiplied by each of these (1.0: as initialised).
        units: Hidden size.
        batch_size: Sequences in the measured batch.
        clip_norm: Threshold of the global-norm clipping shown (None: off).
        train_epochs: If positive, also measure after this many epochs of
            ``train_memory`` (same length).
        symbols: Classes of the memory task.
        distractors: Filler symbols of the memory task.
        seed: Seed of weights and data.
        **train_options: Passed to ``train_memory``.

    Returns:
        One ``Flow`` per cell, scale and stage.

    Raises:
        UsageError: On an unknown cell or a non-positive length, scale,
            units, batch size or clip norm, or a negative ``train_epochs``.
    """
    cells = check_cells(cells)
    check_positive("length", length)
    check_positive("units", units)
    check_positive("batch_size", batch_size)
    for scale in recurrent_scales:
        check_positive("recurrent_scale", scale, float)
    if clip_norm is not None:
        check_positive("clip_norm", clip_norm, float)
    if isinstance(train_epochs, bool) or not isinstance(train_epochs, int) or train_epochs < 0:
        raise UsageError(f"train_epochs must be a non-negative integer, got {train_epochs!r}")
    x, y = memory_batch(np.random.default_rng(seed), batch_size, length, symbols, distractors)
    results = []
    for cell in cells:
        for scale in recurrent_scales:
            model = build_model(cell, symbols + distractors, symbols, units=units,
                                recurrent_scale=scale, seed=seed)
            results.append(_measure(model, x, y, cell, scale, "init", clip_norm))
            if train_epochs:
                train_memory(model, length, epochs=train_epochs, symbols=symbols,
                             distractors=distractors, seed=seed, **train_options)
                results.append(_measure(model, x, y, cell, scale, "trained", clip_norm))
    return results


def _measure(model, x, y, cell, scale, stage, clip_norm) -> Flow:
    # Measured on a float64 twin: in float32 the norms of long sequences
    # underflow to 0 (vanishing) or overflow to inf (exploding) and the
    # decay per step could not be read off.
    twin = build_model(cell, model.input_shape[-1], model.output_shape[-1],
                       units=model.layers[0].cell.units, dtype="float64")
    twin.set_weights(model.get_weights())
    norms, grads, _ = hidden_state_gradients(twin, x, y)
    grad_norm = float(tf.linalg.global_norm(grads))
    clipped = grad_norm
    if clip_norm is not None:
        # The same call the shared Trainer makes: the direction is kept and
        # the length capped at clip_norm, so one exploding step cannot
        # throw the weights arbitrarily far.
        clipped = float(tf.linalg.global_norm(tf.clip_by_global_norm(grads, clip_norm)[0]))
    return Flow(cell=cell, recurrent_scale=float(scale), stage=stage, norms=norms.tolist(),
                grad_norm=grad_norm, clip_norm=clip_norm, clipped_norm=clipped)


# --------------------------------------------------------------- output
FLOW_DISTANCES = (10, 50, 100)
"""Distances at which ``flow_rows`` reports the relative gradient norm."""


def flow_rows(flows: Sequence[Flow]) -> list[dict]:
    """Table rows of a gradient-flow measurement (relative norms at ``FLOW_DISTANCES``).

    Args:
        flows: From ``gradient_flow``.

    Returns:
        One dict per flow, ready for ``markdown_table`` or JSON.
    """
    rows = []
    for flow in flows:
        steps = len(flow.norms)
        row = {"cell": flow.cell, "scale": flow.recurrent_scale, "stage": flow.stage,
               "norm(dL/dh_T)": flow.norms[0]}
        for k in FLOW_DISTANCES:
            if k < steps:
                row[f"rel@{k}"] = flow.relative(k)
        row[f"rel@{steps - 1}"] = flow.relative(steps - 1)
        row["decay/step"] = flow.decay_per_step
        row["grad norm"] = flow.grad_norm
        if flow.clip_norm is not None:
            row[f"clipped ({flow.clip_norm:g})"] = flow.clipped_norm
        rows.append(row)
    return rows


def markdown_table(rows: Sequence[dict]) -> str:
    """Formats dict rows as a Markdown table (columns from the first row).

    Floats get 4 significant digits (scientific notation when tiny or huge).
    """
    if not rows:
        return ""
    columns = list(rows[0])

    def cell(value):
        if isinstance(value, float):
            return f"{value:.4g}"
        return "-" if value is None else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def plot_gradient_flow(flows: Sequence[Flow], path: str | Path) -> Path:
    """Plots ``||dL/dh_{T-k}|| / ||dL/dh_T||`` against ``k`` on a log scale, as PNG.

    Args:
        flows: From ``gradient_flow``.
        path: The PNG file to write (parent directories are created).

    Returns:
        The path written.
    """
    import matplotlib  # lazily: only this command draws

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    ensure_dir(path.parent)
    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=120)
    scales = sorted({flow.recurrent_scale for flow in flows})
    styles = ["-", "--", ":", "-."]
    for flow in flows:
        norms = np.asarray(flow.norms)
        relative = norms / norms[0] if norms[0] else norms
        relative[relative == 0] = np.nan  # an exact 0 has no place on a log axis
        # Colour says the cell, line style the scale, width the stage.
        ax.semilogy(np.arange(len(norms)), relative,
                    color=f"C{CELLS.index(flow.cell)}",
                    linestyle=styles[scales.index(flow.recurrent_scale) % len(styles)],
                    linewidth=2.5 if flow.stage == "trained" else 1.5,
                    label=f"{flow.cell}, scale {flow.recurrent_scale:g}, {flow.stage}: "
                          f"{flow.decay_per_step:.3f}/step")
    ax.set_xlabel("distance from the loss, T - t (steps)")
    ax.set_ylabel("||dL/dh_t|| / ||dL/dh_T||")
    ax.set_title(f"Gradient flow through time (T = {len(flows[0].norms)})")
    ax.grid(True, which="major", alpha=0.4)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
