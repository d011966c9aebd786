"""Which column of a CSV (or key of a JSON object) holds the text and which
the label: asked for by name or number, known by name, or guessed."""

from __future__ import annotations

from typing import Callable

from rnnapps.errors import UsageError

TEXT_COLUMNS = ("text", "sentence", "review", "body", "content", "question", "document")
"""Column (or JSON key) names taken as the text, first present first."""
LABEL_COLUMNS = ("label", "labels", "class", "category", "target", "sentiment", "coarse")
"""Column (or JSON key) names taken as the label, first present first."""


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
