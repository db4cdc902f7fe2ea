"""Function blocks (seed 002's ``Function``): one node per call, the block's partials local.

Oracles: the numbers seed 002 prints, the hand-built traces of tests/examples.py,
``sympy.diff`` of the block body, and reverse vs forward vs finite differences.
"""

from __future__ import annotations

import math

import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from symtrace import DuplicateNameError, Trace, TraceError
from symtrace.blocks import Block
from symtrace.testing import check_grads

from examples import EXPECTED, seed002_graph
from strategies import BINARY, UNARY


def seed002_appendix() -> tuple[Trace, Block, Block, Block, sympy.Symbol]:
    t = Trace()
    x1, x2 = t.inputs("x1 x2", values=(2, 3))
    f_1 = t.function(lambda x, y: sympy.sin(sympy.pi * x) + sympy.cos(sympy.pi * y), name="f_1")
    f_2 = t.function(lambda x, y: x**y, name="f_2")
    f_3 = t.function(lambda x: sympy.log(x), name="f_3")
    f = f_1(f_2(x1, f_2(x2, x1)), f_3(x1))
    return t, f_1, f_2, f_3, f


def test_seed002_appendix_reproduces_the_printed_gradients() -> None:
    t, _, _, _, f = seed002_appendix()
    g = t.grad(f)
    expected = EXPECTED["seed002_graph"]
    assert g.value("x1") == pytest.approx(18260.762731, rel=1e-9)
    assert g.value("x2") == pytest.approx(6689.544469, rel=1e-9)
    assert g.value("x1") == pytest.approx(expected["x_1"], rel=1e-9)
    assert g.value("x2") == pytest.approx(expected["x_2"], rel=1e-9)
    hand, out = seed002_graph()  # the same function, written node by node
    assert t.value(f) == pytest.approx(hand.value(out), rel=1e-12)
    assert g.value("x1") == pytest.approx(hand.grad(out).value("x_1"), rel=1e-12)
    assert g.value("x2") == pytest.approx(hand.grad(out).value("x_2"), rel=1e-12)


def test_seed002_appendix_one_node_per_call() -> None:
    t, f_1, f_2, _, f = seed002_appendix()
    x1, x2 = t["x1"], t["x2"]
    assert [str(s) for s in t.nodes] == ["x1", "x2", "f_2", "f_2_2", "f_3", "f_1"]
    assert f_2.calls == (t["f_2"], t["f_2_2"]) and f_1.calls == (f,)
    assert t.definition("f_2") == x2**x1
    assert t.definition("f_2_2") == x1 ** t["f_2"]
    assert t.definition("f_3") == sympy.log(x1)
    assert t.definition(f) == sympy.sin(sympy.pi * t["f_2_2"]) + sympy.cos(sympy.pi * t["f_3"])


def test_local_partials_are_the_blocks_partials() -> None:
    t, f_1, f_2, f_3, _ = seed002_appendix()
    x, y = f_2.symbols
    assert dict(f_2.partials) == {"x": sympy.diff(x**y, x), "y": x**y * sympy.log(x)}
    x1, x2 = t["x1"], t["x2"]
    calls = [  # (block, node, the arguments it was called with)
        (f_2, t["f_2"], (x2, x1)),
        (f_2, t["f_2_2"], (x1, t["f_2"])),
        (f_3, t["f_3"], (x1,)),
        (f_1, t["f_1"], (t["f_2_2"], t["f_3"])),
    ]
    for block, node, args in calls:
        put = dict(zip(block.symbols, args, strict=True))
        for param, arg in zip(block.params, args, strict=True):
            assert t.partial(node, arg) == block.partials[param].xreplace(put)
        assert set(t.parents(node)) == set(args)


def test_seed002_docstring_example() -> None:
    t = Trace()
    x1, x2 = t.inputs("x1 x2", values=(2, 3))
    f1 = t.function(lambda x, y: x * y)
    f2 = t.function(lambda x, y: sympy.cos(sympy.pi * x) / sympy.sin(x))
    f3 = t.function(lambda x, y: sympy.ln(x) / y)
    f = f1(f2(x1, x2), f3(x1, x2))
    g = t.grad(f)
    assert g.value(x1) == pytest.approx(0.299580760323820, rel=1e-12)
    assert g.value(x2) == pytest.approx(-0.0846987477622259, rel=1e-12)
    assert f2.partials["y"] == 0  # y is unused: its node has x1 as its only parent
    assert t.parents(f2.calls[0]) == (x1,)
    # Lambdas are named f, f_2, ... in call order.
    assert [str(s) for s in t.nodes] == ["x1", "x2", "f", "f_2", "f_3"]
    check_grads(t, f)


def test_names_per_call_and_skipping_taken_names() -> None:
    t = Trace()
    a, b = t.inputs("a b", values=(0.5, 1.5))
    t.define("sq_2", a + 1)  # takes the name the second call would get

    def sq(u):
        return u**2

    block = t.function(sq)
    assert block.name == "sq"
    first, second, third = block(a), block(b), block(a + b, name="s")
    assert [str(s) for s in (first, second, third)] == ["sq", "sq_3", "s"]
    assert t.definition(third) == (a + b) ** 2  # an expression argument is written in
    with pytest.raises(DuplicateNameError):
        block(a, name="s")
    assert block.calls == (first, second, third)
    assert repr(block) == "<Block sq(u) = u**2, 3 calls>"


def test_numbers_as_arguments() -> None:
    t = Trace()
    x = t.input("x", 2)
    mul = t.function(lambda u, v: u * v, name="m")
    node = mul(3, x)
    assert t.definition(node) == 3 * x and t.grad(node).value(x) == 3.0
    assert t.value(mul(0.5, 4)) == 2.0


def test_a_block_may_use_nodes_of_its_trace() -> None:
    t = Trace()
    w, x = t.inputs("w x", values=(3, 2))
    scale = t.function(lambda u: w * sympy.tanh(u), name="s")
    node = scale(x)
    assert set(scale.partials) == {"u"}
    assert t.parents(node) == (w, x)
    assert t.grad(node).value(w) == pytest.approx(math.tanh(2))
    assert t.grad(node).value(x) == pytest.approx(3 * (1 - math.tanh(2) ** 2))


def test_clear_errors() -> None:
    t = Trace()
    x, y = t.inputs("x y")
    f = t.function(lambda u, v: u + v, name="f")
    with pytest.raises(TypeError, match=r"f\(\) takes 2 arguments \(u, v\) but 3 were given"):
        f(x, y, x)
    with pytest.raises(TypeError, match=r"argument v is str 'y'.*t\['y'\]"):
        f(x, "y")
    with pytest.raises(TypeError, match="fixed list of positional parameters"):
        t.function(lambda *xs: sympy.Add(*xs))
    with pytest.raises(TypeError, match=r"not math\.sin"):
        t.function(lambda u: math.sin(u))
    with pytest.raises(TypeError, match="must return a SymPy expression"):
        t.function(lambda u: [u])
    with pytest.raises(TraceError, match="uses k, which is neither a parameter"):
        t.function(lambda u: u * sympy.Symbol("k"))
    other = Trace()
    z = other.input("z")
    with pytest.raises(TraceError, match="another Trace"):
        f(x, z)
    with pytest.raises(TraceError, match="invalid block name"):
        t.function(lambda u: u, name="2f")


def unary(op):
    return lambda u: op(u)  # sympy.sin itself has no fixed signature


@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(BINARY) + sorted(UNARY)),
            st.integers(0, 100),
            st.integers(0, 100),
        ),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.floats(-1.5, 1.5, allow_nan=False), min_size=2, max_size=2),
)
def test_random_block_programs_check_out(
    program: list[tuple[str, int, int]], values: list[float]
) -> None:
    """Blocks made from the corpus' operations, applied to earlier nodes at random."""
    t = Trace()
    nodes = list(t.inputs("a b", values=values))
    blocks = {name: t.function(op, name=name) for name, op in BINARY.items()}
    blocks |= {name: t.function(unary(op), name=name) for name, op in UNARY.items()}
    for name, i, j in program:
        block = blocks[name]
        args = [nodes[i % len(nodes)], nodes[j % len(nodes)]][: len(block.params)]
        node = block(*args)
        if len(set(args)) == len(args):
            for param, arg in zip(block.params, args, strict=True):
                put = dict(zip(block.symbols, args, strict=True))
                assert t.partial(node, arg) == block.partials[param].xreplace(put)
        nodes.append(node)
    check_grads(t, nodes[-1])
