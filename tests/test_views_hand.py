"""Hand-style forms in the views: a node's own value is written as the node.

Only the printing changes: ``t.diff``/``t.grad`` results keep the engine's form, and the
numbers are the same.
"""

from __future__ import annotations

import sympy

from symtrace import Trace, sigmoid


def neuron() -> tuple[Trace, dict[str, sympy.Symbol]]:
    t = Trace()
    x, w, y = t.inputs("x w y", values=(0.5, -1.5, 0.25))
    n = t.define("n", w * x)
    o = t.define("o", sympy.tanh(n))
    s = t.define("s", sigmoid(n))
    e = t.define("e", sympy.exp(n))
    L = t.define("L", (o - y) ** 2 + s + e)
    return t, {"n": n, "o": o, "s": s, "e": e, "L": L}


def test_tanh_prime_is_one_minus_o_squared() -> None:
    t, v = neuron()
    text = str(t.derivation(v["L"], nodes=["n"]))
    assert "∂o/∂n" in text and "(1 - o**2)" in text and "tanh" not in text.split("=", 2)[2]
    assert "ō*(1 - o**2)" in str(t.table(v["L"]))


def test_sigmoid_prime_is_s_times_one_minus_s() -> None:
    t, v = neuron()
    text = str(t.derivation(v["L"], nodes=["n"]))
    assert "s*(1 - s)" in text and "sigmoid(n)" not in text


def test_exp_prime_is_the_node_itself() -> None:
    t, v = neuron()
    dot = t.to_dot(t.grad(v["L"]))
    assert 'label="∂e/∂n = e = ' in dot


def test_squared_error_is_two_times_the_difference() -> None:
    t, v = neuron()
    assert "dL/do = 2*(o - y) = " in str(t.derivation(v["L"]))
    assert "dL/do = 2*(o - y) = " in str(t.grad(v["L"]))


def test_engine_results_and_numbers_are_unchanged() -> None:
    t, v = neuron()
    g = t.grad(v["L"])
    assert g[v["o"]] == 2 * v["o"] - 2 * t["y"]  # the engine's own form
    assert sympy.tanh(v["n"]) in t.partial(v["o"], v["n"]).atoms(sympy.tanh)
    line = str(t.derivation(v["L"], nodes=["n"])).splitlines()[1]
    assert line.endswith(f"= {g.value(v['n']):.6g}")
    expanded = str(t.derivation(v["L"], nodes=["n"], expanded=True))
    assert "tanh(w*x)" in expanded  # expanded still gives inputs only
