"""SavedModel export and loading, with rnnapps metadata beside the model.

A version directory ``saved_models/<task>/<N>/`` (the layout TensorFlow
Serving reads) holds the SavedModel plus ``config.json`` (the run's config,
reusable with ``--config``), ``metrics.json`` and any task files such as a
vocabulary. Loading needs TensorFlow only.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Any, Callable, Sequence

import keras
import tensorflow as tf

from rnnapps.artifacts import (
    read_json,
    read_model_metadata,
    write_json,
    write_text,
    write_versioned_dir,
)
from rnnapps.errors import UsageError, first_line

Endpoint = tuple[str, Callable, Sequence[tf.TensorSpec]]
"""``(name, function, input_signature)``; the first one is ``serving_default``."""


def export_saved_model(root: str | Path, *, resources: Sequence[Any],
                       endpoints: Sequence[Endpoint], files: dict[str, Any]) -> Path:
    """Writes a new version directory under ``root`` atomically.

    Args:
        root: Parent of the version directories, e.g. ``saved_models/sentiment``.
        resources: Keras layers/models whose variables and tables the
            endpoints use.
        endpoints: Functions to serve; the first is also ``serving_default``.
        files: Extra files to write beside the SavedModel: ``.json`` names
            get JSON data, other names get text.

    Returns:
        The new ``root/<N>`` directory.
    """
    def fill(tmp: Path) -> None:
        archive = keras.export.ExportArchive()
        for resource in resources:
            archive.track(resource)
        with _portable_kernels(resources):
            for name, fn, signature in endpoints:
                archive.add_endpoint(name, fn, input_signature=list(signature))
            archive.write_out(str(tmp), verbose=False)
        for name, content in files.items():
            (write_json if name.endswith(".json") else write_text)(tmp / name, content)

    return write_versioned_dir(root, fill)


@contextlib.contextmanager
def _portable_kernels(resources: Sequence[Any]):
    """Traces every LSTM and GRU layer of ``resources`` with its portable kernel.

    With a GPU visible, Keras traces LSTM/GRU as ``CudnnRNNV3``, an op with
    no CPU kernel: the SavedModel then fails to load or run on a CPU or in a
    CPU TensorFlow Serving. ``use_cudnn=False`` while the endpoints are traced
    pins the exported graph to the standard ``while`` loop (the same weights
    and results); it is restored afterwards, so training in this process keeps
    cuDNN. Layers are found recursively, so both directions of a
    ``Bidirectional`` are covered (its wrapper would not pass the flag on).
    """
    layers = [layer for resource in resources if isinstance(resource, keras.layers.Layer)
              for layer in resource._flatten_layers(include_self=True, recursive=True)
              if hasattr(layer, "use_cudnn")]
    saved = [layer.use_cudnn for layer in layers]
    try:
        for layer in layers:
            layer.use_cudnn = False
        yield
    finally:
        for layer, value in zip(layers, saved):
            layer.use_cudnn = value


def load_saved_model(model_dir: str | Path, task: str | None) -> tuple[Any, dict, Path]:
    """Loads an exported model of ``task`` with ``tf.saved_model.load``.

    Args:
        model_dir: A version directory or its parent (latest version).
        task: The task the model must belong to (None: any task).

    Returns:
        The loaded object, its config dict and the version directory.

    Raises:
        UsageError: If the directory is not a loadable SavedModel of ``task``.
    """
    path, config = read_model_metadata(model_dir, task)
    try:
        loaded = tf.saved_model.load(str(path))
    except (OSError, ValueError, tf.errors.OpError) as err:
        raise UsageError(f"cannot load SavedModel {path}: {first_line(err)}") from None
    return loaded, config, path


@dataclasses.dataclass(frozen=True)
class Predictor:
    """An export loaded once: the SavedModel object and what lies beside it.

    Attributes:
        loaded: What ``tf.saved_model.load`` returned (call its signatures).
        config: The run's config, as a dict.
        path: The version directory.
    """

    loaded: Any
    config: dict
    path: Path

    def file(self, name: str) -> Any:
        """A file beside the SavedModel: JSON for ``.json`` names, else text."""
        path = self.path / name
        return read_json(path) if name.endswith(".json") else path.read_text(encoding="utf-8")


_OPEN: dict[tuple[str, float], Predictor] = {}


def open_export(model_dir: str | Path, task: str | None) -> Predictor:
    """Loads an export of ``task`` once; later calls for the same version reuse it.

    A SavedModel takes seconds to load, and ``predict`` may be called for
    every request, so loaded versions are kept (keyed by their directory and
    its modification time: a re-written version is loaded again).

    Args:
        model_dir: A version directory or its parent (latest version).
        task: The task the model must belong to (None: any task).

    Raises:
        UsageError: If the directory is not a loadable SavedModel of ``task``.
    """
    path, _ = read_model_metadata(model_dir, task)
    key = (str(path.resolve()), (path / "saved_model.pb").stat().st_mtime)
    if key not in _OPEN:
        _OPEN[key] = Predictor(*load_saved_model(path, task))
    return _OPEN[key]
