"""Where rnnapps finds its tasks, cells and tools: one table each.

Nothing here imports TensorFlow: the tables hold import paths, resolved only
when a command runs, so ``rnnapps --help`` stays instant.

* Adding a task: write the package ``rnnapps/tasks/<name>/`` (see
  ``rnnapps.tasks.base`` for what it holds) and add one line to ``TASKS``.
* Adding a cell: add one line to ``CELLS`` -- a Keras recurrent layer, or a
  Keras-style cell class, which ``rnnapps.layers`` wraps in ``keras.layers.RNN``.
* Adding a tool (commands that are not a task, like ``diagnose``): one line
  in ``TOOLS`` naming a module with a ``register(subcommands)`` function.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Sequence

TASKS = {
    "classify": "rnnapps.tasks.classify",
    "sentiment": "rnnapps.tasks.sentiment",
    "textgen": "rnnapps.tasks.textgen",
    "regression": "rnnapps.tasks.regression",
}
"""Task name -> its package: ``config.py`` (``Config``), ``task.py`` (``TASK``),
``commands.py`` (``register``)."""

CELLS = {
    "simple_rnn": "keras.layers.SimpleRNN",
    "lstm": "keras.layers.LSTM",
    "gru": "keras.layers.GRU",
    "elman": "rnnapps.cells.ElmanCell",
}
"""Cell name -> a recurrent layer class or a cell class, by import path."""

TOOLS = {"quickstart": "rnnapps.quickstart", "diagnose": "rnnapps.diagnose_commands",
         "serve": "rnnapps.serve.commands"}
"""Command name -> module with ``register(subcommands)``, for commands beside the tasks."""


def resolve(path: str) -> Any:
    """Imports ``package.module.Name`` and returns ``Name``."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _package(task: str) -> str:
    from rnnapps.errors import UsageError

    if task not in TASKS:
        raise UsageError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    return TASKS[task]


def config_class(task: str) -> type:
    """The task's config class (no TensorFlow import).

    Raises:
        UsageError: On an unknown task name.
    """
    return importlib.import_module(_package(task) + ".config").Config


def commands(task: str) -> Any:
    """The task's ``commands`` module (no TensorFlow import)."""
    return importlib.import_module(_package(task) + ".commands")


def get_task(task: str) -> Any:
    """The task's ``Task`` object (imports TensorFlow).

    Raises:
        UsageError: On an unknown task name.
    """
    return importlib.import_module(_package(task) + ".task").TASK


def lazy_exports(package: str, modules: Sequence[str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that finds names in a package's submodules on first use.

    A task package's ``__init__`` uses it so that ``rnnapps.tasks.sentiment.train``
    works while importing ``rnnapps.tasks.sentiment.config`` stays free of
    TensorFlow (a package's ``__init__`` runs before any of its submodules).

    Args:
        package: The package's ``__name__``.
        modules: Submodule names searched in order.
    """
    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name in modules:
            return importlib.import_module(f"{package}.{name}")
        for module in modules:
            found = importlib.import_module(f"{package}.{module}")
            if hasattr(found, name):
                return getattr(found, name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return __getattr__
