"""Checking and differentiating stay bounded on graphs where nodes have many consumers.

A wrong gradient of an input that feeds every node was diagnosed by trying every sum of
up to five of its consumers' contributions (``C(n, 5)`` sums: a 300-node chain never
finished), and a large shared adjoint was walked as a tree (exponential in its depth).  These tests
only guard against the hang; speed is measured in ``benchmarks/``.
"""

from __future__ import annotations

import pytest
import sympy

from symtrace import Trace
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
