"""Atomic files and versioned directories.

Everything rnnapps writes goes to a temporary path first and is renamed into
place, so an interrupted run never leaves a half-written file or directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

from rnnapps.errors import UsageError


def write_text(path: str | Path, text: str) -> None:
    """Writes ``text`` to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    ensure_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files private (0600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: str | Path, data: Any) -> None:
    """Writes ``data`` as indented JSON, atomically."""
    write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def read_json(path: str | Path) -> Any:
    """Reads a JSON file written by ``write_json``."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def ensure_dir(path: str | Path) -> Path:
    """Creates ``path`` (and parents) if needed.

    Raises:
        UsageError: If it exists as a file or cannot be created.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path} exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"cannot create directory {path}: {err.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"directory {path} is not writable")
    return path


def versions(root: str | Path) -> list[int]:
    """Returns the integer version directories under ``root``, ascending."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(int(p.name) for p in root.iterdir() if p.name.isdigit() and p.is_dir())


def write_versioned_dir(root: str | Path, fill: Callable[[Path], None]) -> Path:
    """Creates ``root/<N>`` with the next free integer N, atomically.

    ``fill`` writes the contents into a temporary directory beside the final
    one; only a complete directory is renamed into place. Two writers racing
    for the same N both succeed: the loser takes the next number.

    Args:
        root: The parent of the version directories (e.g. saved_models/sentiment).
        fill: Called with the temporary directory to populate.

    Returns:
        The final directory.

    Raises:
        UsageError: If ``root`` cannot be created or written.
    """
    root = ensure_dir(root)
    with temporary_dir(root) as tmp:
        fill(tmp)
        while True:
            final = root / str((versions(root) or [0])[-1] + 1)
            try:
                os.rename(tmp, final)  # fails if another writer took N first
                return final
            except OSError:
                if not final.exists():
                    raise


@contextlib.contextmanager
def temporary_dir(parent: str | Path) -> Iterator[Path]:
    """A hidden scratch directory under ``parent``, removed unless renamed away."""
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=".tmp-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def read_model_metadata(model_dir: str | Path, task: str | None) -> tuple[Path, dict]:
    """Finds an rnnapps SavedModel of ``task`` and reads its ``config.json``.

    Args:
        model_dir: A version directory (``saved_models/<task>/<N>``) or its
            parent, in which case the highest version is used.
        task: The task the model must belong to (None: any task).

    Returns:
        The version directory and its config as a dict.

    Raises:
        UsageError: If the path is missing, not a SavedModel, not exported by
            rnnapps, or exported by another task.
    """
    path = Path(model_dir)
    if not path.is_dir():
        raise UsageError(f"model directory not found: {path}")
    if not (path / "saved_model.pb").exists() and versions(path):
        path = path / str(versions(path)[-1])
    if not (path / "saved_model.pb").exists():
        raise UsageError(f"{path} is not a SavedModel (no saved_model.pb)")
    try:
        config = read_json(path / "config.json")
    except (OSError, ValueError):
        raise UsageError(f"{path} has no readable config.json: not exported by rnnapps") from None
    if not isinstance(config, dict) or not config.get("task") or (
            task is not None and config["task"] != task):
        found = config.get("task") if isinstance(config, dict) else None
        raise UsageError(f"{path} holds a {found or 'non-rnnapps'} model"
                         + (f", not a {task} model" if task else ""))
    return path, config
