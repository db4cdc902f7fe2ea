"""The checker on ordinary wrong answers: a verdict, never an exception, never "correct".

Issue 16: wrong answers that once raised or hung, numbers too close for floats, answers
not real at the trace's values, and strict JSON output.
"""

from __future__ import annotations

import json

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symtrace import Trace
from symtrace.check import grader
from symtrace.examples import micrograd_lecture

from guards import finishes_within
from strategies import traces


def _ab() -> Trace:
    t = Trace()
    a, b = t.input("a", 2), t.input("b", 3)
    t.define("L", a * b)
    return t


@pytest.mark.parametrize("answer", ["b + 1", "b + a", "a*b", "b*(1 + 10**-20)", "b + 10**-30"])
def test_wrong_formulas_for_dL_da_are_wrong(answer: str) -> None:
    r = _ab().check({"dL/da": answer})
    assert r["dL/da"].verdict == "wrong"


def test_a_formula_equal_only_beyond_float_precision_is_not_correct() -> None:
    # b*(1 + 1e-20) and b are the same float everywhere; the 60-digit comparison sees them.
    r = _ab().check({"dL/da": "b*(1 + 10**-20)"})
    assert r["dL/da"].verdict == "wrong"
    assert _ab().check({"dL/da": "b"})["dL/da"].verdict == "correct"


def test_micrograd_lecture_wrong_formula_is_wrong() -> None:
    r = micrograd_lecture().check({"dL/da": "b*f + 1"})
    assert r["dL/da"].verdict == "wrong"
    assert micrograd_lecture().check({"dL/da": "b*f"})["dL/da"].verdict == "correct"


def test_a_huge_power_of_a_sum_is_judged_in_bounded_time() -> None:
    t = micrograd_lecture()
    r = finishes_within(30, t.check, {"dL/da": "(a+b+c+f)**1000"})
    assert r["dL/da"].verdict == "wrong"


@pytest.mark.parametrize("depth", [4, 30])
def test_a_tower_of_exps_too_large_for_any_arithmetic_is_wrong(depth: int) -> None:
    claim = "c"
    for _ in range(depth):
        claim = f"exp({claim})"
    r = finishes_within(30, micrograd_lecture().check, {"dL/da": claim})
    assert r["dL/da"].verdict == "wrong"


def test_an_answer_not_real_at_the_values_is_wrong_and_json_is_strict() -> None:
    r = micrograd_lecture().check({"dL/db": "log(b)", "L": "log(b)"})
    assert {a.verdict for a in r.values()} == {"wrong"}

    def reject(constant: str) -> None:
        raise ValueError(f"not strict JSON: {constant}")

    data = json.loads(r.to_json(), parse_constant=reject)
    answer = data["answers"][0]
    assert answer["claimed_value"] is None
    assert answer["claimed_value_reason"] == "not a real number at the trace's values"


def test_undecided_when_sympy_cannot_prove_what_the_numbers_agree_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # sin² + cos² = 1, equal to 30 digits at every point; with the symbolic work
    # skipped (as for a large expression) the verdict is "undecided", never "correct".
    t = Trace()
    x = t.input("x", 0.7)
    t.define("L", 3 * x)
    claim = {"dL/dx": "3*(sin(x)**2 + cos(x)**2)"}
    assert t.check(claim)["dL/dx"].verdict == "correct"
    monkeypatch.setattr(grader, "_bounded", lambda expr: False)
    r = t.check(claim)
    assert r["dL/dx"].verdict == "undecided"
    assert "equal to 30 digits" in (r["dL/dx"].note or "")
    assert not r.ok and r.counts["undecided"] == 1
    assert "1 undecided" in r.to_text()


def _expected(t: Trace, out: sympy.Symbol, key: str) -> sympy.Expr:
    return t.check({key: "0"}, output=out)[key].expected_symbolic


def _keys(t: Trace, out: sympy.Symbol) -> list[str]:
    names = [s.name for s in t.nodes]
    keys = list(names) + [f"d{out}/d{n}" for n in names]
    for s in t.nodes:
        eq = t.graph.equations[t.graph.index(s)]
        keys += [f"∂{s}/∂{t.graph.symbols[p]}" for p in eq.parents]
    return keys


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=traces(max_nodes=5), data=st.data())
def test_random_wrong_answers_never_raise_and_are_never_correct(
    case: tuple[Trace, sympy.Symbol], data: st.DataObject
) -> None:
    t, out = case
    for key in _keys(t, out):
        expected = _expected(t, out, key)
        sym = data.draw(st.sampled_from(t.nodes))
        c = data.draw(st.sampled_from([1, -2, sympy.Rational(1, 3), sympy.Rational(1, 10**20)]))
        wrong_formula = expected + c * (1 + sym**2)
        value = float(t.check({key: expected}, output=out)[key].expected)
        shift = data.draw(st.sampled_from([1.0, -0.5, 1e-3]))
        wrong_number = value + shift * max(1.0, abs(value))
        for claim in (str(wrong_formula), wrong_number, f"({expected})**7 + 1"):
            r = t.check({key: claim}, output=out)
            assert r[key].verdict != "correct", (key, claim)


def test_wrong_answers_on_a_deep_chain_show_short_formulas_only() -> None:
    # Each wrong answer's text once built the compact adjoint in full (as long as the
    # chain below the output): quadratic work over the answers of a deep graph.
    t = Trace()
    v = x = t.input("x", 0.5)
    for k in range(120):
        v = t.define(f"v{k}", sympy.sin(v) * 0.5 + v * 0.5)
    answers = {f"d{v}/dv{k}": 7 for k in range(0, 120, 3)} | {f"d{v}/dx": 7}
    r = finishes_within(60, t.check, answers, output=v)
    assert all(a.verdict == "wrong" for a in r.values())
    near = r[f"d{v}/dv117"].explanation  # two steps from the output: a short formula
    assert near.startswith("wrong: expected (0.5*cos(v117) + 0.5)*(0.5*cos(v118) + 0.5) = 0.979")
    far = r[f"d{v}/dx"].explanation  # a product of 120 factors: the number only
    assert far.startswith(f"wrong: expected {grader.number_text(t.grad(v).value(x))}.")
    g = t.grad(v)
    assert g.compact_or_none("v117", 40) == g["v117"]
    assert g.compact_or_none("x", 40) is None
