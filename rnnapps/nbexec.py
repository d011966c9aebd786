"""Executing the notebooks, and stamping which code their committed outputs came from.

A notebook committed with its outputs shows config fields, defaults and
numbers. When the code moves on, the text and the outputs silently disagree.
So ``execute`` writes a stamp into the notebook's metadata (``rnnapps``):
the package version and, for every rnnapps module its code cells import, a
hash of that module's *public surface* -- each public function's and class's
signature, and each task config's defaults and presets. An internal change
leaves the stamp alone; a new or renamed option, a changed default or preset
changes it, and ``tests/test_notebooks.py`` then names the notebook to
execute again (``scripts/execute_notebooks.py``).

nbclient, nbformat and ipykernel come with the ``dev`` extra.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import inspect
import json
import pkgutil
import re
import sys
import tempfile
from pathlib import Path
from typing import Iterable

STAMP_KEY = "rnnapps"
"""The notebook-metadata key of the stamp."""

KERNEL = "rnnapps-notebooks"
"""The name of the temporary kernel that runs this interpreter."""

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def code_cells(notebook: dict) -> list[str]:
    """The source of each code cell of a notebook (as JSON), IPython magics removed."""
    cells = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
               for c in cells]
    return ["\n".join(line for line in src.splitlines()
                      if not line.lstrip().startswith(("%", "!"))) for src in sources]


def imported_modules(sources: Iterable[str]) -> list[str]:
    """The rnnapps modules that ``import`` statements in ``sources`` load.

    ``from rnnapps.tasks import sentiment`` names ``rnnapps.tasks.sentiment``
    (a module); ``from rnnapps.data.imdb import load_imdb`` names
    ``rnnapps.data.imdb``.

    Returns:
        The module names, sorted, each once.
    """
    found = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.split(".")[0] == "rnnapps")
            elif (isinstance(node, ast.ImportFrom)
                  and (node.module or "").split(".")[0] == "rnnapps"):
                found.update(_from_import(node.module, a.name) for a in node.names)
    return sorted(found)


def _from_import(module: str, name: str) -> str:
    """The module ``from module import name`` loads names: ``name``'s own if it is one."""
    parent = importlib.import_module(module)
    if inspect.ismodule(getattr(parent, name, None)):
        return getattr(parent, name).__name__
    if hasattr(parent, "__path__") and importlib.util.find_spec(f"{module}.{name}"):
        return f"{module}.{name}"
    return module


def surface(module_name: str) -> str:
    """The public surface of a module as text: what a stamp hashes.

    Every public name defined in rnnapps (its own or re-exported), with the
    signature of a function or class, and for a task config (anything with
    ``presets`` and ``to_dict``) its default values and presets as JSON. A
    package's surface includes its submodules': a task package exports their
    names lazily (``classify.train``), so its own namespace shows few of them.
    """
    module = importlib.import_module(module_name)
    lines = [surface(info.name) for info in
             pkgutil.iter_modules(getattr(module, "__path__", []), f"{module_name}.")]
    for name, obj in sorted(vars(module).items()):
        if name.startswith("_") or inspect.ismodule(obj):
            continue
        if not (getattr(obj, "__module__", "") or "").startswith("rnnapps"):
            continue
        lines.append(f"{name}: {_describe(obj)}")
    return _ADDRESS.sub("", "\n".join(lines))


def _describe(obj) -> str:
    if inspect.isclass(obj) and hasattr(obj, "presets") and hasattr(obj, "to_dict"):
        return json.dumps({"defaults": obj().to_dict(), "presets": obj.presets},
                          sort_keys=True, default=repr)
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):  # no signature: a constant, or a builtin
        plain = isinstance(obj, (int, float, str, tuple, frozenset))
        return repr(obj) if plain else type(obj).__name__


def stamp(notebook: dict) -> dict:
    """The stamp the current code gives a notebook (as JSON).

    Returns:
        ``{"version": rnnapps.__version__, "api": {module: sha256[:16]}}``.
    """
    from rnnapps import __version__

    return {"version": __version__,
            "api": {name: hashlib.sha256(surface(name).encode()).hexdigest()[:16]
                    for name in imported_modules(code_cells(notebook))}}


def execute(path: str | Path, *, timeout: int = 1800) -> dict:
    """Executes a notebook in place, in its own folder, and stamps it.

    The kernel runs this interpreter, whatever kernels Jupyter has installed,
    in this process's environment (``$RNNAPPS_QUICK`` included); the notebook
    keeps its own kernelspec metadata.

    Args:
        path: The ``.ipynb`` file; rewritten with the outputs and the stamp.
        timeout: Seconds any one cell may run.

    Returns:
        The executed notebook (an ``nbformat`` node).

    Raises:
        nbclient.exceptions.CellExecutionError: On a cell error (the file is
            then left as it was).
    """
    import nbclient
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    kernelspec = notebook.metadata.get("kernelspec")
    with tempfile.TemporaryDirectory() as kernels:
        spec = Path(kernels) / KERNEL
        spec.mkdir()
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "rnnapps", "language": "python"}))
        manager = KernelManager(kernel_name=KERNEL,
                                kernel_spec_manager=KernelSpecManager(kernel_dirs=[kernels]))
        nbclient.NotebookClient(notebook, km=manager, timeout=timeout,
                                resources={"metadata": {"path": str(path.parent)}}).execute()
    if kernelspec is not None:
        notebook.metadata["kernelspec"] = kernelspec
    notebook.metadata[STAMP_KEY] = stamp(notebook)
    nbformat.write(notebook, path)
    return notebook
