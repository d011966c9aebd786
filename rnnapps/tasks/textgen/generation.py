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
