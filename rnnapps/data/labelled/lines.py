"""Files read a line at a time: JSON Lines (one object per line), fastText
(``__label__x some text``) and plain text (one text per line)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Callable, Iterator

from rnnapps.data.labelled.columns import _columns
from rnnapps.errors import UsageError

FASTTEXT_PREFIX = "__label__"


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


def _json_value(path: Path, number: int, record: dict, key: str):
    """``record[key]``; a UsageError naming the line and the keys when it is missing."""
    if key not in record:
        raise UsageError(f"{path} line {number} has no key {key!r} (keys: "
                         f"{', '.join(record)})")
    return record[key]


def _json_text(path: Path, number: int, record: dict, key: str) -> str:
    text = _json_value(path, number, record, key)
    if not isinstance(text, str):
        raise UsageError(f"{path} line {number}: {key!r} is {_json_kind(text)}, not a string")
    if not text.strip():
        raise UsageError(f"{path} line {number}: the text is empty")
    return text


def _json_label(path: Path, number: int, record: dict, key: str) -> int | str:
    label = _json_value(path, number, record, key)
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
