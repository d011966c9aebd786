"""What the notebooks in ``notebooks/`` share: quick mode, finding the data, tiny stand-ins.

* **Quick mode.** ``RNNAPPS_QUICK=1`` makes every notebook shrink its data
  and epochs (``pick(full, quick)``) so it runs in well under a minute; the
  code path is the same, only sizes change. The test suite runs the
  notebooks this way.
* **Data.** ``$RNNAPPS_DATA_DIR`` (laid out ``<dataset>/<published files>``,
  as everywhere in rnnapps), else a ``shared/data`` folder two levels above
  the notebook's folder if there is one. Out of quick mode, a dataset found
  in neither comes from tensorflow-datasets (downloaded once into its own
  data dir) if TFDS has it: IMDB, Tiny Shakespeare, TREC; the temperature
  series is not in TFDS. In quick mode, a dataset that is not found is
  replaced by a tiny one written in the dataset's own on-disk format (an
  ``aclImdb_v1.tar.gz``, a text file, a CSV), so the same loaders run.

Nothing here runs at import time.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np

from rnnapps.data import DATA_ROOT_ENV
from rnnapps.errors import UsageError
from rnnapps.logs import native_stderr_silenced
from rnnapps.testing import (
    write_tickets,
    write_tiny_corpus,
    write_tiny_imdb,
    write_tiny_temperatures,
)

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


FIGURE_DPI = 72
"""Inline figures' resolution: with ``compact_png``, a committed notebook stays
well under 300 KB."""


def start() -> None:
    """What every notebook runs first, before TensorFlow loads: ``quiet()``,
    and compact inline figures (``FIGURE_DPI``, ``compact_png``) in IPython."""
    import matplotlib

    quiet()
    matplotlib.rcParams["figure.dpi"] = FIGURE_DPI
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - Jupyter is in the dev extra
        return
    shell = get_ipython()
    if shell is None or "inline" not in matplotlib.get_backend():
        return
    import matplotlib_inline.backend_inline  # noqa: F401 - registers its formatters first
    from matplotlib.figure import Figure

    shell.display_formatter.formatters["image/png"].for_type(Figure, compact_png)


def compact_png(fig) -> bytes | None:
    """A figure as a 256-colour PNG, for inline display.

    matplotlib writes RGBA PNGs; for line and bar plots a 256-colour palette
    looks the same and takes a third of the bytes, which is what a notebook
    committed with its outputs carries.

    Returns:
        The PNG's bytes; None for a figure with nothing drawn (as the
        inline backend shows nothing for it).
    """
    import io

    from PIL import Image

    if not fig.axes and not fig.lines:
        return None
    raw = io.BytesIO()
    fig.canvas.print_figure(raw, format="png", bbox_inches="tight", facecolor="white")
    raw.seek(0)
    out = io.BytesIO()
    Image.open(raw).convert("RGB").quantize(256).save(out, format="PNG", optimize=True)
    return out.getvalue()


def quiet() -> None:
    """Silences TensorFlow's start-up log lines, its INFO logging and TFDS progress bars.

    Call it before TensorFlow is imported: it imports TensorFlow with the
    process's native stderr pointed at /dev/null (``rnnapps.logs``), then
    restores it.
    """
    import sys

    if "tensorflow" in sys.modules:
        import tensorflow as tf
    else:
        with native_stderr_silenced():
            import tensorflow as tf
    tf.get_logger().setLevel("ERROR")
    try:
        import tensorflow_datasets as tfds
    except ImportError:  # pragma: no cover - a dependency, but not needed here
        return
    tfds.disable_progress_bar()


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


def _real_or_tiny(dataset: str, name: str, workdir: str | Path, write,
                  fetch: Callable[[], Any] | None = None) -> tuple[Any, bool]:
    """The data's local file; else, out of quick mode, ``fetch()`` (its TFDS
    copy); else, in quick mode, a tiny stand-in that ``write(path)`` writes.

    Returns:
        ``(the file or what fetch returned, real)``.

    Raises:
        UsageError: Out of quick mode, if the data is not found locally and
            TFDS has no copy of it or cannot download it (offline).
    """
    found = find_data(dataset, name)
    if found is not None:
        return found, True
    if quick_mode():
        path = Path(workdir) / "tiny-data" / dataset / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return write(path), False
    advice = (f"set ${DATA_ROOT_ENV} to a folder holding {dataset}/{name} (see the README's "
              f"data section), or run with {QUICK_ENV}=1 to use tiny stand-in data")
    if fetch is None:
        raise UsageError(f"{dataset}/{name} not found, and it is not in tensorflow-datasets: "
                         f"{advice}")
    try:
        return fetch(), True
    except UsageError as err:
        raise UsageError(f"{dataset}/{name} not found, and {err}: {advice}") from None


def _prepare_tfds(name: str) -> None:
    """Downloads and prepares TFDS's ``name`` in its default data dir, once;
    the loaders then read it there when given no path."""
    from rnnapps.data.tfds import prepared_builder

    prepared_builder(name)


# ------------------------------------------------------------------- IMDB
def imdb_archive(workdir: str | Path) -> tuple[Path | None, bool]:
    """The IMDB archive: the real one, or TFDS's copy, or in quick mode a tiny one.

    Returns:
        ``(path, real)``; the path is None for TFDS's copy, which
        ``rnnapps.data.imdb.load_imdb(None)`` (and ``imdb_subset``) read.
    """
    return _real_or_tiny("imdb_reviews", "aclImdb_v1.tar.gz", workdir, write_tiny_imdb,
                         lambda: _prepare_tfds("imdb_reviews"))


def imdb_subset(source: str | Path, out: str | Path, train_per_label: int,
                test_per_label: int, seed: int = 0) -> Path:
    """Writes a random, label-balanced part of IMDB as an ``aclImdb`` folder.

    ``sentiment.train`` reads the folder with the same loader as the full
    archive, so a short run on a subset goes through exactly the real code.

    Args:
        source: Anything ``rnnapps.data.imdb.load_imdb`` reads (None: TFDS's copy).
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
def text_source(workdir: str | Path) -> dict[str, Any]:
    """Config fields for ``TextgenConfig.replace`` that point at Tiny Shakespeare.

    The real ``input.txt`` goes through tensorflow-datasets as its manual dir
    (prepared once into ``<workdir>/tfds``); without it, TFDS downloads it into
    its own data dir (no fields needed); in quick mode without it, a tiny
    text goes in as ``corpus`` (TFDS accepts only the published file).

    Raises:
        UsageError: Out of quick mode, if there is neither a local copy nor a
            TFDS one and TFDS cannot download it (offline).
    """
    path, real = _real_or_tiny("tiny_shakespeare", "input.txt", workdir, write_tiny_corpus,
                               lambda: _prepare_tfds("tiny_shakespeare"))
    if path is None:
        return {}
    if real:
        return {"data": str(path.parent), "tfds_dir": str(Path(workdir).resolve() / "tfds")}
    return {"corpus": str(path)}


# ------------------------------------------------------------ time series
def temperatures_csv(workdir: str | Path) -> tuple[Path, bool]:
    """Melbourne's daily minimum temperatures, or in quick mode a tiny stand-in.

    Returns:
        ``(path, real)``.

    Raises:
        UsageError: Out of quick mode, if the file is not found (it is not
            in tensorflow-datasets).
    """
    return _real_or_tiny("timeseries", "daily-min-temperatures.csv", workdir,
                         write_tiny_temperatures)


# -------------------------------------------------------- labelled texts
TREC_HEADER = ("id", "text", "coarse")
"""The stand-in's header: the real TREC columns ``text`` and ``coarse`` (no ``fine``)."""


def trec_csvs(workdir: str | Path) -> tuple[Path, Path, bool]:
    """TREC question types (``text,coarse,fine``), or in quick mode a tiny stand-in.

    Without the local files, out of quick mode, TFDS's ``trec`` is written
    as the same two CSVs under ``<workdir>/tfds-data``. The stand-in is two
    CSVs of support tickets (``rnnapps.testing.write_tickets``) under the
    same ``text`` and ``coarse`` column names, so the same options
    (``label_column="coarse"``) read both.

    Args:
        workdir: Where a stand-in or TFDS's copy is written.

    Returns:
        ``(train_csv, test_csv, real)``; ``real`` is False only for the stand-in.

    Raises:
        UsageError: Out of quick mode, if the files are not found locally and
            TFDS cannot download ``trec`` (offline).
    """
    paths, real = {}, True
    for split, rows, seed in (("train", 120, 0), ("test", 60, 1)):
        paths[split], found = _real_or_tiny(
            "text_classification", f"trec/{split}.csv", workdir,
            lambda path, rows=rows, seed=seed: write_tickets(
                path, rows=rows, seed=seed, header=TREC_HEADER),
            lambda split=split: _trec_from_tfds(workdir)[split])
        real = real and found
    return paths["train"], paths["test"], real


def _trec_from_tfds(workdir: str | Path) -> dict[str, Path]:
    """TFDS's ``trec`` as ``<workdir>/tfds-data/text_classification/trec/{train,test}.csv``
    in the local files' format (fine labels as ``COARSE:fine``), written once."""
    import tensorflow_datasets as tfds

    from rnnapps.artifacts import write_text
    from rnnapps.data.tfds import prepared_builder

    builder = prepared_builder("trec")
    coarse, fine = (builder.info.features[k] for k in ("label-coarse", "label-fine"))
    folder = Path(workdir) / "tfds-data" / "text_classification" / "trec"
    paths = {split: folder / f"{split}.csv" for split in ("train", "test")}
    for split, path in paths.items():
        if path.exists():
            continue
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("text", "coarse", "fine"))
        for row in tfds.as_numpy(builder.as_dataset(split=split)):
            label = coarse.int2str(row["label-coarse"])
            writer.writerow((row["text"].decode("utf-8"), label,
                             f"{label}:{fine.int2str(row['label-fine'])}"))
        write_text(path, out.getvalue())
    return paths


# ------------------------------------------------------------------ files
def workspace(name: str) -> Path:
    """``runs/notebooks/<name>`` under the working directory (git-ignored), created."""
    path = Path("runs") / "notebooks" / name
    path.mkdir(parents=True, exist_ok=True)
    return path
