"""Property-based checks on random graphs against independent oracles."""

from __future__ import annotations

import math
import random

import pytest
import sympy
from hypothesis import given, settings

from symtrace import Trace
from symtrace.derivatives import float_adjoints, numeric_partials, reverse
from symtrace.shapes import partials
from symtrace.testing import check_grads

from guards import HANG_TIMEOUT, finishes_within
from strategies import traces


@given(traces())
def test_reverse_equals_forward_equals_finite_differences(case: tuple[Trace, sympy.Symbol]) -> None:
    t, y = case
    check_grads(t, y, rtol=1e-6, atol=1e-8)


@given(traces())
def test_reverse_equals_sympy_diff_of_the_inlined_expression(
    case: tuple[Trace, sympy.Symbol],
) -> None:
    t, y = case
    inlined = t.expand(y)
    at = {x: t.value(x) for x in t.input_nodes}
    g = t.grad(y)
    for x in t.input_nodes:
        oracle = float(sympy.diff(inlined, x).evalf(30, subs=at))
        assert math.isclose(g.value(x), oracle, rel_tol=1e-9, abs_tol=1e-12), x


@settings(max_examples=20)
@given(traces(max_inputs=2, max_nodes=4))
def test_symbolic_adjoints_equal_sympy_diff_on_small_graphs(
    case: tuple[Trace, sympy.Symbol],
) -> None:
    t, y = case
    inlined = t.expand(y)
    g = t.grad(y)
    rng = random.Random(0)
    # SymPy cannot always decide equality quickly (``equals`` can take minutes on a
    # nested power), so after the exact comparison the oracle evaluates both sides to
    # 30 digits at the trace's inputs and three random points.
    points = [{x: t.value(x) for x in t.input_nodes}]
    points += [{x: rng.uniform(-1.5, 1.5) for x in t.input_nodes} for _ in range(3)]
    for x in t.input_nodes:
        ours, oracle = g.expanded(x), sympy.diff(inlined, x)
        if ours == oracle or sympy.expand(ours - oracle) == 0:
            continue
        for at in points:
            a, b = (complex(e.evalf(30, subs=at)) for e in (ours, oracle))
            assert abs(a - b) <= 1e-12 * max(1.0, abs(b)), (x, at)


@given(traces())
def test_every_intermediate_adjoint_matches_its_steps_and_paths(
    case: tuple[Trace, sympy.Symbol],
) -> None:
    t, y = case
    g = t.grad(y)
    for node in t.nodes[:-1]:
        steps_total = math.fsum(s.value for s in g.steps(node))
        assert math.isclose(g.value(node), steps_total, rel_tol=1e-12, abs_tol=1e-12)
        paths = t.paths(y, node)
        assert math.isclose(g.value(node), paths.value, rel_tol=1e-9, abs_tol=1e-12)


@given(traces())
def test_tangents_of_each_input_match_the_gradient(case: tuple[Trace, sympy.Symbol]) -> None:
    t, y = case
    g = t.grad(y)
    for x in t.input_nodes:
        assert math.isclose(t.tangents(x).value(y), g.value(x), rel_tol=1e-10, abs_tol=1e-12)


@given(traces())
def test_the_float_fast_path_is_the_reverse_loop(case: tuple[Trace, sympy.Symbol]) -> None:
    """``float_adjoints`` (the Gradient's numbers) equals the generic ``reverse`` loop."""
    t, y = case
    graph, out = t.graph, t.graph.index(y)
    fvals = t.cache.floats([out])
    generic = reverse(graph, {out: 1.0}, local=numeric_partials(graph, fvals))
    fast = float_adjoints(graph, fvals, out, numeric_partials(graph, fvals))
    for i, v in enumerate(fast):
        assert math.isclose(v, generic.get(i, 0.0), rel_tol=1e-15, abs_tol=1e-300), i


@given(traces(max_inputs=3, max_nodes=5))
def test_local_partials_are_sympys_diff(case: tuple[Trace, sympy.Symbol]) -> None:
    # shapes.partials applies the sum and product rules only where a variable occurs;
    # the expressions must be exactly the ones sympy.diff gives.
    t, y = case
    expr = t.graph.expand(y) * sympy.Symbol("k") + sympy.sin(t.graph.expand(y))
    variables = sorted(expr.free_symbols, key=str)
    for e in (expr, sympy.expand(expr), *expr.args):
        assert partials(e, variables) == tuple(sympy.diff(e, v) for v in variables)


def test_local_partials_of_a_long_product_take_linear_work_per_partial() -> None:
    # SymPy's diff of an m-factor product differentiates every factor for every term:
    # m = 300 took minutes.  Each partial here is the product of the other factors.
    xs = sympy.symbols("x0:300")
    t = Trace()
    nodes = t.inputs(list(map(str, xs)), values=[1.001] * 300)
    L = t.define("L", sympy.Mul(*nodes))
    g = finishes_within(HANG_TIMEOUT, t.grad, L)
    assert finishes_within(HANG_TIMEOUT, g.value, nodes[7]) == pytest.approx(1.001**299)
    assert g[nodes[7]] == sympy.Mul(*nodes[:7], *nodes[8:])
