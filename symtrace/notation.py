"""How derivatives, adjoints, tangents and numbers are written: the one place for notation.

Every view (derivations, evaluation-trace tables, paths, gradients, graphs) asks this
module how to write things, so a change of notation is a change here only.  Three
formats are supported: ``"text"`` (plain Unicode, one line per item), ``"markdown"``
(inline ``$...$`` math) and ``"latex"``.  Expressions are always printed by SymPy's own
printers (``sympy.latex`` and a one-line string printer that writes node names the way
``sympy.pretty`` does), never by hand:

>>> import sympy
>>> x1, alpha, w12 = sympy.symbols("x_1 alpha w_12")
>>> expr(alpha * x1 + w12, "text"), expr(alpha * x1 + w12, "latex")
('α*x₁ + w₁₂', '\\\\alpha x_{1} + w_{12}')
>>> partial(sympy.Symbol("L"), x1, "text"), partial(sympy.Symbol("L"), x1, "latex")
('∂L/∂x₁', '\\\\frac{\\\\partial L}{\\\\partial x_{1}}')

Adjoints are written with a bar (``ē``, ``\\bar{e}``) and tangents with a dot (``ė``,
``\\dot{e}``).  Both are SymPy Symbols whose names carry SymPy's own ``bar``/``dot``
modifiers, so they print correctly inside any expression:

>>> e = sympy.Symbol("x_1")
>>> adjoint_symbol(e), expr(tangent_symbol(e) / e, "text"), expr(adjoint_symbol(e), "latex")
(xbar_1, 'ẋ₁/x₁', '\\\\bar{x}_{1}')

Numbers are written to a number of significant digits (default 6):

>>> number(-2.0), number(0.6931471805599453), number(11.652071455223084, precision=4)
('-2', '0.693147', '11.65')
>>> number(1.5e-9, fmt="latex")
'1.5 \\\\cdot 10^{-9}'

This module also holds what every view, the report and the command line share: the
option validator (:func:`validate_options`), the LaTeX escaper for running text
(:func:`latex_escape`) and the table grid (:func:`grid`).
"""

from __future__ import annotations

import math
import re
import textwrap
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any, TypeAlias

import numpy as np
import sympy
from sympy.core.exprtools import decompose_power
from sympy.core.sorting import default_sort_key
from sympy.printing.conventions import split_super_sub
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.pretty.pretty_symbology import pretty_symbol, pretty_use_unicode
from sympy.printing.str import StrPrinter

from .errors import OptionError, OptionValueError
from .handforms import hand, hand_local, hand_names
from .nodes import NodeSymbol
from .parsing import replace_unevaluated
from .shapes import size_at_most

__all__ = [
    "FORMATS",
    "LATEX_SPECIAL",
    "Rule",
    "UnicodeStrPrinter",
    "adjoint_symbol",
    "as_written",
    "check_flag",
    "check_format",
    "check_precision",
    "check_string",
    "check_width",
    "derivative",
    "equation_lines",
    "expr",
    "expr_product",
    "family",
    "fill",
    "grid",
    "hand",
    "hand_local",
    "hand_names",
    "inline",
    "latex_escape",
    "markdown_escape",
    "marked",
    "name",
    "number",
    "number_product",
    "one_form",
    "one_of",
    "options_error",
    "partial",
    "prefix_mark",
    "product",
    "sparse_ordered_terms",
    "structure",
    "sum_terms",
    "tangent_symbol",
    "terminal_safe",
    "terms",
    "tex_width",
    "validate_options",
    "width",
    "wrap",
]

FORMATS = ("text", "markdown", "latex")

DEFAULT_PRECISION = 6

# Separators between the factors and terms of a written-out chain rule.
_TIMES = {"text": " · ", "latex": r" \cdot ", "markdown": r" \cdot "}


def check_format(fmt: str) -> str:
    """``fmt`` if it is one of :data:`FORMATS`; a clear OptionValueError otherwise."""
    if fmt not in FORMATS:
        raise OptionValueError(
            f"unknown format {fmt!r}: use one of {', '.join(map(repr, FORMATS))}"
        )
    return fmt


OVERLINE, MACRON = "\u0305", "\u0304"
"""SymPy's pretty names write a ``bar`` with the combining overline; symtrace writes every
bar (adjoints ``L̄``, matrix adjoints ``h̄``) with the combining macron, the bar that
``x̄`` is written with, which fonts draw over one letter."""


def one_form(text: str) -> str:
    """``text`` in symtrace's one Unicode form: bars as the combining macron, then NFC
    (``a`` + combining dot is ``ȧ``, one character).

    >>> [hex(ord(c)) for c in one_form("L\u0305 a\u0307")]
    ['0x4c', '0x304', '0x20', '0x227']
    """
    return unicodedata.normalize("NFC", text.replace(OVERLINE, MACRON))


def ordered_terms(e: sympy.Add) -> list[Any]:
    """``e.as_ordered_terms()``, the order SymPy's printers write a sum in, remembered:
    a sum is ordered once for its cell, its layout and its printing.

    >>> a, b = sympy.symbols("a b")
    >>> ordered_terms(b - 2 * a)
    [-2*a, b]
    """
    return list(_ordered_terms(e))


@lru_cache(maxsize=65_536)
def _ordered_terms(e: sympy.Add) -> tuple[Any, ...]:
    if len(e.args) > SPARSE_TERMS:
        return tuple(sparse_ordered_terms(e))
    return tuple(e.as_ordered_terms())


SPARSE_TERMS = 32
"""Sums of more terms than this are ordered by :func:`sparse_ordered_terms`."""


def sparse_ordered_terms(e: sympy.Add) -> list[Any]:
    """``e.as_ordered_terms()`` in time about linear in the size of ``e``.

    SymPy writes each term's exponents as a dense vector over every base in the whole sum
    and sorts those vectors lexicographically: quadratic time and memory in the number of
    terms (a 10,000-term adjoint needed 10,000 vectors of 20,000 entries).  The same
    order comes from each term's nonzero exponents alone: two dense vectors first differ
    where the sparse lists first differ, and an exponent ``a`` (negated, as SymPy sorts)
    at base ``i`` against none there orders by the sign of ``a``, which the key
    ``(0, i, a)`` for ``a < 0`` and ``(2, -i, a)`` for ``a > 0`` (and ``(1,)`` after the
    last) encodes.  Everything else (coefficients, the non-commutative part, the stable
    sort) is SymPy's own.

    >>> a, b = sympy.symbols("a b")
    >>> sparse_ordered_terms(a**2 + 3*a*b - b + 1) == (a**2 + 3*a*b - b + 1).as_ordered_terms()
    True
    """
    if len(e.args) <= 2:  # SymPy writes some two-term sums number first (1 - x)
        return list(e.as_ordered_terms())
    gens: set[Any] = set()
    terms = []
    for term in sympy.Add.make_args(e):
        if term.is_Order:
            return list(e.as_ordered_terms())
        first, rest = term.as_coeff_Mul()
        coeff = complex(first)
        cpart: dict[Any, int] = {}
        ncpart = []
        if rest is not sympy.S.One:
            for factor in sympy.Mul.make_args(rest):
                if factor.is_number:
                    try:
                        coeff *= complex(factor)
                    except (TypeError, ValueError):
                        pass
                    else:
                        continue
                if factor.is_commutative:
                    base, exp = decompose_power(factor)
                    cpart[base] = exp
                    gens.add(base)
                else:
                    ncpart.append(factor)
        terms.append((term, coeff, cpart, ncpart))
    index = {g: i for i, g in enumerate(sorted(gens, key=default_sort_key))}

    def key(item: tuple[Any, complex, dict[Any, int], list[Any]]) -> tuple[Any, ...]:
        _, coeff, cpart, ncpart = item
        monom = sorted((index[base], -exp) for base, exp in cpart.items() if exp != 0)
        lex = (*((0, i, a) if a < 0 else (2, -i, a) for i, a in monom), (1,))
        nc = tuple(f.sort_key() for f in ncpart)
        return lex, nc, ((bool(coeff.imag), coeff.imag), (coeff.real, coeff.imag))

    return [item[0] for item in sorted(terms, key=key)]


PRINTED_MEMO = 65_536
"""How many printed subexpressions a :class:`UnicodeStrPrinter` remembers (it forgets them
all when full), and how many printed expressions :func:`expr` remembers per format."""


class UnicodeStrPrinter(StrPrinter):
    """SymPy's one-line string printer, writing symbol names as ``sympy.pretty`` does.

    ``x_1`` prints as ``x₁``, ``alpha`` as ``α``, ``xdot_1`` as ``ẋ₁``; the rest of the
    expression is printed exactly like ``str(expr)``.

    >>> UnicodeStrPrinter().doprint(sympy.Symbol("alpha_2") ** 2)
    'α₂**2'

    A matrix power is the repeated product, written with a superscript:

    >>> W = sympy.MatrixSymbol("W", 2, 2)
    >>> UnicodeStrPrinter().doprint(W**2), UnicodeStrPrinter().doprint((W.T) ** 3)
    ('W²', '(Wᵀ)³')
    """

    printmethod = "_unicodestr"

    def doprint(self, expr: Any) -> str:
        # pretty_symbol follows SymPy's global unicode flag, which depends on the
        # terminal; force it on for the duration, so output never depends on sys.stdout.
        previous = pretty_use_unicode(True)
        try:
            return one_form(str(super().doprint(expr)))
        finally:
            pretty_use_unicode(previous)

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self._memo: dict[sympy.Basic, str] = {}
        self._nesting = 0  # how deep in one expression the printer is

    def _print(self, expr: Any, **kwargs: Any) -> str:
        # Each subexpression is printed once: a sum printed after its terms, or a product
        # after its factors (a cell cut across lines), reuses their text.  Only text inside
        # an expression is remembered: SymPy writes a Float in full at the top only.
        memo = (
            self._nesting > 0
            and not kwargs
            and isinstance(expr, sympy.Basic)
            and not isinstance(expr, sympy.MatrixBase)
        )
        text = self._memo.get(expr) if memo else None
        if text is None:
            self._nesting += 1
            try:
                text = str(super()._print(expr, **kwargs))
            finally:
                self._nesting -= 1
            if memo:
                if len(self._memo) >= PRINTED_MEMO:
                    self._memo.clear()
                self._memo[expr] = text
        return text

    def remember(self, expr: sympy.Basic, text: str) -> None:
        """Take ``text`` as the printing of ``expr`` inside an expression (it must be
        what printing it gives there: no Float in it, which prints in full at the top
        only)."""
        if len(self._memo) >= PRINTED_MEMO:
            self._memo.clear()
        self._memo[expr] = text

    def _as_ordered_terms(self, expr: Any, order: Any = None) -> list[Any]:
        if (order or self.order) is None and isinstance(expr, sympy.Add):
            return ordered_terms(expr)
        return list(super()._as_ordered_terms(expr, order))

    def _print_Symbol(self, expr: Any) -> str:
        return str(pretty_symbol(expr.name))

    # matrix expressions, textbook-like: 2((h - y)⊙(1 - h⊙h)) xᵀ, Wᵀ z̄
    def _print_MatrixSymbol(self, expr: Any) -> str:
        return str(pretty_symbol(expr.name))

    def _print_Transpose(self, expr: Any) -> str:
        return f"{self.parenthesize(expr.arg, PRECEDENCE['Pow'])}ᵀ"

    def _print_MatMul(self, expr: Any) -> str:
        args = list(expr.args)
        sign = ""
        if args and args[0].is_Number and args[0] < 0:
            sign, args = "-", ([-args[0]] if args[0] != -1 else []) + args[1:]
        return sign + " ".join(self.parenthesize(a, PRECEDENCE["Mul"]) for a in args)

    def _print_MatPow(self, expr: Any) -> str:
        # a matrix power W² (the product W W), never W**2, which reads as entrywise
        base = self._print(expr.base)
        if not expr.base.is_symbol:
            base = f"({base})"
        return base + str(expr.exp).translate(_SUPERSCRIPT_DIGITS)

    def _print_OneMatrix(self, expr: Any) -> str:
        return "1"


_SUPERSCRIPT_DIGITS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


class MatrixLatexPrinter(LatexPrinter):
    r"""SymPy's LaTeX printer with textbook matrix notation: ``x^{\top}``, ``\mathbf{1}``.

    >>> from symtrace.matrices import MatrixNode
    >>> W, x = MatrixNode("W", 2, 3, 1), MatrixNode("x", 2, 1, 1)
    >>> MatrixLatexPrinter().doprint(W.T @ x)
    'W^{\\top} x'
    """

    def _print_Transpose(self, expr: Any) -> str:
        return f"{self.parenthesize(expr.arg, PRECEDENCE['Pow'])}^{{\\top}}"

    def _print_OneMatrix(self, expr: Any) -> str:
        return "\\mathbf{1}"


_UNICODE = UnicodeStrPrinter()
_MATRIX_LATEX = MatrixLatexPrinter()


def _is_matrixy(e: Any) -> bool:
    if getattr(e, "is_Matrix", False):
        return True
    return isinstance(e, sympy.Basic) and any(
        isinstance(s, sympy.MatrixSymbol) for s in e.free_symbols
    )


def shape(dims: tuple[int, int], fmt: str) -> str:
    r"""``ℝ^{2×3}`` (text) or ``\\mathbb{R}^{2 \\times 3}``: the space of a matrix node.

    >>> shape((2, 3), "text"), shape((2, 3), "latex")
    ('ℝ^{2×3}', '\\mathbb{R}^{2 \\times 3}')
    """
    r, c = dims
    return f"ℝ^{{{r}×{c}}}" if fmt == "text" else f"\\mathbb{{R}}^{{{r} \\times {c}}}"


def matrix_number(
    value: Any, precision: int = DEFAULT_PRECISION, fmt: str = "text", limit: int = 6
) -> str:
    r"""A float64 matrix: a compact grid in text, ``bmatrix`` in LaTeX; summarised when
    either side is longer than ``limit``.

    >>> matrix_number(np.array([[1.0, 0.5], [-2.0, 0.0]]))
    '[[1, 0.5], [-2, 0]]'
    >>> matrix_number(np.array([[1.0], [2.0]]), fmt="latex")
    '\\begin{bmatrix} 1 \\\\ 2 \\end{bmatrix}'
    >>> matrix_number(np.zeros((10, 3)))
    '(10×3 matrix, entries in [0, 0])'
    """
    arr = np.asarray(value, dtype=float)
    r, c = arr.shape
    if r > limit or c > limit:
        lo, hi = number(float(arr.min()), precision, fmt), number(float(arr.max()), precision, fmt)
        if fmt == "text":
            return f"({r}×{c} matrix, entries in [{lo}, {hi}])"
        return f"\\text{{({r}×{c} matrix, entries in }} [{lo}, {hi}]\\text{{)}}"
    rows = [[number(float(v), precision, fmt) for v in row] for row in arr]
    if fmt == "text":
        return "[" + ", ".join("[" + ", ".join(row) + "]" for row in rows) + "]"
    body = " \\\\ ".join(" & ".join(row) for row in rows)
    return f"\\begin{{bmatrix}} {body} \\end{{bmatrix}}"


def expr(e: Any, fmt: str) -> str:
    """A SymPy expression written in ``fmt`` (Markdown gets the LaTeX, without ``$``).

    Each expression is printed once per format: the views of one explanation (tables,
    derivation) and the layout of a long cell print the same expressions many times,
    and SymPy's printers take about a millisecond for a short definition."""
    if isinstance(e, int | float) and not isinstance(e, bool):
        e = sympy.Integer(e) if isinstance(e, int) else sympy.Float(e)
    if isinstance(e, sympy.Basic) and not isinstance(e, sympy.MatrixBase):
        return _printed(e, fmt)
    return _print(e, fmt)


@lru_cache(maxsize=PRINTED_MEMO)
def _printed(e: sympy.Basic, fmt: str) -> str:
    """:func:`expr` of a hashable expression, remembered.  SymPy's ``==`` is structural
    and tells numbers of different kinds apart (``Float(2.0) != Integer(2)``, and
    Floats of different precisions), so two expressions equal here print alike."""
    return _print(e, fmt)


def _print(e: Any, fmt: str) -> str:
    if fmt == "text":
        text = _family_text(e)
        if text is None:
            text = str(_UNICODE.doprint(e))
        if isinstance(e, sympy.Basic) and e.args and not e.has(sympy.Float):
            _UNICODE.remember(e, text)  # a sum printed after its terms reuses them
        return text
    if _is_matrixy(e):
        return str(_MATRIX_LATEX.doprint(e))
    return str(sympy.latex(e, symbol_names=_collisions(e)))


def _collisions(e: Any) -> dict[sympy.Symbol, str]:
    r"""LaTeX for decorated symbols whose names SymPy reads as something else: the
    adjoint of a node ``h`` is named ``hbar``, which SymPy prints as ``\hbar`` (ħ)."""
    out = {}
    for sym in getattr(e, "free_symbols", ()):
        name = getattr(sym, "name", "")
        if type(sym) is sympy.Symbol and (name == "hbar" or name.startswith("hbar_")):
            rest = sympy.latex(sympy.Symbol("Q" + name[4:]))  # the subscripts, if any
            out[sym] = r"\bar{h}" + rest[1:]
    return out


def name(sym: sympy.Symbol, fmt: str) -> str:
    """A node's name: ``x₁`` (text) or ``x_{1}`` (LaTeX/Markdown)."""
    return expr(sym, fmt)


def inline(s: str, fmt: str) -> str:
    """Wrap a LaTeX fragment for inline use in Markdown (``$...$``); others unchanged."""
    return f"${s}$" if fmt == "markdown" and s else s


def partial(y: sympy.Symbol, x: sympy.Symbol, fmt: str) -> str:
    """The local partial of ``y``'s equation with respect to its argument ``x``:
    ``∂y/∂x`` or ``\\frac{\\partial y}{...}`` (see :func:`derivative`)."""
    if fmt == "text":
        return f"∂{name(y, fmt)}/∂{name(x, fmt)}"
    return rf"\frac{{\partial {name(y, fmt)}}}{{\partial {name(x, fmt)}}}"


def derivative(y: sympy.Symbol, x: sympy.Symbol, fmt: str) -> str:
    """The total derivative of ``y`` with respect to ``x``, through every path:
    ``dy/dx`` or ``\\frac{\\mathrm{d} y}{\\mathrm{d} x}``.

    Views write the derivatives a sweep computes (the output's with respect to a node,
    a node's with respect to the seed of a forward pass) this way, and the local partial
    of one equation with :func:`partial` (``∂c/∂p``), so that ``dy/dx = dy/ds · ∂s/∂x
    + ∂y/∂x`` says which is which.

    >>> derivative(sympy.Symbol("L"), sympy.Symbol("x_1"), "text")
    'dL/dx₁'
    """
    if fmt == "text":
        return f"d{name(y, fmt)}/d{name(x, fmt)}"
    return rf"\frac{{\mathrm{{d}} {name(y, fmt)}}}{{\mathrm{{d}} {name(x, fmt)}}}"


def _decorated(sym: sympy.Symbol, modifier: str) -> sympy.Symbol:
    base, sups, subs = split_super_sub(sym.name)
    if not base:
        base, sups, subs = sym.name, [], []
    return sympy.Symbol(
        base + modifier + "".join("__" + s for s in sups) + "".join("_" + s for s in subs)
    )


def adjoint_symbol(sym: sympy.Symbol) -> sympy.Symbol:
    """A printing-only Symbol for the adjoint of ``sym``: ``ē`` / ``\\bar{e}``.

    Never give it to a Trace: it is a plain Symbol, used only to write tables.
    """
    return _decorated(sym, "bar")


class PartialSymbol(sympy.Symbol):
    """A printing-only Symbol that stands for the local partial ``∂y/∂x`` (see
    :func:`partial_symbol`)."""

    of: tuple[sympy.Symbol, sympy.Symbol]

    def _unicodestr(self, printer: Any) -> str:
        return partial(*self.of, "text")

    def _sympystr(self, printer: Any) -> str:
        return partial(*self.of, "text")

    def _latex(self, printer: Any) -> str:
        return partial(*self.of, "latex")


def partial_symbol(y: sympy.Symbol, x: sympy.Symbol) -> sympy.Symbol:
    """A printing-only Symbol for the local partial ``∂y/∂x``: written by name in a table
    where the partial itself is too large to repeat (``∂L/∂x₉₉*L̄``).

    >>> expr(adjoint_symbol(sympy.Symbol("L")) * partial_symbol(*sympy.symbols("L x_1")), "text")
    '∂L/∂x₁*L̄'
    """
    out = PartialSymbol(f"∂{y.name}/∂{x.name}")
    out.of = (y, x)
    return out


def tangent_symbol(sym: sympy.Symbol) -> sympy.Symbol:
    """A printing-only Symbol for the tangent of ``sym``: ``ė`` / ``\\dot{e}``."""
    return _decorated(sym, "dot")


def as_written(value: Any) -> Any:
    """A computed float as a person writes it: the shortest decimal of at most 12
    significant digits when that is within 2 units in the last place of ``value`` (the
    rounding of a few float operations), else ``value`` itself; lists (matrix rows) entry
    by entry; anything else unchanged.  JSON outputs write their numbers through this,
    so that ``-1.3 + 1`` (``-0.30000000000000004``) is written ``-0.3`` and ``0.8*0.7``
    ``0.56``, while a number with more digits keeps all of them.

    >>> as_written(-1.3 + 1), as_written(0.8 * 0.7), as_written(0.8765329524347759)
    (-0.3, 0.56, 0.8765329524347759)
    >>> as_written([[0.1 + 0.2, 3]]), as_written(None)
    ([[0.3, 3]], None)
    """
    if isinstance(value, list):
        return [as_written(v) for v in value]
    if not isinstance(value, float) or not math.isfinite(value) or value == 0:
        return value
    short = float(f"{value:.12g}")
    return short if abs(short - value) <= 2 * math.ulp(value) else value


def number(
    value: Any,
    precision: int = DEFAULT_PRECISION,
    fmt: str = "text",
    *,
    whole: bool = False,
    paren: bool = False,
    undefined: str | None = None,
) -> str:
    """A float to ``precision`` significant digits; ``-0`` is written ``0``.

    LaTeX writes exponents as ``\\cdot 10^{k}``; ``None`` (no value) is written ``?``.
    ``whole=True`` writes an integer-valued float below ``1e15`` with all its digits;
    ``paren=True`` puts a negative number in parentheses; ``undefined`` (when given)
    is written for ``None``, NaN and infinities.

    >>> number(1234567.0), number(1234567.0, whole=True), number(-2.0, paren=True)
    ('1.23457e+06', '1234567', '(-2)')
    >>> number(None), number(float("nan"), undefined="undefined")
    ('?', 'undefined')

    A matrix value is written by :func:`matrix_number`.
    """
    if isinstance(value, np.ndarray | sympy.MatrixBase):
        return matrix_number(value, precision, fmt)
    if value is None or (undefined is not None and not math.isfinite(value)):
        return "?" if undefined is None else undefined
    if value == 0:
        return "0"
    if math.isnan(value) or math.isinf(value):
        if fmt == "text":
            return str(value)
        return r"\text{NaN}" if math.isnan(value) else ("-" if value < 0 else "") + r"\infty"
    if whole and value == int(value) and abs(value) < 1e15:
        s = str(int(value))
    else:
        s = f"{value:.{precision}g}"
        if fmt != "text" and "e" in s:
            mantissa, exponent = s.split("e")
            s = rf"{mantissa} \cdot 10^{{{int(exponent)}}}"
    return _paren(s, fmt) if paren and s.startswith("-") else s


def _paren(s: str, fmt: str) -> str:
    return f"\\left({s}\\right)" if fmt != "text" else f"({s})"


def product(parts: list[str], fmt: str) -> str:
    """Already printed factors joined with the multiplication dot of ``fmt``."""
    return _TIMES[fmt].join(parts)


def expr_product(factors: list[Any], fmt: str) -> str:
    """Expressions written as a product ``f · g``, each parenthesised where needed
    (a factor given as a string is written as it is).

    >>> a, b = sympy.symbols("a b")
    >>> expr_product([a + b, -a, b], "text"), expr_product([a + b], "text")
    ('(a + b) · (-a) · b', 'a + b')
    """
    if len(factors) == 1:
        return factors[0] if isinstance(factors[0], str) else expr(factors[0], fmt)
    out = []
    for f in factors:
        if isinstance(f, str):  # already written: a derivative's name, ``dL/dx``
            out.append(f)
            continue
        s = expr(f, fmt)
        low = isinstance(f, sympy.Basic) and precedence(f) < PRECEDENCE["Mul"]
        out.append(_paren(s, fmt) if low or s.startswith("-") else s)
    return product(out, fmt)


def number_product(values: Sequence[float | None], precision: int, fmt: str) -> str:
    """Numbers written as a product ``(-2) · 1``, negative factors parenthesised.

    >>> number_product([-2.0, 1.0], 6, "text"), number_product([-2.0], 6, "text")
    ('(-2) · 1', '-2')
    """
    printed = [number(v, precision, fmt) for v in values]
    if len(printed) == 1:
        return printed[0]
    return product([_paren(s, fmt) if s.startswith("-") else s for s in printed], fmt)


# ---------------------------------------------------------------------- options

Rule: TypeAlias = Callable[[str, str, Any], None]
"""A check of one option: ``rule(what, key, value)`` raises if ``value`` is not accepted."""


def options_error(what: str, unknown: list[str], valid: Mapping[str, Any]) -> OptionError:
    """The error for options ``what`` does not know, listing the valid ones and defaults."""
    listing = ", ".join(f"{k}={v!r}" for k, v in valid.items())
    plural = "s" if len(unknown) > 1 else ""
    valid_text = f"valid options (with defaults): {listing}" if valid else "it takes no options"
    return OptionError(
        f"{what} got unexpected option{plural} {', '.join(map(repr, unknown))}; {valid_text}"
    )


def check_precision(what: str, key: str, value: Any) -> None:
    """:data:`Rule` for a number of significant digits: an integer from 1 to 17."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 17:
        raise OptionValueError(f"{what}: {key} must be an integer from 1 to 17, got {value!r}")


def check_flag(what: str, key: str, value: Any) -> None:
    """:data:`Rule` for an option that is ``True`` or ``False``."""
    if not isinstance(value, bool):
        raise OptionError(f"{what}: {key} must be True or False, got {value!r}")


def check_width(what: str, key: str, value: Any) -> None:
    """:data:`Rule` for a line width: ``None`` (no limit) or an integer of at least 20."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 20):
        raise OptionValueError(f"{what}: {key} must be None or an integer >= 20, got {value!r}")


def check_string(what: str, key: str, value: Any) -> None:
    """:data:`Rule` for an option that is a string."""
    if not isinstance(value, str):
        raise OptionError(f"{what}: {key} must be a string, got {value!r}")


def one_of(*choices: Any) -> Rule:
    """:data:`Rule` for an option that takes one of ``choices``."""

    def rule(what: str, key: str, value: Any) -> None:
        if value not in choices:
            raise OptionValueError(
                f"{what}: {key} must be one of {', '.join(map(repr, choices))}, got {value!r}"
            )

    return rule


def validate_options(
    what: str,
    given: Mapping[str, Any],
    defaults: Mapping[str, Any],
    rules: Mapping[str, Rule] | None = None,
) -> dict[str, Any]:
    """``defaults`` updated with ``given``, each value checked by its rule.

    ``what`` names the caller in messages (``"derivation()"``).  An option not in
    ``defaults`` raises :class:`~symtrace.errors.OptionError` listing the valid ones
    with their defaults; ``rules`` maps option names to :data:`Rule` checks
    (:func:`check_precision`, :func:`check_flag`, :func:`check_string`,
    :func:`one_of`), applied to the given and the default values alike.

    >>> validate_options("view()", {"precision": 3}, {"precision": 6, "nodes": None})
    {'precision': 3, 'nodes': None}
    >>> validate_options("view()", {"digits": 3}, {"precision": 6})
    Traceback (most recent call last):
    ...
    symtrace.errors.OptionError: view() got unexpected option 'digits'; valid options ...
    >>> rules = {"precision": check_precision}
    >>> validate_options("view()", {"precision": 0}, {"precision": 6}, rules)
    Traceback (most recent call last):
    ...
    symtrace.errors.OptionValueError: view(): precision must be an integer from 1 to 17, got 0
    """
    unknown = [k for k in given if k not in defaults]
    if unknown:
        raise options_error(what, unknown, defaults)
    out = {**defaults, **given}
    for key, rule in (rules or {}).items():
        if key in out:
            rule(what, key, out[key])
    return out


# ------------------------------------------------------------ text and tables

LATEX_SPECIAL: dict[str, str] = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "∂": r"$\partial$",
    "·": r"$\cdot$",
    "✓": r"$\checkmark$",
    "−": "-",
    "±": r"$\pm$",
    "≈": r"$\approx$",
}
"""How :func:`latex_escape` writes LaTeX's special characters and a few symbols."""


def latex_escape(text: str) -> str:
    """Running text (not math) made safe for LaTeX: specials escaped, symbols as math.

    >>> print(latex_escape("50% of dL/dx_1 ≈ ∂L/∂x & more"))
    50\\% of dL/dx\\_1 $\\approx$ $\\partial$L/$\\partial$x \\& more
    """
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in terminal_safe(text))


def width(s: str) -> int:
    """The number of columns ``s`` takes in a terminal (combining marks take none)."""
    return sum(0 if unicodedata.combining(ch) else 1 for ch in s)


def wrap(text: str, columns: int) -> str:
    """Each line of ``text`` wider than ``columns`` broken between words, the rest of
    it indented two more spaces than the line itself (a hanging indent).

    >>> print(wrap("    wrong: expected b*f = 6. dL/da = dL/de · ∂e/∂a = 6", 30))
        wrong: expected b*f = 6.
          dL/da = dL/de · ∂e/∂a =
          6
    """
    out = []
    for line in text.split("\n"):
        if width(line) <= columns:
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip(" "))]
        out += textwrap.wrap(
            line.strip(),
            columns,
            initial_indent=indent,
            subsequent_indent=indent + "  ",
            break_long_words=False,
            break_on_hyphens=False,
        ) or [line]
    return "\n".join(out)


GRID_PADDING = 100
"""Text table columns are padded to at most this many terminal columns (see :func:`grid`)."""


def grid(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    fmt: str,
    title: str = "",
    *,
    rule: str = "─",
    math: bool = True,
    columns: str | None = None,
) -> str:
    """A table: aligned text columns, a Markdown pipe table, or a LaTeX table.

    Cells are already written in ``fmt``; this only lays them out.  Text columns are
    separated by two spaces (a cell with newlines takes several lines), with a line of
    ``rule`` under the header; Markdown cells have ``|`` escaped and newlines turned
    into spaces.  In LaTeX, ``math=True`` gives an ``array`` inside ``\\[ ... \\]``
    (cells are math, header cells plain words put in ``\\text``); ``math=False`` a
    ``tabular`` of text cells, its rows ended by ``\\tabularnewline`` (so cells may
    start with ``\\raggedright``).  ``columns`` is the LaTeX column specification
    (default ``l`` for each).  ``title`` goes above the table (a comment in LaTeX).

    >>> print(grid(["node", "value"], [["a", "2"], ["L̄", "-8"]], "text", "Values"))
    Values
    node  value
    ────  ─────
    a     2
    L̄     -8
    >>> print(grid(["x", "y"], [["1", "a|b"]], "markdown"))
    | x | y |
    |---|---|
    | 1 | a\\|b |
    """
    cols = columns if columns is not None else "l" * len(header)
    if fmt == "text":
        # Columns are padded to their widest cell, up to GRID_PADDING columns: a cell
        # wider than that runs past its column rather than widening every row.
        widths = [
            min(
                max(width(part) for r in [header, *rows] for part in r[k].split("\n")),
                max(GRID_PADDING, width(header[k])),
            )
            for k in range(len(header))
        ]

        def line(cells: Sequence[str]) -> str:
            padded = [c + " " * (w - width(c)) for c, w in zip(cells, widths, strict=True)]
            return "  ".join(padded).rstrip()

        def row_lines(cells: Sequence[str]) -> list[str]:
            if not any("\n" in c for c in cells):
                return [line(cells)]
            split = [c.split("\n") for c in cells]
            height = max(len(c) for c in split)
            return [line([c[k] if k < len(c) else "" for c in split]) for k in range(height)]

        under = "  ".join(rule * w for w in widths)
        out = [line(header), under, *(text for r in rows for text in row_lines(r))]
        return "\n".join(([title] if title else []) + out)
    if fmt == "markdown":

        def cell(s: str) -> str:
            return s.replace("|", "\\|").replace("\n", " ")

        out = [
            "| " + " | ".join(header) + " |",
            "|" + "|".join("---" for _ in header) + "|",
            *("| " + " | ".join(cell(c) for c in r) + " |" for r in rows),
        ]
        return "\n".join(([title, ""] if title else []) + out)
    check_format(fmt)
    top = f"% {title}\n" if title else ""
    if not math:
        lines = [
            f"\\begin{{tabular}}{{{cols}}}",
            " & ".join(header) + " \\tabularnewline",
            "\\hline",
            *(" & ".join(r) + " \\tabularnewline" for r in rows),
            "\\end{tabular}",
        ]
        return top + "\n".join(lines)
    head = " & ".join(rf"\text{{{h}}}" for h in header)
    body = "".join(" & ".join(r) + " \\\\\n" for r in rows)
    return (
        f"{top}\\[\n\\begin{{array}}{{{cols}}}\n\\hline\n{head} \\\\\n\\hline\n"
        f"{body}\\hline\n\\end{{array}}\n\\]"
    )


# ----------------------------------------------------------- untrusted text

_VISIBLE_WHITESPACE = {"\n", "\t"}


def terminal_safe(text: str, newlines: bool = True) -> str:
    """Text from a file with its control characters shown, not sent: ANSI escapes,
    carriage returns, bidi overrides and other invisible format characters become
    ``\\x1b``, ``\\u202e``...  Newlines and tabs are kept (``newlines=False`` makes a
    newline a space, for one-line places such as titles).

    >>> terminal_safe("red \\x1b[31mtext\\x1b[0m\\r\\u202e!")
    'red \\\\x1b[31mtext\\\\x1b[0m\\\\r\\\\u202e!'
    """
    out = []
    for ch in text:
        if ch in _VISIBLE_WHITESPACE:
            out.append(ch if newlines else " ")
        elif ch == "\r" or unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp"):
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


_MARKDOWN_SPECIAL = set("\\`*_{}[]#|~$")
_HTML_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;"}


def markdown_escape(text: str, newlines: bool = True) -> str:
    """Running text from a file made inert in Markdown: raw HTML written as entities
    (``<script>`` is shown, not run), Markdown's punctuation backslash-escaped, control
    characters shown (:func:`terminal_safe`).

    >>> print(markdown_escape("<b>hi</b> *x* [a](b)"))
    &lt;b&gt;hi&lt;/b&gt; \\*x\\* \\[a\\](b)
    """
    out = []
    for ch in terminal_safe(text, newlines):
        if ch in _HTML_ENTITIES:
            out.append(_HTML_ENTITIES[ch])
        elif ch in _MARKDOWN_SPECIAL:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


# ------------------------------------------------------------ equations that fit

LATEX_LINE = 60.0
"""How wide (in :func:`tex_width` units) the right-hand side of a LaTeX equation line may
be: an A4 ``article`` page's text width, less room for the left-hand side."""

LATEX_PAGE_LINES = 24
"""At most this many lines go in one LaTeX ``align*`` (which cannot break across pages)."""

LATEX_CELL = 26.0
"""How wide (in :func:`tex_width` units) a LaTeX table cell may be before it is stacked."""

_TEX_TOKEN = re.compile(r"\\[A-Za-z]+\*?|\\.|\s+|.", re.S)
_TEX_SPACES = {"quad": 2.0, "qquad": 4.0, ",": 0.3, ";": 0.5, " ": 0.5, "!": 0.0}
_TEX_ZERO = set("left right displaystyle mathit big Big dot bar hat vec tilde".split())


def tex_width(s: str) -> float:
    """About how many characters wide LaTeX math ``s`` typesets (a fraction as wide as
    its wider half, scripts at 0.7, ``+``/``-``/``=`` with their spacing).

    Used to decide where long equations break; it never needs to be exact.

    >>> tex_width(r"\\frac{\\partial L}{\\partial x_{1}}") < tex_width("dL/dx_1")
    True
    """
    tokens = _TEX_TOKEN.findall(s)
    pos = 0

    def group() -> float:
        """The width of the next brace group (or single token)."""
        nonlocal pos
        while pos < len(tokens) and tokens[pos].isspace():
            pos += 1
        if pos >= len(tokens):
            return 0.0
        if tokens[pos] != "{":
            return run(single=True)
        pos += 1
        w = run()
        pos += 1  # the closing brace
        return w

    def run(single: bool = False) -> float:
        nonlocal pos
        w = 0.0
        while pos < len(tokens):
            tok = tokens[pos]
            if tok == "}":
                return w
            pos += 1
            if tok == "{":
                w += run()
                pos += 1
            elif tok in ("^", "_"):
                w += 0.7 * group()
            elif tok.isspace():
                pass
            elif tok.startswith("\\") and len(tok) > 1:
                cmd = tok[1:]
                if cmd == "frac":
                    w += max(group(), group()) + 0.4
                elif cmd in ("text", "mathrm", "operatorname"):
                    w += group()
                elif cmd in _TEX_SPACES:
                    w += _TEX_SPACES[cmd]
                elif cmd in _TEX_ZERO:
                    pass
                elif cmd in ("cdot", "to", "approx", "times", "pm"):
                    w += 2.0
                elif cmd.isalpha() and cmd.islower() and len(cmd) <= 4 and cmd not in _GREEK:
                    w += len(cmd)  # \tanh, \log, \exp
                else:
                    w += 1.0
            elif tok in "+-=<>":
                w += 2.0
            else:
                w += 1.0
            if single:
                return w
        return w

    return run()


_GREEK = {"alpha", "beta", "eta", "zeta", "iota", "rho", "tau", "chi", "psi", "phi", "pi"}


def measure(s: str, fmt: str) -> float:
    """How wide ``s`` is: terminal columns (text) or :func:`tex_width` (LaTeX)."""
    return float(width(s)) if fmt == "text" else tex_width(s)


def structure(e: sympy.Basic, rank: Mapping[sympy.Basic, int]) -> tuple[Any, ...]:
    """A key equal for two expressions exactly when they are one tree, operation for
    operation and constant for constant, with the parts of equal ``rank`` (their
    symbols) in the same places (preorder, iterative).

    SymPy's printers order terms and factors by comparing names, so two expressions
    with one key whose symbols are ranked in alphabetical order print alike, names
    apart (``sin(v3) + v3`` and ``sin(v8) + v8``): views print each such family once.

    >>> x, y, z = sympy.symbols("x y z")
    >>> structure(sympy.sin(x) + y, {x: 0, y: 1}) == structure(sympy.sin(y) + z, {y: 0, z: 1})
    True
    """
    out: list[Any] = []
    stack: list[Any] = [e]
    while stack:
        node = stack.pop()
        k = rank.get(node)
        if k is not None:
            out.append(k)
        elif not isinstance(node, sympy.Basic) or not node.args:
            out.append((type(node), node, str(node) if isinstance(node, sympy.Float) else ""))
        else:
            out.append((type(node), len(node.args)))
            stack.extend(reversed(node.args))
    return tuple(out)


FAMILY_SIZE = 400
"""Expressions of at most this many SymPy nodes are printed (in text) once per family
(:func:`family`); larger ones, which are seldom alike, are printed as they are."""

MARKS = 4_096
"""How many family templates text printing remembers (it forgets them all when full)."""

_MARK = 0xF0000  # the name of rank k is chr(_MARK + k), then _FILL for each further column
_FILL, _PREFIX = chr(0x100000), chr(0x100001)  # Unicode's private use area: never in a name
_NAMED = (sympy.Symbol, NodeSymbol)  # exact types: printed by their names alone
_TEMPLATES: dict[tuple[Any, ...], str | None] = {}
_UNSEEN: Any = object()  # not looked up yet


def family(e: Any) -> tuple[tuple[Any, ...], list[sympy.Symbol]] | None:
    """The family of ``e`` for text printing: a key, and ``e``'s symbols in alphabetical
    order; None when ``e`` is not a scalar expression of at most :data:`FAMILY_SIZE`
    nodes whose symbols are plain ones (printed by name alone) with distinct names.

    Two expressions of one key print alike, names apart: the printers order terms and
    factors by comparing names (:func:`structure`).

    >>> x, y, z = sympy.symbols("x y z")
    >>> family(sympy.sin(x) * y)[0] == family(sympy.sin(y) * z)[0]
    True
    >>> family(sympy.sin(y) * x)[0] == family(sympy.sin(x) * y)[0]
    False
    """
    if not isinstance(e, sympy.Expr) or e.is_Matrix or not size_at_most(e, FAMILY_SIZE):
        return None
    symbols = sorted(e.free_symbols, key=lambda s: str(s.name))
    if any(type(s) not in _NAMED for s in symbols) or len(symbols) > 0xFFFD:
        return None
    if len({s.name for s in symbols}) < len(symbols):
        return None
    kinds = tuple((type(s), tuple(sorted(s._assumptions_orig.items()))) for s in symbols)
    return (structure(e, {s: k for k, s in enumerate(symbols)}), kinds), symbols


def marked(e: Any, symbols: Sequence[sympy.Symbol], widths: Sequence[int]) -> Any:
    """``e`` with a mark for each of ``symbols`` (its ``family``'s), as many columns
    wide as ``widths`` says and in the same alphabetical order, built without
    evaluation; None if ``e`` holds a part that cannot be built so.  Text printed from
    it becomes the text of any member of the family by :func:`fill`."""
    marks = {
        s: sympy.Symbol(chr(_MARK + k) + _FILL * (w - 1), **s._assumptions_orig)
        for k, (s, w) in enumerate(zip(symbols, widths, strict=True))
    }
    return replace_unevaluated(e, marks)


def prefix_mark(columns: int) -> str:
    """A mark ``columns`` wide for text that :func:`fill` puts in front (``x̄₁ = ``)."""
    return _PREFIX + _FILL * (columns - 1) if columns else ""


def fill(template: str, names: Sequence[str], prefix: str = "") -> str:
    """Text printed from :func:`marked` with the ``names`` (by rank) and the ``prefix``
    (for :func:`prefix_mark`) put in."""
    table: dict[int, str | None] = {_MARK + k: n for k, n in enumerate(names)}
    table[ord(_FILL)], table[ord(_PREFIX)] = None, prefix
    return template.translate(table)


def _family_text(e: Any) -> str | None:
    """Text of ``e`` from its family's template (printed once), or None."""
    found = family(e) if isinstance(e, sympy.Basic) and e.args else None
    if found is None:
        return None
    key, symbols = found
    template = _TEMPLATES.get(key, _UNSEEN)  # None: seen, and not to be reused
    if template is _UNSEEN:
        mark = marked(e, symbols, [1] * len(symbols))
        template = None if mark is None else str(_UNICODE.doprint(mark))
        if len(_TEMPLATES) >= MARKS:
            _TEMPLATES.clear()
        _TEMPLATES[key] = template
    if template is None:
        return None
    return fill(template, [name(s, "text") for s in symbols])


def terms(e: Any, fmt: str) -> list[str]:
    """An expression written as the terms of its sum (one item if it is not a sum),
    in the order SymPy's printers write them.

    >>> a, b = sympy.symbols("a b")
    >>> terms(a - 2 * b, "text"), terms(a * b, "latex")
    (['a', '-2*b'], ['a b'])
    """
    if isinstance(e, sympy.Add):
        return Sum([expr(t, fmt) for t in ordered_terms(e)], expr(e, fmt))
    return [expr(e, fmt)]


class Sum(list[str]):
    """The printed terms of a sum, remembering how the printer wrote the whole sum."""

    def __init__(self, parts: Sequence[str], whole: str) -> None:
        super().__init__(parts)
        self.whole = whole


def sum_terms(parts: Sequence[str]) -> str:
    """Already printed terms written as a sum; ``+ -x`` is written ``- x``.

    >>> sum_terms(["a", "-2*b", "c"])
    'a - 2*b + c'
    """
    if isinstance(parts, Sum):
        return parts.whole
    out = ""
    for k, term in enumerate(parts):
        if k == 0:
            out = term
        elif term.startswith("-"):
            out += " - " + term[1:].lstrip()
        else:
            out += " + " + term
    return out


def _break(parts: Sequence[Sequence[str]], fmt: str, limit: float) -> list[tuple[str, str]]:
    """The right-hand side ``= p1 = p2 ...`` cut into lines at most ``limit`` wide.

    Each line is ``(lead, content)``: ``lead`` is ``"="`` where a new member of the chain
    starts and ``""`` where a long sum goes on (``content`` then starts with ``+``/``-``).
    Parts are kept whole on a line when they fit; a part too long for a line of its own
    is broken between its terms.
    """
    lines: list[tuple[str, str]] = []
    lead, line, used = "", "", 0.0
    broken = False  # the last part was cut between terms: the next starts a new line
    for part in parts:
        whole = sum_terms(part)
        w = measure(whole, fmt)
        if line and not broken and used + 3 + w <= limit:
            line, used = f"{line} = {whole}", used + 3 + w
            continue
        if line:
            lines.append((lead, line))
        if w + 2 <= limit or len(part) < 2:
            lead, line, used, broken = "=", whole, w + 2, False
            continue
        lead, line, used, broken = "=", part[0], measure(part[0], fmt) + 2, True
        for term in part[1:]:
            op, body = ("-", term[1:].lstrip()) if term.startswith("-") else ("+", term)
            tw = measure(body, fmt) + 3
            if used + tw <= limit:
                line, used = f"{line} {op} {body}", used + tw
            else:
                lines.append((lead, line))
                lead, line, used = "", f"{op} {body}", tw + 2
    if line:
        lines.append((lead, line))
    return lines


def equation_lines(
    rows: Sequence[Sequence[Sequence[str]]],
    fmt: str,
    header: str = "",
    wrap: int | None = None,
) -> str:
    """Chains ``lhs = a = b`` as text lines, a Markdown list, or a LaTeX ``align*``.

    Each row is a left-hand side and the members of its chain, each member given as the
    terms of a sum (``[["∂L/∂a"], ["b", "c"]]`` is ``∂L/∂a = b + c``).  LaTeX lines
    longer than :data:`LATEX_LINE` are broken after ``=`` and, where one member is too
    long by itself, between its terms; text is broken the same way, with a hanging
    indent, when ``wrap`` (a number of columns) is given (one line per row otherwise).

    >>> rows = [[["y"], ["a", "b"], ["3"]]]
    >>> print(equation_lines(rows, "text"))
    y = a + b = 3
    >>> print(equation_lines(rows, "text", wrap=9))
    y = a + b
      = 3
    >>> print(equation_lines(rows, "latex"))
    \\begin{align*}
    y &= a + b = 3
    \\end{align*}
    """
    check_format(fmt)
    if fmt == "markdown":
        eqs = [" = ".join(sum_terms(p) for p in row) for row in rows]
        items = "\n".join(f"- ${e}$" for e in eqs)
        return f"{header}\n\n{items}" if header else items
    out: list[str] = []
    for row in rows:
        lhs = sum_terms(row[0])
        rest = list(row[1:])
        if fmt == "text":
            if wrap is None:
                out.append(" = ".join([lhs, *(sum_terms(p) for p in rest)]))
                continue
            pad = " " * (width(lhs) + 1)
            limit = max(float(wrap) - len(pad), 20.0)
            broken = _break(rest, fmt, limit) if rest else []
            first = True
            for lead, content in broken:
                if first:
                    out.append(f"{lhs} = {content}")
                    first = False
                else:
                    out.append(f"{pad}= {content}" if lead else f"{pad}  {content}")
            if first:
                out.append(lhs)
            continue
        if not rest:
            out.append(f"{lhs} &")
            continue
        pieces = []
        for k, (lead, content) in enumerate(_break(rest, fmt, LATEX_LINE)):
            left = lhs if k == 0 else ""
            pieces.append(f"{left} &= {content}" if lead else f"{left} &\\quad {{}}{content}")
        out.append(" \\\\\n".join(p.lstrip() for p in pieces))
    if fmt == "latex":
        # One align* cannot break across pages: long derivations get several, each at
        # most LATEX_PAGE_LINES lines long, with every equation whole inside one.
        chunks: list[list[str]] = [[]]
        used = 0
        for eq in out:
            n = eq.count("\n") + 1
            if chunks[-1] and used + n > LATEX_PAGE_LINES:
                chunks.append([])
                used = 0
            chunks[-1].append(eq)
            used += n
        head = f"% {header}\n" if header else ""
        return head + "\n".join(
            "\\begin{align*}\n" + " \\\\\n".join(c) + "\n\\end{align*}" for c in chunks
        )
    return "\n".join(([header] if header else []) + out)


def stack(parts: Sequence[str], fmt: str, limit: float | None = None) -> str:
    """A table cell holding a long sum, cut between its terms into lines.

    Text and Markdown cells get the lines joined by newlines (which :func:`grid` lays out
    as several physical lines, or joins with spaces in Markdown); a LaTeX cell becomes a
    one-column ``array``.  ``limit`` defaults to :data:`LATEX_CELL` in LaTeX and 40
    columns in text.

    >>> print(stack(["a", "-b", "c"], "text", limit=6))
    a - b
      + c
    """
    if limit is None:
        limit = LATEX_CELL if fmt == "latex" else 40.0
    broken = _break([list(parts)], fmt, limit)
    if len(broken) < 2:
        return sum_terms(parts)
    if fmt == "latex":
        body = r" \\ ".join(c if lead else rf"\quad {{}}{c}" for lead, c in broken)
        return rf"\begin{{array}}[t]{{@{{}}l@{{}}}} {body} \end{{array}}"
    return "\n".join(c if lead else f"  {c}" for lead, c in broken)
