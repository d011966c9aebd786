"""What every benchmark shares: the machine it ran on and where results go."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
# The real datasets: $RNNAPPS_DATA_DIR, else ../shared/data beside the checkout.
DATA_DIR = Path(os.environ.get("RNNAPPS_DATA_DIR", RESULTS.parents[2] / "shared" / "data"))


def machine() -> dict:
    """The facts a figure needs next to it: CPU, cores, versions, GPUs, load."""
    import keras
    import tensorflow as tf

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"platform": platform.platform(), "cpu": cpu, "cores": os.cpu_count(),
            "python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
            "load_average": list(os.getloadavg())}


def peak_rss_mb() -> dict:
    """The most resident memory this process, and the children it waited for,
    have held so far (MB): what ``/usr/bin/time -v`` reports as maximum RSS."""
    import resource

    to_mb = 1 / 1024 if sys.platform != "darwin" else 1 / 2 ** 20  # kB on Linux, B on macOS
    return {"self": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * to_mb, 1),
            "children": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * to_mb,
                              1)}


def write_report(out: str | Path, report: dict, argv: list[str] | None = None) -> Path:
    """Writes a benchmark's JSON result, led by the command that produced it
    (``argv``: its arguments, default ``sys.argv[1:]``), the machine it ran
    on and the peak memory so far, and says where."""
    args = sys.argv[1:] if argv is None else argv
    command = " ".join(["python", f"benchmarks/{Path(sys.argv[0]).name}", *args])
    report = {"command": command, "machine": machine(), "peak_rss_mb": peak_rss_mb(), **report}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"wrote {out}")
    return out
