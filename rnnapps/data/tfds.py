"""Datasets through tensorflow-datasets: the one place that downloads.

Every TFDS entry point (IMDB, Tiny Shakespeare, ``classify --tfds NAME``,
the notebooks) gets its builder from ``prepared_builder``:

* A dataset already prepared in the data dir is read as it is: no network
  access and no delay.
* Otherwise the hosts of the files still to download are probed first, a few
  seconds at most. TFDS's downloader retries an unreachable host ten times
  with exponential back-off (over three minutes of urllib3 warnings), so an
  offline machine is told at once, in one line, what to pass instead.
* The download shows TFDS's own progress bar (files and MiB) and nothing
  else; preparing the splits afterwards prints one line. With ``verbose=0``
  TFDS prints nothing, and ``tfds.disable_progress_bar()`` is respected.
"""

from __future__ import annotations

import contextlib
import io
import logging
import queue
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Iterable, Iterator

from rnnapps.errors import UsageError, first_line

PROBE_SECONDS = 3.0
"""How long the reachability probe waits for any download host to answer."""


def prepared_builder(name: str, *, data_dir: str | Path | None = None,
                     manual_dir: str | Path | None = None, verbose: int = 1,
                     hint: str = ""):
    """The TFDS builder of ``name``, downloaded and prepared first if needed.

    Args:
        name: The dataset, with a config or version if wanted (``"glue/sst2"``).
        data_dir: Where TFDS keeps prepared datasets (None: its default,
            ``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``).
        manual_dir: A folder holding downloaded files under the names the
            builder registered; TFDS takes them instead of downloading.
        verbose: 1 for the download's progress bar and a line per step, 0 for
            no TFDS output at all.
        hint: What the user can do instead of downloading, added to the
            offline error (e.g. "pass --data PATH").

    Returns:
        The prepared ``tfds.core.DatasetBuilder``.

    Raises:
        UsageError: If the dataset is unknown, its download hosts are
            unreachable (offline), or downloading or preparing it fails.
    """
    builder = tfds_builder(name, data_dir)
    if _is_prepared(builder):
        return builder
    needed = files_to_download(builder, manual_dir)
    urls = probe_urls(needed)
    if urls and not network_reachable(urls):
        hosts = ", ".join(sorted({urllib.parse.urlsplit(url).hostname for url in urls}))
        raise UsageError(f"cannot download {name} for tensorflow-datasets: {hosts} not "
                         f"reachable (offline?)" + (f"; {hint}" if hint else ""))
    _download_and_prepare(builder, needed, manual_dir, verbose, hint)
    return builder


def tfds_builder(name: str, data_dir: str | Path | None = None):
    """The TFDS builder of ``name`` (nothing downloaded or written).

    A name TFDS has no code for is looked up among the prepared datasets in
    ``data_dir`` (e.g. one written by ``tfds.dataset_builders.store_as_tfds_dataset``).

    Args:
        name: The dataset, with a config or version if wanted.
        data_dir: Where TFDS keeps prepared datasets (None: its default).

    Returns:
        The ``tfds.core.DatasetBuilder``.

    Raises:
        UsageError: If TFDS knows no such dataset, config or version.
    """
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.registered import DatasetNotFoundError

    where = f" or in {data_dir}" if data_dir is not None else ""
    try:
        return tfds.builder(name, data_dir=None if data_dir is None else str(data_dir))
    except DatasetNotFoundError:
        raise UsageError(f"unknown tensorflow-datasets dataset {name!r} (not in its catalog"
                         f"{where})") from None
    except Exception as err:  # e.g. an unknown config or version
        raise UsageError(f"cannot load {name} from tensorflow-datasets: {first_line(err)}"
                         ) from None


def files_to_download(builder, manual_dir: str | Path | None = None) -> dict:
    """The files the builder registered that are not in the manual dir.

    Args:
        builder: A TFDS builder.
        manual_dir: Where downloaded files may already be (None: TFDS's
            default, ``<data_dir>/downloads/manual``).

    Returns:
        URL -> ``UrlInfo`` (size, checksum, file name); empty when the
        builder registered no files (then only its own code knows them).
    """
    manual = Path(manual_dir) if manual_dir is not None else (
        Path(builder.data_dir_root) / "downloads" / "manual")
    return {url: info for url, info in (builder.url_infos or {}).items()
            if not (info.filename and (manual / info.filename).is_file())}


def probe_urls(urls: Iterable[str]) -> list[str]:
    """One URL per host among the ``http(s)`` ones: what ``network_reachable`` asks.

    TFDS fetches only those with retries (through requests); an ``ftp`` URL
    fails at once by itself, and a local or cloud-storage path needs no network.

    Args:
        urls: The URLs to download.

    Returns:
        The first URL of each distinct ``scheme://host:port``.
    """
    first: dict[tuple[str, str], str] = {}
    for url in urls:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc:
            first.setdefault((parts.scheme, parts.netloc), url)
    return list(first.values())


def network_reachable(urls: Iterable[str], timeout: float = PROBE_SECONDS) -> bool:
    """Whether any of ``urls`` answers a ``HEAD`` request within ``timeout``.

    The request goes the way TFDS's download would, through requests (so
    ``$https_proxy`` and the like apply), but once, without retries. Any
    answer below 500 counts (a redirect or a 405 too): the host is there.
    The requests run in daemon threads, because name look-ups ignore the
    timeout, and a resolver that hangs must delay neither the answer nor the exit.

    Args:
        urls: ``http(s)`` URLs.
        timeout: Seconds to wait in all.

    Returns:
        True as soon as one answers; False when all failed or time ran out.
    """
    import requests

    urls = list(urls)
    answers: queue.Queue = queue.Queue()

    def ask(url: str) -> None:
        try:
            answers.put(requests.head(url, timeout=timeout, allow_redirects=False)
                        .status_code < 500)
        except (requests.RequestException, OSError):
            answers.put(False)

    for url in urls:
        threading.Thread(target=ask, args=(url,), daemon=True).start()
    deadline = time.monotonic() + timeout
    for _ in urls:
        try:
            if answers.get(timeout=max(0.0, deadline - time.monotonic())):
                return True
        except queue.Empty:
            return False
    return False


def _is_prepared(builder) -> bool:
    """``builder.is_prepared()`` without the warning it logs when the answer is no."""
    logger = logging.getLogger("absl")  # where TFDS's absl.logging calls go
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        return builder.is_prepared()
    finally:
        logger.setLevel(level)


def _download_and_prepare(builder, needed: dict, manual_dir, verbose: int, hint: str) -> None:
    """Downloads ``needed`` under TFDS's progress bar, then prepares the splits.

    When every registered file is needed (one file, or a builder without
    configs), they are downloaded first on their own, so the download's bar
    is the only one; TFDS then finds them in its download cache. A builder
    with configs registers the files of all of them, so it downloads its own.
    """
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.download.download_manager import NonMatchingChecksumError

    downloads = Path(builder.data_dir_root) / "downloads"
    config = tfds.download.DownloadConfig(
        manual_dir=None if manual_dir is None else str(manual_dir))
    first = bool(needed) and (len(needed) == 1 or not builder.BUILDER_CONFIGS)
    size = sum(int(info.size) for info in needed.values()) / 2**20
    try:
        if first:
            if verbose:
                print(f"Downloading {builder.name} ({size:.1f} MiB) into {downloads}")
            with _tfds_output(verbose):
                tfds.download.DownloadManager(
                    download_dir=downloads, url_infos=builder.url_infos,
                    dataset_name=builder.name).download(list(needed))
        if verbose:
            print(f"Preparing {builder.name} in {builder.data_dir_root} (once: later runs "
                  "reuse it)")
        with _tfds_output(verbose if not first else 0):
            builder.download_and_prepare(download_dir=downloads, download_config=config)
    except Exception as err:  # network and format errors differ by TFDS version
        if manual_dir is not None and isinstance(err, NonMatchingChecksumError):
            raise  # the caller names the file the user gave
        raise UsageError(f"could not download and prepare {builder.name} with "
                         f"tensorflow-datasets ({type(err).__name__}: {first_line(err)})"
                         + (f"; {hint}" if hint else "")) from None


@contextlib.contextmanager
def _tfds_output(verbose: int) -> Iterator[None]:
    """TFDS's progress bars only when ``verbose`` and not disabled already;
    its printed lines (``termcolor`` on stdout) never: rnnapps says what runs."""
    from tensorflow_datasets.core.utils import tqdm_utils

    # TFDS has a setter but no getter for its bars: read the flag it sets.
    was = getattr(tqdm_utils, "_active", True)
    tqdm_utils.display_progress_bar(bool(verbose) and was)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        tqdm_utils.display_progress_bar(was)
