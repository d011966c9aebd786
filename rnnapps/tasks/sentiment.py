"""IMDB sentiment classification: review text -> probability it is positive.

Reads top to bottom as data -> model -> train -> export -> predict. The
vocabulary is adapted on the training split only; the validation split is
carved from the training reviews, never from the test reviews.

Self-training (``teacher``): an exported model labels the 50,000 unlabelled
reviews with its probabilities, and a new model trains on the labelled
reviews plus those soft labels (validation and test stay human-labelled).
"""

from __future__ import annotations

import re
import string
import sys
from pathlib import Path
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from rnnapps.config import SentimentConfig
from rnnapps.data.imdb import Reviews, load_imdb
from rnnapps.errors import UsageError
from rnnapps.export import export_saved_model, load_saved_model
from rnnapps.layers import BigramEmbedding, MaskedMaxPooling, recurrent_stack
from rnnapps.tasks import runs

TASK = "sentiment"
VOCABULARY = "vocabulary.txt"


# ------------------------------------------------------------------ data
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
    bounds = sorted({seq_length * i // 8 + 1 for i in range(1, 8)})
    # How many batches that makes, so progress bars know the epoch's length.
    lengths = review_lengths(reviews) if lengths is None else lengths
    counts = np.bincount(np.digitize(lengths, bounds), minlength=len(bounds) + 1)
    return reviews.bucket_by_sequence_length(
        lambda ids, label: tf.math.count_nonzero(ids, dtype=tf.int32), bounds,
        [batch_size] * (len(bounds) + 1)).apply(
        tf.data.experimental.assert_cardinality(int(np.sum(-(-counts // batch_size)))))


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


# ----------------------------------------------------------------- model
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


# ----------------------------------------------------------------- train
def load(config: SentimentConfig) -> dict[str, Reviews]:
    """Loads the labelled IMDB splits named by ``config.data.data``; with a
    ``teacher``, also ``"pseudo"``: the unlabelled reviews with its probabilities.

    Raises:
        UsageError: If the data or the teacher cannot be read.
    """
    teacher = config.data.teacher
    if teacher is None:
        return load_imdb(config.data.data)
    loaded, _, _ = load_saved_model(teacher, TASK)  # a bad path fails before the data loads
    splits = load_imdb(config.data.data, unlabelled=True)
    unlabelled = splits.pop("unlabelled")
    print(f"Labelling {len(unlabelled)} unlabelled reviews with the teacher {teacher}")
    splits["pseudo"] = Reviews(unlabelled.texts, _classify(loaded, unlabelled.texts, verbose=1))
    return splits


def experiment(config: SentimentConfig, splits: dict[str, Reviews]) -> runs.Experiment:
    """Splits off validation, adapts the vocabulary on the rest of train, vectorises
    every split once and builds the model (what ``train`` and ``tune`` share)."""
    keras.utils.set_random_seed(config.train.seed)  # the model's initial weights
    train_reviews, val_reviews = split_validation(
        splits["train"], config.data.validation_split, config.train.seed)
    notes, data_info = [], {"train_reviews": len(train_reviews)}
    if "pseudo" in splits:
        pseudo = splits["pseudo"]
        train_reviews = Reviews(np.concatenate([train_reviews.texts, pseudo.texts]),
                                np.concatenate([train_reviews.labels.astype(np.float32),
                                                pseudo.labels]))
        data_info["pseudo_labelled"] = len(pseudo)
        notes.append(f"Self-training: {len(pseudo)} teacher-labelled reviews "
                     f"({np.mean(pseudo.labels > 0.5):.1%} positive) join the "
                     f"{data_info['train_reviews']} labelled training reviews")
    vectorizer = make_vectorizer(config)
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(train_reviews.texts.astype(str)).batch(1024))
    batch = config.train.batch_size
    train_ds = vectorize(vectorizer, train_reviews).cache()
    bucket_up_to = config.data.seq_length if config.data.bucket_by_length else None
    # Counted once: every epoch's shuffle holds the same reviews.
    lengths = review_lengths(train_ds) if bucket_up_to else None

    def train_data(epoch: int) -> tf.data.Dataset:
        # One fixed shuffle per (seed, epoch): a resumed run sees the same batches.
        shuffled = train_ds.shuffle(len(train_reviews), seed=config.train.seed + epoch,
                                    reshuffle_each_iteration=False)
        return batch_reviews(shuffled, batch, bucket_up_to, lengths).prefetch(tf.data.AUTOTUNE)

    def batched(reviews: Reviews) -> tf.data.Dataset:
        return batch_reviews(vectorize(vectorizer, reviews), batch)

    val_ds = batched(val_reviews).cache().prefetch(tf.data.AUTOTUNE) if len(val_reviews) else None
    test_ds = batched(splits["test"]).prefetch(tf.data.AUTOTUNE)
    return runs.Experiment(build_model(config), keras.losses.BinaryCrossentropy(),
                           [keras.metrics.MeanMetricWrapper(rounded_accuracy, name="accuracy")],
                           train_data, val_ds, test_ds,
                           files={VOCABULARY: "\n".join(vectorizer.get_vocabulary())},
                           notes=notes, data_info=data_info)


def train(config: SentimentConfig, **options) -> dict:
    """Loads IMDB, trains with the shared loop, evaluates on test, exports.

    Args:
        config: The run's settings.
        **options: ``run_dir``, ``resume``, ``export_dir``, ``tensorboard``,
            ``verbose``, as for ``rnnapps.tasks.runs.train_task``.

    Returns:
        ``metrics.json`` contents plus ``run_dir`` and ``export`` paths.
    """
    return runs.train_task(sys.modules[__name__], config, **options)


# ---------------------------------------------------------------- export
def export(run_dir: str | Path, export_dir: str | Path = "saved_models") -> Path:
    """Exports a finished run as ``<export_dir>/sentiment/<N>``.

    The ``serving_default`` signature (also callable as ``classify``) takes a
    batch of raw review strings ``texts`` and returns ``{"probability": [batch]}``:
    vectorisation happens inside the graph.

    Raises:
        UsageError: If ``run_dir`` is not a finished sentiment run.
    """
    run_dir = Path(run_dir)
    config = runs.open_run(run_dir, SentimentConfig, VOCABULARY)
    vocabulary = (run_dir / VOCABULARY).read_text(encoding="utf-8").split("\n")
    vectorizer = make_vectorizer(config, vocabulary=vocabulary)
    vectorizer.build((None,))
    model = build_model(config)
    model.load_weights(run_dir / runs.WEIGHTS)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    def classify(texts):
        ids, _ = trim_padding(vectorizer(texts), None)  # short reviews: fewer steps
        probability = model(ids, training=False)
        return {"probability": tf.reshape(probability, [-1])}

    return export_saved_model(
        Path(export_dir) / TASK, resources=[model, vectorizer],
        endpoints=[("classify", classify, classify.input_signature)],
        files={"config.json": config.to_dict(), VOCABULARY: "\n".join(vocabulary),
               "metrics.json": runs.run_metrics(run_dir)})


# ------------------------------------------------------- serve the export
def predict(model_dir: str | Path, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
    """Probabilities that each review is positive, from an exported model.

    Raises:
        UsageError: On an empty review or a directory that is not a sentiment
            SavedModel.
    """
    for i, text in enumerate(texts):
        if not text or not text.strip():
            raise UsageError(f"review {i + 1} is empty")
    loaded, _, _ = load_saved_model(model_dir, TASK)
    return _classify(loaded, texts, batch_size)


def _classify(loaded, texts: Sequence[str], batch_size: int = 256,
              verbose: int = 0) -> np.ndarray:
    """Probabilities from a loaded export, batched by length (``classify``
    cuts each batch to its longest review, so similar lengths waste nothing)."""
    order = np.argsort([len(t) for t in texts], kind="stable")
    bar = keras.utils.Progbar(len(texts), unit_name="review") if verbose else None
    probabilities = np.zeros(len(texts), np.float32)
    for i in range(0, len(texts), batch_size):
        picked = order[i:i + batch_size]
        batch = tf.constant([str(texts[j]) for j in picked])
        probabilities[picked] = loaded.classify(batch)["probability"].numpy()
        if bar:
            bar.add(len(picked))
    return probabilities


def evaluate(model_dir: str | Path, data: str | Path | None = None,
             batch_size: int = 256) -> dict:
    """Accuracy and log loss of an exported model on the IMDB test reviews.

    Returns:
        ``{"accuracy", "loss", "reviews", "model"}``.
    """
    loaded, _, path = load_saved_model(model_dir, TASK)
    test = load_imdb(data)["test"]
    p = _classify(loaded, test.texts, batch_size, verbose=1).astype(np.float64)
    y = test.labels
    eps = 1e-7
    q = np.clip(p, eps, 1 - eps)
    return {"accuracy": float(np.mean((p > 0.5) == (y == 1))),
            "loss": float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))),
            "reviews": int(len(y)), "model": str(path)}
