"""Every seed text's example, with the numbers the text prints."""

from __future__ import annotations

import math

import pytest
import sympy

from symtrace import Trace
from symtrace.testing import check_grads

from examples import EXAMPLES, EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_gradient_matches_the_seed_text(name: str) -> None:
    t, y = EXAMPLES[name]()
    g = t.grad(y)
    for node, expected in EXPECTED[name].items():
        # The texts print 15 significant digits (6689.544469: 10).
        assert math.isclose(g.value(node), expected, rel_tol=1e-9), node


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_reverse_forward_and_finite_differences_agree(name: str) -> None:
    t, y = EXAMPLES[name]()
    check_grads(t, y)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_expanded_gradient_equals_sympy_diff_of_inlined_expression(name: str) -> None:
    t, y = EXAMPLES[name]()
    g = t.grad(y)
    inlined = t.expand(y)
    for x in t.input_nodes:
        assert sympy.simplify(g.expanded(x) - sympy.diff(inlined, x)) == 0


def test_seed000_the_question_dL_dd_is_f() -> None:
    t, L = EXAMPLES["seed000_micrograd"]()
    a, b, c, f, e, d = (t[n] for n in "a b c f e d".split())
    assert t.diff(L, d) == f
    assert t.diff(L, e) == f
    assert t.diff(L, a) == b * f
    assert t.diff(L, f) == d
    assert t.diff(L, f, expand=True) == a * b + c
    assert t.diff(L, c) == f
    assert t.partial(d, c) == 1
    assert t.value(L) == pytest.approx(-8.0, rel=1e-15)
    assert t.expand(L) == f * (a * b + c)


def test_seed002_forward_mode_at_one() -> None:
    t = Trace()
    x = t.input("x", 1.0)
    f2 = t.define("f2", sympy.sin(x))
    f3 = t.define("f3", sympy.sqrt(x) + sympy.exp(x))
    f = t.define("f", 3 * f2**2 + 5 * f2 * f3 + 4 * f3**2)
    tan = t.tangents(x)
    assert tan.value(f) == pytest.approx(122.045158140265, rel=1e-12)
    assert tan.value(f3) == pytest.approx(3.21828182845905, rel=1e-12)
    assert tan.value(f2) == pytest.approx(0.54030230586814, rel=1e-12)
    assert t.value(f3) == pytest.approx(3.71828182845905, rel=1e-12)


def test_seed002_path_products() -> None:
    t, f = EXAMPLES["seed002_graph"]()
    paths = t.paths(f, "x_1")
    assert [tuple(str(n) for n in p.nodes) for p in paths] == [
        ("f", "v", "x_1"),
        ("f", "v", "u", "x_1"),
        ("f", "w", "x_1"),
    ]
    expected = [7238.22947387088, 11023.8236395328, -1.29038221381431]
    for path, value in zip(paths, expected, strict=True):
        assert path.value == pytest.approx(value, rel=1e-12)
    assert paths.value == pytest.approx(18260.7627311899, rel=1e-12)
    # diff writes log(x_1) as the node w (hand form): compare in the inputs
    assert sympy.simplify(t.expand(paths.total - t.diff(f, "x_1"))) == 0


def test_seed001_finite_difference_of_the_text_is_first_order_only() -> None:
    """Seed 001 uses a forward difference with h = 1e-4; reverse mode is exact."""
    t, y = EXAMPLES["seed001_poly"]()
    a = t["a"]

    def f(a_: float, b_: float, c_: float) -> float:
        return 2 * a_ * b_ * c_ * (a_**2 + b_**2 + c_**2)

    h = 1e-4
    forward_difference = (f(1.5 + h, -0.5, 2.0) - f(1.5, -0.5, 2.0)) / h
    exact = t.grad(y).value(a)
    assert exact == pytest.approx(
        float(t.diff(y, a, expand=True).subs({t["a"]: 1.5, t["b"]: -0.5, t["c"]: 2.0})), rel=1e-12
    )
    assert forward_difference == pytest.approx(exact, rel=1e-3)
    assert forward_difference != pytest.approx(exact, rel=1e-9)
