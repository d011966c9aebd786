#!/usr/bin/env bash
# The checks that need a GPU, in one run of at most 5 minutes:
#   1. the GPU-only tests (a model trained on the GPU, exported, then served
#      in a process that sees no GPU; they are skipped on a CPU machine);
#   2. each task's training throughput with the cuDNN kernels, the shared
#      loop beside model.fit (benchmarks/throughput.py, short rounds).
# Results go to $OUT (default benchmarks/results/gpu_check/): gpu_check.json
# sums them up beside gpu_tests.xml and throughput.json.
#
#   bash benchmarks/gpu_check.sh            # in an environment with rnnapps[dev]
#   PYTHON=.venv/bin/python OUT=/tmp/gpu bash benchmarks/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
OUT=${OUT:-benchmarks/results/gpu_check}
mkdir -p "$OUT"
export TF_CPP_MIN_LOG_LEVEL=2

timeout 150 "$PYTHON" -m pytest -q -p no:cacheprovider -o addopts="" \
    tests/test_portable_export.py --junitxml "$OUT/gpu_tests.xml"
tests_rc=$?
timeout 120 "$PYTHON" benchmarks/throughput.py --task all --repeats 2 --steps 30 \
    --out "$OUT/throughput.json"
throughput_rc=$?

"$PYTHON" - "$OUT" "$tests_rc" "$throughput_rc" <<'EOF'
import json, sys
import xml.etree.ElementTree as ET
from pathlib import Path

import tensorflow as tf

out, tests_rc, throughput_rc = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
gpus = tf.config.list_physical_devices("GPU")
details = [tf.config.experimental.get_device_details(g) for g in gpus]
tests = {}
if (out / "gpu_tests.xml").exists():
    for case in ET.parse(out / "gpu_tests.xml").getroot().iter("testcase"):
        outcome = ("failed" if case.find("failure") is not None or case.find("error") is not None
                   else "skipped" if case.find("skipped") is not None else "passed")
        tests[f"{case.get('classname')}::{case.get('name')}"] = outcome
throughput = (json.loads((out / "throughput.json").read_text())
              if (out / "throughput.json").exists() else None)
summary = {"tensorflow": tf.__version__, "gpus": [d.get("device_name") for d in details],
           "tests_exit": tests_rc, "tests": tests, "throughput_exit": throughput_rc,
           "throughput": throughput}
(out / "gpu_check.json").write_text(json.dumps(summary, indent=2) + "\n")
print(json.dumps({k: summary[k] for k in ("gpus", "tests_exit", "throughput_exit")}))
print(f"wrote {out / 'gpu_check.json'}")
EOF
