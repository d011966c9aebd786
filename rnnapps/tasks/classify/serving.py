"""Serving a classify export: labels and probabilities, batched by length; reports."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from rnnapps.config import TaskConfig
from rnnapps.data.labelled import label_ids, read_texts
from rnnapps.errors import UsageError
from rnnapps.export import Predictor, open_export
from rnnapps.plots import check_plot_path
from rnnapps.tasks.classify.config import ClassifyConfig
from rnnapps.tasks.classify.data import CLASSES
from rnnapps.tasks.classify.report import classification_report, plot_confusion

NAME = "classify"


def batched(endpoint, texts: Sequence[str], key: str, batch_size: int = 256,
            verbose: int = 0) -> np.ndarray:
    """Calls an export's text endpoint on batches of similar length and
    returns output ``key`` in the texts' order (the export cuts each batch
    to its longest text, so sorting by length wastes nothing on padding)."""
    order = np.argsort([len(t) for t in texts], kind="stable")
    bar = keras.utils.Progbar(len(texts), unit_name="text") if verbose else None
    parts = []
    for i in range(0, len(texts), batch_size):
        picked = order[i:i + batch_size]
        parts.append(endpoint(tf.constant([str(texts[j]) for j in picked]))[key].numpy())
        if bar:
            bar.add(len(picked))
    if not parts:
        return np.zeros(0, np.float32)
    out = np.empty((len(texts), *parts[0].shape[1:]), parts[0].dtype)
    out[order] = np.concatenate(parts)
    return out


def classes(export: Predictor) -> list[str]:
    """The export's class names, in the order of its probabilities."""
    return export.file(CLASSES)["classes"]


def page_info(export: Predictor) -> dict:
    """What ``rnnapps serve``'s page shows of a classify export: a text box, and
    the ``probabilities`` of the ``classify`` signature by class."""
    return {"kind": "classify", "classes": classes(export), "signature": "classify",
            "probabilities": "probabilities"}


def predict(model_dir: str | Path, texts: Sequence[str], top_k: int = 1,
            batch_size: int = 256) -> list[dict]:
    """Classifies texts with an exported model.

    Args:
        model_dir: ``saved_models/classify/<N>`` or its parent (latest version).
        texts: The texts.
        top_k: How many of the likeliest classes to return per text.
        batch_size: Texts per call of the export.

    Returns:
        Per text: ``{"label", "probability", "top": [(label, probability), ...]}``.

    Raises:
        UsageError: On an empty text, ``top_k`` < 1 or a directory that is
            not a classify SavedModel.
    """
    if top_k < 1:
        raise UsageError(f"--top-k must be >= 1, got {top_k}")
    for i, text in enumerate(texts):
        if not text or not text.strip():
            raise UsageError(f"text {i + 1} is empty")
    export = open_export(model_dir, NAME)
    names = classes(export)
    probabilities = batched(export.loaded.classify, texts, "probabilities", batch_size)
    results = []
    for row in probabilities:
        top = np.argsort(-row, kind="stable")[:top_k]
        results.append({"label": names[top[0]], "probability": float(row[top[0]]),
                        "top": [(names[k], float(row[k])) for k in top]})
    return results


def read_predict_texts(path: str | Path, config: dict | None = None,
                       text_column: str | None = None) -> list[str]:
    """The texts of ``predict --file``: one per line, or the text column of a
    CSV/TSV/JSON Lines file (by default the column the model was trained on)."""
    data = (config or {}).get("data", {})
    return read_texts(path, text_column=text_column or data.get("text_column"),
                      delimiter=data.get("delimiter"))


def evaluate(model_dir: str | Path, data: str | Path | None = None, *,
             plot: str | Path | None = None, batch_size: int = 256, verbose: int = 1,
             **overrides) -> dict:
    """Scores an exported model on labelled texts: the per-class report.

    Args:
        model_dir: ``saved_models/classify/<N>`` or its parent (latest version).
        data: Labelled texts in any format ``train`` reads (default: the
            run's own test split, read again from its config).
        plot: Also draw the confusion matrix to this PNG/SVG/PDF file.
        batch_size: Texts per call of the export.
        verbose: 1 for a progress bar.
        **overrides: Data options (``text_column``, ``label_column``,
            ``format``, ``delimiter``) if they differ from training.

    Returns:
        The report (``rnnapps.tasks.classify.report.classification_report``)
        plus ``"model"``.

    Raises:
        UsageError: On unreadable data, a label the model does not know, or a
            directory that is not a classify SavedModel.
    """
    check_plot_path(plot)
    export = open_export(model_dir, NAME)
    config = ClassifyConfig.from_dict(export.config).replace(**overrides)
    names = classes(export)
    texts, labels = _labelled(config, data, names)
    probabilities = batched(export.loaded.classify, texts, "probabilities", batch_size,
                            verbose)
    report = classification_report(labels, probabilities, names, texts)
    if plot is not None:
        plot_confusion(report, plot)
    return {**report, "model": str(export.path)}


def _labelled(config: TaskConfig, data: str | Path | None,
              names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The texts to score and their class ids: ``data``, or the run's test split."""
    from rnnapps.tasks.classify import task  # training's reader, not needed to predict

    if data is None:
        test = task.TASK.load(config, verbose=0).test
        return test.texts, test.labels
    raw = task.read_file(config.data, str(data))
    return raw.texts, label_ids(raw, names, "test")
