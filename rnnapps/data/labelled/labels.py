"""Labelled texts and their labels: ``LabelledTexts``, the typing of labels
(integers or strings, never a mix), and the class list, label ids and
stratified split that training builds from them."""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Callable, Sequence

import numpy as np

from rnnapps.errors import UsageError

_INTEGER = re.compile(r"-?[0-9]+")
_INT64 = (-(2 ** 63), 2 ** 63 - 1)


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
