"""Our own recurrent cell, written out so the recurrence is plain to see."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="rnnapps")
class ElmanCell(keras.layers.Layer):
    """The Elman recurrence ``h_t = tanh(W x_t + U h_{t-1} + b)``.

    Mathematically the same as ``keras.layers.SimpleRNNCell``; it exists so the
    whole cell fits on one screen and so the NumPy reference in
    ``rnnapps.theory`` can be checked against a cell we wrote. Wrap it in
    ``keras.layers.RNN`` to run it over a sequence.

    Dropout masks are drawn afresh at every time step (Keras's own cells reuse
    one mask per sequence through a private mixin this cell does not rely on).

    Args:
        units: Size of the hidden state ``h``.
        activation: The nonlinearity; ``"tanh"`` gives the recurrence above.
        use_bias: Whether to add ``b``.
        kernel_initializer: Initialiser of ``W`` (input to hidden).
        recurrent_initializer: Initialiser of ``U`` (hidden to hidden).
        bias_initializer: Initialiser of ``b``.
        dropout: Fraction of the inputs ``x_t`` dropped while training.
        recurrent_dropout: Fraction of ``h_{t-1}`` dropped while training.
        seed: Seed of the dropout masks.

    Raises:
        ValueError: If ``units`` is not a positive integer or a dropout rate
            is outside ``[0, 1)``.
    """

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        for name, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {rate!r}")
        self.units = units
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=(input_shape[-1], self.units),
            initializer=self.kernel_initializer)
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel", shape=(self.units, self.units),
            initializer=self.recurrent_initializer)
        self.bias = (self.add_weight(name="bias", shape=(self.units,),
                                     initializer=self.bias_initializer)
                     if self.use_bias else None)

    def call(self, inputs, states, training=False):
        h_prev = states[0] if isinstance(states, (list, tuple)) else states
        if training and self.dropout > 0:
            inputs = keras.random.dropout(inputs, self.dropout, seed=self.seed_generator)
        if training and self.recurrent_dropout > 0:
            h_prev = keras.random.dropout(h_prev, self.recurrent_dropout,
                                          seed=self.seed_generator)
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        h = self.activation(z)
        return h, [h]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
