"""Texts -> token ids -> batches cut to their longest text.

The text pipeline every text classifier here shares (``sentiment`` too):
the vocabulary is adapted on the training texts only, each split is
vectorised once, and a batch carries no more padding than its longest text.
Texts are handed to TensorFlow a batch at a time, so the corpus is never held
twice (as Python strings and again as one string tensor).
"""

from __future__ import annotations

from typing import Callable, Iterator, Sequence

import keras
import numpy as np
import tensorflow as tf

from rnnapps.training import Epochs

VOCABULARY = "vocabulary.txt"
CLASSES = "classes.json"
"""The class names (in id order) and the sequence length a run chose."""
CHUNK = 4096
"""Texts per call of the vectoriser (bounds the memory one call holds)."""


def make_vectorizer(max_tokens: int, seq_length: int, *, tokens: str = "word",
                    standardize: str | Callable | None = "lower_and_strip_punctuation",
                    vocabulary: Sequence[str] | None = None):
    """The ``TextVectorization`` layer: text -> ``seq_length`` token ids.

    Id 0 is padding and id 1 the out-of-vocabulary token; pass ``vocabulary``
    (as written to ``vocabulary.txt``) to rebuild a fitted one.

    Args:
        max_tokens: Vocabulary size, padding and OOV included.
        seq_length: Ids per text (longer texts are cut, shorter ones padded).
        tokens: ``"word"`` (split on whitespace) or ``"char"``.
        standardize: Keras's name (``"none"``: as they are) or a registered
            function; ``"char"`` tokens only lower-case (punctuation is
            information there).
        vocabulary: A fitted vocabulary.
    """
    return keras.layers.TextVectorization(
        max_tokens=max_tokens, output_sequence_length=seq_length, vocabulary=vocabulary,
        standardize="lower" if tokens == "char" else (
            None if standardize == "none" else standardize),
        split="character" if tokens == "char" else "whitespace")


def chunks(texts: Sequence[str], size: int = CHUNK) -> Iterator[tf.Tensor]:
    """The texts as string tensors of at most ``size`` texts each."""
    for i in range(0, len(texts), size):
        yield tf.constant(np.asarray(texts[i:i + size], dtype=object))


def adapt(vectorizer, texts: Sequence[str]) -> None:
    """Fits the vocabulary on ``texts``, streamed a chunk at a time."""
    vectorizer.adapt(tf.data.Dataset.from_generator(
        lambda: chunks(texts), output_signature=tf.TensorSpec([None], tf.string)))


def text_lengths(texts: Sequence[str], tokens: str = "word") -> np.ndarray:
    """Each text's length in whitespace-separated words (or characters).

    Cheaper than vectorising and close enough to choose a sequence length:
    the standardiser only removes punctuation.
    """
    count = len if tokens == "char" else (lambda text: len(text.split()))
    return np.fromiter((count(text) for text in texts), np.int64, len(texts))


def choose_seq_length(texts: Sequence[str], tokens: str = "word",
                      percentile: float = 99.0) -> int:
    """The ``percentile``-th percentile of the texts' lengths (at least 1)."""
    return max(1, int(np.ceil(np.percentile(text_lengths(texts, tokens), percentile))))


def vectorize(vectorizer, texts: Sequence[str], *columns: np.ndarray) -> tf.data.Dataset:
    """An unbatched dataset of ``(token_ids, *columns)``, vectorised once.

    Each text's ids are kept without their padding (a text with no tokens
    keeps one padding id): IMDB's reviews average about a quarter of a
    800-token window, so the padded array would hold four times the memory
    and every shuffle buffer of it too. ``batch_texts`` pads each batch to its
    longest text, which is what cutting padded batches gave.

    Args:
        vectorizer: A fitted ``TextVectorization``.
        texts: The texts.
        *columns: Per-text arrays to pair with the ids (labels, weights).
    """
    values, lengths = [np.zeros(0, np.int32)], [np.zeros(0, np.int64)]
    for chunk in chunks(texts):
        ids = vectorizer(chunk).numpy().astype(np.int32)
        length = np.maximum(np.count_nonzero(ids, axis=1), 1)  # ids are a prefix, then 0s
        values.append(ids[np.arange(ids.shape[1]) < length[:, None]])
        lengths.append(length)
    ragged = tf.RaggedTensor.from_row_lengths(np.concatenate(values), np.concatenate(lengths))
    # The rows already arrive as tensors, but the element spec stays ragged
    # (which padded batching refuses) until a map restates it.
    return tf.data.Dataset.from_tensor_slices((ragged, *columns)).map(lambda *row: row)


def trim_padding(ids, *rest):
    """Cuts a batch's trailing padding down to its longest text, and reads a
    text with no tokens as one out-of-vocabulary token.

    Lossless: the embedding masks padding, so the recurrent layers would only
    have carried their state through those steps unchanged. A text that
    standardises to nothing (``""``, ``"!!!"``) would be a fully masked row,
    which has no defined output (cuDNN rejects it; a max over no steps has
    none), so it gets the OOV id 1 in its first step: "an unknown word".
    """
    positions = tf.range(1, tf.shape(ids)[1] + 1)
    length = tf.reduce_max(tf.where(ids != 0, positions, 0))
    ids = ids[:, :tf.maximum(length, 1)]
    empty = tf.reduce_all(ids == 0, axis=1, keepdims=True)  # [batch, 1]
    first = tf.range(tf.shape(ids)[1])[None, :] == 0  # [1, steps]
    return (tf.where(empty & first, tf.ones_like(ids), ids), *rest)


def token_counts(texts: tf.data.Dataset) -> np.ndarray:
    """The number of real (non-padding) tokens of each ``(ids, ...)`` element."""
    counts = texts.map(lambda ids, *rest: tf.math.count_nonzero(ids))
    return np.concatenate(list(counts.batch(CHUNK).as_numpy_iterator()) or [np.zeros(0)])


def _bucket_bounds(seq_length: int) -> list[int]:
    return sorted({seq_length * i // 8 + 1 for i in range(1, 8)})


def bucketed_steps(lengths: np.ndarray, seq_length: int, batch_size: int) -> int:
    """How many batches ``bucket_by_length`` makes of texts of these lengths
    (each bucket's last batch may be short), so an epoch's length is known."""
    bounds = _bucket_bounds(seq_length)
    counts = np.bincount(np.digitize(lengths, bounds), minlength=len(bounds) + 1)
    return int(np.sum(-(-counts // batch_size)))


def bucket_by_length(texts: tf.data.Dataset, seq_length: int, batch_size: int,
                     lengths: np.ndarray | None = None) -> tf.data.Dataset:
    """Batches ``(ids, ...)`` elements so each batch holds texts of similar
    length (8 buckets up to ``seq_length``), in the order the buckets fill.

    ``lengths`` (``token_counts`` of the same texts, in any order) saves
    counting them again for every epoch's shuffle.
    """
    bounds = _bucket_bounds(seq_length)
    lengths = token_counts(texts) if lengths is None else lengths
    return texts.bucket_by_sequence_length(
        lambda ids, *rest: tf.math.count_nonzero(ids, dtype=tf.int32), bounds,
        [batch_size] * (len(bounds) + 1)).apply(tf.data.experimental.assert_cardinality(
            bucketed_steps(lengths, seq_length, batch_size)))


def batch_texts(texts: tf.data.Dataset, batch_size: int, bucket_up_to: int | None = None,
                lengths: np.ndarray | None = None) -> tf.data.Dataset:
    """Batches ``(ids, ...)`` elements, each batch cut to its longest text;
    with ``bucket_up_to`` (the sequence length), texts of similar length
    share a batch (``bucket_by_length``, which takes ``lengths``)."""
    batches = (texts.padded_batch(batch_size) if bucket_up_to is None
               else bucket_by_length(texts, bucket_up_to, batch_size, lengths))
    return batches.map(trim_padding)


def train_epochs(texts: tf.data.Dataset, n: int, batch_size: int, seed: int,
                 bucket_up_to: int | None = None) -> Epochs:
    """The training epochs: one fixed shuffle per (seed, epoch), so a resumed
    run sees the same batches; with ``bucket_up_to``, batches of similar length.

    Args:
        texts: The vectorised training texts (``vectorize``: in memory).
        n: How many there are.
        batch_size: Texts per batch.
        seed: The run's seed.
        bucket_up_to: The sequence length, to bucket by length (None: no bucketing).
    """
    # Counted once: every epoch's shuffle holds the same texts.
    lengths = token_counts(texts) if bucket_up_to else None
    steps = (bucketed_steps(lengths, bucket_up_to, batch_size) if bucket_up_to
             else -(-n // batch_size))

    def for_epoch(epoch: int) -> tf.data.Dataset:
        shuffled = texts.shuffle(n, seed=seed + epoch, reshuffle_each_iteration=False)
        return batch_texts(shuffled, batch_size, bucket_up_to, lengths).prefetch(
            tf.data.AUTOTUNE)

    return Epochs(for_epoch, steps)


def eval_batches(vectorizer, texts: Sequence[str], labels: np.ndarray,
                 batch_size: int) -> tf.data.Dataset:
    """Validation/test batches: vectorised once, cut to their longest text, cached."""
    return batch_texts(vectorize(vectorizer, texts, labels), batch_size).cache().prefetch(
        tf.data.AUTOTUNE)
