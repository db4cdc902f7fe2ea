"""Trace.check: verdicts, carried errors, first_error, named mistakes, the report schema.

Oracles: the seed-000 numbers worked by hand (a=2, b=-3, c=10, f=-2: e=-6, d=4, L=-8;
dL/dd=-2, dL/df=4, dL/de=dL/dc=-2, dL/da=6, dL/db=-4) and sympy.diff on the inlined
expression for the fan-out graph.
"""

from __future__ import annotations

import json
import math

import pytest
import sympy

from symtrace import ExerciseError, ParseError, Trace
from symtrace.check import SCHEMA, NodeTangent, Report, parse_key
from symtrace.examples import micrograd_lecture

CORRECT = {
    "e": -6,
    "d": 4,
    "L": -8,
    "dL/dd": -2,
    "dL/df": 4,
    "∂d/∂e": 1,
    "dL/de": -2,
    "dL/dc": -2,
    "∂e/∂a": -3,
    "dL/da": 6,
    "dL/db": -4,
}


seed000 = micrograd_lecture  # the micrograd lecture example, integer values


def fan_out() -> Trace:
    t = Trace()
    a, b = t.inputs("a b", values=(2, 3))
    d = t.define("d", a * b)
    e = t.define("e", a + b)
    t.define("f", d * e)
    return t


def verdicts(report: Report) -> dict[str, str]:
    return {k: a.verdict for k, a in report.items()}


def test_all_correct_answers() -> None:
    r = seed000().check(CORRECT, output="L")
    assert set(verdicts(r).values()) == {"correct"}
    assert r.ok and r.score == 1.0 and r.first_error is None
    assert r["dL/da"].expected == 6.0 and r["e"].expected == -6.0


def test_wrong_local_partial_is_first_error_and_everything_below_is_carried() -> None:
    answers = {**CORRECT, "∂d/∂e": -1, "dL/de": 2, "dL/da": -6, "dL/db": 4}
    r = seed000().check(answers, output="L")
    assert r.first_error == "∂d/∂e"
    assert r["∂d/∂e"].verdict == "wrong"
    assert {k: r[k].verdict for k in ("dL/de", "dL/da", "dL/db")} == dict.fromkeys(
        ("dL/de", "dL/da", "dL/db"), "carried"
    )
    for k in ("L", "dL/dd", "dL/dc", "dL/df", "e", "d", "∂e/∂a"):
        assert r[k].verdict == "correct", k
    assert r.score == pytest.approx(7 / 11)
    why = r["dL/de"].explanation
    assert "your ∂d/∂e = -1" in why and "(-2) · (-1) = 2" in why
    assert "dL/de = dL/dd · ∂d/∂e = (-2) · 1 = -2" in why


def test_wrong_upstream_value_carries_down() -> None:
    answers = {"dL/dd": 3, "dL/de": 3, "dL/dc": 3, "dL/da": -9, "dL/db": 6, "dL/df": 4}
    r = seed000().check(answers, output="L")
    assert r.first_error == "dL/dd"
    assert verdicts(r) == {
        "dL/dd": "wrong",
        "dL/de": "carried",
        "dL/dc": "carried",
        "dL/da": "carried",
        "dL/db": "carried",
        "dL/df": "correct",
    }


def test_carried_through_an_unanswered_intermediate() -> None:
    # dL/de is not answered; dL/da = (their dL/dd) · ∂d/∂e · ∂e/∂a = 3 · 1 · (-3).
    r = seed000().check({"dL/dd": 3, "dL/da": -9})
    assert verdicts(r) == {"dL/dd": "wrong", "dL/da": "carried"}


def test_a_wrong_value_carries_forward() -> None:
    r = seed000().check({"e": -5, "d": 5, "L": -10})
    assert verdicts(r) == {"e": "wrong", "d": "carried", "L": "carried"}
    assert r.first_error == "e"


def test_an_unrelated_wrong_answer_is_wrong_not_carried() -> None:
    r = seed000().check({"dL/dd": 3, "dL/de": 7})
    assert verdicts(r) == {"dL/dd": "wrong", "dL/de": "wrong"}
    assert r.first_error == "dL/dd"  # backward order: d is nearer the output


def test_fan_out_not_summed_is_named() -> None:
    t = fan_out()
    a, b, d, e, f = (t[n] for n in "a b d e f".split())
    inlined = t.expand(f)
    expected_a = float(sympy.diff(inlined, a).subs({a: 2, b: 3}))  # 21
    only_through_d = float((e * sympy.diff(t.definition(d), a)).subs({e: 5, b: 3}))  # 15
    r = t.check({"df/dd": 5, "df/de": 6, "df/da": only_through_d})
    assert r["df/da"].verdict == "wrong" and r["df/da"].mistake == "fan-out"
    assert r["df/da"].expected == pytest.approx(expected_a)
    assert "missing" in r["df/da"].explanation and "through e" in r["df/da"].explanation
    ok = t.check({"df/da": expected_a, "df/db": float(sympy.diff(inlined, b).subs({a: 2, b: 3}))})
    assert ok.ok


def test_symbolic_answers_in_equivalent_forms_are_correct() -> None:
    t = fan_out()
    e = t["e"]
    r = t.check(
        {
            "df/da": "e*b + d",  # compact, another order
            "df/db": "a*(a + b) + a*b",  # expanded in the inputs
            "df/dd": e,  # a SymPy expression
            "df/de": "b*a",
        }
    )
    assert set(verdicts(r).values()) == {"correct"}
    r2 = seed000().check({"dL/de": "f", "dL/da": "f*b", "dL/db": "a*f"})
    assert r2.ok


def test_symbolic_answer_with_right_value_but_wrong_formula_is_wrong() -> None:
    r = seed000().check({"dL/da": "-3*f"})  # b*f at b = -3, but not b*f
    assert r["dL/da"].verdict == "wrong"
    assert "not the same formula" in r["dL/da"].explanation


def test_rounded_answers_are_judged_to_their_written_precision() -> None:
    t = Trace()
    x = t.input("x", 1)
    s = t.define("s", "sigmoid(x)")  # 0.7310585...
    t.define("L", 2 * s)
    r = t.check({"s": "0.73", "L": "1.46", "dL/dx": "0.393", "∂s/∂x": "0.2"})
    assert r.ok, r
    wrong = t.check({"s": "0.74", "dL/dx": "0.39"})
    assert verdicts(wrong) == {"s": "wrong", "dL/dx": "correct"}
    # a float has no written precision: judged with rel_tol
    assert t.check({"s": 0.73})["s"].verdict == "wrong"
    assert t.check({"s": 0.73}, rel_tol=0.01)["s"].verdict == "correct"
    assert t.check({"s": "0.73"}, written_precision=False)["s"].verdict == "wrong"
    del x


def test_integer_strings_are_exact() -> None:
    t = Trace()
    x = t.input("x", 1)
    t.define("y", 2.4 * x)
    assert t.check({"y": "2"})["y"].verdict == "wrong"


def test_sign_error_is_named() -> None:
    r = seed000().check({"dL/da": -6})
    assert r["dL/da"].mistake == "sign" and "sign error" in r["dL/da"].explanation


def test_wrong_argument_is_named() -> None:
    r = seed000().check({"∂e/∂a": 2})  # a, the partial w.r.t. b
    assert r["∂e/∂a"].mistake == "wrong-argument"
    r = seed000().check({"dL/de": -2, "dL/da": -4})  # dL/de · a instead of dL/de · b
    assert r["dL/da"].mistake == "wrong-argument"


def test_kink_accepts_any_subgradient_with_a_note() -> None:
    t = Trace()
    x, y = t.inputs("x y", values=(1, 1))
    r_ = t.define("r", "relu(x - y)")
    t.define("L", 3 * r_)
    for claim in (0, 0.5, 1):
        assert t.check({"∂r/∂x": claim})["∂r/∂x"].verdict == "correct"
    r = t.check({"dL/dx": 1.5, "dL/dy": -3})
    assert r.ok
    assert "kink" in (r["dL/dx"].note or "")
    assert t.check({"dL/dx": 4})["dL/dx"].verdict == "wrong"
    del x, y


def test_key_forms_and_disambiguation() -> None:
    t = seed000()
    L = t["L"]
    g = t.graph
    assert parse_key(g, "dL/dd", L) == parse_key(g, "∂L/∂d", L) == parse_key(g, "grad:d", L)
    assert parse_key(g, "dd/de", L) == parse_key(g, "∂d/∂e", L) == parse_key(g, "local:d/e", L)
    assert parse_key(g, "dd/da", L) == parse_key(g, "tangent[a]:d", L) == NodeTangent(5, 0)
    assert parse_key(g, "dd/da", L).kind.value == "tangent"
    r = t.check({"dd/da": "b", "tangent[a]:L": "b*f", "d": 4})
    assert r.ok and r["dd/da"].kind == "tangent"


@pytest.mark.parametrize(
    "key", ["dL/dq", "local:d/a", "tangent[a]", "nonsense key", "grad:", "local:d"]
)
def test_bad_keys_are_clear_errors(key: str) -> None:
    with pytest.raises(ExerciseError, match="answer key"):
        seed000().check({key: 1})


def test_bad_claims_are_clear_errors() -> None:
    t = seed000()
    with pytest.raises(ParseError, match="answer 'dL/dd'"):
        t.check({"dL/dd": "().__class__"})
    with pytest.raises(ParseError, match="unknown name"):
        t.check({"dL/dd": "q*f"})
    with pytest.raises(ExerciseError):
        t.check({"dL/dd": True})
    with pytest.raises(TypeError, match="unknown option"):
        t.check({}, tolerance=1)


def test_blank_answers() -> None:
    r = seed000().check({"dL/dd": -2, "dL/da": "", "dL/db": None})
    assert r.blank == ("dL/da", "dL/db") and list(r) == ["dL/dd"]
    assert not r.ok and r.score == pytest.approx(1 / 3)


def test_symbolic_trace_without_values() -> None:
    t = Trace()
    a, b = t.inputs("a b")
    e = t.define("e", a * b)
    t.define("L", "sin(e)")
    r = t.check({"dL/da": "b*cos(a*b)", "dL/db": "a*cos(e)", "dL/de": "sin(e)"})
    assert verdicts(r) == {"dL/da": "correct", "dL/db": "correct", "dL/de": "wrong"}
    assert r["dL/da"].expected is None
    with pytest.raises(Exception, match=r"have no values"):
        t.check({"dL/da": 1})
    del e


GOLDEN_REPORT_KEYS = [
    "schema",
    "source",
    "title",
    "output",
    "ok",
    "score",
    "first_error",
    "counts",
    "blank",
    "answers",
]
GOLDEN_ANSWER_KEYS = [
    "key",
    "kind",
    "node",
    "of",
    "wrt",
    "verdict",
    "claimed",
    "claimed_value",
    "expected",
    "expected_symbolic",
    "step",
    "explanation",
    "mistake",
    "note",
]


def test_json_schema_is_stable() -> None:
    r = seed000().check({"dL/dd": -2, "∂d/∂e": -1, "dL/de": 2, "dL/da": "0.5", "dL/db": ""})
    data = json.loads(r.to_json())
    assert list(data) == GOLDEN_REPORT_KEYS
    assert data["schema"] == SCHEMA == "symtrace.report/1"
    assert list(data["counts"]) == ["correct", "wrong", "carried", "undecided", "blank"]
    assert data["counts"] == {"correct": 1, "wrong": 2, "carried": 1, "undecided": 0, "blank": 1}
    for answer in data["answers"]:
        assert list(answer) == GOLDEN_ANSWER_KEYS
    first = data["answers"][0]
    assert first["claimed"] == -2 and first["expected"] == -2.0 and first["node"] == "d"
    assert first["of"] == "L" and first["wrt"] == "d" and first["kind"] == "gradient"
    assert data["answers"][3]["claimed"] == "0.5"
    assert data["first_error"] == "∂d/∂e"
    assert r.as_dict() == data


def test_renderings() -> None:
    r = seed000().check({"dL/dd": -2, "∂d/∂e": -1, "dL/de": 2})
    text = str(r)
    assert "first error: ∂d/∂e" in text and "carried" in text and "✗ ∂d/∂e = -1" in text
    md = r.to_markdown()
    assert "| `dL/de` | `2` |" in md and "**carried**" in md
    tex = r.to_latex()
    assert tex.startswith("\\begin{flushleft}") and "\\begin{tabular}" in tex
    assert "$\\partial$" in tex and "∂" not in tex
    assert sympy.latex(r) == tex
    assert "carried" in repr(r)


def test_duplicate_keys_for_one_quantity() -> None:
    r = seed000().check({"dL/dd": -2, "grad:d": -2, "∂L/∂d": 5})
    assert verdicts(r) == {"dL/dd": "correct", "grad:d": "correct", "∂L/∂d": "wrong"}


def test_nan_free_on_non_real_student_world() -> None:
    t = Trace()
    x = t.input("x", 4)
    t.define("s", "sqrt(x)")
    t.define("L", "log(s)")
    r = t.check({"s": -2, "L": "0.69"})
    assert r["s"].verdict == "wrong" and r["L"].verdict in ("correct", "wrong")
    assert math.isfinite(r["L"].expected or math.nan)
    del x
