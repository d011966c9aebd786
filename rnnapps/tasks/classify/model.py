"""The text classifier: embedding -> recurrent stack -> pooling -> class probabilities."""

from __future__ import annotations

import keras

from rnnapps.layers import BigramEmbedding, MaskedMaxPooling, NgramConvolution, recurrent_stack
from rnnapps.tasks.classify.config import TextModel


def build_classifier(model: TextModel, max_tokens: int, n_classes: int, *,
                     seed: int | None = None, name: str = "classifier") -> keras.Model:
    """Embedding -> recurrent stack -> pooling -> sigmoid (2 classes) or softmax.

    The embedding masks id 0, so the recurrent layers skip the padding that
    ``TextVectorization`` appends: the final state is the one after the last
    real token, and ``pooling="max"`` takes the maximum over real tokens only.
    ``bigram_buckets > 0`` adds hashed word-pair embeddings
    (``rnnapps.layers.BigramEmbedding``); ``ngram_filters > 0`` joins
    convolutional n-gram detectors of the embeddings
    (``rnnapps.layers.NgramConvolution``) to the recurrent summary, with
    dropout on the joined features.

    Args:
        model: The model section of the config.
        max_tokens: Vocabulary size.
        n_classes: Number of classes: 2 gives one sigmoid output (the
            probability of class 1), more a softmax over the classes.
        seed: Seed of the dropout masks.
        name: The model's name.

    Returns:
        A ``keras.Sequential`` model, or a functional one with n-gram detectors.
    """
    if model.bigram_buckets:
        embedding = BigramEmbedding(max_tokens, model.embedding_dim, model.bigram_buckets,
                                    name="embedding")
    else:
        embedding = keras.layers.Embedding(max_tokens, model.embedding_dim, mask_zero=True,
                                           name="embedding")
    max_pool = model.pooling == "max"
    recurrent = [*recurrent_stack(model, return_sequences=max_pool, seed=seed),
                 *([MaskedMaxPooling(name="max_over_time")] if max_pool else [])]
    binary = n_classes == 2
    output = keras.layers.Dense(1 if binary else n_classes,  # float32 under mixed precision
                                activation="sigmoid" if binary else "softmax",
                                dtype="float32",
                                name="probability" if binary else "probabilities")
    # Any length: batches come cut to their longest text (trim_padding).
    ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    if not model.ngram_filters:
        return keras.Sequential([ids, embedding, *recurrent, output], name=name)
    embedded = embedding(ids)
    summary = embedded
    for layer in recurrent:
        summary = layer(summary)
    joined = keras.layers.Concatenate(name="joined")(
        [summary, NgramConvolution(model.ngram_filters, name="ngrams")(embedded)])
    dropped = keras.layers.Dropout(model.dropout, seed=seed, name="joined_dropout")(joined)
    return keras.Model(ids, output(dropped), name=name)


def loss_and_metrics(n_classes: int) -> tuple[keras.losses.Loss, list]:
    """Cross-entropy and accuracy for one sigmoid (2 classes) or a softmax."""
    if n_classes == 2:
        return keras.losses.BinaryCrossentropy(), [
            keras.metrics.MeanMetricWrapper(rounded_accuracy, name="accuracy")]
    return keras.losses.SparseCategoricalCrossentropy(), [
        keras.metrics.SparseCategoricalAccuracy(name="accuracy")]


@keras.saving.register_keras_serializable(package="rnnapps")
def rounded_accuracy(labels, probabilities):
    """Binary accuracy against labels rounded to 0/1, so a soft label (a
    teacher's probability) counts as the class it favours."""
    return keras.metrics.binary_accuracy(keras.ops.round(labels), probabilities)
