"""Sentiment data: IMDB's text standardiser and the random validation split.

Everything else (vectorising, length-cut and bucketed batches) is the text
classifier's pipeline, ``rnnapps.tasks.classify.data``. The vocabulary is
adapted on the training split only; the validation split is carved from the
training reviews, never from the test reviews.
"""

from __future__ import annotations

import re
import string
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from rnnapps.data.imdb import Reviews
from rnnapps.tasks.classify import data as text_data
from rnnapps.tasks.sentiment.config import SentimentConfig

VOCABULARY = text_data.VOCABULARY


@keras.saving.register_keras_serializable(package="rnnapps")
def standardize_review(texts):
    """Lower-cases, turns the ``<br />`` tags IMDB reviews contain into spaces,
    and strips punctuation."""
    texts = tf.strings.lower(texts)
    texts = tf.strings.regex_replace(texts, r"<br\s*/?>", " ")
    return tf.strings.regex_replace(texts, f"[{re.escape(string.punctuation)}]", "")


def make_vectorizer(config: SentimentConfig, vocabulary: Sequence[str] | None = None):
    """Returns the ``TextVectorization`` layer: review -> ``seq_length`` token ids.

    Id 0 is padding and id 1 the out-of-vocabulary token; pass ``vocabulary``
    (as written to ``vocabulary.txt``) to rebuild a fitted one.
    """
    return text_data.make_vectorizer(config.data.max_tokens, config.data.seq_length,
                                     standardize=standardize_review, vocabulary=vocabulary)


def split_validation(train: Reviews, fraction: float, seed: int) -> tuple[Reviews, Reviews]:
    """Splits a random ``fraction`` of the training reviews off for validation."""
    order = np.random.default_rng(seed).permutation(len(train))
    n_val = int(round(len(train) * fraction))
    pick = lambda idx: Reviews(train.texts[idx], train.labels[idx])  # noqa: E731
    return pick(order[n_val:]), pick(order[:n_val])
