"""A bias row or column broadcast as in NumPy (``X @ W + b``), through exercise text: in
``[define]`` strings, in answers, and in the named mistake "missing sum over the batch"."""

from __future__ import annotations

import numpy as np
import pytest

import symtrace as st
from symtrace.errors import ParseError
from symtrace.exercise import load, loads, loads_key, loads_submission
from symtrace.grade import grade

X = [[1.0, 2.0, -1.0], [0.5, -1.0, 2.0], [-1.5, 1.0, 0.5], [2.0, 0.5, 1.0]]
W = [[0.2, -0.3], [0.4, 0.1], [-0.5, 0.6]]
Y = [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [1.0, 1.0]]


def rows(definition: str) -> st.Trace:
    """A batch of 4 rows, a bias row b (1, 2), a squared error: dL/dZ = Z - Y."""
    t = st.Trace()
    t.input("X", X), t.input("W", W), t.input("b", [[0.1, 0.2]]), t.input("Y", Y)
    t.define("Z", definition)
    t.define("L", "sum(square(Z - Y)) / 2")
    return t


def columns(definition: str) -> st.Trace:
    """The same batch as columns (examples down, features across: X.T), a bias column c."""
    t = st.Trace()
    t.input("X", np.array(X).T), t.input("V", np.array(W).T), t.input("c", [[0.1], [0.2]])
    t.input("Y", np.array(Y).T)
    t.define("Z", definition)
    t.define("L", "sum(square(Z - Y)) / 2")
    return t


@pytest.mark.parametrize(
    ("make", "broadcast", "explicit"),
    [
        (rows, "X @ W + b", "X @ W + ones(4, 1) @ b"),
        (rows, "b + X @ W", "ones(4, 1) @ b + X @ W"),
        (rows, "X @ W - b", "X @ W - ones(4, 1) @ b"),
        (rows, "tanh(X @ W) + b", "tanh(X @ W) + ones(4, 1) @ b"),
        (rows, "X @ W + (b @ b.T) @ b", "X @ W + ones(4, 1) @ ((b @ b.T) @ b)"),  # plain SymPy
        (columns, "V @ X + c", "V @ X + c @ ones(1, 4)"),
        (columns, "c - V @ X", "c @ ones(1, 4) - V @ X"),
    ],
)
def test_a_broadcast_definition_is_the_explicit_one(make, broadcast: str, explicit: str) -> None:  # type: ignore[no-untyped-def]
    a, b = make(broadcast), make(explicit)
    assert a["Z"].shape == b["Z"].shape
    assert np.asarray(a.value("Z")) == pytest.approx(np.asarray(b.value("Z")), rel=1e-15)
    ga, gb = a.grad("L"), b.grad("L")
    for node in a.input_nodes:
        assert np.asarray(ga.value(node.name)) == pytest.approx(gb.value(node.name), rel=1e-15)
    assert str(ga[a.input_nodes[-2]]) == str(gb[b.input_nodes[-2]])  # the same compact form


@pytest.mark.parametrize("make", [rows, columns])
def test_answers_in_either_form_are_graded_alike(make) -> None:  # type: ignore[no-untyped-def]
    t = make("X @ W + b" if make is rows else "V @ X + c")
    bias, axis, n = ("b", 0, "ones(1, 4) @ (Z - Y)") if make is rows else ("c", 1, None)
    right = {
        f"dL/d{bias}": f"sum(Z - Y, axis={axis})",
        "Z": "X @ W + b" if make is rows else "V @ X + c",  # a broadcast in the answer
        "dL/dZ": "Z - Y",
    }
    report = t.check(right, output="L")
    assert report.ok, report.to_text()
    if n is not None:
        assert t.check({"dL/db": n}, output="L").ok
    wrong_axis = t.check({f"dL/d{bias}": f"sum(Z - Y, axis={1 - axis})"}, output="L")
    assert not wrong_axis.ok


@pytest.mark.parametrize(
    ("make", "definition", "answer", "across"),
    [
        (rows, "X @ W + b", "Z - Y", "rows of the batch, so dL/db adds up every row's"),
        (rows, "b + X @ W", "Z - Y", "rows"),
        (rows, "X @ W - b", "-(Z - Y)", "rows"),
        (rows, "X @ W + ones(4, 1) @ b", "Z - Y", "rows"),
        (columns, "V @ X + c", "Z - Y", "columns of the batch, so dL/dc adds up every column's"),
        (columns, "V @ X + c @ ones(1, 4)", "Z - Y", "columns"),
    ],
)
def test_the_missing_batch_sum_is_named_for_the_broadcast_form(
    make,  # type: ignore[no-untyped-def]
    definition: str,
    answer: str,
    across: str,
) -> None:
    t = make(definition)
    key = "dL/db" if make is rows else "dL/dc"
    bad = t.check({key: answer}, output="L")[key]
    assert bad.verdict == "wrong" and bad.mistake == "missing-batch-sum", bad.explanation
    assert across in bad.explanation
    axis = 0 if make is rows else 1
    assert f"sum(dZ, axis={axis})" in bad.explanation
    g = t.grad(t["L"])
    sign = -1 if definition.startswith("c -") or "- b" in definition else 1
    summed = sign * np.asarray(g.value(t["Z"])).sum(axis=axis, keepdims=True)
    assert summed == pytest.approx(g.value(key[-1]))  # the bias gradient is the batch sum
    good = t.check({key: summed.tolist()}, output="L")[key]
    assert good.verdict == "correct" and good.mistake is None


def test_the_shipped_batch_example_grades_the_same_with_a_broadcast_bias() -> None:
    with open("examples/affine-relu-batch-wrong.toml", encoding="utf-8") as f:
        text = f.read()
    assert '"X @ W + ones(4, 1) @ b"' in text
    before = load("examples/affine-relu-batch-wrong.toml").check()
    after = loads(text.replace('"X @ W + ones(4, 1) @ b"', '"X @ W + b"')).check()
    assert [(k, a.verdict, a.mistake) for k, a in after.items()] == [
        (k, a.verdict, a.mistake) for k, a in before.items()
    ]
    assert after["dL/db"].mistake == "missing-batch-sum"


KEY = """
output = "L"
[inputs]
X = [[1, 2], [0, -1], [2, 1]]
W = [[1, 0], [-1, 1]]
b = [[0.5, -0.5]]
[define]
Z = "X @ W + b"
L = "sum(square(Z)) / 2"
[answers]
"dL/db" = "sum(Z, axis=0)"
"""


@pytest.mark.parametrize(
    ("answer", "verdict", "mistake"),
    [
        ('"sum(Z, axis=0)"', "correct", None),
        ('"ones(1, 3) @ Z"', "correct", None),
        ('"sum(X @ W + b, axis=0)"', "correct", None),  # the broadcast inside the answer
        ('"Z"', "wrong", "missing-batch-sum"),
        ('"X @ W + b"', "wrong", "missing-batch-sum"),
        ('"sum(Z, axis=1)"', "wrong", None),
    ],
)
def test_a_class_key_with_a_broadcast_bias(answer: str, verdict: str, mistake: str | None) -> None:
    sub = loads_submission(f'student = "s"\n[answers]\n"dL/db" = {answer}\n')
    (line,) = [line for line in grade(loads_key(KEY), sub).lines if line.key == "dL/db"]
    assert line.verdict == verdict, line.explanation
    assert line.mistake == mistake, line.explanation


def test_a_scalar_is_still_not_broadcast_and_the_hint_says_what_is() -> None:
    t = rows("X @ W + b")
    with pytest.raises(ParseError, match=r"every entry is s write s \* ones\(4, 2\)") as info:
        t.define("Q", "Z + 1")
    assert "X @ W + b" in str(info.value) and "ones(N, 1) @ b" not in str(info.value)
    with pytest.raises(ParseError, match=r"\(4, 2\) \+ \(2, 1\) do not match"):
        t.define("Q", "Z + b.T")  # a column of the wrong length: no broadcast
