"""Text-generation data: characters -> ids, and the windows a model trains on.

The character vocabulary comes from the training split only; characters it
lacks map to id 0, the out-of-vocabulary id, and are never generated.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from rnnapps.data.text import TextSplits
from rnnapps.errors import UsageError

VOCABULARY = "vocabulary.json"
OOV_ID = 0
"""Id of characters missing from the training split (``StringLookup``'s OOV index)."""


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
        # As many windows every epoch (an offset can leave room for one more:
        # a random one is left out), so an epoch's length is known in advance.
        order = rng.permutation(len(x))[:windows_per_epoch(len(ids), seq_length)]
        x, y = x[order], y[order]
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size).prefetch(tf.data.AUTOTUNE)


def windows_per_epoch(n_ids: int, seq_length: int) -> int:
    """Windows ``window_dataset`` gives a shuffled epoch: those that fit at any offset."""
    offset = seq_length if n_ids > 2 * (seq_length + 1) else 0
    return (n_ids - offset) // (seq_length + 1)
