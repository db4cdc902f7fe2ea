"""Compiled value-and-gradient functions equal the trace's own numbers, on every backend."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import settings as hsettings

from symtrace import BackendUnavailableError, MissingValueError, Trace, TraceError, relu
from symtrace.codegen import BACKENDS, available_backends
from symtrace.compile import CompiledFunction

from examples import EXAMPLES
from strategies import traces

REL = 1e-12
INSTALLED = available_backends()


def as_float(v: object) -> float:
    """A backend's scalar result (float, NumPy, mpmath, 0-d tensor) as a float."""
    if hasattr(v, "item"):
        return float(v.item())  # type: ignore[attr-defined]
    return float(v)  # type: ignore[arg-type]


def close(a: float, b: float, rel: float = REL) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-300 if b == 0 else 0.0) or (
        abs(a - b) <= rel * max(abs(b), 1e-12)
    )


@pytest.fixture(autouse=True, scope="module")
def _jax_x64() -> None:
    if "jax" in INSTALLED:
        import jax

        jax.config.update("jax_enable_x64", True)


@pytest.mark.parametrize("backend", INSTALLED)
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_seed_examples_match_the_trace(name: str, backend: str) -> None:
    t, y = EXAMPLES[name]()
    g = t.grad(y)
    value, grads = t.compile(y, backend=backend)()
    assert close(as_float(value), t.value(y))
    assert len(grads) == len(t.input_nodes)
    for x, got in zip(t.input_nodes, grads, strict=True):
        assert close(as_float(got), g.value(x)), (x, got, g.value(x))


@pytest.mark.parametrize("backend", INSTALLED)
@hsettings(max_examples=15, deadline=None)
@given(traces())
def test_random_graphs_match_the_trace(backend: str, case: tuple[Trace, sympy.Symbol]) -> None:
    t, y = case
    g = t.grad(y)
    value, grads = t.compile(y, backend=backend)()
    assert close(as_float(value), t.value(y), 1e-11)
    for x, got in zip(t.input_nodes, grads, strict=True):
        want = g.value(x)
        assert abs(as_float(got) - want) <= 1e-11 * max(1.0, abs(want)), (x, got, want)


@hsettings(max_examples=40, deadline=None)
@given(traces())
def test_random_graphs_without_sharing(case: tuple[Trace, sympy.Symbol]) -> None:
    t, y = case
    g = t.grad(y)
    for cse in (True, False):
        value, grads = t.compile(y, backend="math", cse=cse)()
        assert close(value, t.value(y), 1e-11)
        for x, got in zip(t.input_nodes, grads, strict=True):
            assert abs(got - g.value(x)) <= 1e-11 * max(1.0, abs(g.value(x)))


def test_seed002_numbers_from_the_seed_text() -> None:
    t, y = EXAMPLES["seed002_graph"]()
    _, (d1, d2) = t.compile(y, backend="math")()
    assert d1 == pytest.approx(18260.7627311899, rel=1e-12)
    assert d2 == pytest.approx(6689.544469, rel=1e-9)


def test_numpy_arrays_broadcast_and_match_pointwise() -> None:
    t, y = EXAMPLES["seed003_tensor"]()
    fn = t.compile(y)
    xs = np.linspace(0.5, 3.0, 7)[:, None]
    ys = np.linspace(-1.0, 5.0, 4)[None, :]
    value, (dx, dy) = fn(xs, ys)
    assert value.shape == dx.shape == dy.shape == (7, 4)
    point = t.compile(y, backend="math")
    for i in range(7):
        for j in range(4):
            v, (a, b) = point(float(xs[i, 0]), float(ys[0, j]))
            assert close(value[i, j], v) and close(dx[i, j], a) and close(dy[i, j], b)


def test_scalar_input_with_array_gives_array_gradients() -> None:
    # dz/dy = x does not depend on y, yet it has the shape of the points
    t = Trace()
    x, y = t.inputs("x y")
    z = t.define("z", 2 * x * y)
    value, (dx, dy) = t.compile(z)(np.array([1.0, 2.0, 3.0]), 4.0)
    np.testing.assert_array_equal(dx, [8.0, 8.0, 8.0])
    np.testing.assert_array_equal(dy, [2.0, 4.0, 6.0])
    assert value.shape == (3,)


def test_scalar_inputs_give_numpy_scalars_never_0d_arrays() -> None:
    # L = (a*b + c)*f: dL/dc = f is an input passed straight through
    t, L = EXAMPLES["seed000_micrograd"]()
    value, grads = t.compile(L)(a=3.0)
    for result in (value, *grads):
        assert type(result) is np.float64, result
    assert [float(g) for g in grads] == [6.0, -6.0, -2.0, 1.0]


def test_chunked_evaluation_equals_whole_array() -> None:
    t, y = EXAMPLES["seed002_graph"]()
    rng = np.random.default_rng(1)
    x1, x2 = rng.uniform(1.1, 1.5, 10_001), rng.uniform(1.1, 1.5, 10_001)
    whole = t.compile(y, chunk=0)(x1, x2)
    parts = t.compile(y, chunk=1_000)(x1, x2)
    np.testing.assert_array_equal(whole[0], parts[0])
    for a, b in zip(whole[1], parts[1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_seventeen_digit_constant_survives_exactly() -> None:
    c = 0.12345678901234567
    t = Trace()
    x = t.input("x", 3.0)
    y = t.define("y", c * x)
    assert repr(c) in t.compile(y).source
    for backend in ("math", "numpy"):
        value, (dx,) = t.compile(y, backend=backend)()
        assert float(dx) == c
        assert float(value) == c * 3.0


def test_mpmath_backend_has_arbitrary_precision() -> None:
    import mpmath

    t = Trace()
    x = t.input("x", 2)
    y = t.define("y", sympy.sqrt(x) * sympy.pi)
    value, (dx,) = t.compile(y, backend="mpmath", dps=50)()
    assert isinstance(value, mpmath.mpf)
    with mpmath.workdps(60):
        assert abs(value - mpmath.sqrt(2) * mpmath.pi) < mpmath.mpf(10) ** -48
        assert abs(dx - mpmath.pi / (2 * mpmath.sqrt(2))) < mpmath.mpf(10) ** -48


def test_relu_kink_keeps_the_convention() -> None:
    t = Trace()
    x = t.input("x", 0.0)
    y = t.define("y", relu(x) + relu(-x))
    for backend in INSTALLED:
        _, (dx,) = t.compile(y, backend=backend)()
        assert as_float(dx) == 0.0 == t.grad(y).value(x)
    _, (dx,) = t.compile(y)(np.array([-1.0, 0.0, 2.0]))
    np.testing.assert_array_equal(dx, [-1.0, 0.0, 1.0])


def test_several_outputs_and_wrt_order() -> None:
    t, L = EXAMPLES["seed000_micrograd"]()
    a, _, _, f = t.input_nodes
    d = t["d"]
    fn = t.compile([L, d], wrt=[f, d, a])
    (vL, vd), ((gLf, gLd, gLa), (gdf, gdd, gda)) = fn()
    assert (vL, vd) == (-8.0, 4.0)
    assert (gLf, gLd, gLa) == (4.0, -2.0, 6.0)  # dL/dd is the adjoint of an intermediate
    assert (gdf, gdd, gda) == (0.0, 1.0, -3.0)
    assert fn.wrt == (f, d, a) and fn.outputs == (L, d)


def test_call_by_name_defaults_and_missing_values() -> None:
    t = Trace()
    x, y, unused = t.inputs("x y unused", values=(2.0, None, None))
    z = t.define("z", x * y)
    fn = t.compile(z, backend="math")
    assert fn.inputs == (x, y, unused)
    assert fn(y=3.0) == (6.0, (3.0, 2.0, 0.0))
    assert fn(1.0, 5.0) == (5.0, (5.0, 1.0, 0.0))
    with pytest.raises(MissingValueError, match="y") as err:
        fn()
    assert err.value.missing == ("y",)
    with pytest.raises(TypeError, match="unexpected input 'w'"):
        fn(w=1.0)
    # values are captured at compile time
    t.set(x=10.0)
    assert fn(y=1.0)[0] == 2.0


def test_generated_source_never_contains_user_names() -> None:
    t = Trace()
    secret = t.input("import_os_system", 1.0)
    y = t.define("rm_rf", sympy.exp(secret) * secret)
    fn = t.compile(y)
    assert "import_os" not in fn.source and "rm_rf" not in fn.source
    assert isinstance(fn, CompiledFunction)


def test_unknown_function_is_a_clear_error() -> None:
    t = Trace()
    x = t.input("x", 1.0)
    y = t.define("y", sympy.Function("mystery")(x))
    with pytest.raises(TraceError, match="cannot compile node y"):
        t.compile(y)


def test_unknown_backend_and_option() -> None:
    t, y = EXAMPLES["seed000_micrograd"]()
    with pytest.raises(ValueError, match="unknown backend 'fortran'"):
        t.compile(y, backend="fortran")
    with pytest.raises(TypeError, match="unknown option"):
        t.compile(y, backend="math", dps=30)


@pytest.mark.parametrize("backend", sorted(set(BACKENDS) - set(INSTALLED)))
def test_missing_backend_says_how_to_install(backend: str) -> None:
    t, y = EXAMPLES["seed000_micrograd"]()
    with pytest.raises(BackendUnavailableError, match="pip install"):
        t.compile(y, backend=backend)


def test_torch_and_jax_arrays_in_and_out() -> None:
    t, y = EXAMPLES["seed003_tensor"]()
    ref_v, (ref_x, _) = t.compile(y)(np.array([1.0, 2.0]), np.array([0.5, 0.25]))
    if "torch" in INSTALLED:
        import torch

        v, (gx, _) = t.compile(y, backend="torch")(
            torch.tensor([1.0, 2.0], dtype=torch.float64), torch.tensor([0.5, 0.25])
        )
        assert isinstance(gx, torch.Tensor)
        np.testing.assert_allclose(gx.numpy(), ref_x, rtol=1e-6)
    if "jax" in INSTALLED:
        import jax.numpy as jnp

        v, (gx, _) = t.compile(y, backend="jax")(jnp.array([1.0, 2.0]), jnp.array([0.5, 0.25]))
        np.testing.assert_allclose(np.asarray(gx), ref_x, rtol=1e-12)
        np.testing.assert_allclose(np.asarray(v), ref_v, rtol=1e-12)


def test_long_chain_compiles_without_recursion() -> None:
    # 10,000 nodes: a sum of 10,000 terms in x's adjoint, ~50,000 statements
    n = 10_000
    t = Trace()
    x = t.input("x", 0.5)
    node = x
    for i in range(n):
        node = t.define(f"n{i}", sympy.sin(node) * node + x)
    value, (dx,) = t.compile(node, backend="math")()
    assert value == pytest.approx(t.value(node), rel=1e-12)
    assert dx == pytest.approx(t.grad(node).value(x), rel=1e-10)


def test_pickles_as_source_for_workers() -> None:
    import pickle

    t, y = EXAMPLES["seed003_tensor"]()
    for backend in ("numpy", "math", "mpmath"):
        fn = t.compile(y, backend=backend)
        clone = pickle.loads(pickle.dumps(fn))
        assert clone.source == fn.source
        assert as_float(clone(1.5, 0.5)[1][0]) == as_float(fn(1.5, 0.5)[1][0])
