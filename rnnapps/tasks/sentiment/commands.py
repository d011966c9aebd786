"""``rnnapps sentiment ...``: train/export/tune (shared) plus evaluate and predict."""

from __future__ import annotations

from rnnapps import cli
from rnnapps.tasks.sentiment.config import SentimentConfig

EXAMPLES = {
    "train": ("rnnapps sentiment train --data sample",
              "rnnapps sentiment train --preset best --data aclImdb_v1.tar.gz",
              "rnnapps sentiment train --preset best --teacher saved_models/sentiment"),
    "export": ("rnnapps sentiment export --run-dir runs/sentiment/20250101-120000",),
    "tune": ("rnnapps sentiment tune --data sample --tuner random --max-trials 4 "
             "--max-epochs 2",),
    "evaluate": ("rnnapps sentiment evaluate --model saved_models/sentiment",
                 "rnnapps sentiment evaluate --model saved_models/sentiment/1 --data sample"),
    "predict": ('rnnapps sentiment predict --model saved_models/sentiment "A moving, '
                'beautifully acted film." "Dull, and far too long."',),
}
"""Example command lines shown in each command's ``--help``."""


def register(tasks) -> None:
    """Adds ``rnnapps sentiment`` and its commands to the ``rnnapps`` parser."""
    commands = cli.add_task(
        tasks, SentimentConfig, help="IMDB review sentiment classification",
        description="Classify movie reviews as positive or negative.",
        train_help="train, evaluate on test and export",
        train_description="Train on IMDB reviews (TFDS, an aclImdb folder or "
                          "aclImdb_v1.tar.gz, or the sample shipped with rnnapps), "
                          "then export.",
        examples=EXAMPLES)

    evaluate = commands.add_parser(
        "evaluate", help="accuracy of an exported model on test",
        description="Score an exported model on the IMDB test reviews (of --data, or "
                    "where the model was trained): accuracy and log loss.",
        epilog=cli.epilog(*EXAMPLES["evaluate"]))
    cli.add_model_argument(evaluate)
    cli.add_config_options(evaluate, SentimentConfig, only=("data",),
                           default_note="as in training")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    evaluate.set_defaults(run=_evaluate)

    predict = commands.add_parser(
        "predict", help="classify reviews given as arguments",
        description="Print the probability that each review is positive, its label and "
                    "the review's start, one review a line.",
        epilog=cli.epilog(*EXAMPLES["predict"]))
    cli.add_model_argument(predict)
    predict.add_argument("texts", nargs="+", metavar="REVIEW", help="review text(s)")
    predict.set_defaults(run=_predict)


def _evaluate(args) -> None:
    cli.show(cli.serving("sentiment").evaluate(args.model, getattr(args, "data", None),
                                               verbose=0 if args.quiet else 1))


def _predict(args) -> None:
    probabilities = cli.serving("sentiment").predict(args.model, args.texts)
    for p, text in zip(probabilities, args.texts):
        short = text if len(text) <= 60 else text[:57] + "..."
        print(f"{p:.4f}\t{'positive' if p > 0.5 else 'negative'}\t{short}")
