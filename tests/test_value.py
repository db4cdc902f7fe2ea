"""symtrace.Value: micrograd's API, its numbers, and the symbolic views of its graph.

Oracles: hand-derived numbers from the micrograd lecture, central finite differences
on the same Python functions over plain floats (always), PyTorch in float64 (when
installed), micrograd itself (when installed), and the Trace's own reverse sweep.
"""

from __future__ import annotations

import gc
import math
import re
import subprocess
import sys
import textwrap
import warnings
import weakref
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import symtrace.value as value_module
from symtrace import Trace
from symtrace.errors import InvalidNameError
from symtrace.value import Value

# ------------------------------------------------------------------ generic math
# The scenarios below are written once and run on Values, plain floats and torch
# tensors alike; these helpers pick the right function for each.


def relu(x: Any) -> Any:
    return x.relu() if hasattr(x, "relu") else (x if x > 0 else 0.0)


def tanh(x: Any) -> Any:
    return x.tanh() if hasattr(x, "tanh") else math.tanh(x)


def exp(x: Any) -> Any:
    return x.exp() if hasattr(x, "exp") else math.exp(x)


def log(x: Any) -> Any:
    return x.log() if hasattr(x, "log") else math.log(x)


def sigmoid(x: Any) -> Any:
    return x.sigmoid() if hasattr(x, "sigmoid") else 1.0 / (1.0 + math.exp(-x))


def central_differences(f: Callable[..., float], xs: Sequence[float]) -> list[float]:
    """d f / d xs[i] by central differences, step 1e-6 scaled to |x|."""
    out = []
    for i, x in enumerate(xs):
        h = 1e-6 * max(1.0, abs(x))
        up = list(xs)
        down = list(xs)
        up[i] = x + h
        down[i] = x - h
        out.append((f(*up) - f(*down)) / (2 * h))
    return out


def assert_matches_differences(
    grads: Sequence[float], f: Callable[..., float], xs: Sequence[float]
) -> None:
    """Gradients agree with central differences to 1e-6 relative to max(1, |f|, |g|).

    The differences carry ~1e-12 truncation and ~1e-10 * |f| rounding error, so this
    tolerance is far above their noise and far below any real mistake.
    """
    fx = f(*xs)
    for g, d in zip(grads, central_differences(f, xs), strict=True):
        assert abs(g - d) <= 1e-6 * max(1.0, abs(fx), abs(g)), (grads, f, xs)


def run_value(f: Callable[..., Any], xs: Sequence[float]) -> tuple[float, list[float]]:
    vs = [Value(x) for x in xs]
    out = f(*vs)
    out.backward()
    return out.data, [v.grad for v in vs]


def run_torch(f: Callable[..., Any], xs: Sequence[float]) -> tuple[float, list[float]]:
    torch = pytest.importorskip("torch")
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    out = f(*ts)
    out.backward()
    return out.item(), [t.grad.item() for t in ts]


# ------------------------------------------------- micrograd's engine scenarios


def sanity_check(x: Any) -> Any:
    z = 2 * x + 2 + x
    q = relu(z) + z * x
    h = relu(z * z)
    return h + q + q * x


def more_ops(a: Any, b: Any) -> Any:
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + relu(b + a)
    d += 3 * d + relu(b - a)
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return g


def every_op(a: Any, b: Any) -> Any:
    """Each unary function and each operator with numbers on either side."""
    u = tanh(a * b) + exp(a / 4) + log(b * b + 1) + sigmoid(a - b) + relu(b)
    w = (1 - a) * (b / 3) - 2 / (a * a + 1) + (b + 0.5) ** 3 - (a * a + 1) ** 0.5
    return u * w + (-u) / (w * w + 2)


SCENARIOS = [
    pytest.param(sanity_check, [-4.0], id="sanity_check"),
    pytest.param(more_ops, [-4.0, 2.0], id="more_ops"),
    pytest.param(every_op, [0.7, -1.3], id="every_op"),
    pytest.param(every_op, [-2.1, 0.4], id="every_op_2"),
]


@pytest.mark.parametrize(("f", "xs"), SCENARIOS)
def test_scenarios_match_finite_differences(f: Callable[..., Any], xs: list[float]) -> None:
    data, grads = run_value(f, xs)
    assert data == f(*xs)  # the forward pass is plain float arithmetic
    assert_matches_differences(grads, f, xs)


@pytest.mark.parametrize(("f", "xs"), SCENARIOS)
def test_scenarios_match_torch(f: Callable[..., Any], xs: list[float]) -> None:
    data, grads = run_value(f, xs)
    t_data, t_grads = run_torch(f, xs)
    assert data == pytest.approx(t_data, rel=1e-12)
    assert grads == pytest.approx(t_grads, rel=1e-12)


def test_known_numbers_of_the_micrograd_tests() -> None:
    # Independent numbers (micrograd's test suite checks these against PyTorch).
    data, (xg,) = run_value(sanity_check, [-4.0])
    assert (data, xg) == (-20.0, 46.0)
    data, (ag, bg) = run_value(more_ops, [-4.0, 2.0])
    assert data == pytest.approx(24.70408163265306, rel=1e-12)
    assert ag == pytest.approx(138.83381924198252, rel=1e-12)
    assert bg == pytest.approx(645.5772594752186, rel=1e-12)


@pytest.mark.parametrize(("f", "xs"), SCENARIOS)
def test_scenarios_match_micrograd(f: Callable[..., Any], xs: list[float]) -> None:
    engine = pytest.importorskip("micrograd.engine")
    if f is every_op:
        pytest.skip("micrograd 0.1.0 has no tanh/exp/log/sigmoid")
    data, grads = run_value(f, xs)
    mvs = [engine.Value(x) for x in xs]
    out = f(*mvs)
    out.backward()
    assert data == pytest.approx(out.data, rel=1e-12)
    assert grads == pytest.approx([v.grad for v in mvs], rel=1e-12)


# ------------------------------------------------------------- lecture examples


def lecture_graph() -> dict[str, Value]:
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0, label="f")
    L = d * f
    L.label = "L"
    return {"a": a, "b": b, "c": c, "e": e, "d": d, "f": f, "L": L}


def test_lecture_abcf_example() -> None:
    v = lecture_graph()
    v["L"].backward()
    assert v["L"].data == -8.0
    grads = {k: x.grad for k, x in v.items()}
    assert grads == {"a": 6.0, "b": -4.0, "c": -2.0, "e": -2.0, "d": -2.0, "f": 4.0, "L": 1.0}


def neuron(tanh_as_exp: bool) -> dict[str, Value]:
    x1 = Value(2.0, label="x1")
    x2 = Value(0.0, label="x2")
    w1 = Value(-3.0, label="w1")
    w2 = Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    if tanh_as_exp:
        e = (2 * n).exp()
        e.label = "e"
        o = (e - 1) / (e + 1)
    else:
        o = n.tanh()
    o.label = "o"
    return {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b, "n": n, "o": o}


@pytest.mark.parametrize("tanh_as_exp", [False, True], ids=["tanh", "exp"])
def test_lecture_tanh_neuron(tanh_as_exp: bool) -> None:
    v = neuron(tanh_as_exp)
    v["o"].backward()
    assert v["o"].data == pytest.approx(math.sqrt(0.5), rel=1e-12)
    assert v["x1"].grad == pytest.approx(-1.5, rel=1e-12)
    assert v["w1"].grad == pytest.approx(1.0, rel=1e-12)
    assert v["x2"].grad == pytest.approx(0.5, rel=1e-12)
    assert v["w2"].grad == 0.0
    assert v["n"].grad == pytest.approx(0.5, rel=1e-12)


def test_reused_node_accumulates() -> None:
    a = Value(3.0)
    b = a + a
    b.backward()
    assert a.grad == 2.0


def test_fan_out() -> None:
    a = Value(-2.0, label="a")
    b = Value(3.0, label="b")
    d = a * b
    e = a + b
    f = d * e
    f.backward()
    assert (f.data, a.grad, b.grad) == (-6.0, -3.0, -8.0)


def test_lecture_manual_backward_steps() -> None:
    # The lecture first backpropagates by hand: o.grad = 1, then each _backward().
    v = neuron(tanh_as_exp=False)
    o, n = v["o"], v["n"]
    o.grad = 1.0
    o._backward()
    assert n.grad == pytest.approx(0.5, rel=1e-12)
    n._backward()
    assert v["b"].grad == pytest.approx(0.5, rel=1e-12)
    v["x1"]._backward()  # a leaf's step does nothing
    assert v["x1"].grad == 0.0


# ------------------------------------------------------------------ backward()


def test_backward_accumulates_like_micrograd() -> None:
    # micrograd and PyTorch: two losses' backward() sum their gradients; a hand-set
    # grad is kept and added to.
    a = Value(2.0)
    (a * 1.5).backward()
    (a * 3.5).backward()
    assert a.grad == 5.0
    b = Value(2.0)
    y = b * b
    b.grad = 123.0
    y.backward()
    assert (b.grad, y.grad) == (127.0, 1.0)


def test_backward_twice_doubles_as_in_micrograd() -> None:
    x = Value(3.0)
    y = x * x
    y.backward()
    y.backward()
    assert x.grad == 12.0


def test_value_pickles_with_the_right_gradients_in_a_fresh_process() -> None:
    import pickle
    import subprocess
    import sys

    x, y = Value(3.0, label="x"), Value(2.0, label="y")
    L = x * x * y + y * y * x
    L.m = 0.25
    code = (
        "import pickle, sys\n"
        "from symtrace import Value\n"
        "junk = [Value(1.0) * 2 for _ in range(5)]\n"  # the creation counter restarts
        "L, x, y = pickle.loads(sys.stdin.buffer.read())\n"
        "L.backward()\n"
        "print(x.grad, y.grad, L.m)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        input=pickle.dumps((L, x, y)),
        capture_output=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr.decode()
    assert run.stdout.decode().split() == ["16.0", "21.0", "0.25"]


def test_deep_chain_without_recursion_error() -> None:
    x0 = Value(0.3)
    x = x0
    for i in range(100_000):
        x = x * 1.0 if i % 2 else x + 0.5
    x.backward()
    assert x0.grad == 1.0
    assert x.data == pytest.approx(0.3 + 50_000 * 0.5)
    del x  # freeing the chain must not overflow the C stack either


def test_grads_deterministic_within_a_run() -> None:
    def grads() -> list[float]:
        xs = [Value(0.1 * k - 0.35) for k in range(8)]
        acc = sum(((x * y).tanh() for x in xs for y in xs), Value(0.0))
        acc.backward()
        return [x.grad for x in xs]

    assert grads() == grads()


def test_deterministic_across_hash_seeds() -> None:
    script = textwrap.dedent(
        """
        import warnings
        from symtrace.value import Value
        warnings.simplefilter("ignore")
        xs = [Value(0.25 * k - 1.0, label="x" if k % 2 else "") for k in range(6)]
        acc = sum(((x * y).tanh() for x in xs for y in xs), xs[0])
        acc.backward()
        t = acc.trace()
        print([x.grad for x in xs])
        print([(str(s), str(t.definition(s))) for s in t.nodes][:40])
        """
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("0", "1", "12345")
    }
    assert len(outs) == 1


def test_relu_gradient_at_zero_is_zero() -> None:
    x = Value(0.0)
    y = x.relu()
    y.backward()
    assert (y.data, x.grad) == (0.0, 0.0)
    x = Value(-1.0)
    (x.relu() * 5).backward()
    assert x.grad == 0.0


def test_no_reference_cycles() -> None:
    gc.collect()
    gc.disable()
    try:
        a = Value(1.5)
        y = (a * 2 + 1).tanh() / (a.exp() - 0.5)
        y.backward()
        _ = a.grad_expr  # the trace cache must not create a cycle either
        probe = weakref.ref(y)
        probe_leaf = weakref.ref(a)
        del y, a, _
        assert probe() is None and probe_leaf() is None  # freed by refcount alone
    finally:
        gc.enable()


def test_arithmetic_and_backward_build_no_sympy(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoSympy:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"sympy.{name} used on the numeric path")

    def no_build(*args: Any) -> Any:
        raise AssertionError("trace built on the numeric path")

    monkeypatch.setattr(value_module, "sympy", NoSympy())
    monkeypatch.setattr(Trace, "__init__", no_build)  # every trace starts as Trace()
    a, b = Value(0.3), Value(-1.2)
    out = every_op(a, b) + more_ops(a, b) + sanity_check(a)
    out.backward()
    repr(out), out._op, out._prev  # the micrograd helpers too


# --------------------------------------------------------------- API surface


def test_micrograd_attributes() -> None:
    a = Value(2)
    assert a.data == 2 and isinstance(a.data, int)  # the type given, as micrograd keeps it
    assert a.grad == 0.0 and isinstance(a.grad, float)
    assert a.label == "" and a._op == "" and a._prev == set()
    b = Value(-3.0, label="b")
    ab = a * b
    c = ab + 1
    assert c._op == "+" and len(c._prev) == 2 and isinstance(c._prev, set)
    assert ab in c._prev
    assert repr(c) == "Value(data=-5.0, grad=0.0)"
    assert (a**2)._op == "**2" and a.relu()._op == "ReLU" and a.tanh()._op == "tanh"
    assert (a - b)._op == "-" and (a / b)._op == "/" and (-a)._op == "neg"
    a.m = 0.5  # extra attributes (optimizer state), as on micrograd's Value
    assert vars(a) == {"m": 0.5}


def test_numbers_on_either_side() -> None:
    a = Value(4.0)
    cases = {
        "a + 2": (a + 2, 6.0, 1.0),
        "2 + a": (2 + a, 6.0, 1.0),
        "a - 1": (a - 1, 3.0, 1.0),
        "1 - a": (1 - a, -3.0, -1.0),
        "a * 3": (a * 3, 12.0, 3.0),
        "2 * a": (2 * a, 8.0, 2.0),
        "a / 8": (a / 8, 0.5, 0.125),
        "2 / a": (2 / a, 0.5, -0.125),
        "-a": (-a, -4.0, -1.0),
        "a ** 0.5": (a**0.5, 2.0, 0.25),
        "a ** -1": (a**-1, 0.25, -0.0625),
    }
    for what, (y, data, grad) in cases.items():
        a.grad = 0.0  # backward() accumulates, as micrograd's does
        y.backward()
        assert (y.data, a.grad) == (data, grad), what


def test_value_exponent_is_a_type_error() -> None:
    a, b = Value(2.0), Value(3.0)
    with pytest.raises(TypeError, match="exponent must be an int or float"):
        a**b  # type: ignore[operator]
    with pytest.raises(TypeError, match="exponent must be an int or float"):
        2**a


def test_bad_operands_and_data_are_type_errors() -> None:
    a = Value(1.0)
    with pytest.raises(TypeError):
        a + "x"  # type: ignore[operator]
    with pytest.raises(TypeError):
        a * 1j  # type: ignore[operator]
    with pytest.raises(TypeError, match="real number"):
        Value("3")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="real number"):
        Value(a)  # type: ignore[arg-type]


def test_domain_errors_propagate() -> None:
    with pytest.raises(ValueError, match="math domain error"):
        Value(-1.0).log()
    with pytest.raises(ValueError, match="not a real number"):
        Value(-8.0) ** 0.5
    with pytest.raises(ZeroDivisionError):
        Value(1.0) / 0
    with pytest.raises(OverflowError):
        Value(1000.0).exp()


def test_large_arguments_do_not_overflow() -> None:
    x = Value(800.0)
    y = x.tanh() + (-x).sigmoid() + x.sigmoid()
    y.backward()
    assert y.data == 2.0 and x.grad == 0.0


def test_hand_built_nodes_pass_no_gradient_as_in_micrograd() -> None:
    # micrograd: a Value made by hand has the default _backward, which does nothing, so
    # no gradient reaches its children whatever its op is called (issue 16: symtrace
    # used to apply the named op's rule).
    a, b = Value(2.0, label="a"), Value(5.0, label="b")
    s = Value(a.data + b.data, (a, b), "+")
    p = Value(s.data**2, (s,), "**2")
    p.backward()
    assert (p.grad, s.grad, a.grad, b.grad) == (1.0, 0.0, 0.0, 0.0)
    assert p._op == "**2" and s._op == "+"
    # Traced as an input holding its data, with a warning: the trace agrees with .grad.
    with pytest.warns(UserWarning, match=r"made by hand with no _backward \(v1\)"):
        t = p.trace()
    assert [str(n) for n in t.nodes] == ["v1"] and t.input_values == {t["v1"]: 49.0}
    assert p.expr == t["v1"]
    # Inside a larger graph the hand-made node is an input too; the rest traces as usual.
    y = p * a
    y.backward()
    with pytest.warns(UserWarning, match="no gradient flows through them"):
        assert str(y.expr) == "a*v1"
    assert (a.grad, b.grad) == (49.0, 0.0)  # only through y = p*a
    assert str(a.grad_expr) == "v1"


def test_hand_built_node_with_unknown_op_gives_zero_gradient() -> None:
    # micrograd's result, not an error: nothing flows through a node it cannot backprop.
    a = Value(3.0, label="a")
    u = Value(1.0, (a,), "mystery")
    (u * a).backward()
    assert (u.grad, a.grad) == (3.0, 1.0)


def test_custom_backward_closure() -> None:
    # The lecture's way of adding an op: a node made by hand plus a _backward closure.
    a = Value(3.0)
    out = Value(a.data**3, (a,), "cube")

    def _backward() -> None:
        a.grad += 3 * a.data**2 * out.grad

    out._backward = _backward
    (out * 2).backward()
    assert a.grad == 54.0
    with pytest.raises(TypeError, match="cannot trace op 'cube'"):
        out.trace()
    # A known op with the user's own closure still traces as that op.
    x = Value(0.5, label="x")
    t = math.tanh(x.data)
    th = Value(t, (x,), "tanh")

    def _tanh_backward() -> None:
        x.grad += (1 - t**2) * th.grad

    th._backward = _tanh_backward
    th.backward()
    assert x.grad == 1 - t**2 and th._op == "tanh"
    # tanh(x) is written as the node itself (hand form; th is unlabeled, so v1)
    assert str(th.expr) == "tanh(x)" and str(x.grad_expr) == f"1 - {th.symbol}**2"
    assert str(th.trace().expand(x.grad_expr)) == "1 - tanh(x)**2"
    # An unknown op without a _backward passes no gradient, as in micrograd.
    a.grad = 0.0
    unknown = Value(1.0, (a,), "mystery")
    unknown.backward()
    assert (unknown.grad, a.grad) == (1.0, 0.0)


# -------------------------------------------------------------- symbolic views


def test_lecture_trace_and_symbolic_grads() -> None:
    v = lecture_graph()
    L = v["L"]
    L.backward()
    t = L.trace()
    assert [str(s) for s in t.nodes] == ["a", "b", "c", "e", "d", "f", "L"]
    assert t.input_values == {t["a"]: 2.0, t["b"]: -3.0, t["c"]: 10.0, t["f"]: -2.0}
    assert t.diff(t["L"], t["d"]) == t["f"]
    assert t.value(t["L"]) == -8.0
    assert v["e"].expr == t["a"] * t["b"]
    assert v["d"].symbol == t["d"]
    assert v["d"].grad_expr == t["f"]
    assert v["a"].grad_expr == t["b"] * t["f"]
    g = t.grad(t["L"])
    for k, x in v.items():
        assert g.value(t[k]) == x.grad


def test_trace_is_cached_per_output() -> None:
    v = lecture_graph()
    L = v["L"]
    L.backward()
    assert L.trace() is L.trace()
    assert v["e"].grad_expr is not None and L.trace() is L.trace()


def test_trace_rebuilt_when_data_or_labels_change() -> None:
    v = lecture_graph()
    L = v["L"]
    t1 = L.trace()
    v["a"].data = 3.0
    t2 = L.trace()
    assert t2 is not t1 and t2.value(t2["a"]) == 3.0
    v["e"].label = "ab"
    t3 = L.trace()
    assert "ab" in t3 and "e" not in t3


def test_inlined_constants_and_generated_names() -> None:
    x = Value(3.0, label="x")
    y = ((2 * x + 1) / 4 - 0.1) ** 2
    y.backward()
    t = y.trace()
    assert [str(s) for s in t.nodes] == ["x", "v1", "v2", "v3", "v4", "v5"]
    assert t.input_nodes == (t["x"],)  # numbers are constants, not inputs
    assert [str(t.definition(s)) for s in t.nodes[1:]] == [
        "2*x",
        "v1 + 1",
        "v2/4",
        "v3 - 0.1",
        "v4**2",
    ]
    assert t.value(t["v5"]) == pytest.approx(y.data, rel=1e-15)


def test_subtraction_division_negation_are_single_steps() -> None:
    a, b = Value(5.0, label="a"), Value(2.0, label="b")
    d, q, n = a - b, a / b, -a
    assert (str(d.expr), str(q.expr), str(n.expr)) == ("a - b", "a/b", "-a")
    assert len(d._prev) == 2 and len(n._prev) == 1


def test_generated_names_avoid_labels() -> None:
    a = Value(1.0, label="v1")
    b = Value(2.0)
    c = a * b
    c.label = "v2"
    out = c + b
    t = out.trace()
    assert [str(s) for s in t.nodes] == ["v1", "v3", "v2", "v4"]


def test_trace_name_overrides_the_output_name() -> None:
    x = Value(1.0, label="x")
    y = x.exp()
    assert [str(s) for s in y.trace(name="y").nodes] == ["x", "y"]
    with pytest.raises(InvalidNameError):
        y.trace(name="not a name")


def test_duplicate_labels_get_distinct_names_and_a_warning() -> None:
    x1 = Value(1.0, label="x")
    x2 = Value(2.0, label="x")
    x3 = Value(3.0, label="x_2")  # the suffix must not collide with a real label
    s = x1 * x2 + x3
    with pytest.warns(UserWarning, match="label 'x'") as caught:
        t = s.trace()
    assert len(caught) == 1
    assert [str(n) for n in t.input_nodes] == ["x", "x_3", "x_2"]
    assert t.input_values[t["x_3"]] == 2.0


def test_non_identifier_labels_are_sanitised_with_a_warning() -> None:
    v = neuron(tanh_as_exp=False)
    with pytest.warns(UserWarning, match="'x1\\*w1' -> 'x1_w1'"):
        t = v["o"].trace()
    names = [str(s) for s in t.nodes]
    assert names == ["x1", "x2", "w1", "w2", "b", "x1_w1", "x2_w2", "x1_w1_x2_w2", "n", "o"]
    assert str(t.definition("x1_w1_x2_w2")) == "x1_w1 + x2_w2"
    for label, names, renamed in [
        ("2nd", ["v_2nd", "v1"], "'2nd' -> 'v_2nd'"),
        ("lambda", ["lambda_", "v1"], "'lambda' -> 'lambda_'"),
        ("***", ["v1", "v2"], "'***' -> '(generated name)'"),  # nothing left: a generated name
    ]:
        with pytest.warns(UserWarning, match=re.escape(renamed)):
            t = (Value(1.0, label=label) * 2).trace()
        assert [str(s) for s in t.nodes] == names


def test_no_warning_for_plain_labels() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lecture_graph()["L"].trace()


def test_neuron_symbolic_gradient_matches_grad() -> None:
    v = neuron(tanh_as_exp=True)
    o = v["o"]
    o.backward()
    with pytest.warns(UserWarning):
        t = o.trace()
    g = t.grad(o.symbol)
    for k in ("x1", "x2", "w1", "w2", "b", "n"):
        assert g.value(v[k].symbol) == pytest.approx(v[k].grad, rel=1e-12, abs=1e-15)
        assert t.value(v[k].grad_expr) == pytest.approx(v[k].grad, rel=1e-12, abs=1e-15)


def test_grad_expr_needs_backward() -> None:
    a = Value(1.0)
    with pytest.raises(RuntimeError, match="backward"):
        _ = a.grad_expr
    b = a * 3
    b.backward()
    assert a.grad_expr == 3
    del b
    gc.collect()
    with pytest.raises(RuntimeError, match="no longer exists"):
        _ = a.grad_expr


def test_grad_expr_of_an_inlined_constant_is_an_error() -> None:
    a = Value(2.0)
    y = a * 3
    y.backward()
    (const,) = [p for p in y._prev if p is not a]
    assert const.expr == 3
    with pytest.raises(ValueError, match="inlined"):
        _ = const.grad_expr


def test_expr_follows_the_last_backward_output() -> None:
    w = Value(1.0)
    a = Value(2.0)
    u = a.exp()
    out = w * u
    # before any backward: named as in u.trace(), where a is v1 and u is v2
    assert (str(u.symbol), str(u.expr)) == ("v2", "exp(v1)")
    out.backward()
    # now named as in out.trace() (w is v1), the trace grad_expr lives in
    t = out.trace()
    assert (str(u.symbol), str(u.expr)) == ("v3", "exp(v2)")
    assert u.symbol in t and u.expr == t.definition(u.symbol)
    assert u.grad_expr == w.symbol


def test_every_op_traces_with_matching_values_and_grads() -> None:
    a, b = Value(0.7, label="a"), Value(-1.3, label="b")
    out = every_op(a, b)
    out.backward()
    t = out.trace()
    g = t.grad(out.symbol)
    assert t.value(out.symbol) == pytest.approx(out.data, rel=1e-12)
    assert g.value(a.symbol) == pytest.approx(a.grad, rel=1e-12)
    assert g.value(b.symbol) == pytest.approx(b.grad, rel=1e-12)


# ---------------------------------------------------------- random programs

UNARY = [
    "neg",
    "tanh",
    "exp_tanh",
    "log_square",
    "relu",
    "sigmoid",
    "square",
    "cube",
    "sqrt",
    "rsub",
    "rdiv",
    "scale",
]
BINARY = ["add", "sub", "mul", "div"]


def apply(op: str, a: Any, b: Any, kinks: list[float]) -> Any:
    """One step of a random program; domain errors impossible by construction."""
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "div":
        return a / (b * b + 1)
    if op == "neg":
        return -a
    if op == "tanh":
        return tanh(a)
    if op == "exp_tanh":
        return exp(tanh(a))
    if op == "log_square":
        return log(a * a + 1)
    if op == "relu":
        kinks.append(a.data if isinstance(a, Value) else a)
        return relu(a)
    if op == "sigmoid":
        return sigmoid(a)
    if op == "square":
        return a**2
    if op == "cube":
        return a**3
    if op == "sqrt":
        return (a * a + 0.5) ** 0.5
    if op == "rsub":
        return 1.5 - a
    if op == "rdiv":
        return 2 / (a * a + 1)
    if op == "scale":
        return 0.5 * a
    raise AssertionError(op)


def run_program(
    program: list[tuple[str, int, int]], leaves: Sequence[Any], kinks: list[float] | None = None
) -> Any:
    pool = list(leaves)
    k: list[float] = [] if kinks is None else kinks
    for op, i, j in program:
        pool.append(apply(op, pool[i % len(pool)], pool[j % len(pool)], k))
    return pool[-1]


programs = st.lists(
    st.tuples(st.sampled_from(UNARY + BINARY), st.integers(0, 50), st.integers(0, 50)),
    min_size=1,
    max_size=10,
)
leaf_values = st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=3)


@settings(max_examples=200, deadline=None)
@given(programs, leaf_values)
def test_random_programs_value_trace_and_differences_agree(
    program: list[tuple[str, int, int]], xs: list[float]
) -> None:
    kinks: list[float] = []
    y = run_program(program, xs, kinks)
    assume(all(abs(k) > 1e-3 for k in kinks))  # finite differences need no kink nearby
    assume(abs(y) < 1e6)

    leaves = [Value(x, label=f"x{i}") for i, x in enumerate(xs)]
    out = run_program(program, leaves)
    out.backward()
    assert out.data == pytest.approx(y, rel=1e-12, abs=1e-15)
    grads = [v.grad for v in leaves]

    # 1. central finite differences on the same program over plain floats
    assert_matches_differences(grads, lambda *a: run_program(program, a), xs)

    # 2. the Trace's own reverse sweep over the traced graph
    t = out.trace()
    g = t.grad(out.symbol)
    assert t.value(out.symbol) == pytest.approx(out.data, rel=1e-9, abs=1e-12)
    for v in leaves:
        if v.symbol in t:
            assert g.value(v.symbol) == pytest.approx(v.grad, rel=1e-9, abs=1e-12)
        else:  # not upstream of the output
            assert v.grad == 0.0


def test_from_expr_default_output_name_never_collides_with_an_input() -> None:
    import sympy

    from symtrace import Trace

    x, y = sympy.symbols("x y", positive=True)
    t = Trace.from_expr(sympy.log(x * y * (x + y)) / (x - y) ** 2)
    assert t.nodes[-1].name == "y_out"
    assert Trace.from_expr(2 * x).nodes[-1].name == "y"


def test_a_subclass_works_like_micrograds() -> None:
    # micrograd's operators build plain Values; so do symtrace's (a subclass's own
    # __init__ state is never skipped on a half-made instance).
    class Param(Value):
        def __init__(self, data: float, name: str = "") -> None:
            super().__init__(data, label=name)
            self.m = 0.0

    w = Param(2.0, "w")
    y = w * 3 + 1
    assert type(y) is Value and w.m == 0.0
    y.backward()
    assert w.grad == 3.0


def _numbers_program(make: Any, x0: Any, x1: Any) -> tuple[Any, Any, Any]:
    """The same arithmetic on symtrace's or micrograd's Value: ``data`` keeps its type."""
    a, b = make(x0), make(x1)
    y = (a**3 + 2 * b) * a - b / a + (a * b).relu() + (-b).relu()
    return a, b, y


@pytest.mark.parametrize(
    ("x0", "x1", "kind"),
    [(2, 3, int), (Fraction(1, 3), Fraction(-2, 7), Fraction), (2, 0.5, float)],
)
def test_data_keeps_the_number_type_as_in_micrograd(x0: Any, x1: Any, kind: type) -> None:
    a, b, y = _numbers_program(Value, x0, x1)
    if kind is int:  # b / a is true division: a float, as in Python and micrograd
        assert (Value(2) ** 3).data == 8 and type((Value(2) ** 3).data) is int
        assert type((Value(2) * 3 + 1).data) is int and type(Value(-2).relu().data) is int
    else:
        assert type(y.data) is kind
    y.backward()
    mg = pytest.importorskip("micrograd.engine")
    ma, mb, my = _numbers_program(mg.Value, x0, x1)
    my.backward()
    assert y.data == my.data and type(y.data) is type(my.data)
    assert (a.grad, b.grad) == pytest.approx((ma.grad, mb.grad), rel=1e-15)
    # the symbolic side reads the exact numbers: a Fraction input stays a Rational
    t = y.trace()
    assert t.value(t.nodes[-1]) == pytest.approx(float(y.data), rel=1e-15)


def test_fractions_stay_exact_and_numpy_scalars_work() -> None:
    third = Value(Fraction(1, 3))
    y = third * 3 - 1
    assert y.data == 0 and type(y.data) is Fraction
    x = Value(np.float32(0.5))
    z = (x * np.float64(4.0)).tanh() + np.int64(2) * x
    z.backward()
    assert z.data == pytest.approx(math.tanh(2.0) + 1.0)
    assert x.grad == pytest.approx(4 * (1 - math.tanh(2.0) ** 2) + 2)
    with pytest.raises(TypeError, match="one number"):
        Value(np.array([1.0, 2.0]))  # type: ignore[arg-type]
