"""Serving speed of the exported sentiment SavedModel (raw review strings in).

Latency (p50/p99) of one review per call, and throughput (reviews/s) for
batches of 1, 32 and 256 reviews, through the ``classify`` signature loaded
with ``tf.saved_model.load`` -- what a server with only TensorFlow runs.

    python benchmarks/serving.py [--model-dir saved_models/sentiment/N]
        [--calls 200] [--out PATH]

Without ``--model-dir`` the default model is trained for one epoch on a small
generated ``aclImdb_v1.tar.gz`` and exported to a temporary directory; the
reviews served are ~230 words long (IMDB's mean), so the 200-token window is full.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from common import RESULTS, write_report  # noqa: E402

from rnnapps import testing  # noqa: E402

BATCHES = (1, 32, 256)


def make_reviews(n: int, seed: int = 0) -> list[str]:
    """``n`` reviews of ~230 words from a 2,000-word made-up vocabulary."""
    rng = np.random.default_rng(seed)
    words = ["".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), size=rng.integers(2, 9)))
             for _ in range(2000)]
    return [" ".join(rng.choice(words, size=int(rng.integers(180, 280)))) + ".<br />"
            for _ in range(n)]


def write_archive(path: Path, per_label: int = 128) -> Path:
    """An ``aclImdb_v1.tar.gz`` in the published layout with generated reviews."""
    texts = {label: make_reviews(per_label, seed=stars)
             for label, stars in (("pos", 8), ("neg", 2))}
    return testing.write_imdb_archive(path, lambda split, label, i, rng: texts[label][i],
                                      per_label)


def export_default_model(workdir: Path) -> Path:
    from rnnapps.tasks import sentiment
    from rnnapps.tasks.sentiment import SentimentConfig
    archive = write_archive(workdir / "aclImdb_v1.tar.gz")
    config = SentimentConfig().replace(data=str(archive), epochs=1)
    run = sentiment.train(config, run_dir=workdir / "run", export_dir=workdir / "export",
                          verbose=0)
    return run.export


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", default=None)
    parser.add_argument("--calls", type=int, default=200,
                        help="single-review calls for the latency figures")
    parser.add_argument("--out", default=str(RESULTS / "serving.json"))
    args = parser.parse_args(argv)
    reviews = make_reviews(max(BATCHES), seed=123)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(args.model_dir) if args.model_dir else export_default_model(Path(tmp))
        from rnnapps.export import load_saved_model
        loaded, config, path = load_saved_model(model_dir, "sentiment")
        classify = loaded.signatures["serving_default"]
        for size in BATCHES:  # warm-up every batch shape
            classify(texts=tf.constant(reviews[:size]))
        latencies = []
        for i in range(args.calls):
            one = tf.constant([reviews[i % len(reviews)]])
            t0 = time.perf_counter()
            classify(texts=one)["probability"].numpy()
            latencies.append((time.perf_counter() - t0) * 1000)
        throughput = {}
        for size in BATCHES:
            batch = tf.constant(reviews[:size])
            calls = max(3, 512 // size)
            rates = []
            for _ in range(calls):
                t0 = time.perf_counter()
                classify(texts=batch)["probability"].numpy()
                rates.append(size / (time.perf_counter() - t0))
            throughput[str(size)] = round(statistics.median(rates), 1)
            print(f"batch {size}: {throughput[str(size)]:.1f} reviews/s", flush=True)
    latency = {"p50_ms": round(float(np.percentile(latencies, 50)), 2),
               "p99_ms": round(float(np.percentile(latencies, 99)), 2),
               "mean_ms": round(float(np.mean(latencies)), 2), "calls": args.calls}
    print(f"one review: p50 {latency['p50_ms']} ms, p99 {latency['p99_ms']} ms")
    report = {"model": config.get("model"),
              "seq_length": config.get("data", {}).get("seq_length"),
              "latency_one_review": latency, "reviews_per_s": throughput}
    write_report(args.out, report, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
