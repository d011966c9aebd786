"""Atomic files and versioned directories."""

import os
import stat
import threading

import pytest

from rnnapps.artifacts import ensure_dir, versions, write_json, write_text, write_versioned_dir
from rnnapps.errors import UsageError


def test_written_files_follow_the_umask_and_leave_no_temporaries(tmp_path):
    write_json(tmp_path / "a" / "metrics.json", {"x": 1})
    mode = stat.S_IMODE(os.stat(tmp_path / "a" / "metrics.json").st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["metrics.json"]


def test_a_failed_fill_leaves_no_version_and_no_temporary(tmp_path):
    def fill(tmp):
        write_text(tmp / "half.txt", "half")
        raise RuntimeError("crash while exporting")

    with pytest.raises(RuntimeError):
        write_versioned_dir(tmp_path, fill)
    assert list(tmp_path.iterdir()) == []


def test_concurrent_writers_get_distinct_versions(tmp_path):
    barrier = threading.Barrier(4)

    def fill(tmp):
        write_text(tmp / "model.txt", "ok")
        barrier.wait()  # all four rename at once

    threads = [threading.Thread(target=write_versioned_dir, args=(tmp_path, fill))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert versions(tmp_path) == [1, 2, 3, 4]
    assert all((tmp_path / str(v) / "model.txt").exists() for v in range(1, 5))


def test_paths_that_are_files(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="exists and is not a directory"):
        ensure_dir(tmp_path / "file")
