"""Scale of the classify data path: a 1,000,000-row CSV read, a vocabulary
adapted on it and every row vectorised once, with rows/s and peak memory.

    python benchmarks/classify_scale.py                 # 1,000,000 rows
    python benchmarks/classify_scale.py --rows 200000

Writes ``benchmarks/results/classify_scale.json``. Peak RSS is the process's
high-water mark (``ru_maxrss``) after each stage, the Python interpreter,
TensorFlow and the texts included; the goal is under 1.5 GB for a million rows.
The CSV (support tickets, ``id,body,team``, ~85 characters a text) is
written to a temporary folder first and does not count.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from common import RESULTS, write_report  # noqa: E402


def peak_rss_mb() -> float:
    """The process's peak resident set size so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--max-tokens", type=int, default=20000)
    parser.add_argument("--out", type=Path, default=RESULTS / "classify_scale.json")
    args = parser.parse_args(argv)

    from rnnapps.data.labelled import read_labelled
    from rnnapps.tasks.classify.data import adapt, choose_seq_length, make_vectorizer, vectorize
    from rnnapps.testing import write_tickets

    stages, base = {}, peak_rss_mb()
    with tempfile.TemporaryDirectory() as work:
        path = write_tickets(Path(work) / "tickets.csv", rows=args.rows)
        size = path.stat().st_size

        def stage(name, fn):
            start = time.perf_counter()
            result = fn()
            seconds = time.perf_counter() - start
            stages[name] = {"seconds": round(seconds, 2),
                            "rows_per_second": round(args.rows / seconds),
                            "peak_rss_mb": round(peak_rss_mb())}
            print(f"{name}: {seconds:.1f} s, {args.rows / seconds:,.0f} rows/s, "
                  f"peak RSS {peak_rss_mb():,.0f} MB")
            return result

        data = stage("read", lambda: read_labelled(path, text_column="body",
                                                   label_column="team"))
        seq_length = choose_seq_length(data.texts)
        vectorizer = make_vectorizer(args.max_tokens, seq_length)
        stage("adapt", lambda: adapt(vectorizer, data.texts))
        ids = stage("vectorize", lambda: vectorize(vectorizer, data.texts, data.labels))
    total = sum(s["seconds"] for s in stages.values())
    report = {"rows": args.rows, "csv_mb": round(size / 1e6, 1), "seq_length": seq_length,
              "vocabulary": len(vectorizer.get_vocabulary()),
              "dataset_elements": int(ids.cardinality()),
              "stages": stages, "total_seconds": round(total, 2),
              "rows_per_second": round(args.rows / total),
              "peak_rss_mb": round(peak_rss_mb()), "rss_before_mb": round(base),
              "goal_peak_rss_mb": 1500, "reached": peak_rss_mb() < 1500}
    write_report(args.out, report, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
