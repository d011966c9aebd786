"""The models a server serves: each name's newest version, swapped in while it runs.

TensorFlow Serving's default version policy, kept here: a model name points
at a *base* directory of numbered versions (``saved_models/classify/``); the
newest version serves, and a newer one that appears is loaded beside it and
then takes over, without a restart and without a failed request in between.
Exports are written atomically (``write_versioned_dir`` renames a finished
directory into place), so a version directory that exists is complete.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path
from typing import Any

import tensorflow as tf
from tensorflow.core.framework import types_pb2

from rnnapps.artifacts import versions
from rnnapps.errors import UsageError
from rnnapps.export import Predictor, open_export

LOG = logging.getLogger("rnnapps.serve")


class NotFound(Exception):
    """A model or version this server does not serve (HTTP 404)."""


@dataclasses.dataclass(frozen=True)
class Version:
    """One loaded version: its number, the export and its signatures by name."""

    number: int
    export: Predictor
    signatures: dict[str, Any]

    @property
    def task(self) -> str:
        return self.export.config["task"]


def load_version(path: Path) -> Version:
    """Loads the rnnapps export in version directory ``path``.

    Raises:
        UsageError: If ``path`` is not a loadable rnnapps SavedModel.
    """
    export = open_export(path, task=None)
    signatures = {name: fn for name, fn in export.loaded.signatures.items()
                  if not name.startswith("_")}
    return Version(int(path.name) if path.name.isdigit() else 0, export, signatures)


class ServedModel:
    """A model name and the version of it being served.

    Args:
        name: The name in the URL (``/v1/models/<name>``).
        path: A base directory of numbered versions (the newest serves and
            newer ones are picked up), or one version directory (only it serves).

    Raises:
        UsageError: If ``path`` holds no loadable rnnapps export.
    """

    def __init__(self, name: str, path: str | Path):
        self.name = name
        path = Path(path)
        if not path.is_dir():
            raise UsageError(f"model {name}: directory not found: {path}")
        self.pinned = (path / "saved_model.pb").exists()
        self.base = path.parent if self.pinned else path
        self.failed: dict[int, str] = {}  # newer versions that did not load, and why
        numbers = [] if self.pinned else self._versions()
        if not self.pinned and not numbers:
            raise UsageError(f"model {name}: {path} holds no version directory (1/, 2/, ... "
                             "as rnnapps exports write them)")
        self.current = load_version(path if self.pinned else self.base / str(numbers[-1]))

    def _versions(self) -> list[int]:
        return versions(self.base) if self.base.is_dir() else []  # a base may be removed

    def refresh(self) -> bool:
        """Serves the newest version above the served one that loads, if any.

        A version that fails to load is reported by ``status`` and not tried
        again; an older one keeps serving.

        Returns:
            True if the served version changed.
        """
        newer = [] if self.pinned else [n for n in self._versions()
                                         if n > self.current.number and n not in self.failed]
        for number in reversed(newer):
            try:
                loaded = load_version(self.base / str(number))
            except (UsageError, OSError, ValueError, tf.errors.OpError) as err:
                self.failed[number] = str(err)
            else:
                if loaded.task == self.current.task:
                    self.current = loaded  # one reference swap: requests under way keep theirs
                    LOG.info("model %s: now serving version %d", self.name, number)
                    return True
                self.failed[number] = (f"version {number} is a {loaded.task} model; "
                                       f"{self.name} serves {self.current.task} models")
            LOG.warning("model %s: version %d not served: %s", self.name, number,
                        self.failed[number])
        return False

    def version(self, number: int | None = None) -> Version:
        """The served version, checked against the one a request names.

        Raises:
            NotFound: If ``number`` is given and is not the served version.
        """
        current = self.current
        if number is not None and number != current.number:
            raise NotFound(f"Servable not found for request: Specific({self.name}, {number})")
        return current

    def status(self, number: int | None = None) -> dict:
        """``GET /v1/models/<name>[/versions/<n>]``: TF Serving's GetModelStatusResponse."""
        def entry(version: int, error: str = "") -> dict:
            return {"version": str(version), "state": "END" if error else "AVAILABLE",
                    "status": {"error_code": "UNKNOWN" if error else "OK",
                               "error_message": error}}
        if number is not None and number in self.failed:
            return {"model_version_status": [entry(number, self.failed[number])]}
        entries = [entry(self.version(number).number)]
        if number is None:
            entries += [entry(n, error) for n, error in sorted(self.failed.items())]
        return {"model_version_status": entries}

    def metadata(self, number: int | None = None) -> dict:
        """``GET .../metadata``: TF Serving's GetModelMetadataResponse (signature defs)."""
        version = self.version(number)
        return {"model_spec": {"name": self.name, "signature_name": "",
                               "version": str(version.number)},
                "metadata": {"signature_def": {"signature_def": {
                    name: signature_def(fn) for name, fn in version.signatures.items()}}}}


def signature_def(fn) -> dict:
    """A signature's inputs and outputs in TF Serving's SignatureDef JSON."""
    _, inputs = fn.structured_input_signature
    return {"inputs": {name: _tensor_info(spec) for name, spec in inputs.items()},
            "outputs": {name: _tensor_info(spec) for name, spec in fn.structured_outputs.items()},
            "method_name": "tensorflow/serving/predict"}


def _tensor_info(spec: tf.TensorSpec) -> dict:
    dims = [] if spec.shape.rank is None else [
        {"size": str(-1 if d is None else d), "name": ""} for d in spec.shape.as_list()]
    return {"dtype": types_pb2.DataType.Name(spec.dtype.as_datatype_enum),
            "tensor_shape": {"dim": dims, "unknown_rank": spec.shape.rank is None},
            "name": spec.name or ""}


class ModelStore:
    """Every served model by name, and the thread that picks up new versions.

    Args:
        paths: Model name -> directory, as ``ServedModel`` takes it.
        poll_seconds: How often the base directories are looked at.

    Raises:
        UsageError: If a directory holds no loadable rnnapps export.
    """

    def __init__(self, paths: dict[str, str | Path], poll_seconds: float = 2.0):
        self.models = {name: ServedModel(name, path) for name, path in paths.items()}
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def get(self, name: str) -> ServedModel:
        """The model called ``name``.

        Raises:
            NotFound: If no model has that name.
        """
        if name not in self.models:
            raise NotFound(f"Servable not found for request: Latest({name})")
        return self.models[name]

    def refresh(self) -> None:
        """Looks once for new versions of every model."""
        for model in self.models.values():
            model.refresh()

    def start(self) -> None:
        """Starts looking for new versions every ``poll_seconds``, in a thread."""
        def poll():
            while not self._stop.wait(self.poll_seconds):
                self.refresh()
        self._thread = threading.Thread(target=poll, name="rnnapps-versions", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stops the polling thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
