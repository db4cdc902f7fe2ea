"""``docs/notebook.ipynb`` runs, and its stored outputs are what it produces today.

The notebook's code cells are executed in order, in one namespace, with plain Python (no
Jupyter needed): like IPython, a cell whose last statement is an expression displays its
value, through ``_repr_mimebundle_`` when it has one.  The outputs stored in the notebook
must equal the fresh ones (``text/plain`` and printed text; SVG only when Graphviz is
installed), so the notebook cannot rot.  After changing the notebook's code or a view,
refresh the stored outputs with::

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
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    fresh = iter(execute(nb))
    count = 0
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            count += 1
            cell["outputs"] = next(fresh)
            cell["execution_count"] = count
    NOTEBOOK.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"refreshed the outputs of {count} code cells in {NOTEBOOK}")


if __name__ == "__main__":
    sys.exit(regenerate())
