"""A folder per class (``root/<class>/*.txt``, one text per file), read from
a folder on disk or streamed member by member from an archive."""

from __future__ import annotations

import os
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import Callable, Iterator

from rnnapps.data.labelled.sources import _Source
from rnnapps.errors import UsageError

_ARCHIVE_ERRORS = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, OSError,
                   ValueError)  # lzma and bz2 raise OSError/ValueError on bad data


class _Tree:
    """The folders and files of an archive below one folder in it, with the
    bytes of the ``.txt`` files that may be texts."""

    def __init__(self):
        self.dirs: dict[tuple, set[str]] = {(): set()}
        self.files: dict[tuple, set[str]] = {}
        self.data: dict[tuple, bytes] = {}

    def add(self, parts: tuple[str, ...], is_dir: bool, data: bytes | None = None) -> None:
        for i in range(len(parts) - (0 if is_dir else 1)):
            self.dirs.setdefault(parts[:i], set()).add(parts[i])
            self.dirs.setdefault(parts[:i + 1], set())
        if not is_dir:
            self.files.setdefault(parts[:-1], set()).add(parts[-1])
            if data is not None:
                self.data[parts] = data

    def listdir(self, parts: tuple[str, ...]) -> tuple[list[str], list[str]]:
        return sorted(self.dirs.get(parts, ())), sorted(self.files.get(parts, ()))


def _hidden(name: str) -> bool:
    # Dot files and the __MACOSX folder that macOS adds to every zip.
    return name.startswith(".") or name == "__MACOSX"


def _disk_listdir(base: Path) -> Callable[[tuple], tuple[list[str], list[str]]]:
    def listdir(parts: tuple) -> tuple[list[str], list[str]]:
        dirs, files = [], []
        try:
            with os.scandir(base.joinpath(*parts)) as entries:
                for entry in entries:
                    if not _hidden(entry.name):
                        (dirs if entry.is_dir() else files).append(entry.name)
        except OSError as err:
            raise UsageError(f"cannot read {base.joinpath(*parts)}: {err.strerror}") from None
        return sorted(dirs), sorted(files)
    return listdir


def _is_txt(name: str) -> bool:
    return name.lower().endswith(".txt")


def _read_folder(src: _Source, classes: list[str] | None,
                 flat_ok: bool) -> tuple[list[str], list[str]]:
    """Reads ``<root>/<class>/*.txt`` from a folder or an archive.

    With ``flat_ok``, a root holding ``.txt`` files and no folders gives
    those (labelled ``""``).

    Returns:
        ``(texts, labels)``, by class (sorted, or in ``classes`` order), then
        by file name.
    """
    if src.kind == "folder":
        listdir, base = _disk_listdir(src.path), str(src.path)
        def read(parts):
            return _read_bytes(src.path.joinpath(*parts))
    else:
        tree = _scan_archive(src, classes)
        listdir, base, read = tree.listdir, src.given, tree.data.__getitem__
    root = _descend(listdir, archive=src.kind == "archive")
    where = "/".join((base, *root))
    texts, labels = [], []
    for label, names in _class_files(where, listdir, root, classes, flat_ok):
        for name in names:
            parts = (*root, *([label] if label else []), name)
            texts.append(_file_text(read(parts), "/".join((base, *parts))))
            labels.append(label)
    return texts, labels


def _descend(listdir, archive: bool) -> tuple[str, ...]:
    """The folder that holds the classes: descends through folders that hold
    exactly one folder and nothing else (an archive's wrapping folder).

    On disk, a lone folder without folders in it is a class folder, not a
    wrapper: it is not descended into.
    """
    root: tuple[str, ...] = ()
    while True:
        dirs, files = listdir(root)
        if len(dirs) != 1 or files:
            return root
        if not (archive or listdir((*root, dirs[0]))[0]):
            return root
        root = (*root, dirs[0])


def _class_files(where: str, listdir, root: tuple, classes: list[str] | None,
                 flat_ok: bool) -> list[tuple[str, list[str]]]:
    """``[(class, its .txt file names)]`` in class order, checked."""
    dirs, files = listdir(root)
    if flat_ok and not dirs and any(_is_txt(f) for f in files):
        return [("", [f for f in files if _is_txt(f)])]
    if not dirs:
        raise UsageError(f"{where} has no class folders (expected {where}/<class>/*.txt)")
    chosen = dirs if classes is None else classes
    for name in chosen:
        if name not in dirs:
            raise UsageError(f"{where} has no class folder {name!r} (folders: "
                             f"{', '.join(dirs)})")
    found = []
    for name in chosen:
        txt = [f for f in listdir((*root, name))[1] if _is_txt(f)]
        if not txt:
            raise UsageError(f"{where}/{name} has no .txt files (one text per .txt file, "
                             "directly in each class folder)")
        found.append((name, txt))
    return found


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror}") from None


def _file_text(data: bytes, where: str) -> str:
    if b"\x00" in data:
        raise UsageError(f"{where} is a binary file, not text")
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise UsageError(f"{where} is not UTF-8 text (line {line})") from None
    if not text.strip():
        raise UsageError(f"{where}: the text is empty")
    return text


def _scan_archive(src: _Source, classes: list[str] | None) -> _Tree:
    """Reads an archive's listing below ``src.inner`` in one pass, keeping the
    ``.txt`` files that may be texts (those of ``classes``, when given).

    Raises:
        UsageError: If the archive is truncated or corrupt, or has no
            ``src.inner`` folder.
    """
    tree, top, prefix = _Tree(), set(), src.inner
    wanted = None if classes is None else set(classes)
    try:
        for parts, is_dir, read in _archive_members(src.path):
            if not parts or any(_hidden(p) for p in parts):
                continue
            top.add(parts[0])
            if parts[:len(prefix)] != prefix or len(parts) == len(prefix):
                continue
            rel = parts[len(prefix):]
            keep = (not is_dir and _is_txt(rel[-1])
                    and (wanted is None or len(rel) < 2 or rel[-2] in wanted))
            tree.add(rel, is_dir, read() if keep else None)
    except _ARCHIVE_ERRORS as err:
        raise UsageError(f"cannot read {src.path}: truncated or corrupt archive "
                         f"({type(err).__name__}: {err})") from None
    if prefix and not tree.dirs[()] and not tree.files:
        raise UsageError(f"{src.path} has no folder {'/'.join(prefix)} (at its top: "
                         f"{', '.join(sorted(top)) or 'nothing'})")
    return tree


def _archive_members(path: Path) -> Iterator[tuple[tuple[str, ...], bool, Callable]]:
    """Yields ``(path parts, is a folder, read)`` per member, in archive order."""
    def parts(name: str) -> tuple[str, ...]:
        return tuple(p for p in name.replace("\\", "/").split("/") if p not in ("", "."))

    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                yield parts(info.filename), info.is_dir(), lambda i=info: archive.read(i)
        return
    with tarfile.open(path, "r:*") as archive:
        for member in archive:
            if member.isdir() or member.isfile():
                yield (parts(member.name), member.isdir(),
                       lambda m=member: archive.extractfile(m).read())
