"""Golden outputs: every view of the seed-000 and survey examples, in every format.

The expected outputs live in ``tests/golden/`` (one file per view and format).  After an
intentional change of a view, regenerate them and review the diff::

    python tests/test_views_golden.py            # rewrites tests/golden/*
    git diff tests/golden/

The survey example is Baydin, Pearlmutter, Radul & Siskind (2018), "Automatic
differentiation in machine learning: a survey", tables 2 and 3:
``y = ln(x1) + x1*x2 - sin(x2)`` at ``(x1, x2) = (2, 5)``, with the intermediates named
``v1 .. v5`` as there (the survey's ``v_{-1}``, ``v_0`` are the inputs ``x1``, ``x2``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sympy

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # run as a script
    sys.path.insert(0, str(HERE))

from symtrace import Trace  # noqa: E402

from examples import seed000_micrograd, seed002_graph  # noqa: E402

GOLDEN = HERE / "golden"


def survey() -> tuple[Trace, sympy.Symbol]:
    """The survey's example: y = ln(x1) + x1*x2 - sin(x2) at (2, 5)."""
    t = Trace()
    x1, x2 = t.inputs("x1 x2", values=(2, 5))
    v1 = t.define("v1", sympy.log(x1))
    v2 = t.define("v2", x1 * x2)
    v3 = t.define("v3", sympy.sin(x2))
    v4 = t.define("v4", v1 + v2)
    return t, t.define("v5", v4 - v3)


EXAMPLES: dict[str, tuple[Callable[[], tuple[Trace, sympy.Symbol]], str]] = {
    "seed000": (seed000_micrograd, "a"),
    "survey": (survey, "x1"),
}

FORMATS = {"txt": "to_text", "md": "to_markdown", "tex": "to_latex"}


def catalogue() -> dict[str, str]:
    """File name -> rendered text, for every golden view."""
    out: dict[str, str] = {}
    for example, (build, wrt) in EXAMPLES.items():
        t, y = build()
        views = {
            "trace": t,
            "derivation": t.derivation(y),
            "derivation-forward": t.derivation(y, mode="forward", wrt=wrt),
            "table-primal": t.table(y, mode="forward"),
            "table-forward": t.table(y, mode="forward", wrt=wrt),
            "table-reverse": t.table(y, mode="reverse"),
            "gradient": t.grad(y),
            "tangents": t.tangents(wrt),
            "paths": t.paths(y, wrt),
        }
        for view, obj in views.items():
            for ext, method in FORMATS.items():
                out[f"{example}-{view}.{ext}"] = getattr(obj, method)()
        out[f"{example}-graph.dot"] = t.to_dot(t.grad(y))
    t, y = seed002_graph()
    for ext, method in FORMATS.items():
        out[f"seed002-paths.{ext}"] = getattr(t.paths(y, "x_1"), method)(precision=15)
    out["seed002-graph.dot"] = t.to_dot(t.grad(y))
    return out


CATALOGUE = catalogue()


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_view_matches_golden_file(name: str) -> None:
    path = GOLDEN / name
    assert path.exists(), f"missing golden file {path}: run python tests/test_views_golden.py"
    expected = path.read_text(encoding="utf-8")
    assert CATALOGUE[name] + "\n" == expected, (
        f"{name} changed; if intended, regenerate with python tests/test_views_golden.py"
    )


def test_no_stale_golden_files() -> None:
    assert {p.name for p in golden_files()} == set(CATALOGUE)


def golden_files() -> list[Path]:
    """The golden files on disk (README.md describes them and is not one)."""
    suffixes = (".txt", ".md", ".tex", ".dot")
    return [p for p in GOLDEN.iterdir() if p.suffix in suffixes and p.name != "README.md"]


def regenerate() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for p in golden_files():
        p.unlink()
    for name, text in CATALOGUE.items():
        (GOLDEN / name).write_text(text + "\n", encoding="utf-8")
    print(f"wrote {len(CATALOGUE)} files to {GOLDEN}")


if __name__ == "__main__":
    regenerate()
