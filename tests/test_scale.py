"""Nothing recurses over the graph: a 15,000-node chain works end to end.

The size is well past the recursion limit (about 1,000 frames, where recursive tracers
fail); ``benchmarks/bench_big.py`` runs chains of up to 100,000 nodes."""

from __future__ import annotations

import pytest
import sympy

from symtrace import Trace

N = 15_000  # well past sys.getrecursionlimit() (~1,000 frames), where recursive tracers fail


@pytest.fixture(scope="module")
def chain() -> tuple[Trace, list[sympy.Symbol]]:
    t = Trace()
    x = t.input("x", 0.5)
    nodes = [x]
    for i in range(N):
        nodes.append(t.define(f"n{i}", sympy.sin(nodes[-1]) + x if i % 2 else 0.5 * nodes[-1]))
    return t, nodes


def test_long_chain_evaluates(chain: tuple[Trace, list[sympy.Symbol]]) -> None:
    t, nodes = chain
    v = 0.5
    for i in range(N):
        v = __import__("math").sin(v) + 0.5 if i % 2 else 0.5 * v
    assert t.value(nodes[-1]) == pytest.approx(v, rel=1e-12)


def test_long_chain_gradient_numeric_and_symbolic(chain: tuple[Trace, list[sympy.Symbol]]) -> None:
    t, nodes = chain
    g = t.grad(nodes[-1])
    assert g[nodes[-2]] == sympy.cos(nodes[-2])
    assert g[nodes[-3]] == sympy.Float(0.5) * sympy.cos(nodes[-2])
    fd_free = g.value(nodes[0])
    t.set(x=0.5 + 1e-7)
    up = t.value(nodes[-1])
    t.set(x=0.5 - 1e-7)
    down = t.value(nodes[-1])
    t.set(x=0.5)
    assert fd_free == pytest.approx((up - down) / 2e-7, rel=1e-5)
    assert t.tangents(nodes[0]).value(nodes[-1]) == pytest.approx(fd_free, rel=1e-12)
    assert len(t.paths(nodes[-1], nodes[-5])) == 1
