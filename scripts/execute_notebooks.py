"""Executes the notebooks in full mode, in place, and stamps them with the code they ran on.

    .venv/bin/python scripts/execute_notebooks.py                 # every notebook
    .venv/bin/python scripts/execute_notebooks.py notebooks/01_sentiment.ipynb

Full mode reads the real data (``$RNNAPPS_DATA_DIR``, ``../shared/data``, or
TFDS); each notebook prints its own run time. ``tests/test_notebooks.py``
fails when a committed notebook's stamp differs from what the current code
gives (``rnnapps.nbexec``): then run this again for the notebooks it names.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from rnnapps import nbexec

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        default=sorted(NOTEBOOKS.glob("*.ipynb")),
                        help="the notebooks to execute (default: all in notebooks/)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds any one cell may run")
    args = parser.parse_args(argv)
    os.environ.pop("RNNAPPS_QUICK", None)  # the committed outputs are full-mode runs
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    for path in args.notebooks:
        print(f"{path.name}: executing", flush=True)
        start = time.perf_counter()
        nbexec.execute(path, timeout=args.timeout)
        print(f"{path.name}: {time.perf_counter() - start:.0f} s, "
              f"{path.stat().st_size / 1024:.0f} KB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
