"""The Large Movie Review Dataset (IMDB) from TFDS or its published layout.

The published layout is ``aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt``
plus 50,000 unlabelled reviews in ``train/unsup``, as a folder or as
``aclImdb_v1.tar.gz``. The archive is streamed member by member; nothing is
extracted to disk.
"""

from __future__ import annotations

import dataclasses
import tarfile
import zlib
from pathlib import Path

import numpy as np

from rnnapps.data import find_in_data_root
from rnnapps.errors import UsageError
from rnnapps.samples import resolve as resolve_sample

LABELS = ("neg", "pos")
"""Label folder names; the label id is the index (0 = negative)."""
UNLABELLED = -1
"""The label of every review in the ``unlabelled`` split."""


@dataclasses.dataclass
class Reviews:
    """Texts and 0/1 labels of one split."""

    texts: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)


def load_imdb(source: str | Path | None = None, unlabelled: bool = False, *,
              tfds_dir: str | Path | None = None, verbose: int = 1) -> dict[str, Reviews]:
    """Loads the labelled train and test reviews (and the unlabelled ones).

    Args:
        source: An ``aclImdb`` folder (or a folder holding one), an
            ``aclImdb_v1.tar.gz`` archive, ``"sample"`` for the reviews shipped
            with rnnapps (``rnnapps.samples``), or None for
            ``$RNNAPPS_DATA_DIR/imdb_reviews`` and then tensorflow-datasets.
        unlabelled: Also return the ``train/unsup`` reviews, labelled
            ``UNLABELLED``.
        tfds_dir: Where tensorflow-datasets keeps (or prepares) its
            ``imdb_reviews`` (None: its default).
        verbose: 1 for TFDS's download progress, 0 for no TFDS output.

    Returns:
        ``{"train": Reviews, "test": Reviews}`` in a deterministic order, plus
        ``"unlabelled"`` when asked for.

    Raises:
        UsageError: If the path is missing, not in the published layout, or
            the archive is truncated or corrupt; or TFDS would have to
            download the reviews and cannot (offline).
    """
    if source is None:
        source = find_in_data_root("imdb_reviews", "aclImdb", "aclImdb_v1.tar.gz")
        if source is None:
            return _load_tfds(unlabelled, tfds_dir, verbose)
    path = Path(resolve_sample(source, "imdb_reviews"))
    if not path.exists():
        raise UsageError(f"IMDB data not found: {path}")
    if path.is_dir():
        files = _read_folder(path, unlabelled)
    elif tarfile.is_tarfile(path):
        files = _read_archive(path, unlabelled)
    else:
        raise UsageError(f"{path} is neither an aclImdb folder nor a tar archive")
    return _to_splits(files, path, unlabelled)


# Folder (as "aclImdb/<parent>/<folder>") -> (split, label) of its reviews.
_FOLDERS = {**{(split, folder): (split, label) for split in ("train", "test")
               for label, folder in enumerate(LABELS)},
            ("train", "unsup"): ("unlabelled", UNLABELLED)}


def _folders(unlabelled: bool) -> dict:
    return {k: v for k, v in _FOLDERS.items() if unlabelled or v[1] != UNLABELLED}


def _parse(name: str, folders: dict) -> tuple[str, int] | None:
    """Maps ``.../<parent>/<folder>/x.txt`` to the ``(split, label)`` that
    ``folders`` (from ``_folders``) gives that folder, or None."""
    parts = name.replace("\\", "/").split("/")
    if len(parts) < 3 or not parts[-1].endswith(".txt"):
        return None
    return folders.get(tuple(parts[-3:-1]))


def _read_folder(path: Path, unlabelled: bool) -> dict[str, tuple[str, int, str]]:
    if (path / "aclImdb").is_dir():
        path = path / "aclImdb"
    files = {}
    for (parent, folder), parsed in _folders(unlabelled).items():
        for file in (path / parent / folder).glob("*.txt"):
            files[f"{parent}/{folder}/{file.name}"] = (
                *parsed, _decode(file.read_bytes(), file))
    return files


def _read_archive(path: Path, unlabelled: bool) -> dict[str, tuple[str, int, str]]:
    files, folders = {}, _folders(unlabelled)
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                parsed = _parse(member.name, folders) if member.isfile() else None
                if parsed is None:
                    continue
                data = archive.extractfile(member).read()
                files[member.name] = (*parsed, _decode(data, member.name))
    except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
        raise UsageError(f"cannot read {path}: truncated or corrupt archive ({err})") from None
    return files


def _decode(data: bytes, where) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"review {where} is not UTF-8 text") from None


def _to_splits(files: dict, path: Path, unlabelled: bool) -> dict[str, Reviews]:
    splits = {}
    for split in ("train", "test", *(["unlabelled"] if unlabelled else [])):
        rows = sorted((name, label, text) for name, (s, label, text) in files.items()
                      if s == split)
        if not rows and split == "unlabelled":
            raise UsageError(f"{path} has no unlabelled reviews (expected aclImdb/train/unsup)")
        if not rows:
            raise UsageError(f"{path} has no {split} split (expected aclImdb/{split}/pos and "
                             f"aclImdb/{split}/neg)")
        for label, folder in enumerate(LABELS if split != "unlabelled" else ()):
            if not any(row[1] == label for row in rows):
                raise UsageError(f"{path} has no {split}/{folder} reviews "
                                 "(expected the aclImdb/{train,test}/{pos,neg} layout)")
        splits[split] = Reviews(np.array([r[2] for r in rows], dtype=object),
                                np.array([r[1] for r in rows], dtype=np.int32))
    return splits


OFFLINE_HINT = ("pass --data aclImdb_v1.tar.gz (or an aclImdb folder), or --data sample for "
                "the reviews shipped with rnnapps, or set $RNNAPPS_DATA_DIR to a folder "
                "holding imdb_reviews/aclImdb_v1.tar.gz, or --tfds-dir to a folder where "
                "tensorflow-datasets prepared imdb_reviews")
"""What to do instead when tensorflow-datasets cannot download the reviews."""


def _load_tfds(unlabelled: bool, tfds_dir, verbose: int) -> dict[str, Reviews]:
    import tensorflow_datasets as tfds

    from rnnapps.data.tfds import prepared_builder

    names = {"train": "train", "test": "test", **({"unlabelled": "unsupervised"} if unlabelled
                                                  else {})}
    builder = prepared_builder("imdb_reviews", data_dir=tfds_dir, verbose=verbose,
                               hint=OFFLINE_HINT)
    data = builder.as_dataset(split=list(names.values()), as_supervised=True, batch_size=-1)
    return {name: Reviews(np.array([t.decode("utf-8") for t in tfds.as_numpy(x)],
                                   dtype=object), tfds.as_numpy(y).astype(np.int32))
            for name, (x, y) in zip(names, data)}
