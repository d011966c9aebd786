"""The evaluation a user can act on: per-class scores, confusion, worst mistakes.

Everything comes from the predicted probabilities and the confusion matrix,
in NumPy: a handful of lines, exact (ROC-AUC by ranks, not by thresholds),
and with no dependency beyond what training already needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from rnnapps.plots import figure, save

MISTAKES = 10
"""How many of the most confident mistakes a report lists."""


def classification_report(labels: np.ndarray, probabilities: np.ndarray,
                          classes: Sequence[str], texts: Sequence[str] | None = None,
                          mistakes: int = MISTAKES) -> dict:
    """Scores predictions against the true classes.

    Args:
        labels: True class ids, ``[n]``.
        probabilities: Predicted probabilities of every class, ``[n, classes]``.
        classes: Class names, in id order.
        texts: The texts, to quote the most confident mistakes.
        mistakes: How many mistakes to quote.

    Returns:
        ``accuracy``, ``macro_f1``, ``loss`` (cross-entropy), ``roc_auc`` (two
        classes only), ``per_class`` (precision, recall, F1, support),
        ``confusion`` (rows: true class, columns: predicted), ``mistakes`` and
        ``texts`` (how many were scored).
    """
    labels = np.asarray(labels, np.int64)
    probabilities = np.asarray(probabilities, np.float64)
    predicted = probabilities.argmax(axis=1)
    k = len(classes)
    confusion = np.bincount(labels * k + predicted, minlength=k * k).reshape(k, k)
    per_class = _per_class(confusion, classes)
    picked = np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1.0)
    report = {"accuracy": float(np.mean(predicted == labels)) if len(labels) else 0.0,
              "macro_f1": float(np.mean([c["f1"] for c in per_class.values()])),
              "loss": float(-np.mean(np.log(picked))) if len(labels) else 0.0}
    if k == 2:
        report["roc_auc"] = roc_auc(labels, probabilities[:, 1])
    report.update(per_class=per_class, confusion=confusion.tolist(), texts=int(len(labels)))
    if texts is not None:
        report["mistakes"] = confident_mistakes(labels, probabilities, classes, texts, mistakes)
    return report


def _per_class(confusion: np.ndarray, classes: Sequence[str]) -> dict:
    true_positive = np.diag(confusion).astype(np.float64)
    predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    precision = np.divide(true_positive, predicted, out=np.zeros_like(true_positive),
                          where=predicted > 0)
    recall = np.divide(true_positive, actual, out=np.zeros_like(true_positive),
                       where=actual > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(both), where=both > 0)
    return {name: {"precision": float(p), "recall": float(r), "f1": float(f),
                   "support": int(n)}
            for name, p, r, f, n in zip(classes, precision, recall, f1, actual)}


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """The area under the ROC curve: the chance a random positive scores above
    a random negative (ties count half), by ranks. None with one class only."""
    labels = np.asarray(labels) == 1
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if not positives or not negatives:
        return None
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), np.float64)
    sorted_scores = np.asarray(scores)[order]
    # Average ranks over ties: each run of equal scores gets its mean rank.
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2.0)
                 / (positives * negatives))


def confident_mistakes(labels: np.ndarray, probabilities: np.ndarray, classes: Sequence[str],
                       texts: Sequence[str], limit: int = MISTAKES) -> list[dict]:
    """The wrong predictions the model was surest of, most confident first."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    picked = wrong[np.argsort(-confidence, kind="stable")[:limit]]
    return [{"text": shorten(str(texts[i])), "label": classes[labels[i]],
             "predicted": classes[predicted[i]],
             "probability": round(float(probabilities[i, predicted[i]]), 4)}
            for i in picked]


def shorten(text: str, width: int = 160) -> str:
    """The text on one line (whitespace runs collapsed), cut to ``width`` with "..."."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."


def format_report(report: dict) -> str:
    """The report as a user reads it: headline scores, the per-class table,
    the confusion matrix and the most confident mistakes."""
    head = (f"accuracy {report['accuracy']:.4f}   macro-F1 {report['macro_f1']:.4f}   "
            f"loss {report['loss']:.4f}")
    if report.get("roc_auc") is not None:
        head += f"   ROC-AUC {report['roc_auc']:.4f}"
    names = list(report["per_class"])
    width = max(8, *(len(n) for n in names))
    lines = [f"{head}   ({report['texts']} texts)", "",
             f"{'class':<{width}}  precision  recall     f1  support"]
    for name, c in report["per_class"].items():
        lines.append(f"{name:<{width}}  {c['precision']:9.4f}  {c['recall']:6.4f}  "
                     f"{c['f1']:.4f}  {c['support']:7d}")
    lines += ["", "confusion (rows: true class, columns: predicted)",
              " " * width + "".join(f" {n[:7]:>7}" for n in names)]
    for name, row in zip(names, report["confusion"]):
        lines.append(f"{name:<{width}}" + "".join(f" {v:7d}" for v in row))
    if report.get("mistakes"):
        lines += ["", "most confident mistakes (probability, true -> predicted, text)"]
        lines += [f"  {m['probability']:.3f}  {m['label']} -> {m['predicted']}  {m['text']}"
                  for m in report["mistakes"]]
    return "\n".join(lines)


def plot_confusion(report: dict, path: str | Path, title: str = "") -> Path:
    """Draws the confusion matrix as a PNG: counts in each cell, shaded by
    each true class's share (so a small class's errors show as clearly)."""
    names = list(report["per_class"])
    counts = np.asarray(report["confusion"])
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = 2.0 + 0.6 * len(names)
    fig, ax = figure(size + 1.0, size)
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    for (i, j), n in np.ndenumerate(counts):
        ax.text(j, i, str(n), ha="center", va="center",
                color="white" if shares[i, j] > 0.5 else "black", fontsize=9)
    fig.colorbar(image, ax=ax, label="share of the true class")
    ax.set_title(title or f"accuracy {report['accuracy']:.3f}, macro-F1 "
                 f"{report['macro_f1']:.3f}")
    return save(fig, path)
