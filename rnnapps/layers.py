"""Recurrent layer factory: one name for each cell type, ours included.

The names come from one table, ``rnnapps.registry.CELLS``: an entry is a
Keras recurrent layer (which keeps Keras's fused kernels) or a cell class,
wrapped here in ``keras.layers.RNN``.
"""

from __future__ import annotations

import keras

from rnnapps.config import RNNConfig
from rnnapps.errors import UsageError
from rnnapps.registry import CELLS, resolve


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
    kind = resolve(CELLS[cell])
    common = dict(return_sequences=return_sequences, return_state=return_state,
                  name=None if bidirectional else name)
    options = dict(dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed)
    if issubclass(kind, keras.layers.RNN):  # a whole recurrent layer, e.g. keras.layers.LSTM
        layer = kind(units, **options, **common)
    else:  # a cell: one step, run over time by keras.layers.RNN
        layer = keras.layers.RNN(kind(units, **options), **common)
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


@keras.saving.register_keras_serializable(package="rnnapps")
class BigramEmbedding(keras.layers.Layer):
    """Token embedding plus a hashed embedding of the pair each token ends.

    Position ``t`` gets ``E[ids_t] + B[hash(ids_{t-1}, ids_t) mod buckets]``
    (``ids_{-1} = 0``), so the recurrent layers read word pairs ("not good")
    as well as words, at the cost of one more table. Id 0 is padding: it is
    masked, like ``Embedding(mask_zero=True)``.

    Args:
        vocab_size: Number of token ids.
        output_dim: Size of both embeddings.
        buckets: Rows of the pair table (collisions share a row).
    """

    def __init__(self, vocab_size: int, output_dim: int, buckets: int, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.output_dim, self.buckets = vocab_size, output_dim, buckets
        self.tokens = keras.layers.Embedding(vocab_size, output_dim, name="tokens")
        self.pairs = keras.layers.Embedding(buckets, output_dim, name="pairs")
        self.supports_masking = True

    def build(self, input_shape):
        self.tokens.build(input_shape)
        self.pairs.build(input_shape)

    def call(self, ids):
        ids = keras.ops.cast(ids, "int64")
        previous = keras.ops.pad(ids[:, :-1], [[0, 0], [1, 0]])
        # A large odd multiplier spreads (previous, id) pairs over the buckets.
        pair = keras.ops.mod(previous * 1_000_003 + ids, self.buckets)
        return self.tokens(ids) + self.pairs(pair)

    def compute_mask(self, ids, mask=None):
        return keras.ops.not_equal(ids, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "output_dim": self.output_dim, "buckets": self.buckets}


@keras.saving.register_keras_serializable(package="rnnapps")
class NgramConvolution(keras.layers.Layer):
    """Max-over-time n-gram detectors: ``filters`` convolutions of each width.

    Each width ``w`` is a ``Conv1D(filters, w, activation="relu")`` over the
    embeddings; its outputs are max-pooled over the real tokens and the pools
    of all widths concatenated (Kim, 2014). Beside a recurrent layer this adds
    position-free phrase features, which a small data set cannot teach the
    recurrent layer to carry. Masked steps are zeroed before and after the
    convolutions, so a text's features do not depend on its batch's padding.

    Args:
        filters: Convolutions of each width.
        widths: The n-gram widths.
    """

    def __init__(self, filters: int, widths=(3, 4, 5), **kwargs):
        super().__init__(**kwargs)
        self.filters, self.widths = filters, tuple(widths)
        self.convolutions = [keras.layers.Conv1D(filters, w, padding="same", activation="relu",
                                                 name=f"width_{w}") for w in self.widths]
        self.supports_masking = True

    def build(self, input_shape):
        for convolution in self.convolutions:
            convolution.build(input_shape)

    def call(self, inputs, mask=None):
        keep = 1.0 if mask is None else keras.ops.cast(mask, inputs.dtype)[..., None]
        inputs = inputs * keep
        # ReLU outputs are >= 0, so zeroed padding never wins the maximum.
        return keras.ops.concatenate(
            [keras.ops.max(convolution(inputs) * keep, axis=1)
             for convolution in self.convolutions], axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.filters * len(self.widths))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "widths": list(self.widths)}


@keras.saving.register_keras_serializable(package="rnnapps")
class MaskedMaxPooling(keras.layers.Layer):
    """Maximum over time of ``[batch, time, features]``, ignoring masked steps.

    A review's sentiment often rests on a few phrases anywhere in it; the
    maximum keeps the strongest evidence for each feature, where the last
    state has to carry it to the end.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is not None:
            lowest = keras.ops.full_like(inputs, -1e9)
            inputs = keras.ops.where(mask[..., None], inputs, lowest)
        return keras.ops.max(inputs, axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])
