"""A user's own labelled texts: CSV/TSV, JSON Lines, fastText, folders, TFDS.

* **Files.** CSV or TSV (delimiter and header row detected, or given), JSON
  Lines (one object per line) and fastText (``__label__x some text``), each
  read one row or line at a time, so a file of millions of rows never has to
  fit in memory twice.
* **Folders.** Keras' ``text_dataset_from_directory`` layout,
  ``root/<class>/*.txt`` with one text per file, as a folder or inside a
  ``.tar.gz``/``.tgz``/``.tar``/``.tar.bz2``/``.tar.xz``/``.zip`` archive,
  streamed member by member (nothing is extracted to disk). A path may point
  into an archive: ``aclImdb_v1.tar.gz/aclImdb/train``.
* **tensorflow-datasets.** Any dataset TFDS can build or has prepared, by name.
* **Labels.** Integers when every label is one (a JSON number, or a string
  such as ``"3"`` or ``-1``), else strings; folder names stay strings, so
  their classes sort as Keras sorts them.

Every mistake in the data -- a missing file or column, an empty text, bytes
that are not UTF-8, a ragged CSV row -- is a ``UsageError`` that names the
file and, where there is one, the line.

The package's modules, each a part of the reading:

* ``labels`` -- ``LabelledTexts``, label typing and the class/split helpers.
* ``sources`` -- what a path names (file, folder, archive) and a file's format.
* ``columns`` -- which column or JSON key holds the text and which the label.
* ``delimited`` -- CSV and TSV, through pandas in chunks.
* ``lines`` -- JSON Lines, fastText and plain lines of text.
* ``folders`` -- a folder per class, on disk or inside an archive.
* ``tfds`` -- datasets from tensorflow-datasets.

None of them imports TensorFlow, tensorflow-datasets or pandas when imported:
those load inside the functions that need them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from rnnapps.data.labelled.columns import LABEL_COLUMNS, TEXT_COLUMNS
from rnnapps.data.labelled.delimited import CHUNK_ROWS, GUESS_ROWS, _read_delimited
from rnnapps.data.labelled.folders import _read_folder
from rnnapps.data.labelled.labels import (
    LabelledTexts,
    _checked_classes,
    _keep_classes,
    _label_array,
    _object_array,
    class_names,
    label_ids,
    stratified_split,
)
from rnnapps.data.labelled.lines import FASTTEXT_PREFIX, _read_fasttext, _read_jsonl, _read_lines
from rnnapps.data.labelled.sources import (
    ARCHIVE_SUFFIXES,
    SAMPLE_BYTES,
    _detect_format,
    _locate,
    _sample,
    _Source,
)
from rnnapps.data.labelled.tfds import load_tfds
from rnnapps.errors import UsageError

__all__ = ["ARCHIVE_SUFFIXES", "CHUNK_ROWS", "FASTTEXT_PREFIX", "FORMATS", "GUESS_ROWS",
           "LABEL_COLUMNS", "SAMPLE_BYTES", "TEXT_COLUMNS", "LabelledTexts", "class_names",
           "label_ids", "load_tfds", "read_labelled", "read_texts", "stratified_split"]

FORMATS = ("auto", "csv", "tsv", "jsonl", "fasttext", "folder")
"""Values of ``format``; ``auto`` tells them apart by name and content."""


# ---------------------------------------------------------------- public API


def read_labelled(path: str | Path, *, text_column: str | int | None = None,
                  label_column: str | int | None = None, delimiter: str | None = None,
                  header: bool | None = None, format: str = "auto",
                  classes: Sequence[str] | None = None) -> LabelledTexts:
    """Reads labelled texts from a file, a folder per class, or an archive.

    Args:
        path: A CSV/TSV, JSON Lines or fastText file; a folder of class
            folders of ``.txt`` files; an archive of one; or a path into an
            archive (``data.tar.gz/data/train``).
        text_column: CSV column (name, or 0-based number) or JSON key of the
            text. None: the first of ``TEXT_COLUMNS`` there is (a headerless
            CSV: the column with the longest texts).
        label_column: Likewise for the label, from ``LABEL_COLUMNS`` (a
            headerless CSV: the column with the fewest distinct values).
        delimiter: CSV delimiter; None sniffs it (tab for ``.tsv``/``.tab``).
        header: Whether a CSV's first row names the columns; None detects it.
        format: One of ``FORMATS``.
        classes: Keep only these labels. For a folder, the class folders to
            read, in this order (the others, like IMDB's ``unsup``, are
            skipped); each must exist.

    Returns:
        The texts and labels in file order (a folder: by class, then by file
        name).

    Raises:
        UsageError: If the path is missing or not in the format, has no rows,
            names an unknown column, has an empty text or label, is binary or
            not UTF-8, has a ragged CSV row, mixes integer and string labels,
            or (for a folder) lacks a class folder or its ``.txt`` files.
    """
    src, fmt = _resolve(path, format, texts_only=False)
    if fmt == "folder":
        texts, labels = _read_folder(src, _checked_classes(classes), flat_ok=False)
        data = LabelledTexts(_object_array(texts), _object_array(labels), src.given)
    else:
        texts, labels, locate = _read_file(src.path, fmt, text_column, label_column,
                                           delimiter, header, need_label=True)
        data = LabelledTexts(_object_array(texts), _label_array(labels, src.given, locate),
                             src.given)
        if classes is not None:
            data = _keep_classes(data, _checked_classes(classes))
    return data


def read_texts(path: str | Path, *, text_column: str | int | None = None,
               delimiter: str | None = None, header: bool | None = None,
               format: str = "auto") -> list[str]:
    """Reads texts to classify, without labels.

    A plain text file holds one text per non-blank line (a file of fastText
    lines gives their texts); a CSV/TSV or JSON Lines file gives its text
    column (any label column is ignored); a folder gives its ``.txt`` files,
    directly in it or in class folders.

    Args:
        path: The file or folder (or archive, or path into one).
        text_column: As in ``read_labelled``; a one-column CSV needs none.
        delimiter: As in ``read_labelled``.
        header: As in ``read_labelled``.
        format: One of ``FORMATS``; ``auto`` reads a ``.txt`` file as lines.

    Returns:
        The texts in file order.

    Raises:
        UsageError: As ``read_labelled``, for the text column.
    """
    src, fmt = _resolve(path, format, texts_only=True)
    if fmt == "folder":
        return _read_folder(src, None, flat_ok=True)[0]
    if fmt == "lines":
        return _read_lines(src.path)
    return _read_file(src.path, fmt, text_column, None, delimiter, header,
                      need_label=False)[0]


# ------------------------------------------------------ paths and formats


def _resolve(path: str | Path, format: str, texts_only: bool) -> tuple[_Source, str]:
    """Finds what ``path`` names and the format to read it in.

    Returns ``(source, format)`` with format one of ``FORMATS`` less
    ``auto``, or ``"lines"`` (``texts_only``: a plain text file).
    """
    if format not in FORMATS:
        raise UsageError(f"unknown format {format!r} (choose from {', '.join(FORMATS)})")
    src = _locate(Path(path))
    if src.kind != "file":
        if format not in ("auto", "folder"):
            kind = "an archive" if src.kind == "archive" else "a folder"
            raise UsageError(f"{src.given} is {kind}, not a {format} file")
        return src, "folder"
    if format == "folder":
        raise UsageError(f"{src.given} is a file, not a folder of class folders or an archive")
    sample = _sample(src.path)
    if format != "auto":
        return src, format
    return src, _detect_format(src.path, sample, texts_only)


def _read_file(path: Path, fmt: str, text_column, label_column, delimiter, header,
               need_label: bool) -> tuple[list[str], list, Callable[[int], str]]:
    """Reads a CSV/TSV, JSON Lines or fastText file.

    Returns:
        ``(texts, labels, locate)``: labels as read (``str``, or JSON ``int``),
        empty when not ``need_label``, and ``locate(row)`` -> ``"line N"``
        for messages about a row.
    """
    if fmt in ("csv", "tsv"):
        return _read_delimited(path, fmt, text_column, label_column, delimiter, header,
                               need_label)
    if fmt == "jsonl":
        return _read_jsonl(path, text_column, label_column, need_label)
    return _read_fasttext(path)
