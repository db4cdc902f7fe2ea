"""Local partials and float code, computed once per expression *shape*.

A node's definition, with its parents renamed to placeholders ``_p0, _p1, ...`` (in
evaluation order), is its shape: every ``tanh(u)`` node of a network has the shape
``tanh(_p0)``, every ``w*x`` the shape ``_p0*_p1``.  For each shape we differentiate
once with SymPy (its ``fdiff`` rules are the rule table) and generate one small Python
function for the value and one for the local partials.  Nodes map results back with
``xreplace``.  A cold ``sympy.diff`` costs 0.2-4 ms; a cache hit costs a dictionary
lookup.

>>> import sympy
>>> p0, p1 = placeholders(2)
>>> s = shape_of(sympy.tanh(p0))
>>> s.partials
(1 - tanh(_p0)**2,)
>>> round(s.value_fn(0.5), 12), round(s.partials_fn(0.5)[0], 12)
(0.46211715726, 0.786447732966)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cache, cached_property, lru_cache
from typing import Any

import sympy
from sympy.printing.codeprinter import PrintMethodNotImplementedError
from sympy.printing.pycode import PythonCodePrinter

from .errors import InvalidValueError

__all__ = ["FLOAT_NAMESPACE", "Shape", "partials", "placeholders", "shape_of", "size_at_most"]

FloatFn = Callable[..., Any]


@cache
def _placeholder(i: int) -> sympy.Symbol:
    return sympy.Symbol(f"_p{i}", real=True)


def placeholders(n: int) -> tuple[sympy.Symbol, ...]:
    """The first ``n`` placeholder symbols ``_p0 ... _p{n-1}`` (plain, real Symbols)."""
    return tuple(_placeholder(i) for i in range(n))


def _relu(x: float) -> float:
    return x if x > 0.0 else 0.0


def _sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _heaviside(x: float, at_zero: float = 0.5) -> float:
    return 1.0 if x > 0.0 else 0.0 if x < 0.0 else at_zero


def _sign(x: float) -> float:
    return 1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0


FLOAT_NAMESPACE: dict[str, Any] = {
    "math": math,
    "_relu": _relu,
    "_sigmoid": _sigmoid,
    "_heaviside": _heaviside,
    "_sign": _sign,
}
"""The names generated float code may use: ``math`` and symtrace's own float helpers."""


class FloatCodePrinter(PythonCodePrinter):
    """Python code for plain floats, with symtrace's functions and full-precision constants.

    ``Float`` constants print as ``repr(float(x))`` (17 significant digits where
    needed), so generated code reproduces the trace's own numbers exactly.
    """

    def _print_Float(self, expr: sympy.Float) -> str:
        return repr(float(expr))

    def _print_Rational(self, expr: sympy.Rational) -> str:
        return f"({expr.p}/{expr.q})"

    def _print_relu(self, expr: sympy.Expr) -> str:
        return f"_relu({self._print(expr.args[0])})"

    def _print_sigmoid(self, expr: sympy.Expr) -> str:
        return f"_sigmoid({self._print(expr.args[0])})"

    def _print_Heaviside(self, expr: sympy.Expr) -> str:
        return f"_heaviside({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_sign(self, expr: sympy.Expr) -> str:
        return f"_sign({self._print(expr.args[0])})"


def _compile(body: str, n_args: int) -> FloatFn:
    """Turn generated code into a function of ``_p0 ... _p{n-1}``.

    ``body`` is printed by :class:`FloatCodePrinter` from a SymPy tree whose only
    symbols are placeholders; it never contains text from a user or a file (node names
    never reach it), which is what makes ``exec`` safe here, as in ``lambdify``.
    """
    args = ", ".join(f"_p{i}" for i in range(n_args))
    source = f"def _f({args}):\n    return {body}\n"
    namespace = dict(FLOAT_NAMESPACE)
    exec(compile(source, "<symtrace shape>", "exec"), namespace)  # noqa: S102
    fn: FloatFn = namespace["_f"]
    return fn


def _fallback(exprs: Sequence[sympy.Expr], n_args: int, as_tuple: bool) -> FloatFn:
    """Numeric evaluation through SymPy for shapes the code printer cannot print."""
    ps = placeholders(n_args)

    def fn(*xs: float) -> Any:
        subs = {p: sympy.Float(x) for p, x in zip(ps, xs, strict=True)}
        out = []
        for e in exprs:
            v = e.xreplace(subs).evalf()
            if not v.is_number:
                raise InvalidValueError(f"cannot evaluate {e} numerically")
            out.append(complex(v) if not v.is_extended_real else float(v))
        return tuple(out) if as_tuple else out[0]

    return fn


def _float_fn(exprs: Sequence[sympy.Expr], n_args: int, as_tuple: bool) -> FloatFn:
    printer = FloatCodePrinter({"strict": True, "fully_qualified_modules": True})
    try:
        printed = [printer.doprint(e) for e in exprs]
    except PrintMethodNotImplementedError:
        return _fallback(exprs, n_args, as_tuple)
    body = "(" + "".join(p + ", " for p in printed) + ")" if as_tuple else printed[0]
    return _compile(body, n_args)


def size_at_most(e: Any, limit: int) -> bool:
    """Whether the expression ``e`` has at most ``limit`` SymPy nodes (counted up to the
    limit, so a huge expression costs no more than a small one).

    >>> x = sympy.Symbol("x")
    >>> size_at_most(sympy.sin(x) + 1, 3), size_at_most(sympy.sin(x) + 1, 4)
    (False, True)
    """
    if not isinstance(e, sympy.Basic):
        return True
    count, stack = 0, [e]  # a plain stack: preorder_traversal's generators cost 4-8x more
    while stack:
        count += 1
        if count > limit:
            return False
        stack.extend(getattr(stack.pop(), "args", ()))
    return True


def partials(expr: sympy.Expr, variables: Sequence[sympy.Symbol]) -> tuple[sympy.Expr, ...]:
    """``diff(expr, v)`` for each of ``variables``, the same expressions SymPy gives.

    A sum or product is differentiated only in the arguments that contain ``v``:
    SymPy's own ``diff`` differentiates every argument for every variable (for a product,
    the general Leibniz rule with one ``diff`` per factor per term), which is cubic in the
    number of factors (a 100-factor product took 14 s, ``_p0*_p1*...*_p99``).

    >>> x, y, z = sympy.symbols("x y z")
    >>> partials(x * y * sympy.sin(z), [x, z])
    (y*sin(z), x*y*cos(z))
    """
    if not isinstance(expr, sympy.Add | sympy.Mul):
        return tuple(sympy.diff(expr, v) for v in variables)
    args = expr.args
    holds = [a.free_symbols for a in args]
    out = []
    for v in variables:
        ks = [k for k, free in enumerate(holds) if v in free]
        if isinstance(expr, sympy.Add):
            out.append(sympy.Add(*(args[k].diff(v) for k in ks)))
        else:
            products = (sympy.Mul(*args[:k], args[k].diff(v), *args[k + 1 :]) for k in ks)
            out.append(sympy.Add(*products))
    return tuple(out)


class Shape:
    """One expression shape with its local partials and compiled float functions.

    ``expr`` is written in placeholders ``_p0 ... _p{n-1}``; ``partials[i]`` is
    ``diff(expr, _p{i})``; ``value_fn(*floats)`` returns the value and
    ``partials_fn(*floats)`` the tuple of local partials.  Each is computed on first
    use: defining a node costs neither a ``diff`` nor a compilation.
    """

    def __init__(self, expr: sympy.Expr, n_args: int) -> None:
        self.expr = expr
        self.n_args = n_args

    @cached_property
    def partials(self) -> tuple[sympy.Expr, ...]:
        return partials(self.expr, placeholders(self.n_args))

    @cached_property
    def has_kinks(self) -> bool:
        """Whether a local partial holds a ``Heaviside`` or ``sign`` (relu, abs, max)."""
        return any(p.has(sympy.Heaviside, sympy.sign) for p in self.partials)

    @cached_property
    def value_fn(self) -> FloatFn:
        return _float_fn([self.expr], self.n_args, as_tuple=False)

    @cached_property
    def partials_fn(self) -> FloatFn:
        return _float_fn(self.partials, self.n_args, as_tuple=True)

    def __repr__(self) -> str:
        return f"Shape({self.expr})"


@lru_cache(maxsize=65_536)
def _make_shape(expr: sympy.Expr, n_args: int) -> Shape:
    return Shape(expr, n_args)


def shape_of(expr: sympy.Expr, n_args: int | None = None) -> Shape:
    """The cached :class:`Shape` of ``expr``, an expression in placeholders only.

    ``n_args`` defaults to one more than the highest placeholder index in ``expr``.
    """
    if n_args is None:
        n_args = 1 + max((int(s.name[2:]) for s in expr.free_symbols), default=-1)
    return _make_shape(expr, n_args)
