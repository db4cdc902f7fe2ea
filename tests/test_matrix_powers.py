"""Matrix powers: SymPy writes ``W @ W @ x`` as ``W**2 * x`` (a ``MatPow``); the rule
table evaluates and differentiates whole powers ``n >= 1`` of square matrices, and refuses
every other power at ``define`` (or at the operator) with a clear error.

Oracles as in ``tests/test_matrices.py``: the entrywise scalar trace, central finite
differences, NumPy's own matrix power, and the compiled program.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as hs
from test_matrices import assert_matches_the_oracles, entrywise_grad

import symtrace as st
from symtrace.errors import InvalidExpressionError, ShapeError, TraceError
from symtrace.exercise import loads_key, loads_submission
from symtrace.grade import grade

from guards import HANG_TIMEOUT, finishes_within

W0 = [[0.5, -0.25], [0.75, 0.5]]
X0 = [[1.0], [-2.0]]


def power_net() -> st.Trace:
    t = st.Trace()
    W, x = t.input("W", W0), t.input("x", X0)
    h = t.define("h", W @ W @ x)
    t.define("L", st.sum(st.square(h)) / 2)
    return t


def test_a_product_of_a_matrix_with_itself_is_a_power_sympy_keeps() -> None:
    t = power_net()
    W, x = t["W"], t["x"]
    assert isinstance(t.graph.equations[t.graph.index(t["h"])].definition.args[0], sympy.MatPow)
    assert t.value("h") == pytest.approx(np.linalg.matrix_power(np.array(W0), 2) @ X0)
    g = t.grad("L")
    # C = W² : W̄ = C̄ Wᵀ + Wᵀ C̄, with C̄ = h̄ xᵀ
    hb = np.asarray(g.value("h"))
    Wv = np.array(W0)
    assert g.value(W) == pytest.approx(hb @ np.array(X0).T @ Wv.T + Wv.T @ hb @ np.array(X0).T)
    assert g.value(x) == pytest.approx(Wv.T @ Wv.T @ hb)
    assert sorted(map(str, g[W].args)) == ["W.T*h*x.T", "h*x.T*W.T"]  # h̄ = h


@pytest.mark.parametrize("build", [lambda w: w @ w @ w, lambda w: w * w * w, lambda w: w**3])
def test_every_spelling_of_a_cube_is_the_same_node(build) -> None:  # type: ignore[no-untyped-def]
    t = st.Trace()
    W = t.input("W", W0)
    C = t.define("C", build(W))
    t.define("L", st.sum(st.hadamard(C, C)))
    assert t.value(C) == pytest.approx(np.linalg.matrix_power(np.array(W0), 3))
    assert t.grad("L").value(W) == pytest.approx(entrywise_grad(t, "L", "W"), rel=1e-12)


@hs.composite
def power_traces(draw: hs.DrawFn) -> st.Trace:
    """A random square input raised to a random power, inside a random expression."""
    k, n = draw(hs.integers(1, 3)), draw(hs.integers(1, 3))
    elems = hs.floats(-1.2, 1.2, allow_nan=False, allow_infinity=False)
    rows = hs.lists(hs.lists(elems, min_size=k, max_size=k), min_size=k, max_size=k)
    t = st.Trace()
    A = t.input("A", np.array(draw(rows), dtype=float))
    v = t.input("v", np.array(draw(hs.lists(elems, min_size=k, max_size=k)), dtype=float))
    shape = draw(hs.sampled_from(["power", "power-vector", "transposed", "sum-of-powers"]))
    if shape == "power":
        P = t.define("P", A**n)
    elif shape == "power-vector":
        P = t.define("P", A**n @ v)
    elif shape == "transposed":
        P = t.define("P", (A.T @ st.tanh(A)) ** n)  # a power of an expression, not a node
    else:
        P = t.define("P", A**n + 0.5 * A ** (n + 1))
    t.define("L", st.sum(st.tanh(P)))
    return t


@settings(max_examples=30)  # each example builds an entrywise trace and finite differences
@given(power_traces())
def test_powers_match_entrywise_compiled_and_finite_differences(t: st.Trace) -> None:
    assert_matches_the_oracles(t)


def test_the_compiled_power_is_matrix_products_computed_once() -> None:
    t = st.Trace()
    W, x = t.input("W", W0), t.input("x", X0)
    h = t.define("h", W**4 @ x)
    t.define("L", st.sum(h))
    f = t.compile("L")
    value, (dW, dx) = f(W=W0, x=X0)
    g = t.grad("L")
    assert value == pytest.approx(t.value("L"), rel=1e-12)
    assert dW == pytest.approx(g.value(W), rel=1e-12) and dx == pytest.approx(g.value(x))
    assert "for " not in f.source and "matrix_power" not in f.source
    assert f.source.count("v0_W.T @") + f.source.count("@ v0_W.T") <= 2  # (Wᵀ)^k built once


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda w, x: x**2, ShapeError, r"x\*\*2: a matrix power needs a square matrix, x is"),
        (lambda w, x: st.tanh(x) ** 2, ShapeError, r"\(tanh\(x\)\)\*\*2: a matrix power needs"),
        (lambda w, x: w**0, InvalidExpressionError, r"W\*\*0: only a whole power n >= 1"),
        (lambda w, x: w**-1, InvalidExpressionError, r"W\*\*\(-1\): only a whole power"),
        (lambda w, x: w**0.5, InvalidExpressionError, r"W\*\*0.5: only a whole power"),
        (lambda w, x: w ** sympy.Rational(1, 2), InvalidExpressionError, r"W\*\*\(1/2\)"),
        (lambda w, x: w ** sympy.Symbol("n"), InvalidExpressionError, r"W\*\*n: only a whole"),
    ],
)
def test_other_powers_are_refused_at_the_operator(build, error, message) -> None:  # type: ignore[no-untyped-def]
    t = st.Trace()
    W, x = t.input("W", W0), t.input("x", X0)
    with pytest.raises(error, match=message) as info:
        build(W, x)
    assert "st.square" in str(info.value)  # says what to write instead


@pytest.mark.parametrize(
    ("definition", "error", "message"),
    [
        (lambda w: sympy.MatPow(w, -2), InvalidExpressionError, r"W\*\*\(-2\): only a whole"),
        (lambda w: sympy.MatPow(w, sympy.Rational(3, 2)), InvalidExpressionError, r"W\*\*\(3/2"),
        (lambda w: sympy.Inverse(w), TraceError, "Inverse of a matrix is not supported"),
        (lambda w: st.tanh(sympy.Inverse(w)), TraceError, "Inverse of a matrix is not supp"),
    ],
)
def test_powers_sympy_builds_are_refused_at_define_not_later(definition, error, message) -> None:  # type: ignore[no-untyped-def]
    t = st.Trace()
    W = t.input("W", W0)
    with pytest.raises(error, match=message):
        t.define("P", definition(W))
    assert [n.name for n in t.nodes] == ["W"]  # nothing half-added


KEY = """
output = "L"
[inputs]
W = [[1, 2], [0, -1]]
x = [[1], [1]]
[define]
h = "W @ W @ x"
L = "sum(square(h)) / 2"
[answers]
h = "W @ W @ x"
"dL/dx" = "W.T @ W.T @ h"
"dL/dW" = "h @ x.T @ W.T + W.T @ h @ x.T"
"""


@pytest.mark.parametrize(
    ("key", "answer", "verdict", "mistake"),
    [
        ("h", "W @ W @ x", "correct", None),
        ("h", "[[1], [1]]", "correct", None),  # W² = I for this W: W²x = x
        ("h", "W @ x", "wrong", None),
        ("dL/dx", "W.T @ W.T @ h", "correct", None),
        ("dL/dx", "(W @ W).T @ h", "correct", None),
        ("dL/dx", "W @ W @ h", "wrong", None),
        ("dL/dW", "h @ x.T @ W.T + W.T @ h @ x.T", "correct", None),
        ("dL/dW", "h @ x.T @ W.T", "wrong", None),
    ],
)
def test_a_power_in_an_exercise_is_graded_not_unreadable(
    key: str, answer: str, verdict: str, mistake: str | None
) -> None:
    exercise = loads_key(KEY)
    result = grade(exercise, loads_submission(f'student = "s"\n[answers]\n"{key}" = "{answer}"\n'))
    line = {line.key: line for line in result.lines}[key]
    assert line.verdict == verdict, line.explanation
    if verdict == "wrong":
        assert "not supported" not in line.explanation
        assert "at random matrices" in line.explanation or "entries wrong" in line.explanation


def test_a_matrix_power_written_with_stars_is_still_refused_in_text() -> None:
    t = st.Trace()
    t.input("W", W0)
    with pytest.raises(st.errors.ParseError, match=r"A @ A for the matrix power"):
        t.define("P", "W ** 2")


def test_the_longest_product_chain_the_parser_allows_is_graded_without_hanging() -> None:
    t = st.Trace()
    W, x = t.input("W", W0), t.input("x", X0)
    t.define("h", W @ x)
    t.define("L", "sum(tanh(h))")
    chain = " @ ".join(["W"] * 55)  # W**55: 55 terms in its VJP, each a few products
    for answer in (chain, f"{chain} @ x", f"({chain}).T @ x"):
        report = finishes_within(HANG_TIMEOUT, t.check, {"h": answer, "dL/dx": answer}, output="L")
        assert report["h"].verdict == "wrong" and report["dL/dx"].verdict == "wrong"


def test_text_views_write_a_matrix_power_as_a_superscript_not_as_entrywise_stars() -> None:
    t = st.Trace()
    W = t.input("W", [[1, 2], [3, 4]])
    x = t.input("x", [[1], [2]])
    t.define("h", W @ W @ x)
    L = t.define("L", st.sum(t["h"]))
    text = str(t.derivation(L))
    assert "dL/dx = dL/dh · ∂h/∂x = (Wᵀ)² h̄" in text
    assert "**" not in text
