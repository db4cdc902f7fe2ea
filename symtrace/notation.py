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
(xbar_1, 'ẋ₁/x₁', '\\\\bar{x}_{1}')

Numbers are written to a number of significant digits (default 6):

>>> number(-2.0), number(0.6931471805599453), number(11.652071455223084, precision=4)
('-2', '0.693147', '11.65')
>>> number(1.5e-9, fmt="latex")
'1.5 \\\\cdot 10^{-9}'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import sympy
from sympy.printing.conventions import split_super_sub
from sympy.printing.pretty.pretty_symbology import pretty_symbol, pretty_use_unicode
from sympy.printing.str import StrPrinter

from .errors import OptionError, OptionValueError

__all__ = [
    "FORMATS",
    "UnicodeStrPrinter",
    "adjoint_symbol",
    "check_format",
    "expr",
    "expr_product",
    "inline",
    "name",
    "number",
    "number_product",
    "options_error",
    "partial",
    "product",
    "tangent_symbol",
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


class UnicodeStrPrinter(StrPrinter):
    """SymPy's one-line string printer, writing symbol names as ``sympy.pretty`` does.

    ``x_1`` prints as ``x₁``, ``alpha`` as ``α``, ``xdot_1`` as ``ẋ₁``; the rest of the
    expression is printed exactly like ``str(expr)``.

    >>> UnicodeStrPrinter().doprint(sympy.Symbol("alpha_2") ** 2)
    'α₂**2'
    """

    printmethod = "_unicodestr"

    def doprint(self, expr: Any) -> str:
        # pretty_symbol follows SymPy's global unicode flag, which depends on the
        # terminal; force it on for the duration, so output never depends on sys.stdout.
        previous = pretty_use_unicode(True)
        try:
            return str(super().doprint(expr))
        finally:
            pretty_use_unicode(previous)

    def _print_Symbol(self, expr: Any) -> str:
        return str(pretty_symbol(expr.name))


_UNICODE = UnicodeStrPrinter()


def expr(e: Any, fmt: str) -> str:
    """A SymPy expression written in ``fmt`` (Markdown gets the LaTeX, without ``$``)."""
    if isinstance(e, int | float) and not isinstance(e, bool):
        e = sympy.Integer(e) if isinstance(e, int) else sympy.Float(e)
    if fmt == "text":
        return str(_UNICODE.doprint(e))
    return str(sympy.latex(e))


def name(sym: sympy.Symbol, fmt: str) -> str:
    """A node's name: ``x₁`` (text) or ``x_{1}`` (LaTeX/Markdown)."""
    return expr(sym, fmt)


def inline(s: str, fmt: str) -> str:
    """Wrap a LaTeX fragment for inline use in Markdown (``$...$``); others unchanged."""
    return f"${s}$" if fmt == "markdown" and s else s


def partial(y: sympy.Symbol, x: sympy.Symbol, fmt: str) -> str:
    """The derivative of ``y`` with respect to ``x``: ``∂y/∂x`` or ``\\frac{\\partial y}{...}``."""
    if fmt == "text":
        return f"∂{name(y, fmt)}/∂{name(x, fmt)}"
    return rf"\frac{{\partial {name(y, fmt)}}}{{\partial {name(x, fmt)}}}"


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


def tangent_symbol(sym: sympy.Symbol) -> sympy.Symbol:
    """A printing-only Symbol for the tangent of ``sym``: ``ė`` / ``\\dot{e}``."""
    return _decorated(sym, "dot")


def number(value: float | None, precision: int = DEFAULT_PRECISION, fmt: str = "text") -> str:
    """A float to ``precision`` significant digits; ``-0`` is written ``0``.

    LaTeX writes exponents as ``\\cdot 10^{k}``; ``None`` (no value) is written ``?``.
    """
    if value is None:
        return "?"
    if value == 0:
        return "0"
    if math.isnan(value) or math.isinf(value):
        if fmt == "text":
            return str(value)
        return r"\text{NaN}" if math.isnan(value) else ("-" if value < 0 else "") + r"\infty"
    s = f"{value:.{precision}g}"
    if fmt != "text" and "e" in s:
        mantissa, exponent = s.split("e")
        s = rf"{mantissa} \cdot 10^{{{int(exponent)}}}"
    return s


def _paren(s: str, fmt: str) -> str:
    return f"\\left({s}\\right)" if fmt != "text" else f"({s})"


def product(parts: list[str], fmt: str) -> str:
    """Already printed factors joined with the multiplication dot of ``fmt``."""
    return _TIMES[fmt].join(parts)


def expr_product(factors: list[Any], fmt: str) -> str:
    """Expressions written as a product ``f · g``, each parenthesised where needed.

    >>> a, b = sympy.symbols("a b")
    >>> expr_product([a + b, -a, b], "text"), expr_product([a + b], "text")
    ('(a + b) · (-a) · b', 'a + b')
    """
    from sympy.printing.precedence import PRECEDENCE, precedence

    if len(factors) == 1:
        return expr(factors[0], fmt)
    out = []
    for f in factors:
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


def options_error(what: str, unknown: list[str], valid: dict[str, Any]) -> OptionError:
    """The :class:`~symtrace.errors.OptionError` (a TypeError) for options a view does not
    know, listing the valid ones."""
    listing = ", ".join(f"{k}={v!r}" for k, v in valid.items())
    plural = "s" if len(unknown) > 1 else ""
    return OptionError(
        f"{what} got unexpected option{plural} {', '.join(map(repr, unknown))}; "
        f"valid options (with defaults): {listing}"
    )
