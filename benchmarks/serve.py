"""Serving over HTTP: ``rnnapps serve`` under load, beside the export called in process.

The model and reviews are ``serving.py``'s (the default sentiment LSTM, ~230-word
reviews). For requests of 1 and of 32 reviews, 8 concurrent clients run for
``--seconds`` twice in the same run:

* in process: 8 threads call the loaded SavedModel's signature directly
  (the reference: what the model itself costs at this concurrency);
* over HTTP: 8 clients (``rnnapps.serve.load.run_load``, the load test's
  client) post TF Serving requests to ``rnnapps serve`` on 127.0.0.1.

It reports p50/p99 latency, requests/s and reviews/s of each, their ratio,
failed requests and the server's memory over the run.

    python benchmarks/serve.py [--model-dir saved_models/sentiment/N]
        [--clients 8] [--seconds 20] [--out PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from common import RESULTS, write_report  # noqa: E402
from serving import export_default_model, make_reviews  # noqa: E402

from rnnapps.serve.load import run_clients, run_load  # noqa: E402

BATCHES = (1, 32)


def in_process(classify, reviews: list[str], batch: int, clients: int, seconds: float) -> dict:
    """``clients`` threads calling the signature on ``batch`` reviews for ``seconds``."""
    def send(i: int) -> None:
        start = i * batch
        texts = tf.constant([reviews[(start + j) % len(reviews)] for j in range(batch)])
        classify(texts=texts)["probability"].numpy()

    result = run_clients(lambda k: contextlib.nullcontext(send), clients=clients,
                         seconds=seconds)
    return {key: result[key] for key in ("requests", "throughput", "p50_ms", "p99_ms")}


def start_server(model_dir: Path) -> tuple[subprocess.Popen, str]:
    """``rnnapps serve`` on a free port of 127.0.0.1; returns it and its URL."""
    process = subprocess.Popen([sys.executable, "-m", "rnnapps", "serve", "--port", "0",
                                f"--model=reviews={model_dir}"], stdout=subprocess.PIPE,
                               text=True)
    for line in process.stdout:
        found = re.search(r"serving on (http://[\d.]+:\d+)/", line)
        if found:
            return process, found.group(1)
    raise SystemExit(f"rnnapps serve stopped with exit code {process.wait()}")


def over_http(url: str, pid: int, reviews: list[str], batch: int, clients: int,
              seconds: float) -> dict:
    import psutil

    requests = [("/v1/models/reviews:predict",
                 {"instances": [reviews[(i + j) % len(reviews)] for j in range(batch)]})
                for i in range(0, len(reviews), batch)]
    run_load(url, requests, clients=clients, seconds=min(3.0, seconds))  # warm up
    memory = psutil.Process(pid)
    result = run_load(url, requests, clients=clients, seconds=seconds,
                      sample=lambda: round(memory.memory_info().rss / 2 ** 20, 1))
    samples = result.pop("samples")
    result["server_rss_mb"] = {"start": samples[0], "max": max(samples), "end": samples[-1]}
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", default=None)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--out", default=str(RESULTS / "serve.json"))
    args = parser.parse_args(argv)
    reviews = make_reviews(256, seed=123)
    report = {"clients": args.clients, "seconds": args.seconds, "batches": {}}
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(args.model_dir) if args.model_dir else export_default_model(Path(tmp))
        from rnnapps.export import load_saved_model
        loaded, config, path = load_saved_model(model_dir, "sentiment")
        classify = loaded.signatures["serving_default"]
        report["model"] = config.get("model")
        process, url = start_server(path)
        try:
            for batch in BATCHES:
                in_process(classify, reviews, batch, args.clients, min(3.0, args.seconds))
                direct = in_process(classify, reviews, batch, args.clients, args.seconds)
                http = over_http(url, process.pid, reviews, batch, args.clients, args.seconds)
                ratio = round(http["throughput"] / direct["throughput"], 3)
                report["batches"][str(batch)] = {
                    "in_process": direct, "http": http, "http_vs_in_process": ratio,
                    "reviews_per_s": {"in_process": round(direct["throughput"] * batch, 1),
                                      "http": round(http["throughput"] * batch, 1)}}
                print(f"batch {batch}: in process {direct['throughput']} req/s "
                      f"(p50 {direct['p50_ms']} ms), HTTP {http['throughput']} req/s "
                      f"(p50 {http['p50_ms']} ms, p99 {http['p99_ms']} ms, "
                      f"{http['failed']} failed): {ratio:.2f}x", flush=True)
        finally:
            process.terminate()
            process.wait(timeout=30)
    write_report(args.out, report, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
