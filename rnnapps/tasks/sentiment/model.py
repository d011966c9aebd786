"""Sentiment model: the text classifier with one sigmoid output."""

from __future__ import annotations

import keras

from rnnapps.tasks.classify.model import build_classifier, rounded_accuracy  # noqa: F401
from rnnapps.tasks.sentiment.config import SentimentConfig


def build_model(config: SentimentConfig) -> keras.Model:
    """Embedding -> recurrent stack -> Dense(1, sigmoid), on token ids
    (``rnnapps.tasks.classify.model.build_classifier`` with two classes)."""
    return build_classifier(config.model, config.data.max_tokens, 2,
                            seed=config.train.seed, name="sentiment")
