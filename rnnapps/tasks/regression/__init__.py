"""Time-series forecasting (``rnnapps regression ...``).

``config`` (no TensorFlow), ``data``, ``model``, ``baselines``, ``task``
(``TASK``: train, export, load_run) and ``serving`` (evaluate, predict,
plots). Their public names are also reachable here, loaded on first use.
"""

from rnnapps.registry import lazy_exports
from rnnapps.tasks.regression.config import RegressionConfig

__all__ = ["RegressionConfig"]
__getattr__ = lazy_exports(__name__, ("task", "serving", "baselines", "model", "data",
                                      "commands"))
