"""Plot files: checked names, figures without pyplot, atomic writes.

Figures are ``matplotlib.figure.Figure`` objects: the object-oriented API
renders with Agg and touches no global backend (safe inside notebooks), and
matplotlib is imported only when something is drawn.
"""

from __future__ import annotations

import os
from pathlib import Path

from rnnapps.artifacts import ensure_dir
from rnnapps.errors import UsageError

PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def check_plot_path(plot: str | Path | None) -> None:
    """Checks a ``--plot`` file name before any work is done.

    Raises:
        UsageError: If the suffix is not one matplotlib writes here.
    """
    if plot is not None and Path(plot).suffix.lower() not in PLOT_SUFFIXES:
        raise UsageError(f"--plot must end in {', '.join(PLOT_SUFFIXES)}, got {str(plot)!r}")


def figure(width: float = 12, height: float = 4):
    """A new ``(figure, axes)`` pair."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def save(fig, path: str | Path) -> Path:
    """Writes the figure to ``path`` atomically (a reader never sees half a file)."""
    path = Path(path)
    ensure_dir(path.parent)
    tmp = path.with_name(f".tmp-{path.name}")
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    os.replace(tmp, path)
    return path
