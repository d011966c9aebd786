"""Sentiment model: embedding -> recurrent stack -> Dense(1, sigmoid)."""

from __future__ import annotations

import keras

from rnnapps.layers import BigramEmbedding, MaskedMaxPooling, recurrent_stack
from rnnapps.tasks.sentiment.config import SentimentConfig


def build_model(config: SentimentConfig) -> keras.Model:
    """Embedding -> recurrent stack -> Dense(1, sigmoid), on token ids.

    The embedding masks id 0, so the recurrent layers skip the padding that
    ``TextVectorization`` appends: the final state is the one after the last
    real token, and ``pooling="max"`` takes the maximum over real tokens only.
    ``bigram_buckets > 0`` adds hashed word-pair embeddings
    (``rnnapps.layers.BigramEmbedding``).
    """
    model, data = config.model, config.data
    if model.bigram_buckets:
        embedding = BigramEmbedding(data.max_tokens, model.embedding_dim,
                                    model.bigram_buckets, name="embedding")
    else:
        embedding = keras.layers.Embedding(data.max_tokens, model.embedding_dim,
                                           mask_zero=True, name="embedding")
    max_pool = model.pooling == "max"
    return keras.Sequential([
        # Any length: batches come cut to their longest review (trim_padding).
        keras.Input(shape=(None,), dtype="int32", name="token_ids"),
        embedding,
        *recurrent_stack(model, return_sequences=max_pool, seed=config.train.seed),
        *([MaskedMaxPooling(name="max_over_time")] if max_pool else []),
        keras.layers.Dense(1, activation="sigmoid", name="probability"),
    ], name="sentiment")


@keras.saving.register_keras_serializable(package="rnnapps")
def rounded_accuracy(labels, probabilities):
    """Binary accuracy against labels rounded to 0/1, so a teacher's soft
    label counts as the class it favours."""
    return keras.metrics.binary_accuracy(keras.ops.round(labels), probabilities)
