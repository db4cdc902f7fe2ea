"""One Unicode form in every output: bars as the combining macron U+0304, text in NFC.

SymPy's pretty names write ``Lbar`` with the combining overline U+0305 and ``adot`` as
``a`` + U+0307, while the matrix printer wrote its bars with U+0304: one table could mix
``L̅`` and ``h̄``, and a tangent ``ḟ`` copied from one view did not match the same tangent
in another.  Every view now writes the macron and composes (NFC), so ``ȧ`` is one
character wherever it appears.  This scans every view of a scalar and a matrix trace,
the command line's outputs and the repository's golden files and docs.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

import symtrace as st
from symtrace import notation as nt
from symtrace.cli import explain
from symtrace.examples import micrograd_lecture

ROOT = Path(__file__).resolve().parent.parent
OVERLINE = "\u0305"


def scalar_outputs() -> Iterator[tuple[str, str]]:
    t = micrograd_lecture()
    L, f = t["L"], t["f"]
    views = {
        "gradient": t.grad(L),
        "tangents": t.tangents(f),
        "derivation": t.derivation(L),
        "forward table": t.table(L, mode="forward", wrt=f),
        "reverse table": t.table(L, mode="reverse"),
        "paths": t.paths(L, t["a"]),
        "report": t.check({"dL/dd": -2, "dL/de": 2, "dL/da": 5}, output=L),
    }
    for name, view in views.items():
        yield f"{name} text", view.to_text()
        yield f"{name} markdown", view.to_markdown()
        yield f"{name} latex", view.to_latex()
    yield "dot", t.to_dot(t.grad(L))


def matrix_outputs() -> Iterator[tuple[str, str]]:
    t = st.Trace()
    W = t.input("W", [[1.0, 2.0], [3.0, 4.0]])
    x = t.input("x", [[1.0], [2.0]])
    h = t.define("h", st.tanh(W @ x))
    s = t.define("s", st.sum(h))
    yield "matrix reverse table", t.table(s, mode="reverse").to_text()
    yield "matrix derivation", t.derivation(s).to_text()
    yield "matrix gradient", t.grad(s).to_text()


OUTPUTS = dict([*scalar_outputs(), *matrix_outputs()])


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_every_output_is_in_one_form(name: str) -> None:
    text = OUTPUTS[name]
    assert OVERLINE not in text, f"{name}: a combining overline; bars are U+0304"
    assert unicodedata.is_normalized("NFC", text), f"{name}: not NFC"


def test_bars_and_dots_are_the_same_character_in_every_view() -> None:
    # Adjoints: the scalar table's L̄ and the matrix table's h̄ carry the same bar.
    assert "L\u0304 = 1" in OUTPUTS["reverse table text"]
    assert "s\u0304 = 1" in OUTPUTS["matrix reverse table"]
    assert "h\u0304⊙" in OUTPUTS["matrix derivation"]
    # A bar over a letter with a composed form is that one character: ā, ē.
    assert "\u0101 = " in OUTPUTS["reverse table text"]
    # Tangents: ḟ is U+1E1F in the forward table, as NFC writes it everywhere.
    assert "\u1e1f = 1" in OUTPUTS["forward table text"]
    assert "a\u0307" not in OUTPUTS["forward table text"]


def test_the_printer_writes_one_form() -> None:
    adjoint = nt.adjoint_symbol(st.Trace().input("L"))
    assert nt.expr(adjoint, "text") == "L\u0304"
    assert nt.expr(nt.tangent_symbol(st.Trace().input("f")), "text") == "\u1e1f"
    assert nt.one_form("x\u0305\u2081") == "x\u0304\u2081"


def test_explain_output_is_in_one_form(tmp_path: Path) -> None:
    path = ROOT / "examples" / "seed000-carried.toml"
    for fmt in ("text", "markdown", "latex"):
        text = explain(str(path), fmt)
        assert OVERLINE not in text and unicodedata.is_normalized("NFC", text)


def test_golden_files_and_docs_are_in_one_form() -> None:
    files = [*(ROOT / "tests" / "golden").iterdir(), *(ROOT / "docs").rglob("*.md")]
    files += [ROOT / "docs" / "notebook.ipynb", ROOT / "README.md"]
    bad = []
    for path in files:
        if path.suffix in (".png", ".pdf"):
            continue
        text = path.read_text(encoding="utf-8")
        if OVERLINE in text or not unicodedata.is_normalized("NFC", text):
            bad.append(path.relative_to(ROOT).as_posix())
    assert not bad, bad
