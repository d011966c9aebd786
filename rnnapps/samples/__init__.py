"""Small real samples shipped inside the package, so the main job runs offline at once.

``--data sample`` names them wherever a task reads a dataset that has one:

* ``imdb_sample.tar.xz``: 2,600 short IMDB reviews (at most 500 characters;
  1,000 per label for training, 300 per label for testing), label-balanced,
  in the published ``aclImdb/{train,test}/{pos,neg}`` layout, so the IMDB
  loader reads it exactly like the full archive.

``scripts/make_samples.py`` rebuilds them, byte for byte, from the full datasets.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

SAMPLE = "sample"
"""The ``--data`` value that names a dataset's shipped sample."""

FILES = {"imdb_reviews": "imdb_sample.tar.xz"}
"""Dataset name -> its sample's file in this package."""


def sample_path(dataset: str) -> Path:
    """The shipped sample of ``dataset`` (a key of ``FILES``).

    Raises:
        KeyError: If the dataset has no sample.
    """
    return Path(str(files(__package__) / FILES[dataset]))


def resolve(source, dataset: str):
    """Returns ``sample_path(dataset)`` if ``source`` is ``"sample"``, else ``source``."""
    return sample_path(dataset) if str(source) == SAMPLE else source
