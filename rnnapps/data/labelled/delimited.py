"""CSV and TSV files: the delimiter and header row detected, the rows parsed
by pandas in chunks, and pandas' errors turned into messages that name the
line in the file."""

from __future__ import annotations

import codecs
import csv
import re
import sys
import warnings
from pathlib import Path
from typing import Callable, Iterator

from rnnapps.data.labelled.columns import LABEL_COLUMNS, TEXT_COLUMNS, _columns
from rnnapps.data.labelled.sources import _sample
from rnnapps.errors import UsageError

CHUNK_ROWS = 50_000
"""CSV rows pandas parses at a time: a few MB of text, whatever the file's size."""
GUESS_ROWS = 1000
"""Rows of a headerless CSV looked at to guess which column is which."""

_DELIMITERS = ",;\t|"


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
