"""Every notebook in notebooks/ runs top to bottom in quick mode without a cell error.

Each notebook is copied into a temporary folder and executed there with
nbclient, so the committed outputs are never touched and ``../../shared/data``
does not resolve: the notebooks use the tiny stand-in data they write
themselves (``rnnapps.notebook``). The kernel is this interpreter's
(``sys.executable``), whatever kernels Jupyter has installed elsewhere.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
KERNEL = "rnnapps-test"


def test_all_notebooks_are_found():
    names = [p.stem for p in NOTEBOOKS]
    assert names == ["01_sentiment", "02_text_generation", "03_sequence_regression",
                     "04_rnn_theory", "05_tuning", "06_text_classification"]


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory) -> Path:
    """A kernelspec folder whose only kernel runs this very interpreter."""
    root = tmp_path_factory.mktemp("kernels")
    spec = root / KERNEL
    spec.mkdir()
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "rnnapps tests", "language": "python"}))
    return root


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_quick_mode(path, tmp_path, kernel_dir, monkeypatch):
    monkeypatch.setenv("RNNAPPS_QUICK", "1")
    monkeypatch.delenv("RNNAPPS_DATA_DIR", raising=False)  # tiny stand-in data only
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    work = tmp_path / "notebooks"
    work.mkdir()
    copy = Path(shutil.copy(path, work))
    notebook = nbformat.read(copy, as_version=4)
    manager = KernelManager(kernel_name=KERNEL,
                            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)]))
    client = nbclient.NotebookClient(notebook, km=manager, timeout=300,
                                     resources={"metadata": {"path": str(work)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    nbformat.write(notebook, copy)
    errors = [o for cell in notebook.cells for o in cell.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    images = [o for cell in notebook.cells for o in cell.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert images, f"{path.name} drew no inline plot"
