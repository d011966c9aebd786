"""``rnnapps sentiment ...``: train/export/tune (shared) plus evaluate and predict."""

from __future__ import annotations

from rnnapps import cli
from rnnapps.tasks.sentiment.config import SentimentConfig


def register(tasks) -> None:
    """Adds ``rnnapps sentiment`` and its commands to the ``rnnapps`` parser."""
    commands = cli.add_task(
        tasks, SentimentConfig, help="IMDB review sentiment classification",
        description="Classify movie reviews as positive or negative.",
        train_help="train, evaluate on test and export",
        train_description="Train on IMDB reviews (TFDS, an aclImdb folder or "
                          "aclImdb_v1.tar.gz), then export.")

    evaluate = commands.add_parser("evaluate", help="accuracy of an exported model on test")
    cli.add_model_argument(evaluate)
    cli.add_config_options(evaluate, SentimentConfig, only=("data",),
                           default_note="as in training")
    evaluate.set_defaults(run=lambda a: cli.show(
        cli.serving("sentiment").evaluate(a.model, getattr(a, "data", None))))

    predict = commands.add_parser("predict", help="classify reviews given as arguments")
    cli.add_model_argument(predict)
    predict.add_argument("texts", nargs="+", metavar="REVIEW", help="review text(s)")
    predict.set_defaults(run=_predict)


def _predict(args) -> None:
    probabilities = cli.serving("sentiment").predict(args.model, args.texts)
    for p, text in zip(probabilities, args.texts):
        short = text if len(text) <= 60 else text[:57] + "..."
        print(f"{p:.4f}\t{'positive' if p > 0.5 else 'negative'}\t{short}")
