"""Serving a sentiment export: probabilities, batched by length; test accuracy."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from rnnapps.data.imdb import load_imdb
from rnnapps.errors import UsageError
from rnnapps.export import Predictor, open_export
from rnnapps.tasks.classify.serving import batched

NAME = "sentiment"


def page_info(export: Predictor) -> dict:
    """What ``rnnapps serve``'s page shows of a sentiment export: a text box, and
    the ``probability`` (of positive) of the ``classify`` signature."""
    return {"kind": "classify", "classes": ["negative", "positive"], "signature": "classify",
            "probability": "probability"}


def predict(model_dir: str | Path, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
    """Probabilities that each review is positive, from an exported model.

    Args:
        model_dir: ``saved_models/sentiment/<N>`` or its parent (latest version).
        texts: The reviews.
        batch_size: Reviews per call of the export.

    Returns:
        One probability per review.

    Raises:
        UsageError: On an empty review or a directory that is not a sentiment
            SavedModel.
    """
    for i, text in enumerate(texts):
        if not text or not text.strip():
            raise UsageError(f"review {i + 1} is empty")
    return classify(open_export(model_dir, NAME).loaded, texts, batch_size)


def classify(loaded, texts: Sequence[str], batch_size: int = 256,
             verbose: int = 0) -> np.ndarray:
    """Probabilities from a loaded export, batched by length."""
    return batched(loaded.classify, texts, "probability", batch_size, verbose)


def evaluate(model_dir: str | Path, data: str | Path | None = None,
             batch_size: int = 256, verbose: int = 1) -> dict:
    """Accuracy and log loss of an exported model on the IMDB test reviews.

    Returns:
        ``{"accuracy", "loss", "reviews", "model"}``.

    Raises:
        UsageError: On a directory that is not a sentiment SavedModel or
            unreadable data.
    """
    export = open_export(model_dir, NAME)
    test = load_imdb(data)["test"]
    p = classify(export.loaded, test.texts, batch_size, verbose=verbose).astype(np.float64)
    y = test.labels
    q = np.clip(p, 1e-7, 1 - 1e-7)
    return {"accuracy": float(np.mean((p > 0.5) == (y == 1))),
            "loss": float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))),
            "reviews": int(len(y)), "model": str(export.path)}
