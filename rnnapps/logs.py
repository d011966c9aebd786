"""Quiet TensorFlow start-up: one place that hides its native log lines.

TensorFlow's C++ runtime prints device and optimisation notices on import,
straight to file descriptor 2, ignoring Python's ``sys.stderr`` (and, in
recent releases, ``TF_CPP_MIN_LOG_LEVEL`` for some of them). The command
line and the notebooks both import TensorFlow through here. No TensorFlow
import at module level.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Points file descriptor 2 at /dev/null for the block (Python errors still
    propagate as exceptions and are printed after it ends).

    ``TF_CPP_MIN_LOG_LEVEL`` defaults to 3 so that later C++ notices (oneDNN
    fallbacks and the like) stay quiet too; set it to 0 to see them.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
