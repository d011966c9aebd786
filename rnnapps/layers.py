"""Recurrent layer factory: one name for each cell type, ours included."""

from __future__ import annotations

import keras

from rnnapps.cells import ElmanCell
from rnnapps.config import CELLS, RNNConfig
from rnnapps.errors import UsageError

_KERAS_LAYERS = {
    "simple_rnn": keras.layers.SimpleRNN,
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
}


def recurrent_layer(cell: str, units: int, *, return_sequences: bool = False,
                    return_state: bool = False, bidirectional: bool = False,
                    dropout: float = 0.0, recurrent_dropout: float = 0.0,
                    seed: int | None = None, name: str | None = None) -> keras.layers.Layer:
    """Builds one recurrent layer from a cell name.

    Args:
        cell: ``"simple_rnn"``, ``"lstm"``, ``"gru"`` or ``"elman"`` (ours).
        units: Size of the hidden state.
        return_sequences: Return the output at every step, not just the last.
        return_state: Also return the final state(s).
        bidirectional: Wrap in ``keras.layers.Bidirectional`` (outputs concatenated).
        dropout: Dropout on the layer's inputs while training.
        recurrent_dropout: Dropout on the recurrent state while training.
        seed: Seed of the dropout masks.
        name: Layer name.

    Returns:
        A Keras layer taking ``[batch, time, features]``.

    Raises:
        UsageError: If ``cell`` is unknown or ``units`` is not positive.
    """
    if cell not in CELLS:
        raise UsageError(f"cell must be one of {', '.join(CELLS)}; got {cell!r}")
    if not isinstance(units, int) or units <= 0:
        raise UsageError(f"units must be a positive integer, got {units!r}")
    common = dict(return_sequences=return_sequences, return_state=return_state)
    if cell == "elman":
        layer = keras.layers.RNN(
            ElmanCell(units, dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed),
            **common, name=None if bidirectional else name)
    else:
        layer = _KERAS_LAYERS[cell](units, dropout=dropout, recurrent_dropout=recurrent_dropout,
                                    seed=seed, **common, name=None if bidirectional else name)
    return keras.layers.Bidirectional(layer, name=name) if bidirectional else layer


def recurrent_stack(config: RNNConfig, *, return_sequences: bool = False,
                    seed: int | None = None) -> list[keras.layers.Layer]:
    """Builds ``config.layers`` stacked recurrent layers.

    Every layer but the last returns sequences (the next layer reads them);
    the last returns sequences only if ``return_sequences``.

    Args:
        config: Cell, units, layers, bidirectional and dropout settings.
        return_sequences: Whether the top layer returns the whole sequence.
        seed: Base seed of the dropout masks (layer ``i`` uses ``seed + i``).

    Returns:
        The layers, bottom first.
    """
    return [
        recurrent_layer(
            config.cell, config.units,
            return_sequences=return_sequences or i < config.layers - 1,
            bidirectional=config.bidirectional, dropout=config.dropout,
            recurrent_dropout=config.recurrent_dropout,
            seed=None if seed is None else seed + i, name=f"{config.cell}_{i}")
        for i in range(config.layers)
    ]
