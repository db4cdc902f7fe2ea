"""``docs/notebook.ipynb`` is valid nbformat 4, runs in Jupyter, and its stored outputs
are what it produces today.

The notebook is validated with ``nbformat`` and executed with ``nbclient`` in an IPython
kernel, the way Jupyter users run it (those tests skip when the dev extras are not
installed).  A second, dependency-free check runs the code cells in plain Python, as
IPython would display them.  The outputs stored in the notebook must equal the fresh ones
(``text/plain``, Markdown, LaTeX and printed text; SVG only when Graphviz is installed), so
the notebook cannot rot.  After changing the notebook's code or a view, refresh the stored
outputs (with nbclient) with::

    python tests/test_views_notebook.py
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "notebook.ipynb"


def _source(cell: dict[str, Any]) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else str(src)


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def run_cell(source: str, namespace: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Execute one code cell as IPython would; return its outputs in nbformat 4."""
    tree = ast.parse(source, filename=name)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(tree, name, "exec"), namespace)
        value = eval(compile(last, name, "eval"), namespace) if last is not None else None
    outputs: list[dict[str, Any]] = []
    if out.getvalue():
        outputs.append({"output_type": "stream", "name": "stdout", "text": _lines(out.getvalue())})
    if value is not None:
        if hasattr(value, "_repr_mimebundle_"):
            bundle = value._repr_mimebundle_()
        else:
            bundle = {"text/plain": repr(value)}
        data = {mime: _lines(text) for mime, text in bundle.items()}
        outputs.append(
            {"output_type": "display_data", "data": data, "metadata": {}}
            if "image/svg+xml" in bundle
            else {"output_type": "execute_result", "data": data, "metadata": {}}
        )
    return outputs


def execute(notebook: dict[str, Any]) -> list[list[dict[str, Any]]]:
    namespace: dict[str, Any] = {"__name__": "__notebook__"}
    results = []
    for k, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            results.append(run_cell(_source(cell), namespace, f"notebook cell {k}"))
    return results


def _comparable(outputs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Stored or fresh outputs, reduced to what must match everywhere."""
    out = []
    for o in outputs:
        if o["output_type"] == "stream":
            out.append(("stream", "".join(o["text"])))
        else:
            out.append(("text/plain", "".join(o["data"]["text/plain"])))
            for mime in ("text/markdown", "text/latex"):
                if mime in o["data"]:
                    out.append((mime, "".join(o["data"][mime])))
    return out


def test_notebook_is_valid_nbformat_4() -> None:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    assert {c["cell_type"] for c in nb["cells"]} <= {"code", "markdown"}
    assert sum(c["cell_type"] == "code" for c in nb["cells"]) >= 5
    nbformat = pytest.importorskip("nbformat")
    nbformat.validate(nbformat.reads(NOTEBOOK.read_text(encoding="utf-8"), as_version=4))


def run_with_nbclient() -> Any:
    """The notebook executed in a fresh IPython kernel by nbclient (as Jupyter runs it)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.reads(NOTEBOOK.read_text(encoding="utf-8"), as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", record_timing=False)
    client.execute(cwd=str(NOTEBOOK.parent))
    return nb


def test_notebook_executes_with_nbclient_and_matches_its_stored_outputs() -> None:
    stored = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    fresh = run_with_nbclient()
    old = [c.get("outputs", []) for c in stored["cells"] if c["cell_type"] == "code"]
    new = [c.get("outputs", []) for c in fresh["cells"] if c["cell_type"] == "code"]
    for k, (a, b) in enumerate(zip(new, old, strict=True)):
        assert _comparable(a) == _comparable(b), (
            f"code cell {k} of {NOTEBOOK.name} gives different output in Jupyter; if "
            "intended, run python tests/test_views_notebook.py"
        )


def test_notebook_runs_and_matches_its_stored_outputs() -> None:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    fresh = execute(nb)
    stored = [c.get("outputs", []) for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(fresh) == len(stored)
    for k, (new, old) in enumerate(zip(fresh, stored, strict=True)):
        assert _comparable(new) == _comparable(old), (
            f"code cell {k} of {NOTEBOOK.name} gives different output; if intended, "
            "run python tests/test_views_notebook.py"
        )


def regenerate() -> None:
    import nbformat

    nb = run_with_nbclient()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # no timestamps in the stored notebook
    nbformat.validate(nb)
    nbformat.write(nb, str(NOTEBOOK))
    count = sum(c["cell_type"] == "code" for c in nb["cells"])
    print(f"refreshed the outputs of {count} code cells in {NOTEBOOK}")


if __name__ == "__main__":
    sys.exit(regenerate())
