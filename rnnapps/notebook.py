"""What the notebooks in ``notebooks/`` share: quick mode, finding the data, tiny stand-ins.

* **Quick mode.** ``RNNAPPS_QUICK=1`` makes every notebook shrink its data
  and epochs (``pick(full, quick)``) so it runs in well under a minute; the
  code path is the same, only sizes change. The test suite runs the
  notebooks this way.
* **Data.** ``$RNNAPPS_DATA_DIR`` (laid out ``<dataset>/<published files>``,
  as everywhere in rnnapps), else a ``shared/data`` folder two levels above
  the notebook's folder if there is one. In quick mode, a dataset that is not
  found is replaced by a tiny one written in the dataset's own on-disk format
  (an ``aclImdb_v1.tar.gz``, a text file, a CSV), so the same loaders run.

Nothing here runs at import time.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import tarfile
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from rnnapps.data import DATA_ROOT_ENV

QUICK_ENV = "RNNAPPS_QUICK"
"""Environment variable: set to 1 to run the notebooks with tiny sizes."""

FALLBACK_ROOT = Path("..") / ".." / "shared" / "data"
"""Where the notebooks look for data without ``$RNNAPPS_DATA_DIR``, relative
to the notebook's folder (the working directory of its kernel)."""

T = TypeVar("T")


def quick_mode() -> bool:
    """Whether ``$RNNAPPS_QUICK`` asks for quick mode (anything but empty, 0, false, no, off)."""
    return os.environ.get(QUICK_ENV, "").strip().lower() not in ("", "0", "false", "no", "off")


def pick(full: T, quick: T) -> T:
    """Returns ``quick`` in quick mode and ``full`` otherwise."""
    return quick if quick_mode() else full


def quiet() -> None:
    """Silences TensorFlow's start-up log lines, its INFO logging and TFDS progress bars.

    Call it before TensorFlow is imported: it imports TensorFlow with the
    process's native stderr pointed at /dev/null (the C++ start-up lines
    ignore ``TF_CPP_MIN_LOG_LEVEL`` in recent releases), then restores it.
    """
    import sys

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _native_stderr_silenced(skip="tensorflow" in sys.modules):
        import tensorflow as tf
    tf.get_logger().setLevel("ERROR")
    try:
        import tensorflow_datasets as tfds
    except ImportError:  # pragma: no cover - a dependency, but not needed here
        return
    tfds.disable_progress_bar()


@contextlib.contextmanager
def _native_stderr_silenced(skip: bool = False):
    if skip:
        yield
        return
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


def data_root(start: str | Path | None = None) -> Path | None:
    """Returns ``$RNNAPPS_DATA_DIR``, else ``start/../../shared/data`` if it exists.

    Args:
        start: The notebook's folder (default: the working directory).
    """
    root = os.environ.get(DATA_ROOT_ENV)
    if root:
        return Path(root)
    fallback = Path(start or ".") / FALLBACK_ROOT
    return fallback.resolve() if fallback.is_dir() else None


def find_data(dataset: str, name: str, start: str | Path | None = None) -> Path | None:
    """Returns ``<data root>/<dataset>/<name>`` if it exists, else None."""
    root = data_root(start)
    path = None if root is None else root / dataset / name
    return path if path is not None and path.exists() else None


def _real_or_tiny(dataset: str, name: str, workdir: str | Path, write) -> tuple[Path, bool]:
    found = find_data(dataset, name)
    if found is not None:
        return found, True
    if not quick_mode():
        raise FileNotFoundError(
            f"{dataset}/{name} not found: set ${DATA_ROOT_ENV} to a folder holding it "
            f"(see the README's data section), or run with {QUICK_ENV}=1 to use tiny "
            "stand-in data")
    path = Path(workdir) / "tiny-data" / dataset / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return write(path), False


# ------------------------------------------------------------------- IMDB
_GOOD = ["wonderful", "brilliant", "moving", "superb", "delightful", "excellent", "beautiful",
         "touching", "funny", "gripping"]
_BAD = ["terrible", "boring", "awful", "dreadful", "dull", "stupid", "painful", "lazy",
        "pointless", "tedious"]
_NOUNS = ["film", "story", "acting", "plot", "script", "cast", "ending", "score", "direction"]
_FILLER = ["I watched it last night.", "My friends saw it too.", "It runs two hours.",
           "The cinema was full.", "It is based on a novel.", "I had heard a lot about it."]


def write_tiny_imdb(path: str | Path, per_label: int = 200, seed: int = 0) -> Path:
    """Writes a small ``aclImdb_v1.tar.gz`` in the published layout.

    Each review mixes neutral sentences with adjectives that lean to its
    label (and sometimes one of the other side), so a model has something
    to learn but cannot be perfect.

    Args:
        path: The archive to write.
        per_label: Reviews per label in each of train and test.
        seed: Seed of the generated texts.

    Returns:
        ``path``.
    """
    rng = np.random.default_rng(seed)
    with tarfile.open(path, "w:gz") as tar:
        def add(name: str, text: str) -> None:
            data = text.encode("utf-8")
            info = tarfile.TarInfo(f"aclImdb/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        add("README", "A tiny stand-in for the Large Movie Review Dataset (rnnapps).\n")
        for split in ("train", "test"):
            for label, (own, other) in (("pos", (_GOOD, _BAD)), ("neg", (_BAD, _GOOD))):
                for i in range(per_label):
                    words = [rng.choice(other) if rng.random() < 0.2 else rng.choice(own)
                             for _ in range(rng.integers(1, 4))]
                    parts = [f"The {rng.choice(_NOUNS)} was {w}." for w in words]
                    parts += list(rng.choice(_FILLER, size=rng.integers(1, 3), replace=False))
                    rng.shuffle(parts)
                    rating = int(rng.integers(7, 11) if label == "pos" else rng.integers(1, 5))
                    add(f"{split}/{label}/{i}_{rating}.txt", " <br /><br />".join(parts))
    return Path(path)


def imdb_archive(workdir: str | Path) -> tuple[Path, bool]:
    """The IMDB archive: the real one, or in quick mode a tiny one if it is missing.

    Returns:
        ``(path, real)``.
    """
    return _real_or_tiny("imdb_reviews", "aclImdb_v1.tar.gz", workdir, write_tiny_imdb)


def imdb_subset(source: str | Path, out: str | Path, train_per_label: int,
                test_per_label: int, seed: int = 0) -> Path:
    """Writes a random, label-balanced part of IMDB as an ``aclImdb`` folder.

    ``sentiment.train`` reads the folder with the same loader as the full
    archive, so a short run on a subset goes through exactly the real code.

    Args:
        source: Anything ``rnnapps.data.imdb.load_imdb`` reads.
        out: The folder to create (an ``aclImdb`` folder is made inside).
        train_per_label: Training reviews per label (at most all of them).
        test_per_label: Test reviews per label.
        seed: Seed of the random choice.

    Returns:
        The ``aclImdb`` folder.
    """
    from rnnapps.data.imdb import LABELS, load_imdb

    rng = np.random.default_rng(seed)
    root = Path(out) / "aclImdb"
    for split, reviews in load_imdb(source).items():
        n = train_per_label if split == "train" else test_per_label
        for label, folder in enumerate(LABELS):
            where = root / split / folder
            where.mkdir(parents=True, exist_ok=True)
            for old in where.glob("*.txt"):
                old.unlink()
            idx = np.flatnonzero(reviews.labels == label)
            for i in rng.choice(idx, size=min(n, len(idx)), replace=False):
                (where / f"{i}_0.txt").write_text(str(reviews.texts[i]), encoding="utf-8")
    return root


# ------------------------------------------------------------------- text
_SONNETS = """\
Shall I compare thee to a summer's day?
Thou art more lovely and more temperate:
Rough winds do shake the darling buds of May,
And summer's lease hath all too short a date;
Sometime too hot the eye of heaven shines,
And often is his gold complexion dimm'd;
And every fair from fair sometime declines,
By chance or nature's changing course untrimm'd;
But thy eternal summer shall not fade,
Nor lose possession of that fair thou ow'st;
Nor shall Death brag thou wander'st in his shade,
When in eternal lines to time thou grow'st:
So long as men can breathe or eyes can see,
So long lives this, and this gives life to thee.

When, in disgrace with fortune and men's eyes,
I all alone beweep my outcast state,
And trouble deaf heaven with my bootless cries,
And look upon myself and curse my fate,
Wishing me like to one more rich in hope,
Featured like him, like him with friends possess'd,
Desiring this man's art and that man's scope,
With what I most enjoy contented least;
Yet in these thoughts myself almost despising,
Haply I think on thee, and then my state,
Like to the lark at break of day arising
From sullen earth, sings hymns at heaven's gate;
For thy sweet love remember'd such wealth brings
That then I scorn to change my state with kings.
"""


def write_tiny_corpus(path: str | Path, repeat: int = 8) -> Path:
    """Writes two of Shakespeare's sonnets, ``repeat`` times, as a UTF-8 text file."""
    Path(path).write_text(_SONNETS * repeat, encoding="utf-8")
    return Path(path)


def text_source(workdir: str | Path) -> dict[str, Any]:
    """Config fields for ``TextgenConfig.replace`` that point at Tiny Shakespeare.

    The real ``input.txt`` goes through tensorflow-datasets as its manual dir
    (prepared once into ``<workdir>/tfds``); in quick mode without it, a tiny
    text goes in as ``corpus`` (TFDS accepts only the published file).
    """
    path, real = _real_or_tiny("tiny_shakespeare", "input.txt", workdir, write_tiny_corpus)
    if real:
        return {"data": str(path.parent), "tfds_dir": str(Path(workdir).resolve() / "tfds")}
    return {"corpus": str(path)}


# ------------------------------------------------------------ time series
def write_tiny_temperatures(path: str | Path, years: int = 3, seed: int = 0) -> Path:
    """Writes a daily ``Date,Temp`` CSV like ``daily-min-temperatures.csv``:
    a yearly cycle, weather-like autocorrelated noise and a few empty cells."""
    rng = np.random.default_rng(seed)
    days = np.arange(np.datetime64("1981-01-01"), np.datetime64(f"{1981 + years}-01-01"))
    t = np.arange(len(days))
    noise = np.zeros(len(days))
    for i in range(1, len(days)):
        noise[i] = 0.7 * noise[i - 1] + rng.normal(0, 1.5)
    temp = 11 + 4 * np.cos(2 * np.pi * (t - 15) / 365.25) + noise
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["Date", "Temp"])
        for i, (day, value) in enumerate(zip(days, temp)):
            writer.writerow([str(day), "" if i % 97 == 50 else f"{value:.1f}"])
    return Path(path)


def temperatures_csv(workdir: str | Path) -> tuple[Path, bool]:
    """Melbourne's daily minimum temperatures, or in quick mode a tiny stand-in.

    Returns:
        ``(path, real)``.
    """
    return _real_or_tiny("timeseries", "daily-min-temperatures.csv", workdir,
                         write_tiny_temperatures)


# ------------------------------------------------------------------ files
def workspace(name: str) -> Path:
    """``runs/notebooks/<name>`` under the working directory (git-ignored), created."""
    path = Path("runs") / "notebooks" / name
    path.mkdir(parents=True, exist_ok=True)
    return path
