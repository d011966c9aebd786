"""Sentiment data: review text -> token ids, validation split, batches cut to length.

The vocabulary is adapted on the training split only; the validation split
is carved from the training reviews, never from the test reviews.
"""

from __future__ import annotations

import re
import string
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from rnnapps.data.imdb import Reviews
from rnnapps.tasks.sentiment.config import SentimentConfig

VOCABULARY = "vocabulary.txt"


@keras.saving.register_keras_serializable(package="rnnapps")
def standardize_review(texts):
    """Lower-cases, turns the ``<br />`` tags IMDB reviews contain into spaces,
    and strips punctuation."""
    texts = tf.strings.lower(texts)
    texts = tf.strings.regex_replace(texts, r"<br\s*/?>", " ")
    return tf.strings.regex_replace(texts, f"[{re.escape(string.punctuation)}]", "")


def make_vectorizer(config: SentimentConfig, vocabulary: Sequence[str] | None = None):
    """Returns the ``TextVectorization`` layer: text -> ``seq_length`` token ids.

    Id 0 is padding and id 1 the out-of-vocabulary token; pass ``vocabulary``
    (as written to ``vocabulary.txt``) to rebuild a fitted one.
    """
    return keras.layers.TextVectorization(
        max_tokens=config.data.max_tokens, standardize=standardize_review,
        output_sequence_length=config.data.seq_length, vocabulary=vocabulary)


def split_validation(train: Reviews, fraction: float, seed: int) -> tuple[Reviews, Reviews]:
    """Splits a random ``fraction`` of the training reviews off for validation."""
    order = np.random.default_rng(seed).permutation(len(train))
    n_val = int(round(len(train) * fraction))
    pick = lambda idx: Reviews(train.texts[idx], train.labels[idx])  # noqa: E731
    return pick(order[n_val:]), pick(order[:n_val])


def trim_padding(ids, labels):
    """Cuts a batch's trailing padding down to its longest review.

    Lossless: the embedding masks padding, so the recurrent layers would only
    have carried their state through those steps unchanged.
    """
    positions = tf.range(1, tf.shape(ids)[1] + 1)
    length = tf.reduce_max(tf.where(ids != 0, positions, 0))
    return ids[:, :tf.maximum(length, 1)], labels


def review_lengths(reviews: tf.data.Dataset) -> np.ndarray:
    """The number of real (non-padding) tokens of each ``(ids, label)`` pair."""
    return np.concatenate([np.count_nonzero(ids, axis=1) for ids, _ in
                           reviews.batch(4096).as_numpy_iterator()] or [np.zeros(0)])


def bucket_by_length(reviews: tf.data.Dataset, seq_length: int, batch_size: int,
                     lengths: np.ndarray | None = None) -> tf.data.Dataset:
    """Batches ``(ids, label)`` pairs so each batch holds reviews of similar
    length (8 buckets up to ``seq_length``), in the order the buckets fill.

    ``lengths`` (``review_lengths`` of the same reviews, in any order) saves
    counting them again for every epoch's shuffle.
    """
    bounds = _bucket_bounds(seq_length)
    lengths = review_lengths(reviews) if lengths is None else lengths
    return reviews.bucket_by_sequence_length(
        lambda ids, label: tf.math.count_nonzero(ids, dtype=tf.int32), bounds,
        [batch_size] * (len(bounds) + 1)).apply(tf.data.experimental.assert_cardinality(
            bucketed_steps(lengths, seq_length, batch_size)))


def _bucket_bounds(seq_length: int) -> list[int]:
    return sorted({seq_length * i // 8 + 1 for i in range(1, 8)})


def bucketed_steps(lengths: np.ndarray, seq_length: int, batch_size: int) -> int:
    """How many batches ``bucket_by_length`` makes of reviews of these lengths
    (each bucket's last batch may be short), so an epoch's length is known."""
    bounds = _bucket_bounds(seq_length)
    counts = np.bincount(np.digitize(lengths, bounds), minlength=len(bounds) + 1)
    return int(np.sum(-(-counts // batch_size)))


def batch_reviews(reviews: tf.data.Dataset, batch_size: int,
                  bucket_up_to: int | None = None,
                  lengths: np.ndarray | None = None) -> tf.data.Dataset:
    """Batches ``(ids, label)`` pairs, each batch cut to its longest review;
    with ``bucket_up_to`` (the sequence length), reviews of similar length
    share a batch (``bucket_by_length``, which takes ``lengths``)."""
    batches = (reviews.batch(batch_size) if bucket_up_to is None
               else bucket_by_length(reviews, bucket_up_to, batch_size, lengths))
    return batches.map(trim_padding)


def vectorize(vectorizer, reviews: Reviews, batch_size: int = 1024) -> tf.data.Dataset:
    """Turns reviews into an unbatched dataset of ``(token_ids, label)``, vectorised once."""
    ids = np.concatenate([vectorizer(reviews.texts[i:i + batch_size].astype(str)).numpy()
                          for i in range(0, len(reviews), batch_size)])
    return tf.data.Dataset.from_tensor_slices((ids.astype(np.int32),
                                               reviews.labels.astype(np.float32)))
