"""Text for character-level models: Tiny Shakespeare (TFDS) or any UTF-8 file.

Every source ends as three strings -- train, validation and test -- cut in
reading order, so no window of validation or test text was ever seen in
training. tensorflow-datasets' ``tiny_shakespeare`` cuts its single file
90/5/5 the same way; ``--corpus`` files are cut by ``val_fraction`` and
``test_fraction`` with the same arithmetic, so the defaults reproduce the
TFDS splits of Tiny Shakespeare's ``input.txt`` exactly.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rnnapps.data import find_in_data_root
from rnnapps.errors import UsageError

DATASET = "tiny_shakespeare"
MANUAL_FILE = "input.txt"
"""The name tiny_shakespeare's ``checksums.tsv`` gives its one file; TFDS looks
for exactly this name in a manual dir."""


@dataclasses.dataclass
class TextSplits:
    """The three splits of a text and where it came from."""

    train: str
    validation: str
    test: str
    source: str

    def items(self):
        """Yields ``(split name, text)`` pairs."""
        return (("train", self.train), ("validation", self.validation), ("test", self.test))


def load_text(data: str | Path | None = None, corpus: str | Path | None = None, *,
              tfds_dir: str | Path | None = None, val_fraction: float = 0.05,
              test_fraction: float = 0.05, verbose: int = 1) -> TextSplits:
    """Loads a text and splits it into train, validation and test.

    Args:
        data: A TFDS manual dir holding Tiny Shakespeare's ``input.txt``, or
            that file itself.
        corpus: Any UTF-8 text file, used instead of Tiny Shakespeare.
        tfds_dir: Where tensorflow-datasets keeps prepared data (None: its
            default).
        val_fraction: ``corpus`` only: fraction of the text for validation.
        test_fraction: ``corpus`` only: fraction of the text for test.
        verbose: 1 for TFDS's download progress, 0 for no TFDS output.

    With neither ``data`` nor ``corpus``, ``$RNNAPPS_DATA_DIR/tiny_shakespeare``
    is used as the manual dir when it holds ``input.txt``; otherwise TFDS
    downloads the dataset (or reuses its prepared copy).

    Returns:
        The splits.

    Raises:
        UsageError: If both sources are given, a file is missing, empty,
            binary or not UTF-8, or TFDS cannot provide the data.
    """
    if data is not None and corpus is not None:
        raise UsageError("give --data (Tiny Shakespeare) or --corpus (your text), not both")
    if corpus is not None:
        text = read_corpus(corpus)
        return TextSplits(*split_text(text, val_fraction, test_fraction), source=str(corpus))
    if data is None:
        found = find_in_data_root(DATASET, MANUAL_FILE)
        return load_tiny_shakespeare(found.parent if found else None, tfds_dir, verbose)
    path = Path(data)
    if path.is_file():
        if path.name != MANUAL_FILE:
            raise UsageError(f"--data must be a TFDS manual dir or its {MANUAL_FILE}, got "
                             f"{path}; use --corpus for any other text file")
        path = path.parent
    elif not path.is_dir():
        raise UsageError(f"Tiny Shakespeare data not found: {path}")
    elif not (path / MANUAL_FILE).is_file():
        raise UsageError(f"{path} holds no {MANUAL_FILE} (the TFDS manual dir of {DATASET})")
    return load_tiny_shakespeare(path, tfds_dir, verbose)


def read_corpus(path: str | Path) -> str:
    """Reads a UTF-8 text file as is (line endings kept).

    Raises:
        UsageError: If the file is missing, a directory, binary, not UTF-8
            or has no text.
    """
    path = Path(path)
    if not path.exists():
        raise UsageError(f"corpus file not found: {path}")
    if not path.is_file():
        raise UsageError(f"corpus {path} is not a file")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise UsageError(f"cannot read corpus {path}: {err.strerror}") from None
    # NUL never occurs in text but is common in binaries that happen to decode.
    if b"\x00" in raw:
        raise UsageError(f"corpus {path} is a binary file, not text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise UsageError(f"corpus {path} is not UTF-8 text (bad byte at offset "
                         f"{err.start})") from None
    if not text.strip():
        raise UsageError(f"corpus {path} is empty")
    return text


def split_text(text: str, val_fraction: float, test_fraction: float) -> tuple[str, str, str]:
    """Cuts ``text`` in reading order into train, validation and test.

    Mirrors TFDS's ``tiny_shakespeare``: train is the first
    ``1 - val_fraction - test_fraction`` of the characters and the rest is
    shared between validation and test in proportion.

    Returns:
        ``(train, validation, test)``.
    """
    # round() removes float noise such as 1 - 0.05 - 0.05 = 0.8999999999999999.
    i = int(len(text) * round(1.0 - val_fraction - test_fraction, 12))
    train, rest = text[:i], text[i:]
    j = int(len(rest) * round(val_fraction / (val_fraction + test_fraction), 12))
    return train, rest[:j], rest[j:]


OFFLINE_HINT = (f"pass --data DIR/{MANUAL_FILE} (Tiny Shakespeare's file) or --corpus FILE "
                "(any text), or set $RNNAPPS_DATA_DIR to a folder holding "
                f"{DATASET}/{MANUAL_FILE}, or --tfds-dir to a folder where "
                f"tensorflow-datasets prepared {DATASET}")
"""What to do instead when tensorflow-datasets cannot download the text."""


def load_tiny_shakespeare(manual_dir: str | Path | None = None,
                          tfds_dir: str | Path | None = None, verbose: int = 1) -> TextSplits:
    """Loads tensorflow-datasets' ``tiny_shakespeare`` train/validation/test.

    Args:
        manual_dir: A folder holding ``input.txt``. TFDS's download manager
            takes a file found there under the name the builder registered
            instead of downloading it, after checking its size and sha256
            against the builder's ``checksums.tsv``.
        tfds_dir: Where TFDS writes (and later reuses) the prepared data.
        verbose: 1 for TFDS's download progress, 0 for no TFDS output.

    Returns:
        The splits.

    Raises:
        UsageError: If ``input.txt`` is not byte-identical to the published
            file, or TFDS cannot download it (offline).
    """
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.download.download_manager import NonMatchingChecksumError

    from rnnapps.data.tfds import prepared_builder

    try:
        builder = prepared_builder(DATASET, data_dir=tfds_dir, manual_dir=manual_dir,
                                   verbose=verbose, hint=OFFLINE_HINT)
    except NonMatchingChecksumError:
        raise UsageError(f"{Path(manual_dir) / MANUAL_FILE} is not the published Tiny "
                         "Shakespeare file (checksum differs); pass it as --corpus to "
                         "train on it anyway") from None
    splits = builder.as_dataset(split=["train", "validation", "test"], batch_size=-1)
    texts = [tfds.as_numpy(split)["text"][0].decode("utf-8") for split in splits]
    return TextSplits(*texts, source=f"tfds:{DATASET}" + (f" ({manual_dir})" if manual_dir else ""))
