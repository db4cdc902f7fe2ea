"""Issue 12: matrix exercises: the matrix syntax of the safe parser, exercise files with
matrix inputs, grading matrix answers (shape, entries, equivalence) and the named
mistakes, each detected on a hand-written wrong answer and not flagged on the right one."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
import sympy
from latex import pdflatex

import symtrace as st
from symtrace.check.matrix import MISTAKES, MatrixReport
from symtrace.errors import ExerciseError, ParseError, UsageError
from symtrace.exercise import loads
from symtrace.matrix_parsing import MatrixLimits, parse_matrix_expression, uses_matrices

from guards import HANG_TIMEOUT, finishes_within

# ------------------------------------------------------------------ fixtures


def mazur() -> st.Trace:
    """Matt Mazur's 2-2-2 sigmoid network, in matrix form, defined from text."""
    t = st.Trace()
    t.input("W1", [[0.15, 0.20], [0.25, 0.30]])
    t.input("b1", [0.35, 0.35])
    t.input("W2", [[0.40, 0.45], [0.50, 0.55]])
    t.input("b2", [0.60, 0.60])
    t.input("x", [0.05, 0.10])
    t.input("y", [0.01, 0.99])
    t.define("z1", "W1 @ x + b1")
    t.define("h", "sigmoid(z1)")
    t.define("z2", "W2 @ h + b2")
    t.define("o", "sigmoid(z2)")
    t.define("delta2", "(o - y) ⊙ o ⊙ (1 - o)")
    t.define("E", "sum(square(y - o)) / 2")
    return t


def batch() -> st.Trace:
    """An affine + ReLU layer on a batch of 4, a mean squared error."""
    t = st.Trace()
    t.input("X", [[1.0, 2.0, -1.0], [0.5, -1.0, 2.0], [-1.5, 1.0, 0.5], [2.0, 0.5, 1.0]])
    t.input("W", [[0.2, -0.3], [0.4, 0.1], [-0.5, 0.6]])
    t.input("b", [[0.1, 0.2]])
    t.input("Y", [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [1.0, 1.0]])
    t.define("Z", "X @ W + ones(4, 1) @ b")
    t.define("H", "relu(Z)")
    t.define("L", "mse(H, Y)")
    return t


def softmax_batch() -> st.Trace:
    t = st.Trace()
    t.input("X", [[1.0, -1.0], [0.5, 2.0], [-1.0, 0.0]])
    t.input("W", [[0.3, -0.2, 0.1], [0.5, 0.4, -0.6]])
    t.input("Y", [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    t.define("Z", "X @ W")
    t.define("L", "cross_entropy(softmax(Z), Y)")
    return t


# ------------------------------------------------------------------ the parser


def test_matrix_syntax() -> None:
    t = st.Trace()
    W, x, d = t.input("W", shape=(2, 3)), t.input("x", shape=(3, 1)), t.input("d", shape=(2, 1))
    names = {s.name: s for s in t.nodes}
    assert parse_matrix_expression("d @ x.T", names) == d @ x.T
    assert parse_matrix_expression("Wᵀ @ d", names) == W.T @ d
    assert parse_matrix_expression("(W.T @ d)ᵀ", names) == (W.T @ d).T
    assert parse_matrix_expression("hadamard(d, d)", names) == st.hadamard(d, d)
    assert parse_matrix_expression("d ⊙ d", names) == st.hadamard(d, d)
    assert parse_matrix_expression("0.5 * d", names) == d / 2
    assert parse_matrix_expression("sum(d, axis=0)", names) == st.sum(d, axis=0)
    assert parse_matrix_expression("mean(d)", names) == st.mean(d)
    for f in ("tanh", "sigmoid", "relu", "exp", "log", "sqrt", "square", "abs"):
        assert parse_matrix_expression(f"{f}(d)", names) == getattr(st, f)(d)
    assert parse_matrix_expression("softmax(d) - log_softmax(d)", names).shape == (2, 1)
    assert parse_matrix_expression("cross_entropy(softmax(d), d) + mse(d, d)", names) is not None
    assert parse_matrix_expression("ones(2, 1)", names).shape == (2, 1)
    m = parse_matrix_expression("[[1, 2.5], [-3, 0.1]]", {})
    assert m.tolist() == [[1, sympy.Rational(5, 2)], [-3, sympy.Rational(1, 10)]]
    assert parse_matrix_expression("[1, 2]", {}).shape == (2, 1)
    assert uses_matrices("W@x", {}) and not uses_matrices("a*b", {"a": 1})
    assert uses_matrices("2*d", names)


def test_matrix_product_star_is_ambiguous() -> None:
    t = st.Trace()
    t.input("A", shape=(2, 2))
    t.input("B", shape=(2, 2))
    with pytest.raises(ParseError, match=r"ambiguous.*A @ B.*⊙"):
        t.define("C", "A * B")
    assert t.define("D", "2 * A").name == "D"


HOSTILE = [
    ("A.real", "attribute access .real"),
    ("A.__class__", "attribute access"),
    ("A.T.shape", "attribute access .shape"),
    ("A ** 2", "of a matrix is ambiguous"),
    ("A % A", "'%' is not allowed"),
    ("A + 1", "a matrix and a scalar"),
    ("1 / A", "division by a matrix"),
    ("2 @ A", "'@' needs two matrices"),
    ("A @ x", "shapes do not fit"),
    ("sum(A, axis=2)", "axis must be"),
    ("sum(A, keepdims=1)", "no keyword"),
    ("ones(10**6, 1)", "two positive integers"),
    ("ones(1000, 1000)", "larger than the limit"),
    ("ones(100, 100) @ ones(100, 100) @ ones(100, 1000)", "larger than the limit"),
    ("eval(A)", "function 'eval' is not allowed"),
    ("(lambda: A)()", "only named functions"),
    ("[[1, 2], [3]]", "ragged"),
    ("[[1, [2]], [3, 4]]", "nest two deep"),
    ("[[[1]]]", "nest two deep"),
    ("[[1, 2], 3]", "mixes rows and numbers"),
    ("[]", "empty matrix literal"),
    ("[[a, 1]]", "must be numbers"),
    ("[" + ", ".join(["1"] * 101) + "]", "more than 100 rows"),
    ("[" + ", ".join(["[" + ", ".join(["1"] * 30) + "]"] * 30) + "]", "more than 400 entries"),
    ("[[1e999999]]", "exponent is too large"),
    ("(" * 80 + "A" + ")" * 80, "nested deeper"),
    ("A" + " @ A" * 2100, "nested deeper than 60"),
    ("x" * 20000, "longer than"),
    ("A[0]", "Subscript is not allowed"),
    ("A if A else A", "IfExp is not allowed"),
    ("'A' @ A", "string is not allowed"),
    ("A @ (b := A)", "NamedExpr is not allowed"),
    ("A ⊙ x", "shapes"),
    ("x.T @ @ x", "invalid syntax"),
]


@pytest.mark.parametrize(("text", "message"), HOSTILE)
def test_hostile_matrix_text(text: str, message: str) -> None:
    t = st.Trace()
    t.input("A", shape=(2, 2))
    t.input("x", shape=(3, 1))
    t.input("a", 1.0)
    names = {s.name: s for s in t.nodes}
    with pytest.raises(ParseError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_matrix_expression(text, names)


def test_names_like_matrix_functions() -> None:
    t = st.Trace()
    mean = t.input("mean", 2.0)
    assert t.define("s", "mean + 1") is not None and t.value("s") == 3.0
    assert not uses_matrices("mean + 1", {"mean": mean})
    with pytest.raises(ParseError, match="unknown name 'mean'"):
        parse_matrix_expression("mean + A", {"A": t.input("A", shape=(2, 2))})
    with pytest.raises(ParseError, match="unknown name 'q'"):
        parse_matrix_expression("sum(q)", {})


def test_hostile_text_is_rejected_without_hanging() -> None:
    t = st.Trace()
    t.input("A", shape=(2, 2))
    names = {s.name: s for s in t.nodes}
    for text, _ in HOSTILE:  # a hang guard, not a timing: speed is in benchmarks/
        with pytest.raises(ParseError):
            finishes_within(HANG_TIMEOUT, parse_matrix_expression, text, names)


def test_limits_are_validated() -> None:
    with pytest.raises(st.OptionValueError):
        MatrixLimits(max_dim=0)
    with pytest.raises(ParseError, match="more than 5 parts"):
        parse_matrix_expression("[[1, 2], [3, 4]]", {}, limits=MatrixLimits(max_nodes=5))
    tight = MatrixLimits(max_literal_entries=3)
    with pytest.raises(ParseError, match="more than 3 entries"):
        parse_matrix_expression("[[1, 2], [3, 4]]", {}, limits=tight)


# ------------------------------------------------------------------ exercise files

EXERCISE = """
title = "Mazur 2-2-2"
output = "E"
[inputs]
W1 = [[0.15, 0.20], [0.25, 0.30]]
b1 = [[0.35], [0.35]]
W2 = [[0.40, 0.45], [0.50, 0.55]]
b2 = [[0.60], [0.60]]
x = [[0.05], [0.10]]
y = [0.01, 0.99]
[define]
z1 = "W1 @ x + b1"
h = "sigmoid(z1)"
z2 = "W2 @ h + b2"
o = "sigmoid(z2)"
E = "sum(square(y - o)) / 2"
[answers]
"dE/dW2" = [[0.082167, 0.082668], [-0.022603, -0.022740]]
"dE/db2" = "(o - y) ⊙ o ⊙ (1 - o)"
"dE/dh" = "W2ᵀ @ ((o - y) ⊙ o ⊙ (1 - o))"
"""


def test_exercise_with_matrix_inputs() -> None:
    ex = loads(EXERCISE)
    assert ex.trace["W1"].shape == (2, 2) and ex.trace["y"].shape == (2, 1)
    report = ex.check()
    assert isinstance(report, MatrixReport)
    assert report.ok, report.to_text()
    wrong = ex.check({"dE/dW2": [[0.0822, 0.0827], [-0.0226, -0.0300]]})
    assert wrong["dE/dW2"].entries == [[True, True], [True, False]]
    assert wrong["dE/dW2"].score == 0.75


def test_exercise_symbolic_shape_input() -> None:
    ex = loads('output = "L"\n[inputs]\nW = {shape = [2, 3]}\n[define]\nL = "sum(W)"\n')
    assert ex.trace["W"].shape == (2, 3)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[[1, 2], [3]]", "ragged"),
        ("[[1, [2]]]", "two levels deep"),
        ("[[[1]]]", "two levels deep"),
        ("[]", "ragged or empty"),
        ("{shape = [2]}", "shape = \\[rows, cols\\]"),
        ("{shape = [2, 0]}", "positive ints"),
        ("{shape = [100000, 100000]}", "at most"),
        ("{shape = [2, 2], value = 1}", "symbolic matrix input"),
        ('[["a", 1]]', "input 'W'"),
    ],
)
def test_exercise_bad_matrix_inputs(value: str, message: str) -> None:
    with pytest.raises(ExerciseError, match=message):
        loads(f'output = "L"\n[inputs]\nW = {value}\n[define]\nL = "sum(W)"\n')


# ------------------------------------------------------------------ grading


def test_correct_answers_formulas_and_numbers() -> None:
    t = mazur()
    r = t.check(
        {
            "dE/dW2": "delta2 @ h.T",
            "dE/db2": "delta2",
            "dE/dW1": "((W2.T @ delta2) ⊙ h ⊙ (1 - h)) @ x.T",
            "o": "[[0.751365], [0.772928]]",
        },
        output="E",
    )
    assert r.ok, r.to_text()
    assert r.score == 1.0
    assert r["dE/dW2"].step == ("dE/dW2 = dE/dz2 · hᵀ", " (2×2) = (2×1) · (1×2)")


def test_written_precision() -> None:
    t = mazur()
    ok = t.check({"dE/dW2": [["0.0822", "0.0827"], ["-0.0226", "-0.0227"]]}, output="E")
    assert ok.ok
    off = t.check({"dE/dW2": [["0.0821", "0.0827"], ["-0.0226", "-0.0227"]]}, output="E")
    assert off["dE/dW2"].entries == [[False, True], [True, True]]
    assert "✗" in off["dE/dW2"].explanation


def test_shape_verdict_names_both_shapes() -> None:
    t = batch()
    r = t.check({"dL/db": [[0.1, 0.2, 0.3]]}, output="L")
    a = r["dL/db"]
    assert a.verdict == "wrong" and a.score == 0
    assert "yours is 1×3, but dL/db is 1×2 (shaped like b)" in a.explanation


def test_coincidence_at_the_values_is_not_equivalence() -> None:
    t = st.Trace()
    t.input("A", [[1.0, 2.0], [3.0, 4.0]])
    t.input("B", [[1.0, 0.0], [0.0, 1.0]])
    t.input("U", [[1.0, 1.0], [1.0, 1.0]])
    t.define("C", "A @ B")
    t.define("L", "sum(C ⊙ U)")
    r = t.check({"dL/dA": "U @ B", "C": "A"}, output="L")  # right at these values only
    assert r["dL/dA"].verdict == "wrong" and "not equal to the gradient in general" in (
        r["dL/dA"].explanation
    )
    assert r["C"].verdict == "wrong"


# ------------------------------------------------------------------ named mistakes

CASES = [
    # (trace, key, correct answer, wrong answer, mistake)
    (mazur, "dE/dW2", "delta2 @ h.T", "h @ delta2.T", "transposed"),
    (mazur, "dE/dW2", "delta2 @ h.T", [[0.08217, -0.0226], [0.08267, -0.02274]], "transposed"),
    (mazur, "dE/dW2", "delta2 @ h.T", "h.T @ delta2", "wrong-order"),
    (mazur, "dE/dh", "W2.T @ delta2", "W2 @ delta2", "missing-transpose"),
    (mazur, "dE/dW2", "delta2 @ h.T", "delta2 ⊙ h", "elementwise-for-matmul"),
    (mazur, "dE/dz2", "delta2", "(o - y) @ (o ⊙ (1 - o)).T", "matmul-for-elementwise"),
    (softmax_batch, "dL/dZ", "softmax(Z) - Y", "softmax(Z)", "missing-minus-y"),
    (softmax_batch, "dL/dW", "X.T @ (softmax(Z) - Y)", "X.T @ softmax(Z)", "missing-minus-y"),
]


@pytest.mark.parametrize(("make", "key", "right", "wrong", "mistake"), CASES)
def test_named_mistakes(make, key, right, wrong, mistake) -> None:  # type: ignore[no-untyped-def]
    t = make()
    out = t.nodes[-1]
    good = t.check({key: right}, output=out)[key]
    assert good.verdict == "correct", good.explanation
    assert good.mistake is None
    bad = t.check({key: wrong}, output=out)[key]
    assert bad.verdict == "wrong"
    assert bad.mistake == mistake, bad.explanation
    assert MISTAKES[mistake] in bad.explanation


def batch_upstream(t: st.Trace) -> np.ndarray:
    return np.asarray(t.grad(t["L"]).value(t["Z"]))


def test_missing_batch_sum_for_a_bias() -> None:
    t = batch()
    dz = batch_upstream(t)
    good = t.check({"dL/db": dz.sum(axis=0, keepdims=True).tolist()}, output="L")["dL/db"]
    assert good.verdict == "correct" and good.mistake is None
    bad = t.check({"dL/db": dz.tolist()}, output="L")["dL/db"]
    assert bad.mistake == "missing-batch-sum", bad.explanation
    assert "4×2, but dL/db is 1×2" in bad.explanation


def test_missing_one_over_n_of_a_mean() -> None:
    t = batch()
    g = t.grad(t["L"])
    right = np.asarray(g.value(t["W"]))
    assert t.check({"dL/dW": right.tolist()}, output="L")["dL/dW"].mistake is None
    bad = t.check({"dL/dW": (8 * right).tolist()}, output="L")["dL/dW"]
    assert bad.mistake == "missing-mean", bad.explanation


def test_wrong_order_in_a_batch() -> None:
    t = st.Trace()
    t.input("X", [[1.0, 2.0], [3.0, -1.0]])
    t.input("W", [[0.5, -0.5], [1.0, 2.0]])
    t.define("Z", "X @ W")
    t.define("L", "sum(square(Z)) / 2")
    good = t.check({"dL/dW": "X.T @ Z"}, output="L")["dL/dW"]
    assert good.verdict == "correct"
    bad = t.check({"dL/dW": "Z @ X.T"}, output="L")["dL/dW"]
    assert bad.mistake == "wrong-order", bad.explanation


# ------------------------------------------------------------------ reports


def test_report_formats() -> None:
    t = mazur()
    r = t.check({"dE/dW2": "delta2 @ h.T", "dE/dh": "W2 @ delta2", "dE/db2": ""}, output="E")
    assert r.first_error == "dE/dh" and not r.ok
    text = r.to_text()
    assert "expected: [[0.0363503], [0.0413703]]" in text and "✗" in text
    assert "(2×1) = (2×2) · (2×1)" in text
    md = r.to_markdown()
    assert "| `dE/dh` | wrong | missing transpose |" in md
    tex = r.to_latex()
    assert "\\begin{bmatrix}" in tex and "\\boxed{0.0363503}" not in tex
    assert "\\boxed{" in tex and "missing transpose" in tex and "score: " in tex
    data = json.loads(r.to_json())
    by_key = {a["key"]: a for a in data["answers"]}
    assert by_key["dE/dh"]["mistake"] == "missing-transpose"
    assert by_key["dE/db2"]["verdict"] == "blank"
    assert by_key["dE/dh"]["entries"] == [[False], [False]]


def test_cli_check_matrix_exercise(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from symtrace.cli import main

    path = tmp_path / "mazur.toml"
    path.write_text(EXERCISE, encoding="utf-8")
    assert main(["check", str(path)]) == 0
    assert main(["check", "--format", "json", str(path)]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text(EXERCISE.replace('"W2ᵀ @', '"W2 @'), encoding="utf-8")
    assert main(["check", "--format", "markdown", str(bad)]) == 1


def test_scalar_only_tools_say_so() -> None:
    from symtrace.check.matrix import scalar_report

    with pytest.raises(UsageError, match="not available for exercises with matrix nodes"):
        scalar_report(loads(EXERCISE).check(), "symtrace grade")


def test_no_eval_in_the_matrix_modules() -> None:
    import inspect

    import symtrace.check.matrix as cm
    import symtrace.matrix_parsing as mp

    for mod in (mp, cm):
        src = inspect.getsource(mod)
        for bad in ("eval", "exec", "sympify", "parse_expr", "lambdify", "compile"):
            assert not re.search(rf"(?<![\w.]){bad}\(", src), (mod, bad)


# ------------------------------------------------------------------ shipped examples

EXAMPLES = __import__("pathlib").Path(__file__).resolve().parent.parent / "examples"

SHIPPED = {
    "mazur-222": {},
    "mazur-222-wrong": {"dE/dW2": "transposed", "dE/dh": "missing-transpose"},
    "mazur-222-carried": {"dE/dh": "missing-transpose", "dE/dW1": None},  # dW1 carried
    "affine-relu-batch": {},
    "affine-relu-batch-wrong": {"dL/dW": "missing-mean", "dL/db": "missing-batch-sum"},
    "affine-relu-batch-carried": {"dL/dH": None, "dL/dZ": None, "dL/dW": None, "dL/db": None},
    "softmax-cross-entropy": {},
    "softmax-cross-entropy-wrong": {"dL/dZ": "missing-minus-y", "dL/dW": "missing-mean"},
    "softmax-cross-entropy-carried": {"dL/dZ": "missing-minus-y", "dL/dW": None},
}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_matrix_examples(name: str) -> None:
    report = st.exercise.load(EXAMPLES / f"{name}.toml").check()
    assert isinstance(report, MatrixReport)
    wrong = {k: a.mistake for k, a in report.items() if a.verdict != "correct"}
    assert wrong == SHIPPED[name], report.to_text()
    carried = {k for k, a in report.items() if a.verdict == "carried"}
    assert carried == CARRIED.get(name, set()), report.to_text()
    if carried:
        assert report.first_error in wrong and report.first_error not in carried


CARRIED = {
    "mazur-222-carried": {"dE/dW1"},
    "affine-relu-batch-carried": {"dL/dZ", "dL/dW", "dL/db"},
    "softmax-cross-entropy-carried": {"dL/dW"},
}


def test_carried_through_a_matrix_chain() -> None:
    t = mazur()
    g = t.grad(t["E"])
    wrong_dh = np.asarray(t.value(t["W2"]) @ g.value(t["z2"]))  # W2 δ, not W2ᵀ δ
    hv, x = np.asarray(t.value(t["h"])), np.asarray(t.value(t["x"]))
    dz1 = wrong_dh * hv * (1 - hv)
    r = t.check(
        {"dE/dh": wrong_dh.tolist(), "dE/dz1": dz1.tolist(), "dE/dW1": (dz1 @ x.T).tolist()},
        output="E",
    )
    assert [a.verdict for a in r.values()] == ["wrong", "carried", "carried"]
    assert r.first_error == "dE/dh"
    assert "first error: dE/dh" in r["dE/dW1"].explanation
    # a slip of its own after the wrong upstream is wrong, not carried
    r = t.check({"dE/dh": wrong_dh.tolist(), "dE/dW1": (2 * dz1 @ x.T).tolist()}, output="E")
    assert r["dE/dW1"].verdict == "wrong"
    # a wrong answer with right upstream answers is wrong, not carried
    r = t.check({"dE/dh": "W2.T @ delta2", "dE/dW1": (dz1 @ x.T).tolist()}, output="E")
    assert [a.verdict for a in r.values()] == ["correct", "wrong"]


# ------------------------------------------------------------------ templates


@pytest.mark.parametrize("template", ["linear", "mlp", "softmax"])
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_templates_write_exercise_and_key(template: str, seed: int) -> None:
    from symtrace.templates import matrix_exercise

    sheet = matrix_exercise(template, seed)
    assert sheet == matrix_exercise(template, seed)  # reproducible
    key = loads(sheet.key).check()
    assert key.ok, key.to_text()
    blank = loads(sheet.exercise).check()
    assert {a.verdict for a in blank.values()} == {"blank"}
    trace = loads(sheet.exercise).trace
    for name in ("z1", "z2", "Z"):
        if name in trace:
            z = np.asarray(trace.value(trace[name]))
            assert np.all(np.abs(z) <= 2) and np.all(z != 0)


def test_cli_new_template(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from symtrace.cli import main

    target = tmp_path / "mlp.toml"
    assert main(["new", "--template", "mlp", "--seed", "4", "-o", str(target)]) == 0
    assert main(["check", str(tmp_path / "mlp.key.toml")]) == 0
    assert main(["check", str(target)]) == 1  # blank answers are not correct
    assert main(["new", "--template", "cnn", "--seed", "1"]) != 0  # a usage error
    with pytest.raises(st.OptionValueError):
        __import__("symtrace.templates").templates.matrix_exercise("cnn", 1)


def test_log_of_a_small_positive_input_is_still_equivalent() -> None:
    t = st.Trace()
    t.input("p", [[0.01], [0.02]])
    t.define("L", "sum(log(p))")
    r = t.check({"dL/dp": "1 / 1 * exp(-log(p))", "p": "p"}, output="L")
    assert r["dL/dp"].verdict == "correct", r.to_text()
    assert "|" in r._repr_markdown_()


def test_symbolic_shape_exercise_grades_formulas() -> None:
    text = """output = "L"
[inputs]
W = {shape = [2, 3]}
x = {shape = [3, 1]}
[define]
z = "W @ x"
L = "sum(square(z)) / 2"
[answers]
"dL/dz" = "z"
"dL/dW" = "z @ x.T"
"dL/dx" = "W.T @ z"
"""
    ex = loads(text)
    r = ex.check()
    assert r.ok, r.to_text()
    wrong = ex.check({"dL/dW": "z @ x.T / 2", "dL/dx": "2 * W.T @ z"})
    assert [a.verdict for a in wrong.values()] == ["wrong", "wrong"]
    assert "expected: z*x.T" in wrong["dL/dW"].explanation
    numbers = ex.check({"dL/dz": [[1], [2]]})["dL/dz"]
    assert numbers.verdict == "wrong" and "answer with a formula" in numbers.explanation
    # a formula whose shapes do not fit is an error of the file, with a transpose hint
    with pytest.raises(ExerciseError, match=r"W.T @ z would be \(3, 1\)"):
        loads(text.replace('"W.T @ z"', '"W @ z"'))


def test_an_unknown_name_in_a_matrix_formula_lists_every_node() -> None:
    t = st.Trace()
    W = t.input("W", [[1.0, 2.0], [3.0, 4.0]])
    x = t.input("x", [[1.0], [-1.0]])
    z = t.define("z", W @ x)
    t.define("L", st.sum(st.square(z)))
    names = t.graph.names()
    with pytest.raises(ParseError) as info:
        parse_matrix_expression("W @ delta", names)
    message = str(info.value)
    assert message.startswith("unknown name 'delta' (line 1, column 5)")
    assert message.endswith("this exercise defines W, x, z, L")
    assert info.value.unknown_name == "delta" and info.value.col_offset == 4


# A slip in the hidden layer's second entry (h₂ = 0.6069, not 0.5969), then every later
# number computed from that h: z2 = W2 h + b2 = [1.110425, 1.230445], o = sigmoid(z2),
# dE/dz2 = (o − y) ⊙ o ⊙ (1 − o), dE/dW2 = dE/dz2 hᵀ, dE/dh = W2ᵀ dE/dz2 (worked out with
# a calculator, written to four significant digits).
CARRIED_FROM_H = {
    "h": [[0.5933], [0.6069]],
    "o": [[0.7522], [0.7739]],
    "dE/dz2": [["0.1383"], ["-0.03781"]],
    "dE/dW2": [["0.08208", "0.08396"], ["-0.02244", "-0.02295"]],
    "dE/dh": [["0.03643"], ["0.04146"]],
}


def test_a_wrong_forward_value_carries_into_later_values_and_gradients() -> None:
    r = loads(EXERCISE).check(CARRIED_FROM_H)
    assert [(k, a.verdict) for k, a in r.items()] == [
        ("h", "wrong"),
        ("o", "carried"),
        ("dE/dz2", "carried"),
        ("dE/dW2", "carried"),
        ("dE/dh", "carried"),
    ]
    assert r.first_error == "h" and r["h"].entries == [[True], [False]]
    o = r["o"]
    assert o.sources == ("h",) and o.entries == [[False], [False]]
    assert o.explanation.startswith(
        "carried: with your h, o = sigmoid(z2) gives what you wrote: this step is right, "
        "the mistake is upstream (first error: h)."
    )
    assert r["dE/dW2"].explanation.startswith("carried: with your h, dE/dW2 = dE/dz2 · hᵀ")
    assert json.loads(r.to_json())["answers"][4]["sources"] == ["h"]


def test_a_right_value_after_a_wrong_one_and_an_own_mistake_stay_as_they_are() -> None:
    right_o = dict(CARRIED_FROM_H, o=[[0.7514], [0.7729]])  # o right, from the right h
    r = loads(EXERCISE).check(right_o)
    assert r["o"].verdict == "correct"
    # dE/dz2 is not what the student's own (right) o gives: a mistake of its own; dE/dW2
    # is what their dE/dz2 and their h give: carried from both
    assert r["dE/dz2"].verdict == "wrong"
    assert r["dE/dW2"].verdict == "carried" and r["dE/dW2"].sources == ("h", "dE/dz2")
    own = dict(CARRIED_FROM_H, o=[[0.7522], [0.7839]])  # a second slip, in o itself
    r = loads(EXERCISE).check(own)
    assert r["o"].verdict == "wrong" and r["dE/dz2"].verdict == "wrong"
    assert r.first_error == "h"


def test_a_wrong_value_that_is_not_used_carries_nothing() -> None:
    r = loads(EXERCISE).check({"h": [[0.5933], [0.6069]], "dE/dz2": [["0.2000"], ["-0.04000"]]})
    assert r["dE/dz2"].verdict == "wrong"  # not what the student's h gives: their own slip
    # o rounded (right to its two digits), E wrong, dE/dz2 from the rounded o: the VJP of
    # E uses o and y, not E's own value, so the wrong E is not what dE/dz2 follows from
    r = loads(EXERCISE).check(
        {"o": [["0.75"], ["0.77"]], "E": "0.3100", "dE/dz2": [["0.1388"], ["-0.03896"]]}
    )
    assert [a.verdict for a in r.values()] == ["correct", "wrong", "wrong"]


# ------------------------------------------------------------------ local partials


def test_local_partials_of_elementwise_steps_are_graded() -> None:
    ex = loads(EXERCISE)
    # h = sigmoid(z1) = [0.593270, 0.596884]: h ⊙ (1 − h) = [0.241301, 0.240613]
    r = ex.check(
        {
            "∂h/∂z1": "h ⊙ (1 - h)",
            "local:o/z2": [[0.1868], [0.1755]],  # o ⊙ (1 − o), o = [0.751365, 0.772928]
            "∂z1/∂b1": [[1], [1]],  # z1 = W1 x + b1: the identity, entry by entry
            "∂E/∂o": "o - y",  # of the output: the gradient dE/do
            "local:h/z1": "h ⊙ h",  # the derivative of tanh, not of the sigmoid
        }
    )
    assert [(k, a.verdict, a.kind) for k, a in r.items()] == [
        ("∂h/∂z1", "correct", "local"),
        ("local:o/z2", "correct", "local"),
        ("∂z1/∂b1", "correct", "local"),
        ("∂E/∂o", "correct", "gradient"),
        ("local:h/z1", "wrong", "local"),
    ]
    assert r["∂h/∂z1"].step == ("∂h/∂z1 = h ⊙ (1 − h)", "")
    wrong = r["local:h/z1"]
    assert np.allclose(wrong.expected, [[0.2413007], [0.2406134]], rtol=1e-6)
    assert wrong.entries == [[False], [False]] and "expected: [[0.241301], [0.240613]]" in (
        wrong.explanation
    )
    shape = ex.check({"∂h/∂z1": [[0.2413, 0.2406]]})["∂h/∂z1"]
    assert shape.verdict == "wrong" and "yours is 1×2, but ∂h/∂z1 is 2×1 (shaped like z1)" in (
        shape.explanation
    )


def test_local_partials_without_a_matrix_form_say_what_to_ask_instead() -> None:
    ex = loads(EXERCISE)
    with pytest.raises(ExerciseError) as info:
        ex.check({"∂z1/∂W1": "x.T"})
    assert "∂z1/∂W1 has no matrix form in z1 = W1 · x + b1" in str(info.value)
    assert "z1 is (2×1) and W1 is (2×2): the Jacobian ∂z1ᵢⱼ/∂W1ₖₗ has four indices" in str(
        info.value
    )
    assert "ask instead for the gradient 'dE/dW1'" in str(info.value)
    with pytest.raises(ExerciseError, match=r"the Jacobian is not diagonal.*'dE/dh'"):
        ex.check({"∂z2/∂h": "W2"})  # same shape, but every entry of h reaches every z2
    with pytest.raises(ExerciseError, match=r"a tangent \(forward mode\).*'dE/dx'"):
        ex.check({"tangent[x]:o": "0"})
    t = st.Trace()
    A = t.input("A", [[1.0, 2.0], [3.0, 4.0]])
    t.define("C", A.T)  # same shape, not elementwise: the numeric check sees it
    t.define("L", "sum(square(C))")
    with pytest.raises(ExerciseError, match="not diagonal"):
        t.check({"∂C/∂A": [[1, 1], [1, 1]]}, output="L")


def test_the_local_partial_of_a_scalar_node_is_shaped_like_its_parent() -> None:
    t = st.Trace()
    z = t.input("z", [[1.0], [-2.0]])
    s = t.define("s", st.sum(st.square(z)))
    t.define("L", 3 * s)
    r = t.check({"∂s/∂z": "2 * z", "local:L/s": 3, "∂s/∂z ": [[2], [-4.5]]}, output="L")
    assert [a.verdict for a in r.values()] == ["correct", "correct", "wrong"]
    assert r["∂s/∂z"].expected == [[2.0], [-4.0]] and r["∂s/∂z "].entries == [[True], [False]]


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no pdflatex")
def test_latex_report_compiles_standalone_with_amsmath_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    t = mazur()
    r = t.check({"dE/dW2": "h @ delta2.T", "dE/dh": "W2 @ delta2"}, output="E")
    tex = r.to_latex()
    doc = (
        "\\documentclass[a4paper]{article}\n\\usepackage{amsmath}\n"
        f"\\begin{{document}}\n{tex}\n\\end{{document}}\n"
    )
    done = pdflatex(tmp_path, "report.tex", doc)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "Overfull" not in (tmp_path / "report.log").read_text(errors="replace")
    # the step with its shapes is there, and each wrong entry of yours is boxed
    assert "(2$\\times$1) = (2$\\times$2) $\\cdot$ (2$\\times$1)" in tex
    assert tex.count("\\boxed{") == 2 + 2
