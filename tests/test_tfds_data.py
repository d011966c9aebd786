"""Datasets through tensorflow-datasets: an offline machine is told in seconds,
in one line, what to pass instead; a download shows one progress bar and
nothing with verbose=0; a prepared dataset loads with no network at all.

Downloads go through a local HTTP proxy (``$http_proxy``, which TFDS's
requests honours) serving tiny files in the published formats; their
checksums are registered for the test only, as in ``test_textgen``.
Everything else -- the probe, TFDS's download manager, cache and builders --
is the real code. "Offline" is a proxy on a port nothing listens on, or the
machine's own network where it is really unreachable.
"""

from __future__ import annotations

import functools
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import write_imdb_archive
from rnnapps import notebook as nb
from rnnapps.data.imdb import load_imdb
from rnnapps.data.labelled import read_labelled
from rnnapps.data.tfds import network_reachable, probe_urls
from rnnapps.errors import UsageError

IMDB_URL = "http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
TREC_URLS = {"train": "http://cogcomp.org/Data/QA/QC/train_5500.label",
             "test": "http://cogcomp.org/Data/QA/QC/TREC_10.label"}
DOWNLOAD_HOSTS = (IMDB_URL, "https://raw.githubusercontent.com/karpathy/char-rnn/",
                  "https://drive.google.com/")


@functools.lru_cache(maxsize=None)
def really_online() -> bool:
    """Whether this machine reaches the datasets' hosts (the probe rnnapps uses)."""
    return network_reachable(probe_urls(DOWNLOAD_HOSTS))


class _Proxy(http.server.BaseHTTPRequestHandler):
    """Answers proxied requests (``GET http://host/path``) from ``server.files``."""

    def do_HEAD(self):
        self._answer(body=False)

    def do_GET(self):
        self._answer(body=True)

    def _answer(self, body: bool) -> None:
        self.server.requests.append((self.command, self.path))
        data = self.server.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, *args):  # no request log on stderr
        pass


@pytest.fixture
def proxy(monkeypatch):
    """A local HTTP proxy; ``serve(dataset, {url: file})`` publishes files
    under a dataset's real URLs and registers their checksums;
    ``serve.requests`` lists the ``(method, url)`` asked for."""
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.download import checksums

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    server.files, server.requests = {}, []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{server.server_port}")
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)

    def serve(dataset: str, files: dict[str, Path]) -> None:
        server.files.update({url: path.read_bytes() for url, path in files.items()})
        monkeypatch.setattr(tfds.builder_cls(dataset), "url_infos",
                            {url: checksums.compute_url_info(path)
                             for url, path in files.items()})

    serve.requests = server.requests
    yield serve
    server.shutdown()
    server.server_close()


@pytest.fixture
def bars_on(monkeypatch):
    """TFDS's progress bars as a fresh process has them (other tests turn them off)."""
    from tensorflow_datasets.core.utils import tqdm_utils

    monkeypatch.setattr(tqdm_utils, "_active", True)


@pytest.fixture
def tiny_imdb(tmp_path) -> Path:
    """A tiny ``aclImdb_v1.tar.gz`` in ``served/`` (3 reviews per label and split)."""
    (tmp_path / "served").mkdir(exist_ok=True)
    return write_imdb_archive(tmp_path / "served" / "aclImdb_v1.tar.gz", per_label=3)


# ------------------------------------------------------------------ offline
@pytest.mark.parametrize("network", ["no-proxy-listening", "this-machine"])
def test_offline_train_fails_at_once_in_one_line_and_writes_nothing(network, request,
                                                                    tmp_path):
    if network == "this-machine" and really_online():
        pytest.skip("this machine reaches the download hosts")
    if network != "this-machine":
        request.getfixturevalue("no_network")
    env = {k: v for k, v in os.environ.items() if k != "RNNAPPS_DATA_DIR"}
    proc = subprocess.run(
        [sys.executable, "-m", "rnnapps", "sentiment", "train", "--tfds-dir",
         str(tmp_path / "tfds"), "--run-dir", str(tmp_path / "run"), "--epochs", "1"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=60)  # a guard: TFDS's own retries took over three minutes
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("rnnapps: error: cannot download imdb_reviews"), lines[0]
    for advice in ("--data", "--data sample", "$RNNAPPS_DATA_DIR", "--tfds-dir"):
        assert advice in lines[0]
    assert "Retrying" not in proc.stderr + proc.stdout and "urllib3" not in proc.stderr
    assert list(tmp_path.iterdir()) == [], "wrote files"  # no run dir, no TFDS folder


def test_every_tfds_entry_point_fails_offline_with_its_advice(no_network, tmp_path):
    from rnnapps.data.labelled import load_tfds
    from rnnapps.data.text import load_tiny_shakespeare

    for load, host, advice in (
            (lambda: load_imdb(tfds_dir=tmp_path), "ai.stanford.edu", "--data sample"),
            (lambda: load_tiny_shakespeare(tfds_dir=tmp_path), "raw.githubusercontent.com",
             "--corpus FILE"),
            (lambda: load_tfds("ag_news_subset", data_dir=tmp_path), "drive.google.com",
             "as a file or folder with --data")):
        with pytest.raises(UsageError) as caught:
            load()
        message = str(caught.value)
        assert f"{host} not reachable (offline?)" in message and advice in message
        assert "\n" not in message
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ probe
def test_probe_asks_one_url_per_host_and_only_over_http():
    urls = ["http://a.example/1", "http://a.example/2", "https://a.example/3",
            "ftp://b.example/x", "gs://bucket/y", "/local/file", "http://c.example:8080/z"]
    assert probe_urls(urls) == ["http://a.example/1", "https://a.example/3",
                                "http://c.example:8080/z"]


def test_probe_answers_within_its_timeout(proxy, monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY"):  # straight to the local sockets
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as silent, socket.socket() as closed:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections, never answers a request
        closed.bind(("127.0.0.1", 0))  # bound, not listening: refuses
        urls = {name: f"http://127.0.0.1:{s.getsockname()[1]}/" for name, s in
                (("silent", silent), ("closed", closed))}
        start = time.monotonic()
        assert not network_reachable([urls["silent"], urls["closed"]], timeout=0.5)
        assert time.monotonic() - start < 3.0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    server.files, server.requests = {}, []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:  # a 404 is an answer: the host is there
        assert network_reachable([f"http://127.0.0.1:{server.server_port}/missing"])
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------- download
def test_download_shows_one_bar_then_the_prepared_copy_needs_no_network(
        tiny_imdb, proxy, bars_on, tmp_path, monkeypatch, capsys):
    proxy("imdb_reviews", {IMDB_URL: tiny_imdb})
    tfds_dir = tmp_path / "tfds"
    splits = load_imdb(tfds_dir=tfds_dir, verbose=1)
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"Downloading imdb_reviews (0.0 MiB) into {tfds_dir / 'downloads'}",
        f"Preparing imdb_reviews in {tfds_dir} (once: later runs reuse it)"]
    assert "Dl Size" in err  # TFDS's download bar, and no bar of the preparation
    assert "Generating" not in err and "Shuffling" not in err and "Extraction" not in err
    # The probe, then one download: preparing found it in TFDS's download cache.
    assert proxy.requests == [("HEAD", IMDB_URL), ("GET", IMDB_URL)]
    assert sorted(len(s) for s in splits.values()) == [6, 6]
    assert sorted(set(splits["train"].labels.tolist())) == [0, 1]

    # Offline now: a probe would fail, so loading at all shows none ran.
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:1")
    start = time.monotonic()
    again = load_imdb(tfds_dir=tfds_dir, verbose=1)
    assert time.monotonic() - start < 5.0  # no probe, no retries: the TFRecords only
    assert capsys.readouterr() == ("", "")
    assert sorted(again["test"].texts) == sorted(splits["test"].texts)


def test_verbose_0_silences_tfds(tiny_imdb, proxy, bars_on, tmp_path, capsys):
    proxy("imdb_reviews", {IMDB_URL: tiny_imdb})
    assert len(load_imdb(tfds_dir=tmp_path / "tfds", verbose=0)["train"]) == 6
    out, err = capsys.readouterr()
    assert out == "" and "Dl " not in err and "imdb_reviews" not in err, (out, err)


# ------------------------------------------------------------ notebooks
@pytest.fixture
def full_mode(tmp_path, monkeypatch) -> Path:
    """Out of quick mode, with no local data and an empty TFDS default data dir."""
    from tensorflow_datasets.core import constants

    monkeypatch.delenv("RNNAPPS_DATA_DIR", raising=False)
    monkeypatch.delenv(nb.QUICK_ENV, raising=False)
    monkeypatch.chdir(tmp_path)  # ../../shared/data does not resolve from here
    # What $TFDS_DATA_DIR sets, read by TFDS once at import.
    monkeypatch.setattr(constants, "DATA_DIR", str(tmp_path / "tensorflow_datasets"))
    work = tmp_path / "work"
    work.mkdir()
    return work


def test_notebook_data_comes_from_tfds_out_of_quick_mode(full_mode, tiny_imdb, proxy,
                                                          tmp_path):
    proxy("imdb_reviews", {IMDB_URL: tiny_imdb})
    served = tmp_path / "served"
    (served / "train_5500.label").write_text(
        "DESC:manner How did serfdom develop in and then leave Russia ?\n"
        "NUM:dist How far is it from Denver to Aspen ?\n", encoding="utf-8")
    (served / "TREC_10.label").write_text("LOC:city What county is Modesto , California "
                                          "in ?\n", encoding="utf-8")
    proxy("trec", {TREC_URLS["train"]: served / "train_5500.label",
                   TREC_URLS["test"]: served / "TREC_10.label"})

    archive, real = nb.imdb_archive(full_mode)
    assert (archive, real) == (None, True)
    subset = nb.imdb_subset(archive, full_mode / "subset", 2, 1)
    assert len(load_imdb(subset)["train"]) == 4

    train_csv, test_csv, real = nb.trec_csvs(full_mode)
    assert real and train_csv.read_text(encoding="utf-8").splitlines()[:2] == [
        "text,coarse,fine", "How did serfdom develop in and then leave Russia ?,DESC,DESC:manner"]
    assert read_labelled(test_csv, label_column="coarse").labels.tolist() == ["LOC"]


def test_notebook_data_offline_says_what_to_set(full_mode, no_network):
    for get, message in ((nb.imdb_archive, "cannot download imdb_reviews"),
                         (nb.text_source, "cannot download tiny_shakespeare"),
                         (nb.trec_csvs, "cannot download trec"),
                         (nb.temperatures_csv, "it is not in tensorflow-datasets")):
        with pytest.raises(UsageError) as caught:
            get(full_mode)
        text = str(caught.value)
        assert message in text and "\n" not in text, text
        assert "$RNNAPPS_DATA_DIR" in text and "RNNAPPS_QUICK=1" in text, text
    assert list(full_mode.iterdir()) == []
