"""Writes the small real samples shipped in ``rnnapps/samples/`` from the full datasets.

    python scripts/make_samples.py [--data-dir ../shared/data]

* ``imdb_sample.tar.xz``: short IMDB reviews (at most ``MAX_CHARS`` characters),
  label-balanced, drawn with a fixed seed, in the published ``aclImdb`` layout
  so the IMDB loader reads it like the full archive. Only short reviews are
  kept so that thousands of them fit in a few hundred KB.

The output is byte-for-byte reproducible (fixed seed, member times and order).
"""

from __future__ import annotations

import argparse
import io
import lzma
import tarfile
from pathlib import Path

import numpy as np

from rnnapps.data.imdb import LABELS, load_imdb

OUT = Path(__file__).resolve().parents[1] / "rnnapps" / "samples"
MAX_CHARS = 500
PER_LABEL = {"train": 1000, "test": 300}
SEED = 0


def imdb_sample(archive: Path, out: Path) -> Path:
    """Writes ``out`` (a .tar.xz in the aclImdb layout) from the full archive."""
    rng = np.random.default_rng(SEED)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for split, reviews in load_imdb(archive).items():
            lengths = np.array([len(t) for t in reviews.texts])
            for label, folder in enumerate(LABELS):
                pool = np.flatnonzero((reviews.labels == label) & (lengths <= MAX_CHARS))
                chosen = np.sort(rng.choice(pool, size=PER_LABEL[split], replace=False))
                for i in chosen:
                    data = str(reviews.texts[i]).encode("utf-8")
                    member = tarfile.TarInfo(f"aclImdb/{split}/{folder}/{i}_0.txt")
                    member.size, member.mtime = len(data), 0
                    tar.addfile(member, io.BytesIO(data))
    # xz rather than gzip: a quarter smaller here, and it stores no timestamp
    out.write_bytes(lzma.compress(buffer.getvalue(), preset=9 | lzma.PRESET_EXTREME))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    path = imdb_sample(args.data_dir / "imdb_reviews" / "aclImdb_v1.tar.gz",
                       OUT / "imdb_sample.tar.xz")
    print(f"{path}: {path.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
