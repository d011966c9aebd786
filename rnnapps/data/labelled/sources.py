"""What a path names -- a file, a folder, or a folder inside an archive --
and, for a file, the format it is in (by name, then by its first bytes)."""

from __future__ import annotations

import dataclasses
import tarfile
import zipfile
from pathlib import Path

from rnnapps.data.labelled.lines import FASTTEXT_PREFIX
from rnnapps.errors import UsageError

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".zip")
SAMPLE_BYTES = 1 << 16
"""Bytes read to detect the format, the delimiter and a header row."""

_SUFFIX_FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl",
                   ".ndjson": "jsonl"}


@dataclasses.dataclass
class _Source:
    """What a path names: a file, a folder, or a folder inside an archive."""

    path: Path      # the file or folder on disk (the archive, for one)
    kind: str       # "file", "folder" or "archive"
    inner: tuple[str, ...] = ()   # the folder inside the archive
    given: str = ""               # the path as the user wrote it, for messages


def _locate(path: Path) -> _Source:
    """Finds the file or folder ``path`` names, walking up from a path into an
    archive (``x.tar.gz/a/b``) to the archive itself."""
    if path.is_dir():
        return _Source(path, "folder", given=str(path))
    if path.is_file():
        return _Source(path, "archive" if _is_archive(path) else "file", given=str(path))
    for parent in path.parents:
        if parent.is_file():
            if not _is_archive(parent):
                raise UsageError(f"not found: {path} ({parent} is a file, not a folder or "
                                 "an archive)")
            inner = path.relative_to(parent).parts
            return _Source(parent, "archive", inner, given=str(path))
        if parent.is_dir():
            break
    raise UsageError(f"not found: {path}")


def _is_archive(path: Path) -> bool:
    name = path.name.lower()
    if name.endswith(ARCHIVE_SUFFIXES):
        return True
    if Path(name).suffix in (*_SUFFIX_FORMATS, ".json", ".txt"):
        return False  # a text format by name: never sniffed as an archive
    try:
        return zipfile.is_zipfile(path) or tarfile.is_tarfile(path)
    except OSError:
        return False


def _sample(path: Path) -> str:
    """The first ``SAMPLE_BYTES`` of a file, cut at the last full line.

    Raises:
        UsageError: If the file cannot be read, holds NUL bytes (a binary
            file) or nothing but white space.
    """
    try:
        with open(path, "rb") as f:
            raw = f.read(SAMPLE_BYTES)
            more = bool(f.read(1))
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror}") from None
    # NUL never occurs in text but is common in binaries that happen to decode.
    if b"\x00" in raw:
        raise UsageError(f"{path} is a binary file, not text")
    if more and b"\n" in raw:
        raw = raw[:raw.rindex(b"\n") + 1]
    # Undecodable bytes are reported (with their line) by the reader proper.
    text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff")
    if not text.strip():
        raise UsageError(f"{path} is empty")
    return text


def _detect_format(path: Path, sample: str, texts_only: bool) -> str:
    suffix = path.suffix.lower()
    if suffix in _SUFFIX_FORMATS:
        return _SUFFIX_FORMATS[suffix]
    first = sample.lstrip()
    if suffix == ".json":
        if not first.startswith("{"):
            raise UsageError(f"{path} is not JSON Lines (one {{...}} object per line)")
        return "jsonl"
    if first.startswith(FASTTEXT_PREFIX):
        return "fasttext"
    if first.startswith("{"):
        return "jsonl"
    if texts_only:
        return "lines"
    return "csv"
