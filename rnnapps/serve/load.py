"""A bounded load test of a running server: concurrent clients for a fixed time.

The same client serves the test suite (short, checks that nothing fails and
memory stays flat) and ``benchmarks/serve.py`` (longer, writes the figures).
Each client is a thread with its own HTTP connection (``httpx``), sending
the requests it is given in turn, as fast as the answers come; ``run_clients``
is that loop for any way of sending (the benchmark's in-process reference).
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from typing import Callable, ContextManager, Sequence

import numpy as np


def run_load(base_url: str, requests: Sequence[tuple[str, dict]], *, clients: int = 8,
             seconds: float = 20.0, timeout: float = 30.0,
             sample: Callable[[], float] | None = None) -> dict:
    """Sends ``requests`` from ``clients`` threads for ``seconds``, then stops.

    Args:
        base_url: The server, e.g. ``http://127.0.0.1:8501``.
        requests: ``(path, JSON body)`` pairs, posted in turn by every client
            (each starts at a different one).
        clients: Concurrent clients.
        seconds: How long to send for; a request under way then finishes.
        timeout: Seconds one request may take before it counts as failed.
        sample: As ``run_clients``.

    Returns:
        ``run_clients``' figures.
    """
    import httpx

    @contextlib.contextmanager
    def connect(k: int):
        with httpx.Client(base_url=base_url, timeout=timeout) as http:
            yield lambda i: _post(http, *requests[i % len(requests)])

    return run_clients(connect, clients=clients, seconds=seconds, sample=sample)


def run_clients(connect: Callable[[int], ContextManager[Callable[[int], str | None]]], *,
                clients: int = 8, seconds: float = 20.0,
                sample: Callable[[], float] | None = None) -> dict:
    """``clients`` threads, each sending as fast as the answers come, for ``seconds``.

    Args:
        connect: ``connect(k)`` opens client ``k`` (a context manager) and gives
            ``send(i)``, which sends its ``i``-th request (client ``k`` counts
            from ``k``) and returns why it failed, or None.
        clients: Concurrent clients.
        seconds: How long to send for; a request under way then finishes.
        sample: Called about once a second (e.g. the server's memory in MB);
            its values are returned as ``samples``.

    Returns:
        ``{"clients", "seconds", "requests", "failed", "throughput"}`` (requests
        per second), ``"p50_ms"``, ``"p99_ms"``, ``"errors"`` (up to five
        failure messages) and ``"samples"``.
    """
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    deadline = time.perf_counter() + seconds

    def client(k: int) -> None:
        with connect(k) as send:
            for i in itertools.count(k):
                if time.perf_counter() >= deadline:
                    return
                start = time.perf_counter()
                failure = send(i)
                if failure is None:
                    latencies[k].append(time.perf_counter() - start)
                else:
                    errors.append(failure)

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    samples = []
    while any(thread.is_alive() for thread in threads):
        if sample is not None:
            samples.append(sample())
        for thread in threads:
            thread.join(timeout=1.0 / len(threads))
    elapsed = time.perf_counter() - began
    done = np.array([t for per_client in latencies for t in per_client]) * 1000
    return {"clients": clients, "seconds": round(elapsed, 2),
            "requests": int(len(done) + len(errors)), "failed": len(errors),
            "throughput": round(len(done) / elapsed, 1),
            "p50_ms": round(float(np.percentile(done, 50)), 2) if len(done) else None,
            "p99_ms": round(float(np.percentile(done, 99)), 2) if len(done) else None,
            "errors": errors[:5], "samples": samples}


def _post(http, path: str, body: dict) -> str | None:
    """Posts one request; returns why it failed, or None."""
    import httpx

    try:
        response = http.post(path, json=body)
    except httpx.HTTPError as err:
        return f"{path}: {type(err).__name__}: {err}"
    return None if response.status_code == 200 else (
        f"{path}: HTTP {response.status_code} {response.text[:200]}")


def example_requests(models: list[dict], batch: int = 8, length: int = 100) -> list[tuple]:
    """A predict request per served model, from what ``GET /ui/models`` says of it.

    A text model gets ``batch`` texts, a generation model one seed continued
    by ``length`` characters, a forecasting model that reads its target alone
    ``batch`` windows of a noisy sine (others are left out: their inputs need
    real rows).

    Returns:
        ``(path, JSON body)`` pairs for ``run_load``.
    """
    rng = np.random.default_rng(0)
    texts = ["the printer in room four is on fire again", "a wonderful, moving film",
             "my invoice shows the wrong amount", "!!!", "the network drops every hour",
             "I want a refund", "dull and far too long", "wifi is down on the second floor"]
    out = []
    for model in models:
        path = f"/v1/models/{model['name']}:predict"
        if model["kind"] == "classify":
            out.append((path, {"signature_name": model["signature"],
                               "instances": [texts[i % len(texts)] for i in range(batch)]}))
        elif model["kind"] == "generate":
            out.append((path, {"signature_name": model["signature"], "inputs": {
                "seed_texts": ["ROMEO:"], "length": length, "num_samples": 1,
                "temperature": 0.8, "top_k": 0, "top_p": 1.0, "seed": 7}}))
        elif model["kind"] == "forecast" and len(model["columns"]) == 1:
            t = np.arange(model["window"])[None] + rng.integers(0, 100, (batch, 1))
            values = np.sin(t / 4) + 0.1 * rng.standard_normal(t.shape)
            out.append((path, {"instances": values[..., None].round(4).tolist()}))
    return out
