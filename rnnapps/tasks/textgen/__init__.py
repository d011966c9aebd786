"""Character-level text generation (``rnnapps textgen ...``).

``config`` (no TensorFlow), ``data``, ``model``, ``generation``, ``task``
(``TASK``: train, export, load_run) and ``serving`` (generate, evaluate).
Their public names are also reachable here, loaded on first use.
"""

from rnnapps.registry import lazy_exports
from rnnapps.tasks.textgen.config import TextgenConfig

__all__ = ["TextgenConfig"]
__getattr__ = lazy_exports(__name__, ("task", "serving", "generation", "model", "data",
                                      "commands"))
