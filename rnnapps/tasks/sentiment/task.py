"""IMDB sentiment classification: review text -> probability it is positive.

Reads top to bottom as data -> experiment -> export. Self-training
(``teacher``): an exported model labels the 50,000 unlabelled reviews with
its probabilities, and a new model trains on the labelled reviews plus those
soft labels (validation and test stay human-labelled).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

import rnnapps.export
from rnnapps.data.imdb import Reviews, load_imdb
from rnnapps.tasks.base import Experiment, Run, Task
from rnnapps.tasks.classify.data import adapt, eval_batches, train_epochs, trim_padding, vectorize
from rnnapps.tasks.classify.model import loss_and_metrics
from rnnapps.tasks.sentiment.config import SentimentConfig
from rnnapps.tasks.sentiment.data import VOCABULARY, make_vectorizer, split_validation
from rnnapps.tasks.sentiment.model import build_model
from rnnapps.tasks.sentiment.serving import classify


class SentimentTask(Task):
    """The sentiment task (see ``rnnapps.tasks.base`` for the contract)."""

    name = "sentiment"
    config_class = SentimentConfig
    files = (VOCABULARY,)

    def load(self, config: SentimentConfig, verbose: int = 1) -> dict[str, Reviews]:
        """Loads the labelled IMDB splits named by ``config.data.data`` (without
        it, TFDS's in ``config.data.tfds_dir``); with a ``teacher``, also
        ``"pseudo"``: the unlabelled reviews with its probabilities.

        Raises:
            UsageError: If the data or the teacher cannot be read.
        """
        data, teacher = config.data, config.data.teacher
        if teacher is None:
            return load_imdb(data.data, tfds_dir=data.tfds_dir, verbose=verbose)
        # Loaded for the labelling only (not kept in the export cache while the
        # student trains); a bad path fails before the data loads.
        loaded, _, _ = rnnapps.export.load_saved_model(teacher, self.name)
        splits = load_imdb(data.data, unlabelled=True, tfds_dir=data.tfds_dir, verbose=verbose)
        unlabelled = splits.pop("unlabelled")
        if verbose:
            print(f"Labelling {len(unlabelled)} unlabelled reviews with the teacher {teacher}")
        splits["pseudo"] = Reviews(unlabelled.texts,
                                   classify(loaded, unlabelled.texts, verbose=verbose))
        return splits

    def experiment(self, config: SentimentConfig, splits: dict[str, Reviews]) -> Experiment:
        """Splits off validation, adapts the vocabulary on the rest of train,
        vectorises every split once and builds the model."""
        keras.utils.set_random_seed(config.train.seed)  # the model's initial weights
        train_reviews, val_reviews = split_validation(
            splits["train"], config.data.validation_split, config.train.seed)
        notes, data_info = [], {"train_reviews": len(train_reviews)}
        if "pseudo" in splits:
            train_reviews = _with_pseudo_labels(train_reviews, splits["pseudo"], notes, data_info)
        vectorizer = make_vectorizer(config)
        adapt(vectorizer, train_reviews.texts)
        batch = config.train.batch_size
        train_data = train_epochs(
            vectorize(vectorizer, train_reviews.texts,
                      train_reviews.labels.astype(np.float32)),
            len(train_reviews), batch, config.train.seed,
            config.data.seq_length if config.data.bucket_by_length else None)

        def batched(reviews: Reviews):
            return eval_batches(vectorizer, reviews.texts, reviews.labels.astype(np.float32),
                                batch)

        loss, metrics = loss_and_metrics(2)
        return Experiment(
            build_model(config), loss, metrics, train_data,
            batched(val_reviews) if len(val_reviews) else None, batched(splits["test"]),
            files={VOCABULARY: "\n".join(vectorizer.get_vocabulary())},
            notes=notes, data_info=data_info)

    def build_model(self, config: SentimentConfig, files: dict) -> keras.Model:
        return build_model(config)

    def serving(self, run: Run) -> tuple[list, list]:
        """``classify`` (also ``serving_default``): a batch of raw review strings
        ``texts`` -> ``{"probability": [batch]}``; vectorisation runs in the graph."""
        vectorizer = make_vectorizer(run.config, vocabulary=run.files[VOCABULARY].split("\n"))
        vectorizer.build((None,))
        model = run.model

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
        def classify_texts(texts):
            (ids,) = trim_padding(vectorizer(texts))  # short reviews: fewer steps
            probability = model(ids, training=False)
            return {"probability": tf.reshape(probability, [-1])}

        return [model, vectorizer], [("classify", classify_texts,
                                      classify_texts.input_signature)]


def _with_pseudo_labels(train: Reviews, pseudo: Reviews, notes: list, data_info: dict) -> Reviews:
    """The labelled training reviews plus the teacher-labelled ones."""
    data_info["pseudo_labelled"] = len(pseudo)
    notes.append(f"Self-training: {len(pseudo)} teacher-labelled reviews "
                 f"({np.mean(pseudo.labels > 0.5):.1%} positive) join the "
                 f"{len(train)} labelled training reviews")
    return Reviews(np.concatenate([train.texts, pseudo.texts]),
                   np.concatenate([train.labels.astype(np.float32), pseudo.labels]))


TASK = SentimentTask()
# The Task's methods as module functions: rnnapps.tasks.sentiment.train(config) etc.
load, experiment, train, export, load_run = (TASK.load, TASK.experiment, TASK.train,
                                             TASK.export, TASK.load_run)
