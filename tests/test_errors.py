"""Every user error is typed and names the culprit."""

from __future__ import annotations

import pytest
import sympy

import symtrace as st
from symtrace import Trace


@pytest.fixture
def t() -> Trace:
    t = Trace()
    a, b = t.inputs("a b", values=(2, 3))
    t.define("e", a * b)
    return t


@pytest.mark.parametrize("bad", ["", "1a", "a b", "a-b", "lambda", "__x", 3, None])
def test_invalid_names(t: Trace, bad: object) -> None:
    with pytest.raises(st.InvalidNameError, match=repr(bad) if bad != "" else "''"):
        t.input(bad)  # type: ignore[arg-type]


def test_duplicate_name(t: Trace) -> None:
    with pytest.raises(st.DuplicateNameError, match=r"'e' is already used.*a\*b"):
        t.define("e", t["a"] + 1)
    with pytest.raises(st.DuplicateNameError, match="'a'"):
        t.input("a")
    with pytest.raises(st.DuplicateNameError, match="'x' is given twice"):
        Trace().inputs("x y x")


def test_users_own_symbol_with_the_same_name_is_rejected(t: Trace) -> None:
    for own in (sympy.Symbol("a"), sympy.Symbol("a", real=True)):
        with pytest.raises(st.UnknownSymbolError, match=r"plain SymPy Symbol.*t\['a'\]"):
            t.define("bad", own * 2)


def test_node_of_another_trace_is_rejected(t: Trace) -> None:
    other = Trace()
    a2 = other.input("a")
    with pytest.raises(st.UnknownSymbolError, match="another Trace"):
        t.define("bad", a2 + 1)
    assert a2 != t["a"]


def test_unregistered_symbol(t: Trace) -> None:
    with pytest.raises(st.UnknownSymbolError, match=r"uses g.*t\.input"):
        t.define("bad", sympy.Symbol("g") * t["a"])


def test_diff_wrt_a_non_node_expression_suggests_define(t: Trace) -> None:
    a, b = t["a"], t["b"]
    with pytest.raises(
        st.NotANodeError, match=r"a\*b \+ 1 is not a node.*t.define\('u', a\*b \+ 1\)"
    ):
        t.diff(t["e"], a * b + 1)
    with pytest.raises(st.NotANodeError, match="no node named 'zz'"):
        t.diff("e", "zz")
    with pytest.raises(TypeError, match="at least one node"):
        t.diff("e")
    assert isinstance(st.NotANodeError("x"), ValueError)
    _ = b


def test_missing_values_are_listed() -> None:
    t = Trace()
    a, b, c = t.inputs("a b c", values=(1, None, None))
    y = t.define("y", a * b * c)
    with pytest.raises(st.MissingValueError, match=r"b, c.*t.set\(b=..., c=...\)") as err:
        t.value(y)
    assert err.value.missing == ("b", "c")
    g = t.grad(y)  # symbolic work needs no values
    assert g[a] == b * c
    with pytest.raises(st.MissingValueError):
        g.value(a)


@pytest.mark.parametrize(
    "bad",
    [
        "2",
        [1],
        None.__class__,
        True,
        float("nan"),
        float("inf"),
        sympy.I,
        sympy.oo,
        sympy.Symbol("q"),
    ],
)
def test_non_numeric_values(bad: object) -> None:
    t = Trace()
    x = t.input("x")
    with pytest.raises(st.InvalidValueError, match="'x'"):
        t.set({x: bad})


def test_set_on_a_defined_node(t: Trace) -> None:
    with pytest.raises(st.TraceError, match=r"e is defined as a\*b; only inputs"):
        t.set(e=3)


@pytest.mark.parametrize(
    ("make", "x0", "problem"),
    [
        (sympy.log, -1.0, "not real"),
        (lambda x: 1 / x, 0.0, "division by zero"),
        (sympy.exp, 1000.0, "overflow"),
        (lambda x: x ** sympy.Rational(1, 3), -8.0, "complex"),
        (sympy.sqrt, -4.0, "not real"),
    ],
)
def test_non_real_results_name_the_node(make: object, x0: float, problem: str) -> None:
    t = Trace()
    x = t.input("x", x0)
    y = t.define("y", make(x))  # type: ignore[operator]
    with pytest.raises(st.NonRealValueError, match=rf"node y = .*{problem}"):
        t.value(y)
    with pytest.raises(st.NonRealValueError):
        t.value(y, exact=True)


def test_infinite_local_partial_is_reported_when_asked() -> None:
    t = Trace()
    x = t.input("x", 0.0)
    y = t.define("y", sympy.sqrt(x))
    assert t.value(y) == 0.0
    g = t.grad(y)
    assert g[x] == 1 / (2 * sympy.sqrt(x))
    with pytest.raises(st.NonRealValueError, match="local partials of y"):
        g.value(x)


def test_path_explosion_has_a_limit() -> None:
    t = Trace()
    x = t.input("x", 1.0)
    s = x
    for i in range(20):  # two routes per layer: 2**20 paths
        u = t.define(f"u{i}", sympy.sin(s))
        s = t.define(f"s{i}", u + s**2)
    with pytest.raises(st.PathExplosionError, match=r"1048576 paths.*limit=10000.*t.grad"):
        t.paths(s, x)
    assert len(t.paths(t["s2"], x, limit=8)) == 8


def test_define_rejects_non_expressions(t: Trace) -> None:
    with pytest.raises(TypeError, match="expected a SymPy expression"):
        t.define("bad", [1, 2])
    with pytest.raises(TypeError):
        t.define("bad2", True)


def test_inputs_value_count_mismatch() -> None:
    with pytest.raises(st.TraceError, match=r"2 input names .* 3 values"):
        Trace().inputs("a b", values=(1, 2, 3))
    with pytest.raises(st.TraceError, match="zz"):
        Trace().inputs("a b", values={"zz": 1})
