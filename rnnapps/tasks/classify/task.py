"""Text classification on a user's own labelled texts, any number of classes.

Reads top to bottom as data -> experiment -> export: the labelled splits are
read and checked (``rnnapps.data.labelled``), missing validation/test splits
are cut from the training texts (stratified, seeded), the class list comes
from the training split and is stored beside the vocabulary, and the test
split is scored with a per-class report (``report.py``).
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from rnnapps.data.labelled import (
    LabelledTexts,
    class_names,
    label_ids,
    load_tfds,
    read_labelled,
    stratified_split,
)
from rnnapps.errors import UsageError
from rnnapps.tasks.base import Experiment, Run, Task
from rnnapps.tasks.classify.config import ClassifyConfig
from rnnapps.tasks.classify.data import (
    CLASSES,
    VOCABULARY,
    adapt,
    choose_seq_length,
    eval_batches,
    make_vectorizer,
    train_epochs,
    trim_padding,
    vectorize,
)
from rnnapps.tasks.classify.model import build_classifier, loss_and_metrics
from rnnapps.tasks.classify.report import classification_report, plot_confusion

CONFUSION = "confusion.png"


@dataclasses.dataclass
class Corpus:
    """The labelled splits of one run; ``labels`` are class ids into ``classes``."""

    train: LabelledTexts
    val: LabelledTexts | None
    test: LabelledTexts
    classes: list[str]


class ClassifyTask(Task):
    """The classify task (see ``rnnapps.tasks.base`` for the contract)."""

    name = "classify"
    config_class = ClassifyConfig
    files = (VOCABULARY, CLASSES)

    def load(self, config: ClassifyConfig, verbose: int = 1) -> Corpus:
        """Reads the labelled texts, fixes the class list from the training
        split, maps every split's labels to class ids and cuts the missing
        validation/test splits from the training texts (stratified).

        Raises:
            UsageError: On unreadable data, fewer than two classes, a label
                outside the training classes or an empty split.
        """
        d = config.data
        raw, names = read_splits(d, verbose)
        classes = class_names(raw["train"].labels, _given_classes(d) or names)
        ids = {name: dataclasses.replace(split, labels=label_ids(split, classes, name))
               for name, split in raw.items()}
        train, seed = ids["train"], config.train.seed
        if "test" not in ids:
            if d.test_split <= 0:
                raise UsageError("no test texts: give --test-data or a --test-split above 0")
            train, ids["test"] = stratified_split(train, d.test_split, seed)
        if "validation" not in ids and d.validation_split > 0:
            train, ids["validation"] = stratified_split(train, d.validation_split, seed + 1)
        for name, split in (("train", train), ("test", ids["test"])):
            if not len(split):
                raise UsageError(f"the {name} split of {split.source} has no texts")
        return Corpus(train, ids.get("validation"), ids["test"], classes)

    def experiment(self, config: ClassifyConfig, corpus: Corpus) -> Experiment:
        """Adapts the vocabulary on the training texts, vectorises every split
        once, weighs the classes if asked and builds the model."""
        keras.utils.set_random_seed(config.train.seed)  # the model's initial weights
        d, batch, n_classes = config.data, config.train.batch_size, len(corpus.classes)
        seq_length = d.seq_length or choose_seq_length(corpus.train.texts, d.tokens)
        vectorizer = make_vectorizer(d.max_tokens, seq_length, tokens=d.tokens,
                                     standardize=d.standardize)
        adapt(vectorizer, corpus.train.texts)
        columns = [_targets(corpus.train.labels, n_classes)]
        if d.class_weight == "balanced":
            columns.append(balanced_weights(corpus.train.labels, n_classes))
        train_data = train_epochs(
            vectorize(vectorizer, corpus.train.texts, *columns), len(corpus.train),
            batch, config.train.seed, seq_length if d.bucket_by_length else None)
        val, test = (None if split is None else eval_batches(
            vectorizer, split.texts, _targets(split.labels, n_classes), batch)
            for split in (corpus.val, corpus.test))
        loss, metrics = loss_and_metrics(n_classes)
        model = self.build_model(config, {CLASSES: {"classes": corpus.classes}})
        return Experiment(
            model, loss, metrics, train_data, val, test,
            files={VOCABULARY: "\n".join(vectorizer.get_vocabulary()),
                   CLASSES: {"classes": corpus.classes, "seq_length": seq_length}},
            score=lambda trainer, verbose: classification_report(
                corpus.test.labels, class_probabilities(model, test), corpus.classes,
                corpus.test.texts),
            notes=[_describe(corpus, seq_length)],
            data_info={name: len(split) for name, split in
                       (("train", corpus.train), ("validation", corpus.val),
                        ("test", corpus.test)) if split is not None})

    def build_model(self, config: ClassifyConfig, files: dict) -> keras.Model:
        return build_classifier(config.model, config.data.max_tokens,
                                len(files[CLASSES]["classes"]), seed=config.train.seed)

    def after_train(self, run: Run) -> None:
        """Draws the test confusion matrix beside the run's metrics."""
        plot_confusion(run.metrics["test"], run.run_dir / CONFUSION)

    def serving(self, run: Run) -> tuple[list, list]:
        """``classify`` (also ``serving_default``): a batch of raw strings
        ``texts`` -> ``label`` (the likeliest class's name), ``probability``
        (its probability) and ``probabilities`` ``[batch, classes]`` in the
        order of ``classes.json``; vectorisation runs in the graph."""
        meta = run.files[CLASSES]
        vectorizer = make_vectorizer(run.config.data.max_tokens, meta["seq_length"],
                                     tokens=run.config.data.tokens,
                                     standardize=run.config.data.standardize,
                                     vocabulary=run.files[VOCABULARY].split("\n"))
        vectorizer.build((None,))
        model, classes = run.model, meta["classes"]

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
        def classify_texts(texts):
            (ids,) = trim_padding(vectorizer(texts))  # short texts: fewer steps
            probabilities = all_probabilities(model(ids, training=False))
            best = tf.argmax(probabilities, axis=1)
            return {"label": tf.gather(tf.constant(classes), best),
                    "probability": tf.reduce_max(probabilities, axis=1),
                    "probabilities": probabilities}

        return [model, vectorizer], [("classify", classify_texts,
                                      classify_texts.input_signature)]


def read_splits(d, verbose: int = 1) -> tuple[dict[str, LabelledTexts], list[str] | None]:
    """The splits ``config.data`` names, raw labels, and the class names a
    TFDS ``ClassLabel`` gives (None for files); ``verbose`` 0 silences TFDS.

    Raises:
        UsageError: If neither or both of ``data`` and ``tfds`` are given, or
            a source cannot be read.
    """
    if (d.data is None) == (d.tfds is None):
        raise UsageError("give the training texts with --data FILE_OR_FOLDER or --tfds NAME "
                         "(one of them)")
    names = None
    if d.tfds is not None:
        splits, names = load_tfds(d.tfds, text_feature=d.text_column,
                                  label_feature=d.label_column, data_dir=d.tfds_dir,
                                  verbose=verbose)
        if names is not None:  # labels as names, like a file's string labels
            splits = {k: dataclasses.replace(s, labels=np.asarray(names, object)[s.labels])
                      for k, s in splits.items()}
    else:
        splits = {"train": read_file(d, d.data)}
    for name, path in (("validation", d.val_data), ("test", d.test_data)):
        if path is not None:
            splits[name] = read_file(d, path)
    return splits, names


def read_file(d, path: str) -> LabelledTexts:
    """One labelled file or folder, read as ``config.data`` says."""
    return read_labelled(path, text_column=d.text_column, label_column=d.label_column,
                         delimiter=d.delimiter, format=d.format, classes=_given_classes(d))


def _given_classes(d) -> list[str] | None:
    return [c.strip() for c in d.classes.split(",") if c.strip()] if d.classes else None


def _targets(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """What the loss reads: 0/1 floats for one sigmoid, class ids for a softmax."""
    return labels.astype(np.float32 if n_classes == 2 else np.int32)


def balanced_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Per-text weights ``n / (classes * n_c)``: every class weighs as much in
    the loss as it would with equal counts (scikit-learn's "balanced")."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    per_class = len(labels) / (n_classes * np.maximum(counts, 1))
    return per_class[labels].astype(np.float32)


def all_probabilities(outputs):
    """Every class's probability: a sigmoid's ``p`` becomes ``[1 - p, p]``."""
    if outputs.shape[-1] == 1:
        return tf.concat([1.0 - outputs, outputs], axis=1)
    return outputs


def class_probabilities(model: keras.Model, batches: tf.data.Dataset) -> np.ndarray:
    """``[n, classes]`` probabilities of the batches' texts, in order."""
    return np.concatenate([all_probabilities(model(ids, training=False)).numpy()
                           for ids, *_ in batches])


def _describe(corpus: Corpus, seq_length: int) -> str:
    counts = np.bincount(corpus.train.labels, minlength=len(corpus.classes))
    shares = ", ".join(f"{c} {n / counts.sum():.0%}" for c, n in zip(corpus.classes, counts))
    sizes = " / ".join(f"{len(s)}" if s is not None else "0"
                       for s in (corpus.train, corpus.val, corpus.test))
    return (f"{len(corpus.classes)} classes ({shares}); train / validation / test: "
            f"{sizes} texts; sequence length {seq_length} tokens")


TASK = ClassifyTask()
# The Task's methods as module functions: rnnapps.tasks.classify.train(config) etc.
load, experiment, train, export, load_run = (TASK.load, TASK.experiment, TASK.train,
                                             TASK.export, TASK.load_run)
