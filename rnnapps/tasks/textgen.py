"""Character-level text generation: learn a text one character at a time, then write more.

Reads top to bottom as data -> model -> train -> export -> serve the export.
The character vocabulary comes from the training split only; characters it
lacks map to id 0, the out-of-vocabulary id, and are never generated. The
model carries its recurrent state explicitly, so generation feeds one
character per step and never re-reads the prefix.
"""

from __future__ import annotations

import math
import secrets
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from rnnapps.artifacts import read_json
from rnnapps.config import TextgenConfig
from rnnapps.data.text import TextSplits, load_text
from rnnapps.errors import UsageError
from rnnapps.export import export_saved_model, load_saved_model
from rnnapps.layers import recurrent_layer
from rnnapps.tasks import runs

TASK = "textgen"
VOCABULARY = "vocabulary.json"
OOV_ID = 0
"""Id of characters missing from the training split (``StringLookup``'s OOV index)."""


# ------------------------------------------------------------------ data
def make_vocabulary(train_text: str) -> list[str]:
    """Returns the sorted distinct characters of the training text."""
    return sorted(set(train_text))


def make_lookups(vocabulary: list[str]) -> tuple[keras.layers.StringLookup,
                                                 keras.layers.StringLookup]:
    """Returns ``(chars_to_ids, ids_to_chars)`` for ``vocabulary``.

    ``vocabulary[i]`` gets id ``i + 1``; id 0 is the out-of-vocabulary id.
    The same layers encode the training data and run inside the export, so
    the two can never disagree.
    """
    chars_to_ids = keras.layers.StringLookup(vocabulary=vocabulary, mask_token=None,
                                             num_oov_indices=1, name="chars_to_ids")
    ids_to_chars = keras.layers.StringLookup(vocabulary=vocabulary, mask_token=None,
                                             num_oov_indices=1, invert=True,
                                             name="ids_to_chars")
    chars_to_ids.build((None,))  # export tracks only built layers
    ids_to_chars.build((None,))
    return chars_to_ids, ids_to_chars


def encode(chars_to_ids, text: str) -> np.ndarray:
    """Maps each character (Unicode code point) of ``text`` to its int32 id."""
    return chars_to_ids(tf.strings.unicode_split(text, "UTF-8")).numpy().astype(np.int32)


def check_lengths(splits: TextSplits, seq_length: int) -> None:
    """Makes sure every split holds at least one window of ``seq_length + 1`` characters.

    Raises:
        UsageError: Naming the short split, its length and what would help.
    """
    for name, text in splits.items():
        if len(text) < seq_length + 1:
            raise UsageError(
                f"text too short: the {name} split of {splits.source} has {len(text)} "
                f"characters, fewer than seq_length + 1 = {seq_length + 1}; use a longer "
                "text or a smaller --seq-length")


def make_windows(ids: np.ndarray, seq_length: int, offset: int = 0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Cuts ids into non-overlapping ``seq_length + 1`` windows from ``offset``.

    Returns:
        ``(inputs, targets)``, each ``[windows, seq_length]``; the targets are
        the inputs shifted one character ahead.
    """
    n = (len(ids) - offset) // (seq_length + 1)
    windows = ids[offset:offset + n * (seq_length + 1)].reshape(n, seq_length + 1)
    return windows[:, :-1], windows[:, 1:]


def window_dataset(ids: np.ndarray, seq_length: int, batch_size: int, *,
                   seed: int | None = None, epoch: int = 0) -> tf.data.Dataset:
    """Batches of ``(inputs, targets)`` windows, shuffled when ``seed`` is given.

    With a seed, each epoch starts its windows at a different offset and
    shuffles them, both drawn from ``(seed, epoch)``: the model sees new
    window boundaries every epoch, and a resumed run sees the same batches.
    """
    offset = 0
    if seed is not None:
        rng = np.random.default_rng([seed, epoch])
        offset = int(rng.integers(0, seq_length + 1)) if len(ids) > 2 * (seq_length + 1) else 0
    x, y = make_windows(ids, seq_length, offset)
    if seed is not None:
        order = rng.permutation(len(x))
        x, y = x[order], y[order]
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size).prefetch(tf.data.AUTOTUNE)


# ----------------------------------------------------------------- model
@keras.saving.register_keras_serializable(package="rnnapps")
class CharModel(keras.Model):
    """Embedding -> recurrent layers -> Dense(vocabulary) logits, state in and out.

    Args:
        vocab_size: Number of ids, the OOV id included.
        embedding_dim: Size of the character embedding.
        cell: A cell name of ``rnnapps.layers.recurrent_layer``.
        units: Units per recurrent layer.
        layers: Number of stacked recurrent layers.
        dropout: Dropout on each recurrent layer's inputs.
        recurrent_dropout: Dropout on the recurrent state.
        seed: Base seed of the dropout masks.
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 256, cell: str = "gru",
                 units: int = 512, layers: int = 1, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.embedding_dim = vocab_size, embedding_dim
        self.cell, self.units, self.num_layers = cell, units, layers
        self.dropout, self.recurrent_dropout, self.seed = dropout, recurrent_dropout, seed
        self.embedding = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")
        self.rnns = [recurrent_layer(cell, units, return_sequences=True, return_state=True,
                                     dropout=dropout, recurrent_dropout=recurrent_dropout,
                                     seed=None if seed is None else seed + i,
                                     name=f"{cell}_{i}")
                     for i in range(layers)]
        self.dense = keras.layers.Dense(vocab_size, name="logits")

    @property
    def state_sizes(self) -> list[int]:
        """Sizes of the state tensors, bottom layer first (an LSTM has two)."""
        return [size for layer in self.rnns for size in _cell_state_sizes(layer)]

    def call(self, inputs, states=None, return_state=False, training=False):
        """Runs ``[batch, time]`` ids through the model.

        Args:
            inputs: Character ids.
            states: The state tensors to start from (``state_sizes`` order),
                or None for zeros.
            return_state: Also return the final state tensors.
            training: Apply dropout.

        Returns:
            Logits ``[batch, time, vocab_size]``, and the list of state tensors
            if ``return_state``.
        """
        x = self.embedding(inputs)
        new_states, k = [], 0
        for layer in self.rnns:
            n = len(_cell_state_sizes(layer))
            initial = None if states is None else list(states[k:k + n])
            x, *layer_states = layer(x, initial_state=initial, training=training)
            new_states.extend(layer_states)
            k += n
        logits = self.dense(x)
        return (logits, new_states) if return_state else logits

    def step(self, ids, states):
        """One character for each sequence, through the cells directly.

        The same arithmetic as ``call`` on a length-1 sequence, without each
        recurrent layer's loop around its cell: generation takes one step per
        character, and skipping that machinery made it 1.08x (GRU 512) to
        1.24x (2 x LSTM 512) faster here.

        Args:
            ids: ``[batch]`` character ids.
            states: The state tensors (``state_sizes`` order).

        Returns:
            Logits ``[batch, vocab_size]`` and the list of new state tensors.
        """
        x, new_states, k = self.embedding(ids), [], 0
        for layer in self.rnns:
            n = len(_cell_state_sizes(layer))
            x, layer_states = layer.cell(x, list(states[k:k + n]) if n > 1 else states[k],
                                         training=False)
            new_states.extend(layer_states if isinstance(layer_states, (list, tuple))
                              else [layer_states])
            k += n
        return self.dense(x), new_states

    def get_config(self):
        return {"name": self.name, "vocab_size": self.vocab_size,
                "embedding_dim": self.embedding_dim, "cell": self.cell, "units": self.units,
                "layers": self.num_layers, "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout, "seed": self.seed}


def _cell_state_sizes(layer) -> list[int]:
    """A recurrent layer's state sizes as a list (an LSTM has two states)."""
    size = layer.cell.state_size
    return list(size) if isinstance(size, (list, tuple)) else [size]


def build_model(config: TextgenConfig, vocab_size: int) -> CharModel:
    """Builds the run's model with its variables created (ready to load weights)."""
    m = config.model
    model = CharModel(vocab_size, m.embedding_dim, m.cell, m.units, m.layers, m.dropout,
                      m.recurrent_dropout, seed=config.train.seed, name="char_model")
    model(tf.zeros([1, 1], tf.int32))
    return model


class BitsPerChar(keras.metrics.Mean):
    """Mean cross-entropy of the next character in bits (the loss is in nats)."""

    def __init__(self, name="bits_per_char", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        nats = keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)
        return super().update_state(nats / math.log(2.0), sample_weight)


class Perplexity(keras.metrics.Mean):
    """``exp`` of the mean cross-entropy: the effective number of choices per character."""

    def __init__(self, name="perplexity", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        nats = keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)
        return super().update_state(nats, sample_weight)

    def result(self):
        return keras.ops.exp(super().result())


# ------------------------------------------------------------ generation
class TextGenerator:
    """Text generation and single steps, as graph functions around a model.

    The same functions run in process and are exported, so an exported model
    generates exactly what the in-process one does for the same arguments.

    Args:
        model: A built ``CharModel``.
        vocabulary: Its characters, as from ``make_vocabulary``.
    """

    def __init__(self, model: CharModel, vocabulary: list[str]):
        self.model = model
        self.vocabulary = list(vocabulary)
        self.chars_to_ids, self.ids_to_chars = make_lookups(self.vocabulary)
        self.state_sizes = model.state_sizes
        state_size = sum(self.state_sizes)
        self.signatures = {
            "generate": [tf.TensorSpec([], tf.string, name="seed_text"),
                         tf.TensorSpec([], tf.int32, name="length"),
                         tf.TensorSpec([], tf.float32, name="temperature"),
                         tf.TensorSpec([], tf.int32, name="top_k"),
                         tf.TensorSpec([], tf.int64, name="seed")],
            "step": [tf.TensorSpec([None, None], tf.int32, name="ids"),
                     tf.TensorSpec([None, state_size], tf.float32, name="state")],
            "initial_state": [tf.TensorSpec([], tf.int32, name="batch_size")],
        }
        self.functions = {"generate": self._generate, "step": self._step,
                          "initial_state": self._initial_state}
        self._graph_generate = tf.function(self._generate,
                                           input_signature=self.signatures["generate"])

    def generate(self, seed_text: str, length: int, temperature: float = 1.0,
                 top_k: int = 0, seed: int | None = None) -> str:
        """Continues ``seed_text`` by ``length`` characters.

        Args:
            seed_text: Text to start from (read in one pass to set the state).
            length: Number of characters to generate.
            temperature: Softmax temperature; 0 picks the likeliest character.
            top_k: Sample among the ``top_k`` likeliest characters (0: all).
            seed: Makes sampling repeatable; None draws a fresh one.

        Returns:
            The generated characters (without the seed text).

        Raises:
            UsageError: On an empty seed, ``length <= 0``, ``temperature < 0``
                or ``top_k < 0``.
        """
        check_generation_args(seed_text, length, temperature, top_k)
        seed = secrets.randbelow(2 ** 63) if seed is None else seed
        out = self._graph_generate(tf.constant(seed_text), tf.constant(length, tf.int32),
                                   tf.constant(temperature, tf.float32),
                                   tf.constant(top_k, tf.int32), tf.constant(seed, tf.int64))
        return out["text"].numpy().decode("utf-8")

    # The graph functions below are what the export serves.
    def _initial_state(self, batch_size):
        return {"state": tf.zeros([batch_size, sum(self.state_sizes)])}

    def _step(self, ids, state):
        logits, states = self.model(ids, states=tf.split(state, self.state_sizes, axis=-1),
                                    return_state=True, training=False)
        return {"logits": logits, "state": tf.concat(states, axis=-1)}

    def _generate(self, seed_text, length, temperature, top_k, seed):
        checks = [
            tf.debugging.assert_greater(tf.strings.length(seed_text), 0,
                                        message="seed_text must not be empty"),
            tf.debugging.assert_non_negative(length, message="length must be >= 0"),
            tf.debugging.assert_non_negative(temperature, message="temperature must be >= 0"),
            tf.debugging.assert_non_negative(top_k, message="top_k must be >= 0"),
        ]
        with tf.control_dependencies(checks):
            seed_ids = tf.cast(self.chars_to_ids(tf.strings.unicode_split(seed_text, "UTF-8")),
                               tf.int32)
        # The seed is read in one pass; after that one character per step.
        logits, states = self.model(seed_ids[tf.newaxis], return_state=True, training=False)

        def body(i, last_logits, states, chosen):
            next_id = self._choose(last_logits, i, temperature, top_k, seed)
            logits, states = self.model.step(next_id, states)
            return i + 1, logits, states, chosen.write(i, next_id[0])

        _, _, _, chosen = tf.while_loop(
            lambda i, *_: i < length, body,
            [tf.constant(0), logits[:, -1], states,
             tf.TensorArray(tf.int32, size=length, element_shape=[])])
        chars = self.ids_to_chars(tf.cast(chosen.stack(), tf.int64))
        return {"text": tf.strings.reduce_join(chars)}

    def _choose(self, logits, i, temperature, top_k, seed):
        """Picks the next id from ``[1, vocab]`` logits: greedy at temperature 0,
        else a stateless sample seeded by ``(seed, i)`` (repeatable anywhere)."""
        vocab = tf.shape(logits)[-1]
        never = tf.one_hot(OOV_ID, vocab, on_value=-np.inf, off_value=0.0)
        logits = logits + never  # the OOV id stands for no character: never pick it

        def sample():
            scaled = logits / temperature
            k = tf.where(top_k > 0, tf.minimum(top_k, vocab), vocab)
            kth = tf.math.top_k(scaled, k=k).values[:, -1:]
            scaled = tf.where(scaled < kth, -np.inf, scaled)
            return tf.random.stateless_categorical(
                scaled, 1, seed=tf.stack([seed, tf.cast(i, tf.int64)]), dtype=tf.int32)[:, 0]

        return tf.cond(temperature > 0, sample,
                       lambda: tf.argmax(logits, axis=-1, output_type=tf.int32))


def check_generation_args(seed_text: str, length: int, temperature: float,
                          top_k: int = 0) -> None:
    """Raises UsageError on arguments generation cannot use."""
    if not seed_text:
        raise UsageError("seed text must not be empty")
    if not isinstance(length, int) or length <= 0:
        raise UsageError(f"length must be a positive number of characters, got {length!r}")
    if not temperature >= 0:  # also catches NaN
        raise UsageError(f"temperature must be >= 0 (0 = greedy), got {temperature!r}")
    if top_k < 0:
        raise UsageError(f"top_k must be >= 0 (0 = all characters), got {top_k!r}")


# ----------------------------------------------------------------- train
def load(config: TextgenConfig) -> TextSplits:
    """Loads the text ``config.data`` names."""
    data = config.data
    return load_text(data.data, data.corpus, tfds_dir=data.tfds_dir,
                     val_fraction=data.val_fraction, test_fraction=data.test_fraction)


def experiment(config: TextgenConfig, splits: TextSplits) -> runs.Experiment:
    """Builds the vocabulary from the training text, encodes every split, windows
    them and builds the model (what ``train`` and ``tune`` share).

    Raises:
        UsageError: If a split is shorter than ``seq_length + 1`` characters.
    """
    check_lengths(splits, config.data.seq_length)
    keras.utils.set_random_seed(config.train.seed)  # the model's initial weights
    vocabulary = make_vocabulary(splits.train)
    chars_to_ids, _ = make_lookups(vocabulary)
    train_ids, val_ids, test_ids = (encode(chars_to_ids, text) for _, text in splits.items())
    seq, batch, seed = config.data.seq_length, config.train.batch_size, config.train.seed
    model = build_model(config, len(vocabulary) + 1)
    return runs.Experiment(
        model, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        [BitsPerChar(), Perplexity()],
        lambda epoch: window_dataset(train_ids, seq, batch, seed=seed, epoch=epoch),
        window_dataset(val_ids, seq, batch).cache(), window_dataset(test_ids, seq, batch),
        files={VOCABULARY: vocabulary},
        notes=[f"{splits.source}: {len(splits.train):,} training characters, vocabulary "
               f"{len(vocabulary)} + OOV, {model.count_params():,} parameters"],
        data_info={"source": splits.source, "train_chars": len(splits.train),
                   "vocabulary": len(vocabulary)})


def train(config: TextgenConfig, **options) -> dict:
    """Loads the text, trains with the shared loop, evaluates on test, exports.

    Args:
        config: The run's settings.
        **options: ``run_dir``, ``resume``, ``export_dir``, ``tensorboard``,
            ``verbose``, as for ``rnnapps.tasks.runs.train_task``.

    Returns:
        ``metrics.json`` contents (``val`` and ``test`` with ``loss`` in
        nats/char, ``bits_per_char`` and ``perplexity``) plus ``run_dir``
        and ``export`` paths.
    """
    return runs.train_task(sys.modules[__name__], config, **options)


def load_run(run_dir: str | Path) -> tuple[TextgenConfig, CharModel, list[str]]:
    """Rebuilds a finished run's model with its trained weights.

    Returns:
        ``(config, model, vocabulary)``.

    Raises:
        UsageError: If ``run_dir`` is not a finished textgen run.
    """
    run_dir = Path(run_dir)
    config = runs.open_run(run_dir, TextgenConfig, VOCABULARY)
    vocabulary = read_json(run_dir / VOCABULARY)
    model = build_model(config, len(vocabulary) + 1)
    model.load_weights(run_dir / runs.WEIGHTS)
    return config, model, vocabulary


# ---------------------------------------------------------------- export
def export(run_dir: str | Path, export_dir: str | Path = "saved_models") -> Path:
    """Exports a finished run as ``<export_dir>/textgen/<N>``.

    Signatures (all inputs required; ``generate`` is also ``serving_default``):

    * ``generate(seed_text: string[], length: int32[], temperature: float32[],
      top_k: int32[], seed: int64[]) -> {"text": string[]}``: the whole
      generation loop in the graph (``tf.while_loop``); temperature 0 is
      greedy, top_k 0 samples among all characters, equal seeds give equal text.
    * ``step(ids: int32[batch, time], state: float32[batch, S]) ->
      {"logits": [batch, time, vocab], "state": [batch, S]}``: the next-character
      logits after each input and the state to continue from.
    * ``initial_state(batch_size: int32[]) -> {"state": zeros[batch, S]}``.

    ``vocabulary.json`` beside the model lists the characters of ids 1, 2, ...
    (id 0 is out-of-vocabulary).

    Raises:
        UsageError: If ``run_dir`` is not a finished textgen run.
    """
    run_dir = Path(run_dir)
    config, model, vocabulary = load_run(run_dir)
    generator = TextGenerator(model, vocabulary)
    return export_saved_model(
        Path(export_dir) / TASK,
        resources=[model, generator.chars_to_ids, generator.ids_to_chars],
        endpoints=[(name, generator.functions[name], generator.signatures[name])
                   for name in ("generate", "step", "initial_state")],
        files={"config.json": config.to_dict(), VOCABULARY: vocabulary,
               "metrics.json": runs.run_metrics(run_dir)})


# ------------------------------------------------------- serve the export
def generate(model_dir: str | Path, seed_text: str, length: int, temperature: float = 1.0,
             top_k: int = 0, seed: int | None = None) -> str:
    """Generates text with an exported model's ``generate`` signature.

    Args:
        model_dir: ``saved_models/textgen/<N>`` or its parent (latest version).
        seed_text, length, temperature, top_k, seed: As ``TextGenerator.generate``.

    Returns:
        The generated characters (without the seed text).

    Raises:
        UsageError: On bad arguments (checked first) or a directory that is
            not a textgen SavedModel.
    """
    check_generation_args(seed_text, length, temperature, top_k)
    loaded, _, _ = load_saved_model(model_dir, TASK)
    seed = secrets.randbelow(2 ** 63) if seed is None else seed
    out = loaded.generate(tf.constant(seed_text), tf.constant(length, tf.int32),
                          tf.constant(temperature, tf.float32), tf.constant(top_k, tf.int32),
                          tf.constant(seed, tf.int64))
    return out["text"].numpy().decode("utf-8")


def evaluate(model_dir: str | Path, data: str | Path | None = None,
             corpus: str | Path | None = None, tfds_dir: str | Path | None = None,
             batch_size: int = 64) -> dict:
    """Loss of an exported model on the test split, through its ``step`` signature.

    The text comes from where the run's config says unless ``data`` or
    ``corpus`` is given; it is cut into the same windows as in training, each
    read from the zero state, so the figures match the run's test metrics.

    Returns:
        ``{"nats_per_char", "bits_per_char", "perplexity", "characters", "model"}``.

    Raises:
        UsageError: On a directory that is not a textgen SavedModel or
            unusable text.
    """
    loaded, raw_config, path = load_saved_model(model_dir, TASK)
    config = TextgenConfig.from_dict(raw_config)
    if data is not None or corpus is not None:
        config = config.replace(data=None if data is None else str(data),
                                corpus=None if corpus is None else str(corpus))
    if tfds_dir is not None:
        config = config.replace(tfds_dir=str(tfds_dir))
    d = config.data
    splits = load_text(d.data, d.corpus, tfds_dir=d.tfds_dir, val_fraction=d.val_fraction,
                       test_fraction=d.test_fraction)
    check_lengths(splits, d.seq_length)
    chars_to_ids, _ = make_lookups(read_json(path / VOCABULARY))
    x, y = make_windows(encode(chars_to_ids, splits.test), d.seq_length)
    total = 0.0
    for i in range(0, len(x), batch_size):
        ids = tf.constant(x[i:i + batch_size])
        state = loaded.initial_state(tf.constant(len(ids), tf.int32))["state"]
        logits = loaded.step(ids, state)["logits"]
        total += float(tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
            y[i:i + batch_size], logits)))
    nats = total / y.size
    return {"nats_per_char": nats, "bits_per_char": nats / math.log(2.0),
            "perplexity": math.exp(nats), "characters": int(y.size), "model": str(path)}
