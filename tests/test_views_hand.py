"""Hand-style forms in the views and the results: a node's own value is written as the node.

The views print them, and ``t.diff``, ``t.grad(L)[node]`` and ``g.steps(node)`` return
them (:mod:`symtrace.handforms`); ``g.expanded(node)`` is still in the inputs only, the
numbers are the same and the checker accepts every equivalent form.
"""

from __future__ import annotations

import pytest
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


def test_results_are_hand_forms_and_the_numbers_are_unchanged() -> None:
    # Changed deliberately (issue 14): these were 2*o - 2*y and 1 - tanh(n)**2.
    t, v = neuron()
    g = t.grad(v["L"])
    assert str(g[v["o"]]) == str(t.diff(v["L"], v["o"])) == "2*(o - y)"
    assert t.diff(v["o"], v["n"]) == 1 - v["o"] ** 2
    # t.partial is one equation's own derivative, as SymPy gives it
    assert sympy.tanh(v["n"]) in t.partial(v["o"], v["n"]).atoms(sympy.tanh)
    line = str(t.derivation(v["L"], nodes=["n"])).splitlines()[1]
    assert line.endswith(f"= {g.value(v['n']):.6g}")
    expanded = str(t.derivation(v["L"], nodes=["n"], expanded=True))
    assert "tanh(w*x)" in expanded  # expanded still gives inputs only


def test_every_hand_form_in_diff_grad_and_steps() -> None:
    t, v = neuron()
    n, o, s, e, L = (v[k] for k in ("n", "o", "s", "e", "L"))
    g = t.grad(L)
    assert t.diff(o, n) == 1 - o**2  # tanh' = 1 - o²
    assert t.diff(s, n) == s * (1 - s)  # sigmoid' = s(1 - s)
    assert t.diff(e, n) == e  # exp' = the node itself
    # 2(o - y), the constant factored (SymPy's own 2*(o - y) distributes, hence str)
    assert str(g[o]) == str(t.diff(L, o)) == "2*(o - y)"
    assert str(g[n]) == "e + s*(1 - s) + 2*(1 - o**2)*(o - y)"
    steps = {str(step.via): step for step in g.steps(n)}
    assert steps["o"].local == 1 - o**2 and str(steps["o"].upstream) == "2*(o - y)"
    assert steps["s"].local == s * (1 - s) and steps["e"].local == e
    assert t.tangents(n)[o] == 1 - o**2


def test_expanded_forms_stay_in_the_inputs() -> None:
    t, v = neuron()
    g = t.grad(v["L"])
    x, w = t["x"], t["w"]
    for node in ("n", "o"):
        assert g.expanded(node).free_symbols <= {x, w, t["y"]}
        assert t.diff(v["L"], node, expand=True) == g.expanded(node)
    assert g.expanded("o") == 2 * sympy.tanh(w * x) - 2 * t["y"]
    same = t.expand(g[v["n"]]) - t.diff(v["L"], v["n"], expand=True)
    assert sympy.expand(same) == 0


def test_the_numbers_of_hand_forms_are_the_engines() -> None:
    t, v = neuron()
    g = t.grad(v["L"])
    for node in t.nodes:
        assert t.value(g[node]) == pytest.approx(g.value(node), rel=1e-12)
        assert g.value(node, exact=True).free_symbols == set()


def softmax(p_nodes: int) -> tuple[Trace, list[sympy.Symbol]]:
    """Scalar softmax with cross-entropy for class 0 (p0 .. p{p_nodes-1} defined)."""
    t = Trace()
    zs = t.inputs("z0 z1 z2", values=(0.5, -1, 2))
    es = [t.define(f"e{i}", sympy.exp(z)) for i, z in enumerate(zs)]
    S = t.define("S", es[0] + es[1] + es[2])
    ps = [t.define(f"p{i}", es[i] / S) for i in range(p_nodes)]
    t.define("L", -sympy.log(ps[0]))
    return t, ps


def test_softmax_cross_entropy_is_p_minus_y() -> None:
    t, ps = softmax(3)
    L, g = t["L"], t.grad("L")
    # dL/dz_i = p_i - y_i with y one-hot at class 0 (the issue: e0*exp(z1)/(S**2*p0) is p1)
    assert [g[z] for z in ("z0", "z1", "z2")] == [ps[0] - 1, ps[1], ps[2]]
    assert [t.diff(L, z) for z in ("z0", "z1", "z2")] == [ps[0] - 1, ps[1], ps[2]]
    assert g["S"] == 1 / t["S"]
    # with only p0 a node, dL/dz1 is e1/S: the same number, written with what exists
    t1, ps1 = softmax(1)
    assert t1.grad("L")["z0"] == ps1[0] - 1 and t1.grad("L")["z1"] == t1["e1"] / t1["S"]
    for tr in (t, t1):
        gg = tr.grad("L")
        for z in ("z0", "z1", "z2"):
            assert tr.value(gg[z]) == pytest.approx(gg.value(z), rel=1e-12)


def test_the_checker_accepts_every_equivalent_form() -> None:
    t, v = neuron()
    n, o, y = v["n"], v["o"], t["y"]
    answers = {
        "dL/do": "2*o - 2*y",  # the engine's old form
        "∂o/∂n": "1 - tanh(n)**2",
        "∂s/∂n": "sigmoid(n)*(1 - sigmoid(n))",
        "∂e/∂n": "exp(n)",
    }
    report = t.check(answers, output=v["L"])
    assert {k: a.verdict for k, a in report.items()} == dict.fromkeys(answers, "correct")
    hand = t.check({"dL/do": "2*(o - y)", "∂o/∂n": "1 - o**2", "∂s/∂n": "s*(1 - s)"})
    assert hand.ok
    assert t.check({"dL/do": "2*(o + y)"}, output=v["L"])["dL/do"].verdict == "wrong"
    ts, _ = softmax(3)
    r = ts.check({"dL/dz0": "p0 - 1", "dL/dz1": "e1/S", "dL/dz2": "exp(z2)/S"}, output=ts["L"])
    assert r.ok, {k: a.explanation for k, a in r.items()}
    del n, o, y
