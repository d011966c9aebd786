"""The notebooks: each runs top to bottom in quick mode, and the outputs committed
with it came from the current code, are small and show no warnings.

For the quick-mode run each notebook is copied into a temporary folder and
executed there (``rnnapps.nbexec.execute``: nbclient, a kernel running this
interpreter), so the committed outputs are never touched and
``../../shared/data`` does not resolve: the notebooks use the tiny stand-in
data they write themselves (``rnnapps.notebook``).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from rnnapps import nbexec

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]
MAX_KB = 300
WARNING = re.compile(r"\w+Warning: |^WARNING[:|]|^W\d{4} ", re.MULTILINE)
"""Python's warnings, absl's and TensorFlow's C++ ones (a review saying "Warning:" is fine)."""
AGAIN = "run .venv/bin/python scripts/execute_notebooks.py notebooks/{}"


def outputs(notebook: dict) -> list[dict]:
    return [o for cell in notebook["cells"] for o in cell.get("outputs", [])]


def test_all_notebooks_are_found():
    assert IDS == ["01_sentiment", "02_text_generation", "03_sequence_regression",
                   "04_rnn_theory", "05_tuning", "06_text_classification"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_in_quick_mode(path, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNAPPS_QUICK", "1")
    monkeypatch.delenv("RNNAPPS_DATA_DIR", raising=False)  # tiny stand-in data only
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    work = tmp_path / "notebooks"
    work.mkdir()
    # Raises CellExecutionError, naming the cell, on any error.
    notebook = nbexec.execute(shutil.copy(path, work), timeout=300)
    assert not [o for o in outputs(notebook) if o.get("output_type") == "error"]
    assert [o for o in outputs(notebook) if "image/png" in o.get("data", {})], \
        f"{path.name} drew no inline plot"


# ------------------------------------------------------- committed outputs
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_outputs_come_from_the_current_code(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    committed = notebook["metadata"].get(nbexec.STAMP_KEY)
    assert committed is not None, f"{path.name} was never stamped: {AGAIN.format(path.name)}"
    current = nbexec.stamp(notebook)
    changed = sorted(name for name in current["api"].keys() | committed["api"].keys()
                     if current["api"].get(name) != committed["api"].get(name))
    assert committed == current, (f"{path.name} was executed on older code ({', '.join(changed)} "
                                  f"changed since): {AGAIN.format(path.name)}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_outputs_are_complete_small_and_without_warnings(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1)), \
        f"{path.name}: not executed top to bottom in one run"
    assert path.stat().st_size <= MAX_KB * 1024, f"{path.name} is over {MAX_KB} KB"
    for output in outputs(notebook):
        assert output.get("output_type") != "error", path.name
        text = "".join(output.get("text", ""))
        assert output.get("name") != "stderr", f"{path.name} has stderr output: {text[:200]}"
        assert not WARNING.search(text), f"{path.name} shows a warning: {text[:200]}"


def test_the_stamp_changes_with_a_config_default_and_a_signature(monkeypatch):
    from rnnapps import notebook as nb
    from rnnapps.tasks.sentiment import SentimentConfig

    source = ["from rnnapps.tasks import sentiment\nfrom rnnapps import notebook as nb"]
    assert nbexec.imported_modules(source) == ["rnnapps.notebook", "rnnapps.tasks.sentiment"]
    before = nbexec.surface("rnnapps.tasks.sentiment")
    monkeypatch.setitem(SentimentConfig.presets, "tiny", {"units": 8})
    assert nbexec.surface("rnnapps.tasks.sentiment") != before
    before = nbexec.surface("rnnapps.notebook")
    def pick(full, quick, extra=None):
        return full

    pick.__module__ = nb.__name__
    monkeypatch.setattr(nb, "pick", pick)
    assert nbexec.surface("rnnapps.notebook") != before


def test_inline_figures_are_palette_pngs_of_the_same_size():
    import io

    from matplotlib.figure import Figure
    from PIL import Image

    from rnnapps import notebook as nb

    fig = Figure(dpi=nb.FIGURE_DPI)
    ax = fig.add_subplot()
    for k in range(5):
        ax.plot(np.cumsum(np.random.default_rng(k).normal(size=200)), label=str(k))
    ax.legend()
    rgba = io.BytesIO()
    fig.canvas.print_figure(rgba, format="png", bbox_inches="tight", facecolor="white")
    compact = nb.compact_png(fig)
    shown, full = Image.open(io.BytesIO(compact)), Image.open(io.BytesIO(rgba.getvalue()))
    assert shown.mode == "P" and shown.size == full.size
    assert len(compact) < len(rgba.getvalue()) / 2
    assert nb.compact_png(Figure()) is None  # nothing drawn, nothing shown
