"""The shipped IMDB sample and ``rnnapps quickstart``, the offline main job."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from rnnapps import cli
from rnnapps.data.imdb import load_imdb
from rnnapps.samples import sample_path

ROOT = Path(__file__).resolve().parents[1]
FULL_IMDB = ROOT.parent / "shared" / "data" / "imdb_reviews" / "aclImdb_v1.tar.gz"


def test_the_sample_is_short_balanced_real_reviews_in_the_aclimdb_layout():
    path = sample_path("imdb_reviews")
    assert path.stat().st_size < 400_000  # a few hundred KB of package data
    splits = load_imdb("sample")  # the --data value
    assert {name: len(split) for name, split in splits.items()} == {"train": 2000, "test": 600}
    for split in splits.values():
        assert np.bincount(split.labels).tolist() == [len(split) // 2] * 2
        assert max(len(text) for text in split.texts) <= 500


@pytest.mark.skipif(not FULL_IMDB.is_file(), reason="the full IMDB archive is not beside the repo")
def test_the_sample_is_exactly_what_the_script_builds_from_the_full_archive(tmp_path):
    script_path = ROOT / "scripts" / "make_samples.py"
    spec = importlib.util.spec_from_file_location("make_samples", script_path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    built = script.imdb_sample(FULL_IMDB, tmp_path / "sample.tar.xz")
    assert built.read_bytes() == sample_path("imdb_reviews").read_bytes()


def test_quickstart_trains_exports_evaluates_and_predicts_offline(tmp_path, capsys):
    code = cli.main(["quickstart", "--quiet", "--run-dir", str(tmp_path / "run"),
                     "--export-dir", str(tmp_path / "models")])
    out = capsys.readouterr().out
    assert code == 0, out
    export = tmp_path / "models" / "sentiment" / "1"
    assert (export / "saved_model.pb").is_file() and (tmp_path / "run" / "config.json").is_file()
    test_accuracy = float(re.search(r"test accuracy ([\d.]+)", out).group(1))
    served = float(re.search(r"accuracy ([\d.]+), log loss", out).group(1))
    assert test_accuracy > 0.75  # 0.84 at the default seed
    assert abs(served - test_accuracy) < 0.01  # the export scores what training measured
    probabilities = [float(p) for p in re.findall(r"^ +([\d.]+)  (?:positive|negative)", out, re.M)]
    assert len(probabilities) == 2 and probabilities[0] > 0.5 > probabilities[1]
