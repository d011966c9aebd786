"""IMDB sentiment classification (``rnnapps sentiment ...``).

``config`` (no TensorFlow), ``data``, ``model``, ``task`` (``TASK``: train,
export, load_run) and ``serving`` (predict, evaluate). Their public names
are also reachable here, loaded on first use: ``sentiment.train(config)``.
"""

from rnnapps.registry import lazy_exports
from rnnapps.tasks.sentiment.config import SentimentConfig

__all__ = ["SentimentConfig"]
__getattr__ = lazy_exports(__name__, ("task", "serving", "model", "data", "commands"))
