"""Adjoint semantics: what diff/grad/tangents/hessian mean on small graphs."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy

from symtrace import Gradient, NonRealValueError, Tangents, Trace, relu


def test_L_equals_2d_gives_2_where_the_subs_workaround_gives_0() -> None:
    t = Trace()
    a, b = t.inputs("a b", values=(1, 2))
    d = t.define("d", a + b)
    L = t.define("L", 2 * d)
    assert t.diff(L, d) == 2
    # The usual workaround substitutes a symbol for d's expression, then differentiates;
    # SymPy has already distributed 2*(a + b) into 2*a + 2*b, so the subs finds nothing.
    D = sympy.Symbol("D")
    assert sympy.diff((2 * (a + b)).subs(a + b, D), D) == 0


def test_reuse_b_equals_a_plus_a_counts_both_uses() -> None:
    t = Trace()
    a = t.input("a", 3.0)
    b = t.define("b", a + a)
    assert t.diff(b, a) == 2
    assert t.grad(b).value(a) == 2.0


def test_fan_out_sums_over_consumers() -> None:
    # d = a*b, e = a+b, f = d*e (the micrograd lecture's fan-out example)
    t = Trace()
    a, b = t.inputs("a b", values=(-2.0, 3.0))
    d = t.define("d", a * b)
    e = t.define("e", a + b)
    f = t.define("f", d * e)
    g = t.grad(f)
    assert g[a] == b * e + d
    assert g.value(a) == pytest.approx(-3.0)
    assert g.value(b) == pytest.approx(-8.0)
    assert [s.via for s in g.steps(a)] == [d, e]
    assert sum(s.value for s in g.steps(a)) == pytest.approx(g.value(a))
    assert sympy.expand(sum(s.term for s in g.steps(a)) - g[a]) == 0


def test_diamond() -> None:
    t = Trace()
    x = t.input("x", 0.5)
    u = t.define("u", sympy.sin(x))
    v = t.define("v", sympy.cos(x))
    y = t.define("y", u * v)
    # cos(x) is the node v and sin(x) the node u: the hand form (was v*cos(x) - u*sin(x))
    assert t.diff(y, x) == v**2 - u**2
    assert t.diff(y, x, expand=True) == sympy.cos(x) ** 2 - sympy.sin(x) ** 2
    assert t.grad(y).value(x) == pytest.approx(float(sympy.cos(1.0)), rel=1e-14)


def test_node_that_does_not_reach_the_output_gives_zero() -> None:
    t = Trace()
    a, b = t.inputs("a b", values=(1, 2))
    side = t.define("side", b**2)
    y = t.define("y", 3 * a)
    g = t.grad(y)
    assert t.diff(y, side) == 0
    assert t.diff(y, b) == 0
    assert g[side] == 0 and g.value(side) == 0.0 and g.steps(side) == ()
    assert t.diff(side, y) == 0  # y is downstream of nothing side feeds


def test_adjoint_of_intermediate_holds_non_downstream_nodes_fixed() -> None:
    t = Trace()
    x = t.input("x")
    u = t.define("u", x**2)
    y = t.define("y", u * x)
    # u treated as free, x held fixed: dy/du = x (not 1/(2x) * d/dx of x**3)
    assert t.diff(y, u) == x
    assert t.diff(y, x) == 2 * x**2 + u


def test_gradient_is_a_mapping_over_every_node_in_order() -> None:
    t = Trace()
    a, b = t.inputs("a b", values=(2, 3))
    e = t.define("e", a * b)
    g = t.grad(e)
    assert isinstance(g, Gradient)
    assert list(g) == [a, b, e]
    assert dict(g) == {a: b, b: a, e: 1}
    assert g["a"] == b  # names work as keys
    assert a in g and "zzz" not in g


def test_gradient_is_a_snapshot_not_changed_by_set() -> None:
    t = Trace()
    a = t.input("a", 2)
    y = t.define("y", a**3)
    g = t.grad(y)
    t.set(a=10)
    assert g.value(a) == 12.0
    assert t.grad(y).value(a) == 300.0
    assert g[a] == 3 * a**2


def test_set_reevaluates_only_downstream_and_lazily() -> None:
    t = Trace()
    a, b = t.inputs("a b", values=(1, 2))
    u = t.define("u", a + 1)
    w = t.define("w", sympy.log(a))  # not real for a < 0: evaluating it raises
    v = t.define("v", b + 1)
    assert t.value(u) == 2.0 and t.value(v) == 3.0 and t.value(w) == 0.0
    t.set(a=-5)  # lazily: set itself evaluates nothing, so w's error does not appear here
    assert t.value(v) == 3.0  # v does not depend on a: asking for it does not evaluate w
    assert t.value(u) == -4.0  # u was forgotten, and is recomputed when asked
    with pytest.raises(NonRealValueError, match="node w"):
        t.value(w)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, sympy.Integer(9)),
        (Fraction(1, 3), sympy.Rational(1, 9)),
        (sympy.sqrt(2), sympy.Integer(2)),
        (sympy.Rational(1, 2), sympy.Rational(1, 4)),
    ],
)
def test_exact_values(value: object, expected: sympy.Expr) -> None:
    t = Trace()
    x = t.input("x", value)
    y = t.define("y", x**2)
    assert t.value(y, exact=True) == expected
    assert t.grad(y).value(x, exact=True) == sympy.nsimplify(2 * sympy.sympify(value))
    assert isinstance(t.value(y), float)


def test_exact_values_ignore_unrelated_nodes() -> None:
    t = Trace()
    x, z = t.inputs("x z", values=(2, -1))
    y = t.define("y", x**3)
    t.define("bad", sympy.log(z))  # not real, but y does not need it
    assert t.value(y, exact=True) == 8
    assert t.grad(y).value(x, exact=True) == 12
    assert t.tangents(x).value(y, exact=True) == 12


def test_tangents_forward_mode() -> None:
    t = Trace()
    a, b = t.inputs("a b", values=(2.0, 5.0))
    e = t.define("e", a * b)
    y = t.define("y", sympy.exp(e) + b)
    tan = t.tangents(a)
    assert isinstance(tan, Tangents)
    assert tan[b] == 0 and tan[e] == b and tan[y] == b * sympy.exp(e)
    assert tan.value(y) == pytest.approx(5 * float(sympy.exp(10)), rel=1e-14)
    assert tan.expanded(y) == b * sympy.exp(a * b)
    assert [s.via for s in tan.steps(y)] == [e]


def test_forward_and_reverse_agree_on_every_node() -> None:
    t = Trace()
    x, w = t.inputs("x w", values=(0.7, -1.3))
    h = t.define("h", sympy.tanh(w * x))
    o = t.define("o", h * x + w)
    for node in (x, w):
        assert (
            t.tangents(node)[o] == t.grad(o)[node]
            or sympy.simplify(t.tangents(node)[o] - t.grad(o)[node]) == 0
        )
        assert t.tangents(node).value(o) == pytest.approx(t.grad(o).value(node), rel=1e-14)


def test_higher_order_through_the_graph() -> None:
    t = Trace()
    a, b, c, f = t.inputs("a b c f", values=(2, -3, 10, -2))
    e = t.define("e", a * b)
    d = t.define("d", e + c)
    L = t.define("L", d * f)
    assert t.diff(L, a, b) == f
    assert t.diff(L, a, a) == 0
    assert t.diff(L, d, f) == 1
    H = t.hessian(L, [a, b, f])
    assert H == sympy.Matrix([[0, f, b], [f, 0, a], [b, a, 0]])
    assert t.value(H) == [[0.0, -2.0, -3.0], [-2.0, 0.0, 2.0], [-3.0, 2.0, 0.0]]


def test_hessian_equals_sympy_on_the_inlined_expression() -> None:
    t = Trace()
    x, y = t.inputs("x y", values=(0.3, 0.8))
    u = t.define("u", sympy.sin(x * y))
    z = t.define("z", u**2 + sympy.exp(u) * x)
    H = t.hessian(z, [x, y])
    inlined = t.expand(z)
    for i, p in enumerate((x, y)):
        for j, q in enumerate((x, y)):
            assert t.value(H[i, j]) == pytest.approx(
                float(sympy.diff(inlined, p, q).subs({x: 0.3, y: 0.8})), rel=1e-12
            )


def test_diff_of_an_expression_in_nodes() -> None:
    t = Trace()
    a = t.input("a")
    b = t.define("b", a**2)
    assert t.diff(b * a, a) == 2 * a**2 + b


def test_relu_kink_uses_pytorch_convention() -> None:
    t = Trace()
    x = t.input("x", 0.0)
    y = t.define("y", relu(x))
    assert t.grad(y).value(x) == 0.0
    t.set(x=1e-9)
    assert t.grad(y).value(x) == 1.0
    t.set(x=0)
    assert t.grad(y).value(x, exact=True) == 0


def test_abs_kink_and_max_tie() -> None:
    t = Trace()
    x, z = t.inputs("x z", values=(0.0, 0.0))
    y = t.define("y", sympy.Abs(x) + sympy.Max(x, z))
    g = t.grad(y)
    assert g.value(x) == 0.5  # sign(0) = 0, plus half of the tied Max
    assert g.value(z) == 0.5


def test_paths_sum_to_the_gradient() -> None:
    t = Trace()
    x = t.input("x", 1.5)
    layer = [x]
    for i in range(4):  # every node feeds the next two: 2**4 paths
        u = t.define(f"u{i}", sympy.sin(layer[-1]))
        v = t.define(f"v{i}", layer[-1] ** 2)
        layer.append(t.define(f"s{i}", u + v))
    paths = t.paths(layer[-1], x)
    assert len(paths) == 16
    assert paths.value == pytest.approx(t.grad(layer[-1]).value(x), rel=1e-12)


def test_values_in_evaluation_order() -> None:
    t = Trace()
    a, b = t.inputs("a b", values=(1, 2))
    e = t.define("e", a - b)
    assert t.values() == {a: 1.0, b: 2.0, e: -1.0}
    assert list(t.values(exact=True).values()) == [1, 2, -1]
    assert t.nodes == (a, b, e) and t.input_nodes == (a, b)
    assert t.parents(e) == (a, b) and t.consumers(a) == (e,)
    assert t.definition(e) == a - b and t.definition(a) == a
