"""Views of long graphs: linear work, wrapped cells, numeric graph labels by default.

Timings live in ``benchmarks/bench_views.py``; these tests check the shape of the output
(no row padded to the longest, no symbolic result of a long chain) and that a long chain
finishes at all under a generous hang guard.
"""

from __future__ import annotations

import sympy

from symtrace import Trace
from symtrace import notation as nt
from symtrace.dot import NUMERIC_ABOVE
from symtrace.printing import SYMBOLIC_NODES, TEXT_CELL


def chain(n: int) -> tuple[Trace, sympy.Symbol]:
    """v_k = sin(v_{k-1}) + v_{k-1}: every adjoint in symbols grows with the depth."""
    t = Trace()
    v = t.input("x", 0.5)
    for k in range(n):
        v = t.define(f"v{k}", sympy.sin(v) + v)
    return t, v


def test_reverse_table_rows_are_not_padded_to_the_longest_row() -> None:
    t = Trace()
    x = t.input("x", 0.5)
    nodes = [t.define(f"u{k}", sympy.sin(x) * (k + 1)) for k in range(12)]
    y = t.define("y", sympy.Add(*nodes))
    text = str(t.table(y, mode="forward", wrt="x"))
    widths = [nt.width(line) for line in text.splitlines()[3:]]
    # the tangent cell of y has 12 terms: it is cut into lines of at most TEXT_CELL columns
    assert max(widths) < 4 * TEXT_CELL
    assert any(line.lstrip().startswith("+ ") for line in text.splitlines())


def test_long_derivation_is_numeric_and_linear_in_size() -> None:
    sizes = {}
    for n in (SYMBOLIC_NODES + 50, 2 * SYMBOLIC_NODES + 100):
        t, y = chain(n)
        text = str(t.derivation(y))
        assert "sin" not in text and "cos" not in text  # no symbolic results
        assert text.splitlines()[-1].startswith("dv")  # ... but every node is there
        sizes[n] = len(text)
    (n1, s1), (n2, s2) = sizes.items()
    assert s2 / s1 < 1.2 * n2 / n1  # linear, not quadratic, in the depth
    t, y = chain(20)
    assert "cos" in str(t.derivation(y))  # small graphs keep their symbols
    long, y = chain(SYMBOLIC_NODES + 1)
    assert "cos" in long.derivation(y, nodes=["v0"], symbolic_only=True).to_text()


def test_long_dot_has_numeric_labels_and_grows_linearly() -> None:
    sizes = {}
    for n in (300, 600):
        t, y = chain(n)
        dot = t.to_dot(t.grad(y))
        assert "cos" not in dot.split("->", 1)[0]  # node labels: numbers only
        sizes[n] = len(dot)
    assert sizes[600] / sizes[300] < 2.4
    small, y = chain(NUMERIC_ABOVE - 2)
    assert "cos" in small.to_dot(small.grad(y))


def test_highlight_a_path_or_nodes() -> None:
    t = Trace()
    a, b = t.inputs("a b", values=(2, -3))
    e = t.define("e", a * b)
    L = t.define("L", e + a)
    path = t.paths(L, a)[1]
    assert [str(s) for s in path.nodes] == ["L", "e", "a"]
    dot = t.to_dot(highlight=path)
    assert 'n0 -> n2 [label="∂e/∂a = b = -3", color="#dc2626", penwidth=2.5];' in dot
    assert 'n0 -> n3 [label="∂L/∂a = 1"];' in dot  # a -> L is not on the path
    assert t.to_dot(highlight="e").count("penwidth") == 1


def test_derivation_of_a_deep_graph_refers_to_earlier_steps_and_grows_linearly() -> None:
    # Below SYMBOLIC_NODES the derivation keeps its symbols, but the compact adjoint of
    # node k is a product of (cos(v_j) + 1) over every j above it: written in full at
    # every step, the text grew as the square of the depth (issue 16: 45 KB gave 37 MB).
    def v(k: int) -> str:
        return nt.name(sympy.Symbol(f"v{k}"), "text")

    sizes = {}
    for n in (SYMBOLIC_NODES // 4, SYMBOLIC_NODES // 2):
        t, y = chain(n)
        lines = str(t.derivation(y)).splitlines()
        sizes[n] = sum(len(line) for line in lines)
        top = v(n - 1)
        # near the output the results are written out in symbols ...
        assert lines[3].startswith(f"d{top}/d{v(n - 3)} = d{top}/d{v(n - 2)} · ")
        assert lines[3].count("cos") == 4  # (cos(v48) + 1) · (cos(v47) + 1) = product
        # ... deep down a step names the result above it instead of repeating it
        named = f"d{top}/d{v(2)}"
        assert lines[-3].startswith(
            f"d{top}/d{v(1)} = {named} · ∂{v(2)}/∂{v(1)} = {named} · (cos({v(1)}) + 1) = "
        )
        assert max(len(line) for line in lines) < 400
    (n1, s1), (n2, s2) = sizes.items()
    assert s2 / s1 < 1.2 * n2 / n1  # linear, not quadratic, in the depth
