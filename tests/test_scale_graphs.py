"""Building and differentiating big graphs stays linear, and gives the same expressions.

Three slow paths were cut (issue 16): every ``define`` given as text copied the whole
name table (20,000 nodes took 200 s); local partials were mapped back to the nodes by
``xreplace``, which evaluates ``cos(x)`` again; and the symbolic reverse sweep multiplied
adjoints step by step, so the compact adjoint of a chain's middle node (a product of
thousands of factors) was quadratic (a 2,000-node chain took 6 s, 20,000 nodes about
ten minutes).  The property tests hold the new paths to the old ones, expression for
expression; the guards only stop a hang (speed is in ``benchmarks/bench_check.py``).
"""

from __future__ import annotations

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from symtrace import SymtraceError, Trace
from symtrace.derivatives import Product, reverse, symbolic_sum
from symtrace.graph import Graph
from symtrace.handforms import replace_shared
from symtrace.shapes import placeholders

from guards import HANG_TIMEOUT, finishes_within
from strategies import traces


def _left_fold_adjoint(t: Trace, y: sympy.Symbol, x: sympy.Symbol) -> sympy.Expr:
    """The reverse sweep as it was: plain SymPy products at each step, local partials
    mapped back with ``xreplace``."""
    g = t.graph

    def local(i: int) -> tuple[sympy.Expr, ...]:
        eq = g.equations[i]
        syms = [g.symbols[p] for p in eq.parents]
        back = dict(zip(placeholders(len(syms)), syms, strict=True))
        return tuple(d.xreplace(back) for d in eq.shape.partials)  # type: ignore[union-attr]

    ix = g.index(x)
    adj = reverse(g, {g.index(y): sympy.S.One}, local=local, total=symbolic_sum, stop=ix)
    return adj.get(ix, sympy.S.Zero)


@settings(max_examples=150, deadline=None)
@given(traces(max_inputs=3, max_nodes=12))
def test_adjoints_are_the_expressions_the_step_by_step_sweep_gives(
    case: tuple[Trace, sympy.Symbol],
) -> None:
    t, y = case
    g = t.grad(y)
    for x in t.nodes:
        want = _left_fold_adjoint(t, y, x)
        assert t._adjoint(y, [x]) == want, x
        assert g._result(t.graph.index(x)) == want, x


@settings(max_examples=150, deadline=None)
@given(traces(max_inputs=3, max_nodes=12))
def test_local_partials_and_shapes_are_those_of_xreplace(case: tuple[Trace, sympy.Symbol]) -> None:
    t, _ = case
    g = t.graph
    for eq in g.equations:
        if eq.shape is None:
            continue
        ps = placeholders(len(eq.parents))
        syms = [g.symbols[p] for p in eq.parents]
        assert eq.shape.expr == eq.definition.xreplace(dict(zip(syms, ps, strict=True)))  # type: ignore[union-attr]
        back = dict(zip(ps, syms, strict=True))
        assert g.local_partials(eq.index) == tuple(d.xreplace(back) for d in eq.shape.partials)


_X, _Y = sympy.symbols("x y", real=True)
FACTORS = {
    "2": sympy.S(2),
    "-1": sympy.S.NegativeOne,
    "1/2": sympy.S.Half,
    "0.5": sympy.Float(0.5),
    "x": _X,
    "1/x": 1 / _X,
    "x**2": _X**2,
    "x - y": _X - _Y,
    "y + 1": _Y + 1,
    "exp(x)": sympy.exp(_X),
    "exp(-x)": sympy.exp(-_X),
    "sqrt(2)": sympy.sqrt(2),
    "sqrt(8)": sympy.sqrt(8),
    "cos(x)": sympy.cos(_X),
    "-cos(x)": -sympy.cos(_X),
    "2*(x - y)": 2 * (_X - _Y),
    "1/(x - y)": 1 / (_X - _Y),
    "y**-2": _Y**-2,
    "-sin(y)": -sympy.sin(_Y),
}


FACTOR_LISTS = st.lists(st.sampled_from(sorted(FACTORS)), max_size=6)


@given(
    st.sampled_from(["2", "x", "x - y", "-sin(y)", "1/x", "-1"]),
    FACTOR_LISTS,
    FACTOR_LISTS,
    FACTOR_LISTS,
)
def test_a_product_is_the_step_by_step_product(
    start: str, shared: list[str], first: list[str], second: list[str]
) -> None:
    # Two products grow from one (a node with two parents), the first one first.
    want, got = FACTORS[start], Product(FACTORS[start])
    for f in shared:
        want, got = want * FACTORS[f], got * FACTORS[f]
    branches = []
    for more in (first, second):
        w, g = want, got
        for f in more:
            w, g = w * FACTORS[f], g * FACTORS[f]
        branches.append((w, g))
    for w, g in reversed(branches):
        assert g.expr() == w
    assert got.expr() == want


@given(
    st.sampled_from(["2", "x", "x - y", "-sin(y)", "1/x", "-1"]),
    st.lists(st.sampled_from(sorted(FACTORS)), min_size=1, max_size=12),
    st.lists(st.integers(0, 11), max_size=6),
)
def test_a_product_read_anywhere_along_a_chain_is_the_step_by_step_product(
    start: str, factors: list[str], reads: list[int]
) -> None:
    # Reading one product also builds the one above it; later reads start from there.
    want, got = [FACTORS[start]], [Product(FACTORS[start])]
    for f in factors:
        want.append(want[-1] * FACTORS[f])
        got.append(got[-1] * FACTORS[f])
    for k in [r % len(got) for r in reads] + list(range(len(got) - 1, -1, -1)):
        assert got[k].expr() == want[k], k
        assert sympy.srepr(got[k].expr()) == sympy.srepr(want[k]), k


def test_replace_shared_keeps_functions_of_renamed_symbols_as_xreplace_builds_them() -> None:
    x, y = sympy.symbols("x y", real=True)
    p0, p1 = placeholders(2)
    e = sympy.cos(p0) * p1 + sympy.exp(-p0) + sympy.Abs(p1) + sympy.Max(p0, p1) + sympy.sin(p0 + p1)
    assert replace_shared(e, {p0: x, p1: y}) == e.xreplace({p0: x, p1: y})
    plain = sympy.Symbol("z")  # no assumptions: a function of it is evaluated again
    assert replace_shared(sympy.Abs(p0), {p0: plain}) == sympy.Abs(plain)


def test_definitions_as_text_do_not_copy_the_name_table(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def copied(self: Graph) -> None:
        raise AssertionError("define copied the whole name table")

    monkeypatch.setattr(Graph, "names", copied)
    t = Trace()
    t.inputs("a b", values=(0.3, 0.6))
    for i in range(1, 200):
        p, q = (f"x{i - 1}", f"x{i - 2}") if i > 2 else ("b", "a") if i == 1 else ("x1", "b")
        t.define(f"x{i}", f"sin({p})*{q}" if i % 2 else f"{p}/2 + {q}*cos({p})")
    assert t.definition("x5") == sympy.sin(t["x4"]) * t["x3"]


def _chain(n: int) -> tuple[Trace, list[sympy.Symbol]]:
    t = Trace()
    x0, y = t.input("x0", 0.5), t.input("y", 0.7)
    xs = [x0, y]
    x = x0
    for i in range(n):
        x = t.define(f"x{i + 1}", x * y + sympy.cos(x) if i % 2 == 0 else sympy.sin(x) * y + x0)
        xs.append(x)
    return t, xs


def test_the_compact_adjoint_in_the_middle_of_a_long_chain_is_linear() -> None:
    # 6,000 nodes: the step-by-step products took 94 s here (6 s at 2,000).
    t, xs = _chain(6_000)
    L, mid = xs[-1], xs[3_000]
    d = finishes_within(HANG_TIMEOUT, t.diff, L, mid)
    steps = [t.partial(xs[k + 1], xs[k]) for k in range(3_000, len(xs) - 1)]
    assert d == sympy.Mul(*steps)  # y**1501 * (y - sin(x3000)) * ... * cos(x5999)
    assert len(d.args) == 3_002 and d.args[0] == t["y"] ** 1_501
    assert finishes_within(HANG_TIMEOUT, lambda: t.grad(L)[mid]) == d


NAMES = st.sampled_from(["a", "b", "z", "x1", "x10", "x9", "y_2", "w", "Q", "é"])


@st.composite
def _formulas(draw: st.DrawFn, names: list[str], depth: int = 3) -> str:
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from([*names, "2", "0.5", "3"]))
    kind = draw(st.sampled_from(["+", "-", "*", "/", "**2", "f"]))
    left = draw(_formulas(names, depth - 1))
    if kind == "**2":
        return f"({left})**2"
    if kind == "f":
        fn = draw(st.sampled_from(["sin", "cos", "tanh", "exp", "sigmoid", "relu", "abs"]))
        return f"{fn}({left})"
    return f"({left}) {kind} ({draw(_formulas(names, depth - 1))})"


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_local_partials_from_stand_ins_in_name_order_are_those_of_xreplace(data) -> None:  # type: ignore[no-untyped-def]
    """Graph.local_partials builds each node's partials from stand-ins named in the same
    order as its parents (worked out once per shape and order): the same expressions,
    argument order included, as mapping the shape's partials back with xreplace, for
    definitions of one shape over parents of every name order."""
    names = data.draw(st.lists(NAMES, min_size=2, max_size=4, unique=True))
    text = data.draw(_formulas(["p0", "p1", "p2", "p3"][: len(names)]))
    t = Trace()
    for k, name in enumerate(names):
        t.input(name, 0.3 + 0.1 * k)
    for k in range(3):  # the same shape over the parents in three orders
        order = data.draw(st.permutations(names))
        body = text
        for j, name in enumerate(order):
            body = body.replace(f"p{j}", f"⟨{name}⟩")
        body = body.replace("⟨", "").replace("⟩", "")
        try:
            node = t.define(f"v{k}", body)
        except SymtraceError:
            return  # a definition that is a number or otherwise refused
        g = t.graph
        eq = g.equations[g.index(node)]
        if eq.shape is None:
            continue
        back = dict(
            zip(placeholders(len(eq.parents)), [g.symbols[p] for p in eq.parents], strict=True)
        )
        want = tuple(d.xreplace(back) for d in eq.shape.partials)
        got = g.local_partials(eq.index)
        assert got == want and [sympy.srepr(d) for d in got] == [sympy.srepr(d) for d in want]


def test_local_partials_of_one_shape_are_worked_out_once_per_name_order(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A chain of one shape: the shape's partials are mapped onto stand-ins once per
    alphabetical order of the parents' names (here two: x9 < y and x10 < y, and y < z
    for the last), not once per node, which re-simplified every function."""
    import symtrace.graph as graph_module

    calls = []
    real = graph_module.replace_shared

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(graph_module, "replace_shared", counted)
    t = Trace()
    t.inputs(["x0", "y"], values=[0.5, 0.3])
    for i in range(1, 300):
        t.define(f"x{i}", f"0.5*x{i - 1} + sin(x{i - 1} - y)*cos(y)")
    t.define("z", "x299*2")
    g = t.graph
    calls.clear()
    for i in range(len(g)):
        g.local_partials(i)
    assert len(calls) <= 2 * 3, len(calls)  # two partials per node, at most three orders
