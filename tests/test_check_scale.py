"""Checking and differentiating stay bounded on graphs where nodes have many consumers,
and on graphs of long definitions.

A wrong gradient of an input that feeds every node was diagnosed by trying every sum of
up to five of its consumers' contributions (``C(n, 5)`` sums: a 300-node chain never
finished), and a large shared adjoint was walked as a tree (exponential in its depth).
A wrong symbolic gradient deep in a graph of long definitions was compared with its
whole compact formula, as long as the graph, built and compiled for every answer (the
15 answers of a 150-node, 49 KB file took 115 s).  These tests only guard against the
hang, or count the expensive calls; speed is measured in ``benchmarks/``.
"""

from __future__ import annotations

import pytest
import sympy

from symtrace import Gradient, Trace
from symtrace.handforms import hand

from guards import HANG_TIMEOUT, finishes_within


def _chain(n: int) -> tuple[Trace, sympy.Symbol]:
    """Alternating ``x*y + cos(x)`` and ``sin(x)*y + x0``: ``y`` feeds every node."""
    t = Trace()
    x0, y = t.input("x0", 0.5), t.input("y", 0.7)
    x = x0
    for i in range(n):
        x = t.define(f"x{i + 1}", x * y + sympy.cos(x) if i % 2 == 0 else sympy.sin(x) * y + x0)
    return t, x


def test_wrong_gradients_and_values_on_a_chain_with_wide_fan_out_are_judged() -> None:
    t, _ = _chain(300)
    answers = {"dx300/dx150": "3.0", "dx300/dy": "1.0", "x150": "2.0"}
    r = finishes_within(HANG_TIMEOUT, t.check, answers)
    assert [r[k].verdict for k in answers] == ["wrong", "wrong", "wrong"]
    assert r.first_error == "x150"


@pytest.mark.parametrize("n", [80, 300])  # 80: small enough for symbolic forms in the text
def test_a_dag_with_several_consumers_per_node_is_checked_and_differentiated(n: int) -> None:
    t = Trace()
    xs = [t.input("a", 0.3), t.input("b", 0.6)]
    for i in range(n):
        p, q = xs[-1], xs[-2]
        xs.append(t.define(f"x{i + 1}", sympy.sin(p) * q if i % 2 else p / 2 + q * sympy.cos(p)))
    answers = {f"dx{n}/dx{n // 2}": "3.0", f"dx{n}/da": "1.0", f"x{n // 2}": "2.0"}
    r = finishes_within(HANG_TIMEOUT, t.check, answers)
    assert [r[k].verdict for k in answers] == ["wrong", "wrong", "wrong"]
    adjoint = finishes_within(HANG_TIMEOUT, t.diff, xs[-1], xs[n // 2])
    assert isinstance(adjoint, sympy.Add)  # its parts are shared: not walked as a tree here


def test_a_fan_out_slip_over_many_consumers_is_named_briefly() -> None:
    t = Trace()
    y = t.input("y", 0.5)
    ws = [t.input(f"w{i}", 1.0 + i) for i in range(30)]
    cs = [t.define(f"c{i}", y * w) for i, w in enumerate(ws)]
    t.define("L", sympy.Add(*cs))
    forgot_c7 = sum(1.0 + i for i in range(30)) - 8.0  # the contribution through c7 is w7 = 8
    r = finishes_within(HANG_TIMEOUT, t.check, {"dL/dy": repr(forgot_c7)})
    a = r["dL/dy"]
    assert a.verdict == "wrong" and a.mistake == "fan-out"
    assert "feeds c0, c1, c2, c3, c4, c5, c6, c7 and 22 others" in a.explanation
    assert "the contribution through c7 is missing" in a.explanation


def test_writing_a_large_adjoint_by_hand_replaces_like_xreplace() -> None:
    ns = sympy.symbols("n0:500")
    os_ = sympy.symbols("o0:500")
    names = {sympy.tanh(n): o for n, o in zip(ns, os_, strict=True)}
    e = sympy.Add(*(k * (1 - sympy.tanh(n) ** 2) * n for k, n in enumerate(ns, 1)))
    assert hand(e, names) == e.xreplace(names)


def _wide(terms: int, n: int = 150, values: bool = True) -> tuple[Trace, sympy.Symbol]:
    """``n`` nodes, each a sum of ``terms`` sines of the one before (benchmarks' "wide")."""
    t = Trace()
    x, y = (t.input("x0", 0.5), t.input("y", 0.3)) if values else (t.input("x0"), t.input("y"))
    for i in range(1, n):
        c = sympy.Rational(1, 2 * terms)
        x = t.define(f"x{i}", sympy.Add(*(c * sympy.sin(k * x + y) for k in range(1, terms + 1))))
    return t, t.define("L", 2 * x)


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The nodes whose full compact gradient (``Gradient[node]``) is built, in order."""
    nodes: list[object] = []
    full_formula = Gradient.__getitem__

    def counting(self: Gradient, node: object) -> sympy.Expr:
        nodes.append(node)
        return full_formula(self, node)

    monkeypatch.setattr(Gradient, "__getitem__", counting)
    return nodes


def test_wrong_symbolic_gradients_deep_in_long_definitions_never_build_their_formulas(
    built: list[object],
) -> None:
    t, L = _wide(8)
    answers = {f"dL/dx{i}": f"2*cos(x{i})" for i in range(0, 150, 10)}
    answers["tangent[x100]:x140"] = "x101*y"
    r = finishes_within(HANG_TIMEOUT, t.check, answers)
    assert {a.verdict for a in r.values()} == {"wrong"}
    assert r["dL/dx0"].expected == pytest.approx(t.grad(L).value("x0"), rel=1e-12)
    assert "(symbolically" not in r["dL/dx0"].explanation  # the number only: too long to show
    assert built == []  # each compact formula is as long as the graph above its node


def test_without_values_a_wrong_formula_deep_down_is_named_too_long_without_building_it(
    built: list[object],
) -> None:
    t, L = _wide(4, n=120, values=False)
    r = finishes_within(HANG_TIMEOUT, t.check, {"dL/dx10": "x11*y", "dL/dx118": "y"})
    assert [str(node) for node in built] == ["x118"]  # the short formula only
    assert [r[k].verdict for k in ("dL/dx10", "dL/dx118")] == ["wrong", "wrong"]
    assert r["dL/dx10"].explanation.startswith("wrong: expected <expression with more than 500")
    assert r["dL/dx118"].explanation.startswith(f"wrong: expected {t.diff(L, 'x118')}. ")


def test_a_long_symbolic_gradient_written_out_in_full_is_still_correct() -> None:
    t, L = _wide(8)
    formula = t.diff(L, "x146")  # three long local partials: past what a report shows
    r = t.check({"dL/dx146": str(formula), "dL/dx147": f"{t.diff(L, 'x147')} + 1"})
    assert r["dL/dx146"].verdict == "correct"
    assert r["dL/dx147"].verdict == "wrong"


def test_rounding_in_large_cancelling_terms_never_makes_a_symbolic_answer_wrong() -> None:
    # The two 1e20 contributions cancel in the formula, not in floats: a number that
    # differs from the formula's by thousands is rounding, since the terms summed are 2e20.
    t = Trace()
    a = t.input("a", 3.0)
    u = t.define("u", sympy.Integer(10) ** 20 * sympy.sin(a))
    v = t.define("v", sympy.Integer(10) ** 20 * sympy.sin(a) + a)
    w = t.define("w", sympy.Add(*(sympy.Rational(k, 1000) * sympy.sin(k * a) for k in range(13))))
    L = t.define("L", u - v + w)
    r = t.check({"dL/da": str(t.diff(L, a)), "dL/dw": "2*w"})
    assert [r[k].verdict for k in ("dL/da", "dL/dw")] == ["correct", "wrong"]
