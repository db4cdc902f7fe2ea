"""Text views print each family of expressions once (issue 16: explaining 1 MB files).

Expressions of one :func:`symtrace.notation.family` -- one tree, names apart, the names in
the same alphabetical order -- print alike, names apart, because SymPy's printers order
terms and factors by comparing names; with names of the same widths their table cells
are cut across lines alike too.  So a text view prints and lays out a family once, over
marks for the names, and fills each member's names in.  These tests compare that with
printing from scratch (families off, a fresh printer) over random expressions, and count
the layouts an explanation of a deep chain makes.  ``tests/test_explain_deep_golden.py``
compares whole explanations with text written before the change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import symtrace.notation as nt
import symtrace.printing as printing
from symtrace import Trace
from symtrace.nodes import NodeSymbol
from symtrace.parsing import parse_expression

T = TypeVar("T")

# Names of one to four columns whose alphabetical order differs from their printed one
# (x10 < x9, alpha prints as α), trace nodes and the plain Symbols of adjoints and tangents.
POOL = {n: NodeSymbol(n, 5) for n in "x1 x9 x10 x_2 y alpha alpha_12 w ab k0 m".split()} | {
    n: sympy.Symbol(n) for n in "xbar_1 ydot Lbar".split()
}
SLOTS = 3
FORMS = [
    "{0}/2 + sin({0} + {1})/4 - cos({0}*{2})/8 + tanh({0} - {1})/16",
    "exp(-{0}**2)*{1} + {0}*sigmoid({2} - {0}) - log(1 + {0}**2)/3",
    "({0} - {1})*({0} + {2})/5 + relu({0}) - max({0}, {1})/7",
    "{0}*{1} - {2}",
    "({1} - {0})**2/({2}**2 + 1)",
    "{2}*({0}*sin({0}*{1})/8 + cos({0} + {1})/4 - tanh({0} - {1})**2/16 + 9/16)",
]


def _from_scratch(fn: Callable[[], T]) -> T:
    """``fn()`` with families off and a printer that remembers nothing."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(nt, "family", lambda e: None)
        mp.setattr(nt, "_UNICODE", nt.UnicodeStrPrinter())
        nt._printed.cache_clear()
        try:
            return fn()
        finally:
            nt._printed.cache_clear()


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(FORMS),
    st.permutations(range(SLOTS)),
    st.lists(st.sampled_from(sorted(POOL)), min_size=SLOTS, max_size=SLOTS, unique=True),
    st.lists(st.sampled_from(sorted(POOL)), min_size=SLOTS, max_size=SLOTS, unique=True),
    st.sampled_from([None, sympy.Float(0.25), sympy.Rational(-3, 7)]),
    st.sampled_from(["", "x̄₁ = ", "ā₁₂ = "]),
    st.sampled_from([12.0, 25.0, 40.0]),
)
def test_a_family_prints_and_breaks_as_each_member_does_from_scratch(
    form: str,
    ranks: list[int],
    first: list[str],
    second: list[str],
    factor: sympy.Expr | None,
    prefix: str,
    limit: float,
) -> None:
    for chosen in (first, second):  # the second is often of the first's family
        in_order = sorted(chosen)
        e = parse_expression(form.format(*(in_order[r] for r in ranks)), POOL)
        if factor is not None:
            e = factor * e
        assert nt.expr(e, "text") == nt.UnicodeStrPrinter().doprint(e)
        cell = printing._fit(prefix, e, "text", limit)
        assert cell == _from_scratch(lambda e=e: printing._fit(prefix, e, "text", limit))


def _chain(n: int) -> tuple[Trace, sympy.Symbol]:
    t = Trace()
    x, y = t.inputs("x0 y", values=(0.5, 0.3))
    for i in range(1, n):
        x = t.define(
            f"x{i}",
            x / 2 + sympy.sin(x + y) / 4 - sympy.cos(x * y) / 8 + sympy.tanh(x - y) / 16,
        )
    return t, t.define("L", 2 * x)


def test_the_tables_of_a_deep_chain_lay_out_each_family_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 150-node chain's tables: a few layouts (one per family and widths of names:
    x₉ and x₁₀ differ), not one per cell; the text is the one printed from scratch."""
    t, L = _chain(150)
    tables = [t.table(L, mode="forward"), t.table(L, mode="reverse")]
    expected = _from_scratch(lambda: [str(v) for v in tables])
    calls: list[str] = []
    fit_now = printing._fit_now

    def counted(prefix: str, e: sympy.Expr, fmt: str, limit: float) -> str:
        calls.append(prefix)
        return fit_now(prefix, e, fmt, limit)

    monkeypatch.setattr(printing, "_fit_now", counted)
    monkeypatch.setattr(printing, "_LAID_OUT", {})
    assert [str(v) for v in tables] == expected
    cells = 2 * 150
    assert len(calls) <= 16 < cells


_X, _Y, _Z = sympy.symbols("x y z")
_A, _B = sympy.symbols("A B", commutative=False)
_FACTORS = [
    _X,
    _Y,
    _Z,
    POOL["x10"],
    POOL["x9"],
    POOL["xbar_1"],
    sympy.sin(_X),
    sympy.exp(_Y),
    sympy.tanh(_X - _Y),
    sympy.sqrt(2),
    sympy.pi,
    sympy.I,
    _A,
    _B,
    _X + 1,
]
_TERMS = st.tuples(
    st.sampled_from([1, -1, 2, sympy.Rational(-3, 4), sympy.Float(0.5)]),
    st.lists(
        st.tuples(st.sampled_from(_FACTORS), st.sampled_from([1, 1, 2, -1, 3, sympy.S.Half])),
        max_size=4,
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TERMS, min_size=1, max_size=40))
def test_long_sums_are_ordered_as_sympy_orders_them(terms: list[tuple[object, list]]) -> None:
    """``sparse_ordered_terms`` (used for sums of more than ``SPARSE_TERMS`` terms: SymPy's
    ordering is quadratic in them) gives ``as_ordered_terms()``'s order, term for term."""
    e = sympy.Add(*(sympy.Mul(c, *(f**k for f, k in fs)) for c, fs in terms))
    if not isinstance(e, sympy.Add):
        return
    assert nt.sparse_ordered_terms(e) == e.as_ordered_terms()
