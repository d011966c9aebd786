"""Text classification on any labelled texts (``rnnapps classify ...``).

``config`` (no TensorFlow), ``data``, ``model``, ``task`` (``TASK``: train,
export, load_run), ``serving`` (predict, evaluate) and ``report`` (per-class
scores, confusion matrix). Their public names are also reachable here,
loaded on first use: ``classify.train(config)``.
"""

from rnnapps.registry import lazy_exports
from rnnapps.tasks.classify.config import ClassifyConfig

__all__ = ["ClassifyConfig"]
__getattr__ = lazy_exports(__name__, ("task", "serving", "report", "model", "data", "commands"))
