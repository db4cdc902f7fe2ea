"""Trace.from_expr: plain SymPy expressions become faithful traces of primitive steps.

Oracles: the original expression itself (``expand`` of the output must equal it
structurally), ``sympy.diff`` of the original expression, central finite differences
in plain floats, and the numbers the seed texts print.
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections import Counter

import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from symtrace import DuplicateNameError, Trace, TraceError
from symtrace.testing import check_grads

from examples import EXPECTED, seed001_log
from strategies import traces

x, y, z = sympy.symbols("x y z", real=True)
x1, x2 = sympy.symbols("x1 x2", real=True)
SEED001 = sympy.log(x1 * x2 * (x1 + x2)) / (x1 - x2) ** 2
SEED003 = (12 - x * sympy.exp(y)) / (45 + x * y * sympy.exp(-x))


def steps(t: Trace) -> list[str]:
    return [f"{s} = {t.definition(s)}" for s in t.nodes if not t.is_input(s)]


def back(t: Trace, expr: sympy.Expr) -> sympy.Expr:
    """An expression in the trace's input Symbols, written in plain Symbols again."""
    return expr.xreplace({t[s.name]: sympy.Symbol(s.name, real=True) for s in t.input_nodes})


def central(f, point: list[float], i: int, h: float = 1e-6) -> float:
    up, down = list(point), list(point)
    up[i] += h
    down[i] -= h
    return (f(*up) - f(*down)) / (2 * h)


# ------------------------------------------------------------------ the seeds


def test_seed001_steps_are_the_texts_terms() -> None:
    """log(x1*x2*(x1+x2))/(x1-x2)**2 becomes t1..t5 and y: one operation per step."""
    t = Trace.from_expr(SEED001, values=(2, 10))
    assert t.input_nodes == (t["x1"], t["x2"])
    assert steps(t) == [
        "t1 = x1 + x2",
        "t2 = t1*x1*x2",
        "t3 = log(t2)",
        "t4 = x1 - x2",
        "t5 = t4**2",
        "y = t3/t5",
    ]
    assert back(t, t.expand("y")) == SEED001


def test_seed001_gradient_matches_finite_differences_and_the_hand_built_trace() -> None:
    t = Trace.from_expr(SEED001, values=(2, 10))
    g = t.grad("y")

    def f(a: float, b: float) -> float:
        return math.log(a * b * (a + b)) / (a - b) ** 2

    hand, out = seed001_log()  # the text's t1..t7, written by hand
    hand_g = hand.grad(out)
    for i, name in enumerate(("x1", "x2")):
        fd = central(f, [2.0, 10.0], i)
        exact = float(sympy.diff(SEED001, sympy.Symbol(name, real=True)).subs({x1: 2, x2: 10}))
        assert g.value(name) == pytest.approx(exact, rel=1e-12)
        assert g.value(name) == pytest.approx(fd, rel=1e-7)
        assert g.value(name) == pytest.approx(hand_g.value(name), rel=1e-12)
    assert t.value("y") == pytest.approx(math.log(240) / 64, rel=1e-15)


def test_seed001_polynomial_forward_difference_vs_reverse_mode() -> None:
    """f(a,b,c) = 2abc(a^2+b^2+c^2): the text's forward difference is off by O(h)."""
    a, b, c = sympy.symbols("a b c", real=True)
    t = Trace.from_expr(2 * a * b * c * (a**2 + b**2 + c**2), name="f", values=(1.5, -0.5, 2.0))
    assert steps(t) == [
        "t1 = a**2",
        "t2 = b**2",
        "t3 = c**2",
        "t4 = t1 + t2 + t3",
        "f = 2*a*b*c*t4",
    ]

    def f(a: float, b: float, c: float) -> float:
        return 2 * a * b * c * (a**2 + b**2 + c**2)

    exact = 2 * -0.5 * 2.0 * (3 * 1.5**2 + 0.25 + 4.0)  # d/da by hand: 2bc(3a^2 + b^2 + c^2)
    h = 0.0001
    forward = (f(1.5 + h, -0.5, 2.0) - f(1.5, -0.5, 2.0)) / h
    assert t.grad("f").value("a") == pytest.approx(exact, rel=1e-14)
    assert forward == pytest.approx(exact, abs=1e-2)
    assert abs(forward - exact) > 1e-5  # the forward difference is visibly inexact


def test_seed003_printed_numbers() -> None:
    t = Trace.from_expr(SEED003, name="z", values={x: 3, y: 5})
    g = t.grad("z")
    assert g.value("x") == pytest.approx(EXPECTED["seed003_tensor"]["x"], rel=1e-12)
    assert g.value("y") == pytest.approx(EXPECTED["seed003_tensor"]["y"], rel=1e-12)
    assert back(t, t.expand("z")) == SEED003
    assert "t4 = -x" in steps(t)  # -x is one step (SymPy's Mul(-1, x))
    assert "t3 = 12 - t2" in steps(t)  # the -1 coefficient stays inline


# --------------------------------------------------------- rules of the steps


def test_coefficients_and_constants_stay_inline() -> None:
    t = Trace.from_expr(x - 2 * sympy.sin(y) + sympy.pi * sympy.sqrt(2) * x * y, name="o")
    X, Y, t1, t2 = t["x"], t["y"], t["t1"], t["t2"]
    assert t.nodes == (X, Y, t1, t2, t["o"])
    assert t.definition(t1) == sympy.sin(Y)
    assert t.definition(t2) == X * Y
    # No node for a number, pi or sqrt(2): -2 and sqrt(2)*pi are coefficients in the sum.
    assert t.definition("o") == X - 2 * t1 + sympy.sqrt(2) * sympy.pi * t2


def test_output_named_like_an_input_is_a_clear_error() -> None:
    with pytest.raises(DuplicateNameError, match=r"'y' is also an input.*name="):
        Trace.from_expr(x * y, name="y")
    assert steps(Trace.from_expr(x * y, name="z")) == ["z = x*y"]
    # the default name is a free one
    assert steps(Trace.from_expr(x * y)) == ["y_out = x*y"]


def test_division_and_negation() -> None:
    t = Trace.from_expr(-x / (y + 1) ** 2, name="q")
    assert steps(t) == ["t1 = y + 1", "t2 = t1**2", "q = -x/t2"]
    t = Trace.from_expr(-sympy.sin(x), name="q")
    assert steps(t) == ["t1 = sin(x)", "q = -t1"]
    t = Trace.from_expr(x - y, name="q")
    assert steps(t) == ["q = x - y"]


def test_shared_subexpression_is_one_node_used_twice() -> None:
    s = sympy.sin(x * y)
    expr = s**2 + sympy.exp(s) * z
    t = Trace.from_expr(expr, name="out")
    sin_nodes = [n for n in t.nodes if t.definition(n).func == sympy.sin]
    assert len(sin_nodes) == 1
    assert len(t.consumers(sin_nodes[0])) == 2
    assert back(t, t.expand("out")) == expr
    # Shared across outputs too.
    t = Trace.from_expr([s**2, s * z], name=("u", "v"))
    assert steps(t) == ["t1 = x*y", "t2 = sin(t1)", "u = t2**2", "v = t2*z"]


def test_inputs_order_values_and_extra_inputs() -> None:
    t = Trace.from_expr(x * y, name="p", inputs=[y, "x", "w"], values=(2, 3, 7))
    assert [s.name for s in t.input_nodes] == ["y", "x", "w"]
    assert t.value("p") == 6.0
    assert t.grad("p").value("y") == 3.0
    t = Trace.from_expr(x * y, name="p", values={x: 4, "y": 5})
    assert t.value("p") == 20.0
    with pytest.raises(TraceError, match="uses x, which inputs="):
        Trace.from_expr(x * y, name="p", inputs=[y])


def test_trace_symbols_are_reached_by_name() -> None:
    t = Trace.from_expr(x**2, name="q", values={x: 3})
    assert t["x"] != x and t["x"].name == "x"  # the trace owns its Symbols
    assert t.diff("q", t["x"]) == 2 * t["x"]
    with pytest.raises(TraceError, match="plain SymPy Symbol"):
        t.diff(x**2, x)


def test_several_outputs_sequence_mapping_and_aliases() -> None:
    t = Trace.from_expr([x + y, sympy.exp(x + y)])
    assert steps(t) == ["y1 = x + y", "y2 = exp(y1)"]
    t = Trace.from_expr({"a": x, "b": sympy.Integer(3), "c": x * z, "d": x * z})
    assert steps(t) == ["a = x", "b = 3", "c = x*z", "d = c"]
    with pytest.raises(TraceError, match="2 expressions but 1 names"):
        Trace.from_expr([x, y], name=["u"])


def test_user_names_for_steps_and_skipped_generated_names() -> None:
    t1 = sympy.Symbol("t1", real=True)  # an input that looks like a generated name
    t = Trace.from_expr(sympy.log(x + t1) * sympy.sin(x + t1), name="o", names={x + t1: "s"})
    assert steps(t) == ["s = t1 + x", "t2 = log(s)", "t3 = sin(s)", "o = t2*t3"]
    t = Trace.from_expr(sympy.exp(x + 1), prefix="v", name="o")
    assert steps(t) == ["v1 = x + 1", "o = exp(v1)"]
    with pytest.raises(TraceError, match="not a step"):
        Trace.from_expr(x * y * z, name="o", names={x * y: "p"})
    with pytest.raises(TraceError, match="an input"):
        Trace.from_expr(x * y, name="o", names={x: "p"})


def test_invalid_arguments() -> None:
    with pytest.raises(TypeError, match="SymPy expression"):
        Trace.from_expr("x*y")
    with pytest.raises(TraceError, match="two different Symbols named 'x'"):
        Trace.from_expr(x + sympy.Symbol("x"), name="o")
    with pytest.raises(DuplicateNameError, match="given twice"):
        Trace.from_expr([x, y], name=["o", "o"])


def test_plain_symbols_become_real_trace_inputs() -> None:
    """Without real=True, faithfulness is w.r.t. the expression in the trace's Symbols."""
    a = sympy.Symbol("a")  # complex: log(exp(a)) does not simplify for it
    expr = sympy.log(sympy.exp(a)) + sympy.sqrt(a**2)
    t = Trace.from_expr(expr, name="o")
    assert t.expand("o") == expr.xreplace({a: t["a"]})
    assert t.expand("o") == t["a"] + abs(t["a"])


def test_deep_expression_is_decomposed_iteratively() -> None:
    expr = x
    for _ in range(150):
        expr = sympy.sin(expr) + 1
    t = Trace.from_expr(expr, name="o", values={x: 0.1})
    assert len(t.nodes) == 1 + 2 * 150
    check_grads(t, "o")


def test_naming_is_the_same_under_any_hash_seed() -> None:
    code = (
        "import sympy; from symtrace import Trace\n"
        "x, y, z = sympy.symbols('x y z', real=True)\n"
        "e = sympy.sin(x*y) * sympy.exp(z - x) + (x + y + z)**3 / (1 + sympy.cos(y))\n"
        "t = Trace.from_expr(e, name='o')\n"
        "print([f'{s} = {t.definition(s)}' for s in t.nodes])\n"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outs) == 1


# ---------------------------------------------------------------- properties

SYMS = sympy.symbols("x y z", real=True)
PLAIN = sympy.symbols("x y z")
CONSTS = st.sampled_from(
    [sympy.Integer(2), sympy.Integer(-3), sympy.Rational(1, 2), sympy.pi, sympy.sqrt(2)]
)


def expressions(symbols: tuple[sympy.Symbol, ...]) -> st.SearchStrategy[sympy.Expr]:
    leaves = st.one_of(st.sampled_from(symbols), CONSTS)

    def extend(children: st.SearchStrategy[sympy.Expr]) -> st.SearchStrategy[sympy.Expr]:
        pairs = st.tuples(children, children)
        return st.one_of(
            pairs.map(lambda p: p[0] + p[1]),
            pairs.map(lambda p: p[0] - p[1]),
            pairs.map(lambda p: p[0] * p[1]),
            pairs.map(lambda p: p[0] / p[1] if p[1] != 0 else p[0]),
            st.tuples(children, st.sampled_from([2, 3, -1, -2, sympy.Rational(1, 2)])).map(
                lambda p: p[0] ** p[1] if p[0].free_symbols else p[0]
            ),
            pairs.map(lambda p: p[0] ** p[1] if p[0] != 0 and p[1].free_symbols else p[1]),
            children.map(lambda u: -u),
            children.map(sympy.sin),
            children.map(sympy.exp),
            children.map(lambda u: sympy.log(u) if u != 0 else u),
            children.map(sympy.tanh),
            st.lists(children, min_size=3, max_size=4).map(lambda xs: sympy.Add(*xs)),
            st.lists(children, min_size=3, max_size=4).map(lambda xs: sympy.Mul(*xs)),
        )

    return st.recursive(leaves, extend, max_leaves=12)


def one_operation_each(t: Trace) -> None:
    """Each step is one Add/Mul/Pow/function over nodes, constants and coefficients."""
    nodes = set(t.nodes)
    for s in t.nodes:
        rhs = t.definition(s)
        if t.is_input(s) or rhs in nodes or not rhs.free_symbols:
            continue
        for arg in rhs.args:
            if not arg.free_symbols or arg in nodes:
                continue
            # Allowed inside one step: c*u in a sum, u**-1 (division) in a product.
            if rhs.is_Add and arg.is_Mul:
                assert sum(bool(f.free_symbols) for f in arg.args) == 1, (s, rhs)
                inner = next(f for f in arg.args if f.free_symbols)
                assert inner in nodes, (s, rhs)
            elif rhs.is_Mul and arg.is_Pow:
                assert arg.base in nodes and arg.exp == -1, (s, rhs)
            else:
                raise AssertionError(f"{s} = {rhs} has the nested operation {arg}")


def in_trace(t: Trace, expr: sympy.Expr) -> sympy.Expr:
    return expr.xreplace({s: t[s.name] for s in expr.free_symbols})


@given(expressions(SYMS))
def test_round_trip_is_exact(expr: sympy.Expr) -> None:
    """expand(output) is the expression, structurally, in the trace's Symbols.

    (SymPy rebuilds a few forms differently, e.g. -(1/2)**x as -2**(-x), so the
    reference is the expression rebuilt in the trace's Symbols.)
    """
    t = Trace.from_expr(expr, name="out")
    assert t.expand("out") == in_trace(t, expr)
    one_operation_each(t)


@given(expressions(PLAIN))
def test_round_trip_with_plain_symbols(expr: sympy.Expr) -> None:
    t = Trace.from_expr(expr, name="out")
    assert t.expand("out") == in_trace(t, expr)


@given(expressions(SYMS))
def test_common_subexpressions_are_shared(expr: sympy.Expr) -> None:
    t = Trace.from_expr(expr, name="out")
    alias = t.definition("out") in t  # the output is an input or a constant
    expanded = Counter(t.expand(s) for s in t.nodes if not (alias and s == t["out"]))
    assert max(expanded.values()) == 1  # no two nodes compute the same expression


@given(traces(max_inputs=3, max_nodes=6))
def test_gradients_equal_the_original_traces(case: tuple[Trace, sympy.Symbol]) -> None:
    original, out = case
    expr = original.expand(out)
    values = {s.name: original.input_values[s] for s in original.input_nodes}
    t = Trace.from_expr(expr, name="out", inputs=list(values), values=values)
    assert t.value("out") == pytest.approx(original.value(out), rel=1e-9, abs=1e-12)
    g, g0 = t.grad("out"), original.grad(out)
    for name in values:
        assert g.value(name) == pytest.approx(g0.value(name), rel=1e-8, abs=1e-10)


def test_unevaluated_expressions_are_decomposed_as_sympy_evaluates_them() -> None:
    expr = sympy.Mul(2, x + y, evaluate=False)  # SymPy would distribute: 2*x + 2*y
    t = Trace.from_expr(expr, name="o", values=(1, 2))
    assert t.expand("o") == in_trace(t, 2 * x + 2 * y)
    assert t.value("o") == 6.0
