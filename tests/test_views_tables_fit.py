"""Wide evaluation-trace tables fit an A4 page: long cells broken, wide tables split.

A cell too wide for its column is cut between the terms of its sum and, when one term is
still too wide, between the factors of that term (inside its parentheses too); a LaTeX
table too wide for the page is split into tables that repeat the node column (a forward
table: its primal trace, then its tangent trace), and one too long for a page goes on
in another under the same header.  The LaTeX is compiled with pdflatex (when there is
one) and must have no overfull line.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sympy
from test_views_latex import compile_latex, mlp, needs_tex, overfull

import symtrace as st
from symtrace import notation as nt
from symtrace.printing import LATEX_TABLE_LINES, LATEX_TABLE_WIDTH, TEXT_CELL

ARRAY = re.compile(r"\\begin\{array\}\{l+\}(.*?)\n\\end\{array\}", re.S)


def wide() -> tuple[st.Trace, sympy.Symbol, sympy.Symbol]:
    """Products of functions whose tangents and adjoints are single terms many times
    wider than a table cell."""
    t = st.Trace()
    x1, x2, w1, w2, b = t.inputs("x_1 x_2 w_1 w_2 b", values=(0.5, -1, 0.3, 0.7, 0.1))
    h = t.define("h", sympy.tanh(w1 * x1 + w2 * x2 + b) * sympy.exp(-x1 * x2) * sympy.sin(w1 * x1))
    s = t.define("s", st.sigmoid(h * w1 * w2 * x1 * x2 + sympy.log(1 + x1**2)))
    return t, s, x1


def network() -> tuple[st.Trace, sympy.Symbol]:
    """A 2-4-1 tanh network named by layer and neuron: 30 nodes, a long table."""
    t = st.Trace()
    x = t.inputs("x1 x2", values=(0.5, -1.0))
    hidden = []
    for j in (1, 2, 3, 4):
        w1, w2, bias = t.inputs(f"w1_{j}_1 w1_{j}_2 b1_{j}", values=(0.1 * j, -0.3, 0.2))
        z = t.define(f"z1_{j}", w1 * x[0] + w2 * x[1] + bias)
        hidden.append(t.define(f"h1_{j}", sympy.tanh(z)))
    v = t.inputs("w2_1_1 w2_1_2 w2_1_3 w2_1_4", values=(0.5, -1.0, 0.25, 0.75))
    out = t.define(
        "z2_1", sum((vj * hj for vj, hj in zip(v, hidden, strict=True)), t.input("c", 0.1))
    )
    return t, t.define("L", (out - t.input("y", 1.0)) ** 2)


def tables() -> dict[str, str]:
    t, s, x1 = wide()
    n, L = network()
    m, ml = mlp()
    out = {}
    for name, (trace, y, x) in {
        "wide": (t, s, x1),
        "network": (n, L, n["x1"]),
        "mlp": (m, ml, m["x_1"]),
    }.items():
        out[f"{name}-primal"] = trace.table(y, mode="forward").to_latex()
        out[f"{name}-forward"] = trace.table(y, mode="forward", wrt=x).to_latex()
        out[f"{name}-reverse"] = trace.table(y).to_latex()
    return out


def cell_lines(tex: str) -> list[str]:
    """Every physical line of every cell of the LaTeX tables in ``tex``."""
    out = []
    for body in ARRAY.findall(tex):
        for row in body.split(" \\\\\n"):
            for cell in row.split(" & "):
                cell = cell.strip()
                inner = re.fullmatch(
                    r"\\begin\{array\}\[t\]\{@\{\}l@\{\}\} (.*) \\end\{array\}", cell
                )
                out += inner.group(1).split(r" \\ ") if inner else [cell]
    return out


def test_a_term_too_wide_for_a_cell_is_cut_between_its_factors() -> None:
    t, s, x1 = wide()
    tex = t.table(s, mode="forward", wrt=x1).to_latex()
    lines = cell_lines(tex)
    assert any(line.startswith(r"\quad {}\cdot ") for line in lines)  # a cut product
    assert any(r"\right." in line for line in lines)  # ... inside its parentheses
    for line in lines:  # each line's \left and \right balance, so each line typesets
        assert line.count(r"\left") == line.count(r"\right"), line
    # no cell line is wider than a page's table; unbroken, the tangent of h is 4 times that
    assert max(nt.tex_width(line) for line in lines) < LATEX_TABLE_WIDTH
    rows = {str(r.node): r for r in t.table(s, mode="forward", wrt=x1).rows}
    assert nt.tex_width(nt.expr(rows["h"].derivative, "latex")) > 4 * LATEX_TABLE_WIDTH
    text = str(t.table(s, mode="forward", wrt=x1))
    cells = [c for line in text.splitlines()[3:] for c in re.split(r"\s{2,}", line.strip())]
    assert max(nt.width(c) for c in cells) <= TEXT_CELL + 4  # text cells are cut too
    assert any(line.lstrip().startswith("· ") for line in text.splitlines())


def test_a_table_too_wide_for_the_page_is_split_with_the_node_column_again() -> None:
    t, s, x1 = wide()
    tex = t.table(s, mode="forward", wrt=x1).to_latex()
    headers = re.findall(r"\\hline\n(\\text\{node\}.*?) \\\\\n", tex)
    assert headers[0] == r"\text{node} & \text{definition} & \text{value}"  # the primal trace
    assert all(h.startswith(r"\text{node}") for h in headers) and len(headers) >= 2
    assert any(r"\text{tangent}" in h for h in headers[1:])
    small = st.examples.seed000_micrograd()[0]
    assert small.table("L", mode="forward", wrt="a").to_latex().count(r"\begin{array}{") == 1


def test_a_table_too_long_for_a_page_goes_on_under_the_same_header() -> None:
    n, L = network()
    tex = n.table(L, mode="forward", wrt="x1").to_latex()
    bodies = ARRAY.findall(tex)
    assert len(bodies) >= 3  # 30 rows of up to five lines, in two column groups
    for body in bodies:
        rows = body.split(" \\\\\n")[1:]  # after the header
        assert sum(1 + r.count(r" \\ ") for r in rows) <= LATEX_TABLE_LINES + 6
    assert tex.count("% Forward primal and tangent trace") == 1  # one title
    text = str(n.table(L, mode="forward", wrt="x1"))
    assert [line.split()[:2] for line in text.splitlines() if line.startswith("node ")] == [
        ["node", "definition"]
    ]  # the text table stays one table


@needs_tex
@pytest.mark.parametrize("name", sorted(tables()))
def test_wide_and_long_tables_fit_an_a4_page(name: str, tmp_path: Path) -> None:
    log = compile_latex(tables()[name], tmp_path)
    assert overfull(log) == [], f"{name} runs off the page"
    assert "Overfull \\vbox" not in log, f"{name} runs off the bottom of the page"
