"""Dataset loading: TFDS by name, a TFDS manual dir, or local files."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ROOT_ENV = "RNNAPPS_DATA_DIR"
"""Environment variable naming a folder laid out like ``<dataset>/<files>``."""


def find_in_data_root(dataset: str, *names: str) -> Path | None:
    """Returns ``$RNNAPPS_DATA_DIR/<dataset>/<name>`` for the first name that exists.

    Args:
        dataset: Folder of the dataset under the data root (e.g. ``imdb_reviews``).
        *names: File or folder names to try, in order.

    Returns:
        The path, or None when the variable is unset or nothing matches.
    """
    root = os.environ.get(DATA_ROOT_ENV)
    if not root:
        return None
    for name in names:
        path = Path(root) / dataset / name
        if path.exists():
            return path
    return None
