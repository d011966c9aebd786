"""The IMDB loader on archives and folders in the published aclImdb layout."""

import tarfile

import numpy as np
import pytest

from conftest import SHARED_DATA, write_imdb_archive
from rnnapps.data import DATA_ROOT_ENV
from rnnapps.data.imdb import UNLABELLED, load_imdb
from rnnapps.errors import UsageError


def test_archive_gives_balanced_labelled_splits(imdb_archive):
    splits = load_imdb(imdb_archive)
    assert {k: len(v) for k, v in splits.items()} == {"train": 48, "test": 48}
    for reviews in splits.values():
        assert reviews.labels.dtype == np.int32 and reviews.labels.sum() == 24
    assert "<br />" in splits["train"].texts[0]  # raw text: standardisation happens later
    assert not any("unlabelled" in t for t in splits["train"].texts)  # unsup is not labelled


def test_folder_and_its_parent_load_the_same_as_the_archive(imdb_archive, tmp_path):
    with tarfile.open(imdb_archive) as tar:
        tar.extractall(tmp_path, filter="data")
    from_archive = load_imdb(imdb_archive)
    for source in (tmp_path, tmp_path / "aclImdb"):
        loaded = load_imdb(source)
        for split in ("train", "test"):
            np.testing.assert_array_equal(loaded[split].texts, from_archive[split].texts)
            np.testing.assert_array_equal(loaded[split].labels, from_archive[split].labels)


def test_unlabelled_reviews_on_request(imdb_archive, tmp_path):
    with tarfile.open(imdb_archive) as tar:
        tar.extractall(tmp_path, filter="data")
    for source in (imdb_archive, tmp_path):
        splits = load_imdb(source, unlabelled=True)
        assert list(splits["unlabelled"].texts) == ["an unlabelled review"]
        assert list(splits["unlabelled"].labels) == [UNLABELLED]
        assert len(splits["train"]) == 48  # still only the labelled ones
    with pytest.raises(UsageError, match="no unlabelled reviews"):
        load_imdb(write_imdb_archive(tmp_path / "b.tar.gz", unlabelled=False), unlabelled=True)


def test_data_root_environment_variable(imdb_archive, tmp_path, monkeypatch):
    (tmp_path / "imdb_reviews").mkdir()
    (tmp_path / "imdb_reviews" / "aclImdb_v1.tar.gz").write_bytes(imdb_archive.read_bytes())
    monkeypatch.setenv(DATA_ROOT_ENV, str(tmp_path))
    assert len(load_imdb()["test"]) == 48


def test_missing_split_and_label(tmp_path):
    with pytest.raises(UsageError, match="has no train/neg reviews"):
        load_imdb(write_imdb_archive(tmp_path / "a.tar.gz", splits=("train", "test"),
                                     labels=("pos",)))
    with pytest.raises(UsageError, match="has no test split"):
        load_imdb(write_imdb_archive(tmp_path / "b.tar.gz", splits=("train",)))


def test_truncated_archive(imdb_archive, tmp_path):
    broken = tmp_path / "aclImdb_v1.tar.gz"
    broken.write_bytes(imdb_archive.read_bytes()[: imdb_archive.stat().st_size // 2])
    with pytest.raises(UsageError, match="truncated or corrupt archive"):
        load_imdb(broken)


def test_not_a_dataset(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UsageError, match="neither an aclImdb folder nor a tar archive"):
        load_imdb(tmp_path / "notes.txt")
    with pytest.raises(UsageError, match="IMDB data not found"):
        load_imdb(tmp_path / "missing")


@pytest.mark.skipif(not (SHARED_DATA / "imdb_reviews" / "aclImdb_v1.tar.gz").exists(),
                    reason="the full IMDB archive (../shared/data/imdb_reviews) is absent")
def test_full_dataset_counts():
    splits = load_imdb(SHARED_DATA / "imdb_reviews" / "aclImdb_v1.tar.gz")
    assert [len(splits["train"]), len(splits["test"])] == [25000, 25000]
    assert splits["train"].labels.sum() == splits["test"].labels.sum() == 12500
    assert len(load_imdb(SHARED_DATA / "imdb_reviews" / "aclImdb_v1.tar.gz",
                         unlabelled=True)["unlabelled"]) == 50000
