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
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import json
import math
import os
import re
import sys
import tarfile
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from rnnapps.errors import UsageError

FORMATS = ("auto", "csv", "tsv", "jsonl", "fasttext", "folder")
"""Values of ``format``; ``auto`` tells them apart by name and content."""

TEXT_COLUMNS = ("text", "sentence", "review", "body", "content", "question", "document")
"""Column (or JSON key) names taken as the text, first present first."""
LABEL_COLUMNS = ("label", "labels", "class", "category", "target", "sentiment", "coarse")
"""Column (or JSON key) names taken as the label, first present first."""

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".zip")
FASTTEXT_PREFIX = "__label__"
CHUNK_ROWS = 50_000
"""CSV rows pandas parses at a time: a few MB of text, whatever the file's size."""
SAMPLE_BYTES = 1 << 16
"""Bytes read to detect the format, the delimiter and a header row."""
GUESS_ROWS = 1000
"""Rows of a headerless CSV looked at to guess which column is which."""

_SUFFIX_FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl",
                   ".ndjson": "jsonl"}
_DELIMITERS = ",;\t|"
_INTEGER = re.compile(r"-?[0-9]+")
_INT64 = (-(2 ** 63), 2 ** 63 - 1)
_ARCHIVE_ERRORS = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, OSError,
                   ValueError)  # lzma and bz2 raise OSError/ValueError on bad data


@dataclasses.dataclass
class LabelledTexts:
    """Texts, one label each, and where they were read from.

    Attributes:
        texts: 1-D object array of ``str``.
        labels: 1-D ``int64`` array when the labels are integers, else an
            object array of ``str``.
        source: What was read (a path, or ``"tfds:name/split"``), for messages.
    """

    texts: np.ndarray
    labels: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, index) -> LabelledTexts:
        """Returns the rows at ``index`` (an integer array), from the same source."""
        index = np.asarray(index, dtype=np.intp)
        return LabelledTexts(self.texts[index], self.labels[index], self.source)


@dataclasses.dataclass
class _Source:
    """What a path names: a file, a folder, or a folder inside an archive."""

    path: Path      # the file or folder on disk (the archive, for one)
    kind: str       # "file", "folder" or "archive"
    inner: tuple[str, ...] = ()   # the folder inside the archive
    given: str = ""               # the path as the user wrote it, for messages


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


def class_names(labels: np.ndarray, classes: Sequence[str] | None = None) -> list[str]:
    """The classes a model predicts, from the training labels.

    Args:
        labels: The training labels.
        classes: The classes in the order wanted (e.g. from the user); None
            sorts the labels (integers by value).

    Returns:
        The class names; a label's class is ``str(label)``.

    Raises:
        UsageError: If there are fewer than two classes, ``classes`` repeats
            one, or a training label is not among ``classes``.
    """
    import pandas as pd

    present = sorted(pd.unique(np.asarray(labels)).tolist())
    if classes is None:
        names = [str(label) for label in present]
    else:
        names = _checked_classes(classes)
        known = set(names)
        missing = [label for label in present if str(label) not in known]
        if missing:
            raise UsageError(f"training label {_show(missing[0])} is not one of the classes "
                             f"({', '.join(names)})")
    if not names:
        raise UsageError("no training labels: the training data has no rows")
    if len(names) < 2:
        raise UsageError(f"only one class ({names[0]}) in the training data; a classifier "
                         "needs at least two")
    return names


def label_ids(data: LabelledTexts, classes: Sequence[str], split: str) -> np.ndarray:
    """Maps each label to the index of its class.

    Args:
        data: The rows of one split.
        classes: From ``class_names`` (of the training labels).
        split: The split's name, for the message (``"test"``).

    Returns:
        ``int32`` class indices, one per row.

    Raises:
        UsageError: If a label is not among ``classes`` (it was never seen in
            training).
    """
    import pandas as pd

    index = {str(name): i for i, name in enumerate(classes)}
    # Looking up each distinct label once keeps a million rows fast.
    codes, uniques = pd.factorize(np.asarray(data.labels))
    table = np.array([index.get(str(u), -1) for u in uniques], dtype=np.int32)
    unseen = [u for u, i in zip(uniques, table) if i < 0]
    if unseen:
        raise UsageError(f"{split} label {_show(unseen[0])} in {data.source} was never seen "
                         f"in training (classes: {', '.join(map(str, classes))})")
    return table[codes] if len(codes) else np.zeros(0, dtype=np.int32)


def stratified_split(data: LabelledTexts, fraction: float,
                     seed: int) -> tuple[LabelledTexts, LabelledTexts]:
    """Holds out ``fraction`` of every class's rows, at random.

    A class of ``n`` rows gives ``round(n * fraction)`` of them (halves round
    up), but at least one and never all of them when it has two or more rows
    and ``fraction > 0``: then every class is both trained on and scored. A
    class of one row stays in the first part.

    Args:
        data: The rows to split.
        fraction: The share to hold out, at least 0 and below 1.
        seed: Seed of the shuffle; the same seed gives the same split.

    Returns:
        ``(rest, held_out)``, each in the original row order.

    Raises:
        UsageError: If ``fraction`` is out of range.
    """
    import pandas as pd

    if not 0 <= fraction < 1:
        raise UsageError(f"the fraction to hold out must be at least 0 and below 1, "
                         f"got {fraction}")
    codes, _ = pd.factorize(np.asarray(data.labels), sort=True)
    rng = np.random.default_rng(seed)
    held = [np.zeros(0, dtype=np.intp)]
    for code in range(codes.max() + 1 if len(codes) else 0):
        rows = np.flatnonzero(codes == code)
        held.append(rng.permutation(rows)[:_held_count(len(rows), fraction)])
    is_held = np.zeros(len(data), dtype=bool)
    is_held[np.concatenate(held)] = True
    return data.take(np.flatnonzero(~is_held)), data.take(np.flatnonzero(is_held))


def load_tfds(name: str, *, text_feature: str | None = None,
              label_feature: str | None = None,
              data_dir: str | Path | None = None
              ) -> tuple[dict[str, LabelledTexts], list[str] | None]:
    """Loads a text-classification dataset from tensorflow-datasets.

    The dataset is downloaded and prepared first if needed. A name TFDS has
    no code for is looked up among the prepared datasets in ``data_dir``
    (e.g. one written by ``tfds.dataset_builders.store_as_tfds_dataset``).

    Args:
        name: The dataset (``"imdb_reviews"``, ``"ag_news_subset"``, or with a
            config or version: ``"glue/sst2"``).
        text_feature: The text feature; None: the only text feature (or the
            dataset's supervised input among several).
        label_feature: The label feature; None: the only ``ClassLabel``
            (or the supervised target among several).
        data_dir: Where TFDS keeps prepared datasets (None: its default).

    Returns:
        ``({"train": ..., "validation": ..., "test": ...}, names)`` with the
        splits the dataset has ("validation" is TFDS's ``validation`` or
        ``dev``), and the ``ClassLabel``'s names in id order (the labels are
        then the ids), or None when the label is not a ``ClassLabel``. A
        split whose ``ClassLabel`` is -1 on every row (unlabelled, like
        GLUE's test sets) is left out.

    Raises:
        UsageError: If the dataset is unknown, cannot be downloaded (offline),
            its text or label feature is missing or ambiguous, or a split
            has some rows labelled -1 (unlabelled) and some not.
    """
    import tensorflow_datasets as tfds

    builder = _tfds_builder(tfds, name, data_dir)
    features = builder.info.features
    supervised = builder.info.supervised_keys or (None, None)
    text = _tfds_feature(name, features, text_feature, _is_text_feature, "text",
                         supervised[0])
    label = _tfds_feature(name, features, label_feature, _is_label_feature, "ClassLabel",
                          supervised[1] if len(supervised) > 1 else None)
    is_class_label = isinstance(features[label], tfds.features.ClassLabel)
    data = {}
    for ours, theirs in _tfds_splits(name, list(builder.info.splits)).items():
        split = _tfds_split(tfds, builder, theirs, text, label, f"tfds:{name}/{theirs}")
        # TFDS labels the rows of an unlabelled split (GLUE's test sets) -1.
        unlabelled = int((split.labels < 0).sum()) if is_class_label else 0
        if 0 < unlabelled < len(split):
            raise UsageError(f"{split.source} has {unlabelled} unlabelled rows (label -1) "
                             "among labelled ones")
        if not unlabelled:
            data[ours] = split
    return data, (list(features[label].names) if is_class_label else None)


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


# ------------------------------------------------------------- CSV and TSV


def _read_delimited(path: Path, fmt: str, text_column, label_column, delimiter, header,
                    need_label: bool):
    sample = _sample(path)
    sep = _delimiter(path, fmt, sample, delimiter)
    first = next(csv.reader([_first_line(sample)], delimiter=sep), [])
    has_header = _has_header(sample, sep, first, header, (text_column, label_column))
    chunks = _csv_chunks(path, sep, has_header)
    head = next(chunks, None)
    if head is None:
        raise UsageError(f"{path} has no rows")
    names = [str(c) for c in head.columns] if has_header else None
    columns = _columns(str(path), names, head.shape[1], text_column,
                       label_column if need_label else None, need_label,
                       lambda: _csv_guess_frame(head))
    text_at, label_at = columns
    texts, labels, row = [], [], 0
    locate = _csv_locator(path, sep, has_header)
    for chunk in _chain(head, chunks):
        _add_csv_chunk(chunk, text_at, label_at, texts, labels, row, path, locate)
        row += len(chunk)
    if not texts:
        raise UsageError(f"{path} has no rows" + (" (only a header)" if has_header else ""))
    return texts, labels, locate


def _first_line(sample: str) -> str:
    # Not splitlines(): it also splits at characters a text may hold (U+2028).
    return sample.split("\n", 1)[0].rstrip("\r")


def _chain(first, rest: Iterator) -> Iterator:
    yield first
    yield from rest


def _delimiter(path: Path, fmt: str, sample: str, delimiter: str | None) -> str:
    """The given delimiter, tab for TSV, else one found in the sample."""
    if delimiter is not None:
        delimiter = {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)
        if len(delimiter) != 1:
            raise UsageError(f"a CSV delimiter is one character, got {delimiter!r}")
        return delimiter
    if fmt == "tsv":
        return "\t"
    # A header naming known columns gives the delimiter surely; the sniffer
    # only guesses from how often each candidate occurs per line.
    line = _first_line(sample)
    for sep in _DELIMITERS:
        fields = [f.strip().strip('"').casefold() for f in line.split(sep)]
        if len(fields) > 1 and set(fields) & set(TEXT_COLUMNS + LABEL_COLUMNS):
            return sep
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","  # one column, or nothing to tell candidates apart


def _has_header(sample: str, sep: str, first: list[str], header: bool | None,
                wanted: tuple) -> bool:
    """Whether the first row names the columns: forced, or it holds a known
    or requested column name, or ``csv.Sniffer`` thinks so."""
    if header is not None:
        return bool(header)
    known = {f.strip().casefold() for f in first}
    names = {str(w).casefold() for w in wanted if isinstance(w, str) and not w.isdigit()}
    if known & (set(TEXT_COLUMNS) | set(LABEL_COLUMNS) | names):
        return True
    try:
        return csv.Sniffer().has_header(sample) if len(first) > 1 else False
    except Exception:  # the sniffer fails in many ways on odd samples; guess no header
        return False


def _csv_chunks(path: Path, sep: str, has_header: bool) -> Iterator:
    """Yields the file's rows as DataFrames of ``CHUNK_ROWS`` rows, all str.

    All columns are parsed (and all but two dropped by the caller): with
    ``usecols`` pandas silently drops the extra fields of a ragged row.
    """
    import pandas as pd

    reader = _pandas(path, sep, lambda: pd.read_csv(
        path, sep=sep, header=0 if has_header else None, dtype=str, keep_default_na=False,
        index_col=False, encoding="utf-8", chunksize=CHUNK_ROWS, engine="c"))
    with reader:
        while (chunk := _pandas(path, sep, lambda: next(reader, None))) is not None:
            yield chunk


def _pandas(path: Path, sep: str, call: Callable):
    """Runs ``call`` (a pandas read) and turns its parse errors into
    UsageErrors naming the line."""
    import pandas as pd

    try:
        with warnings.catch_warnings():
            # A first row longer than the header only warns, and loses fields.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return call()
    except pd.errors.EmptyDataError:
        raise UsageError(f"{path} is empty") from None
    except pd.errors.ParserWarning:
        raise UsageError(f"{path} line {_csv_line(path, sep, 1)}: more fields than the "
                         "header row names") from None
    except pd.errors.ParserError as err:
        raise UsageError(_parser_message(path, sep, str(err))) from None
    except UnicodeDecodeError:
        raise UsageError(_decode_message(path)) from None


def _parser_message(path: Path, sep: str, message: str) -> str:
    # pandas counts lines, but not those inside quoted fields; csv counts the
    # same way, so its reader maps pandas' number to the line in the file.
    ragged = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if ragged:
        expected, line, saw = map(int, ragged.groups())
        return (f"{path} line {_csv_line(path, sep, line - 1, blank_rows=True)}: {saw} "
                f"fields where the rows before have {expected} (delimiter {sep!r}; quote "
                "a text that contains it)")
    quote = re.search(r"EOF inside string starting at row (\d+)", message)
    if quote:
        line = _csv_line(path, sep, int(quote.group(1)), blank_rows=True)
        return f"{path} line {line}: a quoted field is never closed"
    return f"cannot parse {path} as CSV: {message.strip().splitlines()[-1]}"


def _decode_message(path: Path) -> str:
    """Names the line of a file's first byte that is not UTF-8, reading it
    in blocks (the file may be large)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as err:
                line += block[:max(err.start, 0)].count(b"\n")
                return f"{path} line {line} is not UTF-8 text"
            line += block.count(b"\n")
    return f"{path} is not UTF-8 text"


def _csv_line(path: Path, sep: str, record: int, blank_rows: bool = False) -> int:
    """The line on which 0-based ``record`` starts (counting blank lines as
    records when ``blank_rows``, as pandas' own line numbers do)."""
    start = 1
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            reader = csv.reader(f, delimiter=sep)
            number = 0
            for row in reader:
                if blank_rows or any(field.strip() for field in row) or len(row) > 1:
                    if number == record:
                        return start
                    number += 1
                start = reader.line_num + 1
    except csv.Error:  # e.g. a field over csv's size limit: the line is a guess
        pass
    return start


def _csv_locator(path: Path, sep: str, has_header: bool) -> Callable[[int], str]:
    return lambda row: f"line {_csv_line(path, sep, row + int(has_header))}"


def _csv_guess_frame(head):
    """The first ``GUESS_ROWS`` rows as ``(n distinct, mean length)`` per column."""
    sample = head.iloc[:GUESS_ROWS]
    return [(sample.iloc[:, i].nunique(), sample.iloc[:, i].str.len().mean())
            for i in range(sample.shape[1])]


def _add_csv_chunk(chunk, text_at: int, label_at: int | None, texts: list, labels: list,
                   row: int, path: Path, locate: Callable[[int], str]) -> None:
    """Checks and appends one chunk's texts and (stripped) labels."""
    text = chunk.iloc[:, text_at]
    blank = text.str.strip().eq("").to_numpy()
    if blank.any():
        raise UsageError(f"{path} {locate(row + int(blank.argmax()))}: the text is empty")
    texts.extend(text.tolist())
    if label_at is None:
        return
    label = chunk.iloc[:, label_at].str.strip()
    blank = label.eq("").to_numpy()
    if blank.any():
        raise UsageError(f"{path} {locate(row + int(blank.argmax()))}: the label is empty")
    # Interned, a million labels of a few classes cost a pointer each.
    labels.extend(map(sys.intern, label.tolist()))


# ------------------------------------------------------------------ columns


def _columns(where: str, names: list[str] | None, count: int, text_spec, label_spec,
             need_label: bool, guess: Callable[[], list] | None,
             noun: str = "column") -> tuple[int, int | None]:
    """Finds the text and label columns.

    Args:
        where: The file, for messages.
        names: Column names (CSV header or JSON keys); None: a headerless CSV.
        count: Number of columns.
        text_spec: The column asked for (name or number), or None.
        label_spec: Likewise; ignored when not ``need_label``.
        need_label: Whether a label column is needed.
        guess: Returns ``(n distinct, mean length)`` per column, to guess the
            columns of a headerless CSV.
        noun: What a column is called in messages (``"key"`` for JSON).

    Returns:
        ``(text index, label index or None)``.
    """
    text = _column(where, names, count, text_spec, "text", noun)
    label = _column(where, names, count, label_spec, "label", noun) if need_label else None
    if names is not None:
        text = text if text is not None else _known(names, TEXT_COLUMNS, exclude=label)
        if need_label and label is None:
            label = _known(names, LABEL_COLUMNS, exclude=text)
    if need_label and count == 2 and (text is None) != (label is None):
        text, label = (1 - label, label) if text is None else (text, 1 - text)
    if not need_label and count == 1 and text is None:
        text = 0
    if (text is None or (need_label and label is None)) and names is None:
        text, label = _guess_columns(count, guess(), text, label, need_label)
    _check_columns(where, names, count, text, label, need_label, noun)
    return text, label


def _column(where: str, names: list[str] | None, count: int, spec, role: str,
            noun: str) -> int | None:
    """The index of the column ``spec`` names (name, number, or digit string)."""
    if spec is None:
        return None
    if isinstance(spec, str) and names is not None:
        if spec in names:
            return names.index(spec)
        folded = [n.strip().casefold() for n in names]
        if spec.strip().casefold() in folded:
            return folded.index(spec.strip().casefold())
    if isinstance(spec, str) and not spec.strip().isdigit():
        if names is None:
            raise UsageError(f"{where} has no header row, so its columns go by number "
                             f"(0 to {count - 1}); got {role} column {spec!r}")
        raise UsageError(f"{where} has no {noun} {spec!r} ({noun}s: {', '.join(names)})")
    index = int(spec)
    if not 0 <= index < count:
        listing = f": {', '.join(names)}" if names else f", numbered 0 to {count - 1}"
        raise UsageError(f"{where} has no {noun} {index} ({count} {noun}s{listing})")
    return index


def _known(names: list[str], candidates: tuple[str, ...], exclude: int | None) -> int | None:
    folded = [n.strip().casefold() for n in names]
    for candidate in candidates:
        for i, name in enumerate(folded):
            if name == candidate and i != exclude:
                return i
    return None


def _guess_columns(count: int, stats: list, text: int | None, label: int | None,
                   need_label: bool) -> tuple[int, int | None]:
    """A headerless CSV's columns: the label has the fewest distinct values
    (ties: the shortest), the text the longest values of the others."""
    if count == 1:
        return (0 if text is None else text), label
    order = list(range(count))
    if need_label and label is None:
        label = min((i for i in order if i != text), key=lambda i: stats[i])
    if text is None:
        text = max((i for i in order if i != label), key=lambda i: stats[i][1])
    return text, label


def _check_columns(where: str, names, count: int, text, label, need_label: bool,
                   noun: str) -> None:
    listing = f" ({noun}s: {', '.join(names)})" if names else ""
    if need_label and count < 2:
        hint = " (is the delimiter right?)" if noun == "column" else ""
        raise UsageError(f"{where} has only one {noun}{listing}; a text and a label are "
                         f"needed{hint}")
    if text is None:
        raise UsageError(f"{where} has no text {noun} called {' or '.join(TEXT_COLUMNS)}; "
                         f"name the text {noun}{listing}")
    if need_label and label is None:
        raise UsageError(f"{where} has no label {noun} called {' or '.join(LABEL_COLUMNS)}; "
                         f"name the label {noun}{listing}")
    if text == label:
        raise UsageError(f"{where}: the text and the label cannot be the same {noun} "
                         f"({names[text] if names else text})")


# ------------------------------------------------------ JSON Lines, fastText


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yields ``(line number, line)`` for the non-blank lines, decoded.

    Raises:
        UsageError: If the file cannot be read, is binary, or a line is not
            UTF-8.
    """
    try:
        with open(path, "rb") as f:
            for number, raw in enumerate(f, 1):
                if b"\x00" in raw:
                    raise UsageError(f"{path} is a binary file, not text (NUL byte on line "
                                     f"{number})")
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    raise UsageError(f"{path} line {number} is not UTF-8 text (byte "
                                     f"{raw[err.start]:#04x} at column {err.start + 1})"
                                     ) from None
                if number == 1:
                    line = line.removeprefix("\ufeff")
                if line.strip():
                    yield number, line.rstrip("\r\n")
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror}") from None


def _line_locator(path: Path) -> Callable[[int], str]:
    """``locate(row)`` for one row per non-blank line (only on error paths)."""
    def locate(row: int) -> str:
        for i, (number, _) in enumerate(_lines(path)):
            if i == row:
                return f"line {number}"
        return f"row {row + 1}"
    return locate


def _read_jsonl(path: Path, text_column, label_column, need_label: bool):
    texts, labels, keys = [], [], None
    for number, line in _lines(path):
        # json.loads per line (not one parse of the file) gives a bad
        # record's line number, and keeps one record in memory at a time.
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise UsageError(f"{path} line {number}: not valid JSON ({err.msg} at column "
                             f"{err.colno})") from None
        if not isinstance(record, dict):
            raise UsageError(f"{path} line {number}: not a JSON object (JSON Lines holds one "
                             "{...} per line)")
        if keys is None:
            keys = _json_keys(path, list(record), text_column, label_column, need_label)
        texts.append(_json_text(path, number, record, keys[0]))
        if need_label:
            labels.append(_json_label(path, number, record, keys[1]))
    if not texts:
        raise UsageError(f"{path} is empty")
    return texts, labels, _line_locator(path)


def _json_keys(path: Path, names: list[str], text_column, label_column,
               need_label: bool) -> tuple[str, str | None]:
    text, label = _columns(str(path), names, len(names), text_column, label_column,
                           need_label, None, noun="key")
    return names[text], (names[label] if label is not None else None)


def _json_text(path: Path, number: int, record: dict, key: str) -> str:
    if key not in record:
        raise UsageError(f"{path} line {number} has no key {key!r} (keys: "
                         f"{', '.join(record)})")
    text = record[key]
    if not isinstance(text, str):
        raise UsageError(f"{path} line {number}: {key!r} is {_json_kind(text)}, not a string")
    if not text.strip():
        raise UsageError(f"{path} line {number}: the text is empty")
    return text


def _json_label(path: Path, number: int, record: dict, key: str) -> int | str:
    if key not in record:
        raise UsageError(f"{path} line {number} has no key {key!r} (keys: "
                         f"{', '.join(record)})")
    label = record[key]
    if isinstance(label, str) and label.strip():
        return sys.intern(label.strip())
    if isinstance(label, int) and not isinstance(label, bool):
        return label
    what = "an empty string" if isinstance(label, str) else _json_kind(label)
    raise UsageError(f"{path} line {number}: the label {key!r} is {what}; labels are "
                     "integers or strings")


def _json_kind(value) -> str:
    if isinstance(value, bool):
        return f"a boolean ({json.dumps(value)})"
    if value is None:
        return "null"
    kinds = {int: "a number", float: "a number", list: "a list", dict: "an object",
             str: "a string"}
    return f"{kinds.get(type(value), type(value).__name__)} ({json.dumps(value)[:40]})"


def _read_fasttext(path: Path):
    texts, labels = [], []
    for number, line in _lines(path):
        first, *rest = line.split(None, 1)  # fastText splits on any white space
        rest = rest[0].strip() if rest else ""
        if not first.startswith(FASTTEXT_PREFIX):
            raise UsageError(f"{path} line {number} does not start with {FASTTEXT_PREFIX}"
                             "<label>")
        if rest.startswith(FASTTEXT_PREFIX):
            raise UsageError(f"{path}: multi-label lines are not supported (line {number})")
        label = first[len(FASTTEXT_PREFIX):]
        if not label:
            raise UsageError(f"{path} line {number}: the label is empty")
        if not rest:
            raise UsageError(f"{path} line {number}: the text is empty")
        texts.append(rest)
        labels.append(sys.intern(label))
    if not texts:
        raise UsageError(f"{path} is empty")
    return texts, labels, _line_locator(path)


def _read_lines(path: Path) -> list[str]:
    # _resolve has already refused empty and binary files.
    return [line for _, line in _lines(path)]


# ------------------------------------------------------------------- labels


def _label_array(labels: list, where: str, locate: Callable[[int], str]) -> np.ndarray:
    """``int64`` when every label is an integer (or its digits), else ``str``.

    Raises:
        UsageError: If integer and string labels are mixed, or an integer
            does not fit in 64 bits.
    """
    as_int = {value: _as_int(value) for value in set(labels)}
    strings = [value for value, number in as_int.items() if number is None]
    if strings and len(strings) < len(as_int):
        first_int = next(i for i, v in enumerate(labels) if as_int[v] is not None)
        first_str = next(i for i, v in enumerate(labels) if as_int[v] is None)
        raise UsageError(f"{where}: labels mix integers and strings "
                         f"({labels[first_int]!r} on {locate(first_int)}, "
                         f"{labels[first_str]!r} on {locate(first_str)})")
    if strings:
        return _object_array(labels)
    big = [v for v, n in as_int.items() if not _INT64[0] <= n <= _INT64[1]]
    if big:
        raise UsageError(f"{where}: label {big[0]} is too large for a 64-bit integer")
    return np.fromiter((as_int[v] for v in labels), dtype=np.int64, count=len(labels))


def _as_int(value) -> int | None:
    if isinstance(value, int):
        return value
    return int(value) if _INTEGER.fullmatch(value) else None


def _object_array(values: list) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _show(label) -> str:
    return repr(label) if isinstance(label, str) else str(label)


def _checked_classes(classes: Sequence[str] | None) -> list[str] | None:
    if classes is None:
        return None
    names = [str(c) for c in classes]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UsageError(f"the classes name {repeated[0]!r} twice")
    return names


def _keep_classes(data: LabelledTexts, classes: list[str]) -> LabelledTexts:
    wanted = set(classes)
    keep = np.fromiter((str(v) in wanted for v in data.labels), dtype=bool,
                       count=len(data))
    if not keep.any():
        raise UsageError(f"{data.source} has no rows labelled {', '.join(classes)}")
    return data.take(np.flatnonzero(keep))


def _held_count(n: int, fraction: float) -> int:
    if n < 2 or fraction == 0:
        return 0
    return min(max(math.floor(n * fraction + 0.5), 1), n - 1)


# ------------------------------------------------------- folder per class


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


# ------------------------------------------------------ tensorflow-datasets


def _tfds_builder(tfds, name: str, data_dir):
    """The prepared builder of ``name``, downloading it if needed."""
    from tensorflow_datasets.core.registered import DatasetNotFoundError

    where = f" or in {data_dir}" if data_dir is not None else ""
    try:
        builder = tfds.builder(name, data_dir=None if data_dir is None else str(data_dir))
    except DatasetNotFoundError:
        raise UsageError(f"unknown tensorflow-datasets dataset {name!r} (not in its catalog"
                         f"{where})") from None
    except Exception as err:  # e.g. an unknown config or version
        raise UsageError(f"cannot load {name} from tensorflow-datasets: "
                         f"{str(err).splitlines()[0] if str(err) else type(err).__name__}"
                         ) from None
    if not builder.is_prepared():
        try:
            builder.download_and_prepare()
        except Exception as err:  # network errors differ by TFDS version
            raise UsageError(f"could not load {name} from tensorflow-datasets (offline?); "
                             "pass your data as a file or folder instead "
                             f"({type(err).__name__})") from None
    return builder


def _is_text_feature(feature) -> bool:
    import tensorflow_datasets as tfds

    if isinstance(feature, tfds.features.ClassLabel):
        return False
    return (isinstance(feature, tfds.features.Tensor) and feature.shape == ()
            and feature.np_dtype == np.object_)


def _is_label_feature(feature) -> bool:
    import tensorflow_datasets as tfds

    return isinstance(feature, tfds.features.ClassLabel)


def _tfds_feature(name: str, features, asked: str | None, kind: Callable, what: str,
                  supervised: str | None) -> str:
    """The feature asked for, else the only one of its kind, else the
    dataset's supervised one of that kind."""
    listing = ", ".join(f"{k} ({type(f).__name__})" for k, f in sorted(features.items()))
    if asked is not None:
        if asked not in features:
            raise UsageError(f"{name} has no feature {asked!r} (features: {listing})")
        return asked
    found = sorted(key for key, feature in features.items() if kind(feature))
    if len(found) == 1:
        return found[0]
    if supervised in found:
        return supervised
    role = "text" if what == "text" else "label"
    if not found:
        raise UsageError(f"{name} has no {what} feature; name its {role} feature "
                         f"(features: {listing})")
    raise UsageError(f"{name} has several {what} features ({', '.join(found)}); name its "
                     f"{role} feature")


def _tfds_splits(name: str, available: list[str]) -> dict[str, str]:
    """Our split names -> the dataset's."""
    ours = {}
    for split, candidates in (("train", ("train",)), ("validation", ("validation", "dev")),
                              ("test", ("test",))):
        found = [c for c in candidates if c in available]
        if found:
            ours[split] = found[0]
    if not ours:
        raise UsageError(f"{name} has no train, validation or test split (splits: "
                         f"{', '.join(available)})")
    return ours


def _tfds_split(tfds, builder, split: str, text: str, label: str,
                source: str) -> LabelledTexts:
    texts, labels = [], []
    for batch in tfds.as_numpy(builder.as_dataset(split=split, batch_size=4096)):
        texts.extend(t.decode("utf-8") if isinstance(t, bytes) else str(t)
                     for t in batch[text])
        values = batch[label]
        if values.dtype == object:  # a string label feature
            labels.extend(v.decode("utf-8") if isinstance(v, bytes) else v for v in values)
        else:
            labels.extend(values.tolist())
    array = (_object_array(labels) if labels and isinstance(labels[0], str)
             else np.asarray(labels, dtype=np.int64))
    return LabelledTexts(_object_array(texts), array, source)
