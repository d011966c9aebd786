"""Text generation as graph functions: the same code runs in process and in the export."""

from __future__ import annotations

import secrets

import numpy as np
import tensorflow as tf

from rnnapps.errors import UsageError
from rnnapps.tasks.textgen.data import OOV_ID, make_lookups
from rnnapps.tasks.textgen.model import CharModel


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
            "generate_batch": [tf.TensorSpec([None], tf.string, name="seed_texts"),
                               tf.TensorSpec([], tf.int32, name="length"),
                               tf.TensorSpec([], tf.int32, name="num_samples"),
                               tf.TensorSpec([], tf.float32, name="temperature"),
                               tf.TensorSpec([], tf.int32, name="top_k"),
                               tf.TensorSpec([], tf.float32, name="top_p"),
                               tf.TensorSpec([], tf.int64, name="seed")],
            "step": [tf.TensorSpec([None, None], tf.int32, name="ids"),
                     tf.TensorSpec([None, state_size], tf.float32, name="state")],
            "initial_state": [tf.TensorSpec([], tf.int32, name="batch_size")],
        }
        self.functions = {"generate": self._generate, "generate_batch": self._generate_batch,
                          "step": self._step, "initial_state": self._initial_state}
        self._graph_generate_batch = tf.function(
            self._generate_batch, input_signature=self.signatures["generate_batch"])

    def generate(self, seed_text: str, length: int, temperature: float = 1.0,
                 top_k: int = 0, seed: int | None = None, top_p: float = 1.0) -> str:
        """Continues ``seed_text`` by ``length`` characters: ``generate_batch``'s
        first sample of one seed text.

        Raises:
            UsageError: As ``generate_batch``.
        """
        return self.generate_batch([seed_text], length, 1, temperature, top_k, top_p,
                                   seed)[0][0]

    def generate_batch(self, seed_texts: list[str], length: int, num_samples: int = 1,
                       temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
                       seed: int | None = None) -> list[list[str]]:
        """Continues every seed text ``num_samples`` times, all in one graph loop.

        Args:
            seed_texts: Texts to start from (each read in one pass to set the state).
            length: Number of characters to generate per sample.
            num_samples: Samples per seed text.
            temperature: Softmax temperature; 0 picks the likeliest character.
            top_k: Sample among the ``top_k`` likeliest characters (0: all).
            top_p: Sample among the likeliest characters whose probabilities
                add up to ``top_p`` (nucleus sampling; 1: all).
            seed: Makes sampling repeatable; None draws a fresh one.

        Returns:
            Per seed text, its samples (the generated characters, without the seed).

        Raises:
            UsageError: On no or an empty seed text, ``length <= 0``,
                ``num_samples <= 0``, ``temperature < 0``, ``top_k < 0`` or
                ``top_p`` outside (0, 1].
        """
        return call_generate_batch(self._graph_generate_batch, seed_texts, length,
                                   num_samples, temperature, top_k, top_p, seed)

    # The graph functions below are what the export serves.
    def _initial_state(self, batch_size):
        return {"state": tf.zeros([batch_size, sum(self.state_sizes)])}

    def _step(self, ids, state):
        logits, states = self.model(ids, states=tf.split(state, self.state_sizes, axis=-1),
                                    return_state=True, training=False)
        return {"logits": logits, "state": tf.concat(states, axis=-1)}

    def _generate(self, seed_text, length, temperature, top_k, seed):
        out = self._generate_batch(seed_text[tf.newaxis], length, tf.constant(1), temperature,
                                   top_k, tf.constant(1.0), seed)
        return {"text": out["texts"][0, 0]}

    def _generate_batch(self, seed_texts, length, num_samples, temperature, top_k, top_p,
                        seed):
        """``texts [batch, num_samples]``: sample ``j`` of seed text ``b`` is row
        ``b * num_samples + j`` of one batch that steps through ``length``
        characters together; row ``r`` draws with the stateless seed
        ``(seed, step)`` at its own position, so a call repeats exactly, and
        the first sample of a one-text call is what ``generate`` gives."""
        checks = [
            tf.debugging.assert_greater(tf.strings.length(seed_texts), 0,
                                        message="seed texts must not be empty"),
            tf.debugging.assert_non_negative(length, message="length must be >= 0"),
            tf.debugging.assert_positive(num_samples, message="num_samples must be >= 1"),
            tf.debugging.assert_non_negative(temperature, message="temperature must be >= 0"),
            tf.debugging.assert_non_negative(top_k, message="top_k must be >= 0"),
            tf.debugging.assert_positive(top_p, message="top_p must be in (0, 1]"),
            tf.debugging.assert_less_equal(top_p, 1.0, message="top_p must be in (0, 1]"),
        ]
        with tf.control_dependencies(checks):
            chars = tf.strings.unicode_split(tf.repeat(seed_texts, num_samples), "UTF-8")
        ids = tf.cast(self.chars_to_ids(chars), tf.int32).to_tensor()  # right-padded
        lengths = tf.cast(chars.row_lengths(), tf.int32)
        # The seeds are read in one pass (the mask carries each state over the
        # padding); after that one character per step for every row.
        logits, states = self.model(ids, real=tf.sequence_mask(lengths, tf.shape(ids)[1]),
                                    return_state=True, training=False)
        last = tf.gather(logits, lengths - 1, batch_dims=1)

        def body(i, last_logits, states, chosen):
            next_id = self._choose(last_logits, i, temperature, top_k, top_p, seed)
            logits, states = self.model.step(next_id, states)
            return i + 1, logits, states, chosen.write(i, next_id)

        _, _, _, chosen = tf.while_loop(
            lambda i, *_: i < length, body,
            [tf.constant(0), last, states,
             tf.TensorArray(tf.int32, size=length, element_shape=[None])])
        picked = tf.transpose(tf.reshape(chosen.stack(), [length, -1]))  # [rows, length]
        texts = tf.strings.reduce_join(self.ids_to_chars(tf.cast(picked, tf.int64)), axis=1)
        return {"texts": tf.reshape(texts, [-1, num_samples])}

    def _choose(self, logits, i, temperature, top_k, top_p, seed):
        """Picks the next id from ``[rows, vocab]`` logits: greedy at temperature 0,
        else a stateless sample seeded by ``(seed, i)`` (repeatable anywhere)
        among the ``top_k`` likeliest ids and the nucleus of mass ``top_p``."""
        vocab = tf.shape(logits)[-1]
        never = tf.one_hot(OOV_ID, vocab, on_value=-np.inf, off_value=0.0)
        logits = logits + never  # the OOV id stands for no character: never pick it

        def sample():
            scaled = logits / temperature
            k = tf.where(top_k > 0, tf.minimum(top_k, vocab), vocab)
            kth = tf.math.top_k(scaled, k=k).values[:, -1:]
            scaled = tf.where(scaled < kth, -np.inf, scaled)
            scaled = tf.cond(top_p < 1.0, lambda: _nucleus(scaled, top_p), lambda: scaled)
            return tf.random.stateless_categorical(
                scaled, 1, seed=tf.stack([seed, tf.cast(i, tf.int64)]), dtype=tf.int32)[:, 0]

        return tf.cond(temperature > 0, sample,
                       lambda: tf.argmax(logits, axis=-1, output_type=tf.int32))


def _nucleus(logits, top_p):
    """Keeps the likeliest ids whose probabilities first add up to ``top_p``
    (the likeliest always), the others at ``-inf``: nucleus (top-p) sampling."""
    ordered = tf.sort(logits, direction="DESCENDING", axis=-1)
    before = tf.cumsum(tf.nn.softmax(ordered), axis=-1, exclusive=True)  # mass above each
    cutoff = tf.reduce_min(tf.where(before < top_p, ordered, np.inf), axis=-1, keepdims=True)
    return tf.where(logits < cutoff, -np.inf, logits)


def call_generate_batch(function, seed_texts: list[str], length: int, num_samples: int,
                        temperature: float, top_k: int, top_p: float,
                        seed: int | None) -> list[list[str]]:
    """Checks the arguments, then calls a ``generate_batch`` function (in process
    or an export's) with them as tensors and decodes its texts.

    Args:
        function: Takes the ``generate_batch`` signature's tensors, in its order.
        seed_texts, length, num_samples, temperature, top_k, top_p, seed: As
            ``TextGenerator.generate_batch``; a None seed draws a fresh one.

    Returns:
        Per seed text, its samples.

    Raises:
        UsageError: As ``TextGenerator.generate_batch``, before ``function`` is called.
    """
    if not seed_texts:
        raise UsageError("give at least one seed text")
    for text in seed_texts:
        check_generation_args(text, length, temperature, top_k, top_p, num_samples)
    seed = secrets.randbelow(2 ** 63) if seed is None else seed
    out = function(tf.constant(seed_texts), tf.constant(length, tf.int32),
                   tf.constant(num_samples, tf.int32), tf.constant(temperature, tf.float32),
                   tf.constant(top_k, tf.int32), tf.constant(top_p, tf.float32),
                   tf.constant(seed, tf.int64))
    return [[t.decode("utf-8") for t in row] for row in out["texts"].numpy()]


def check_generation_args(seed_text: str, length: int, temperature: float,
                          top_k: int = 0, top_p: float = 1.0, num_samples: int = 1) -> None:
    """Raises UsageError on arguments generation cannot use."""
    if not seed_text:
        raise UsageError("seed text must not be empty")
    if not isinstance(length, int) or length <= 0:
        raise UsageError(f"length must be a positive number of characters, got {length!r}")
    if not isinstance(num_samples, int) or num_samples <= 0:
        raise UsageError(f"num_samples must be a positive number, got {num_samples!r}")
    if not temperature >= 0:  # also catches NaN
        raise UsageError(f"temperature must be >= 0 (0 = greedy), got {temperature!r}")
    if top_k < 0:
        raise UsageError(f"top_k must be >= 0 (0 = all characters), got {top_k!r}")
    if not 0.0 < top_p <= 1.0:
        raise UsageError(f"top_p must be in (0, 1] (1 = all characters), got {top_p!r}")
