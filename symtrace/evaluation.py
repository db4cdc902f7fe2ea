"""Numbers: input values, the forward sweep and its value cache, exact values.

:func:`forward` is symtrace's one forward numeric sweep: a loop over the graph's
equations that computes each node from its parents' floats, with an optional ``write``
hook (the checker uses it to put a student's claimed values in place of the computed
ones).  :class:`ValueCache` holds a trace's input values and the floats computed so far,
and recomputes only what a changed input affects.  Python's arithmetic errors become
:class:`~symtrace.errors.NonRealValueError` messages that name the node.

>>> from symtrace.graph import Graph
>>> g = Graph()
>>> x = g.add("x").symbol
>>> y = g.add("y", 3 * x).symbol
>>> cache = ValueCache(g)
>>> cache.set([(0, 2)])
>>> cache.floats([1])
[2.0, 6.0]
>>> cache.exact([1])[1]
6
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any, TypeAlias

import numpy as np
import sympy

from .errors import EvaluationError, InvalidValueError, MissingValueError, NonRealValueError
from .graph import Graph
from .matrices import EXACT, as_exact, as_float, evaluate, finite, has_matrix
from .shapes import placeholders, shape_of

__all__ = [
    "Number",
    "ValueCache",
    "call_float",
    "check_float",
    "check_input_value",
    "describe",
    "exact_number",
    "exact_values",
    "expression_value",
    "forward",
    "local_partial_values",
]

Number: TypeAlias = int | float | Fraction | sympy.Expr


def _matrix_of(graph: Graph, i: int, fvals: Sequence[Any], strict: bool) -> Any:
    """Node ``i``'s value by the rule table of :mod:`symtrace.matrices` (NumPy float64)."""
    eq = graph.equations[i]
    assert eq.definition is not None
    symbols = graph.symbols
    index = graph.find
    with np.errstate(all="ignore"):
        v = evaluate(eq.definition, lambda s: fvals[index(s)])  # type: ignore[index]
    if strict and not finite(v):
        at = ", ".join(symbols[p].name for p in eq.parents)
        raise NonRealValueError(
            f"node {eq.symbol} = {eq.definition}: the result is not finite (inf or nan) at the "
            f"values of {at}"
        )
    return v


def check_input_value(name: str, value: Any) -> Number:
    """Validate a value given for input ``name``; return it unchanged if it is a real number.

    Accepted: ``int``, ``float``, :class:`fractions.Fraction`, any :class:`numbers.Real`
    (NumPy scalars included) and real, finite SymPy numbers (``Rational(1, 3)``,
    ``sqrt(2)``, ``pi``).  Strings are never parsed here.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real | sympy.Basic):
        hint = (
            " Strings are not parsed; pass a number (or use symtrace.parsing for text)."
            if isinstance(value, str)
            else ""
        )
        raise InvalidValueError(
            f"value for input {name!r} must be a real number, got {value!r} "
            f"({type(value).__name__}).{hint}"
        )
    if isinstance(value, sympy.Basic) and not (
        value.is_number and value.is_extended_real and value.is_finite
    ):
        raise InvalidValueError(
            f"value for input {name!r} must be a real, finite number, got {value}"
        )
    if not _float_finite(value):
        raise InvalidValueError(
            f"value for input {name!r} must be finite as a float (at most about 1.8e308), "
            f"got {_excerpt(value)}"
        )
    if isinstance(value, sympy.Basic):
        return value
    if isinstance(value, int | float | Fraction):
        return value
    return float(value)


def _float_finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (OverflowError, TypeError, ValueError):
        return False


def _excerpt(value: Any, limit: int = 40) -> str:
    """``repr(value)``, cut to ``limit`` characters (a 400-digit number is not quoted whole)."""
    text = repr(value) if not isinstance(value, int) or value.bit_length() < 4000 else "a huge int"
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def exact_number(value: Number) -> sympy.Expr:
    """The SymPy number for a checked input value (floats become ``Float``)."""
    if isinstance(value, np.ndarray):
        return as_exact(value)
    if isinstance(value, sympy.Basic):
        return value
    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    if isinstance(value, int):
        return sympy.Integer(value)
    return sympy.Float(value)


def _where(what: str, args: Sequence[tuple[str, float]]) -> str:
    at = ", ".join(f"{n} = {v!r}" for n, v in args)
    return f"{what} at {at}" if at else what


Describe = Callable[[], tuple[str, Sequence[str]]]
"""Builds, only when an error is reported, the description of a result (``"node d = e +
c"``) and the names of its arguments: formatting SymPy expressions costs ~50 µs."""


def call_float(fn: Callable[..., Any], args: Sequence[float], describe: Describe) -> Any:
    """Call a compiled float function; report math errors as :class:`NonRealValueError`."""
    try:
        return fn(*args)
    except ZeroDivisionError:
        problem = "division by zero"
    except OverflowError:
        problem = "overflow (the result is infinite)"
    except ValueError as exc:  # math domain error: log(-1), sqrt(-1), ...
        problem = f"the result is not real ({exc})"
    except TypeError as exc:  # complex intermediate in a fallback evaluation
        problem = f"the result is not a real number ({exc})"
    what, names = describe()
    raise NonRealValueError(f"{_where(what, list(zip(names, args, strict=True)))}: {problem}")


def check_float(value: Any, args: Sequence[float], describe: Describe) -> float:
    """Return ``value`` as a float if it is real and finite, else raise NonRealValueError."""
    if type(value) is float and value - value == 0.0:  # fast path: finite float
        return value
    if isinstance(value, complex):
        problem = f"the result {value} is complex (e.g. a negative number to a fractional power)"
    else:
        try:
            out = float(value)
        except OverflowError:  # an int too large for a float
            out = math.inf
        except TypeError:
            out = math.nan
        if math.isfinite(out):
            return out
        problem = f"the result is {out}"
    what, names = describe()
    raise NonRealValueError(f"{_where(what, list(zip(names, args, strict=True)))}: {problem}")


def describe(graph: Graph, i: int, what: str = "node ") -> Describe:
    """The error description of node ``i`` (built only when an error is reported)."""

    def run() -> tuple[str, list[str]]:
        eq = graph.equations[i]
        return f"{what}{eq.symbol} = {eq.definition}", [graph.symbols[p].name for p in eq.parents]

    return run


def _float_of(graph: Graph, i: int, fvals: Sequence[float | None]) -> float:
    """Node ``i``'s float from its parents', by the checked path (errors name the node)."""
    eq = graph.equations[i]
    assert eq.shape is not None
    args = [fvals[p] for p in eq.parents]
    how = describe(graph, i)
    return check_float(call_float(eq.shape.value_fn, args, how), args, how)  # type: ignore[arg-type]


def local_partial_values(graph: Graph, i: int, fvals: Sequence[float | None]) -> tuple[float, ...]:
    """Numeric local partials of node ``i`` w.r.t. its parents, at ``fvals``."""
    eq = graph.equations[i]
    assert eq.shape is not None
    args = [fvals[p] for p in eq.parents]
    how = describe(graph, i, "the local partials of ")
    out = call_float(eq.shape.partials_fn, args, how)  # type: ignore[arg-type]
    return tuple(check_float(v, args, how) for v in out)  # type: ignore[arg-type]


Write = Callable[[int, float], float]
"""A hook of :func:`forward`: given a node and its computed value, the value to store."""


def forward(
    graph: Graph,
    fvals: list[Any],
    nodes: Iterable[int],
    *,
    write: Write | None = None,
    strict: bool = True,
) -> list[Any]:
    """The forward sweep: compute ``fvals[i]`` for each defined node in ``nodes`` (ascending).

    Parents must already have values (inputs given, or earlier in ``nodes``).  With
    ``strict`` a complex, infinite or undefined result raises
    :class:`~symtrace.errors.NonRealValueError` naming the node; without it the value is
    NaN.  ``write(i, computed)`` returns what is stored (inputs included).
    """
    eqs = graph.equations
    for i in nodes:  # the hot loop: plain calls; the checked path only when needed
        eq = eqs[i]
        if eq.shape is None:
            if eq.definition is not None:  # a matrix equation
                fvals[i] = _matrix_of(graph, i, fvals, strict)
            if write is not None:
                fvals[i] = write(i, fvals[i])
            continue
        ps, fn = eq.parents, eq.shape.value_fn
        try:
            if len(ps) == 2:  # most nodes: spare building an argument list
                v = fn(fvals[ps[0]], fvals[ps[1]])
            elif len(ps) == 1:
                v = fn(fvals[ps[0]])
            else:
                v = fn(*[fvals[p] for p in ps])
        except (ArithmeticError, ValueError, TypeError):
            v = math.nan if not strict else _float_of(graph, i, fvals)
        if type(v) is not float or v - v != 0.0:  # an int, complex, inf or nan
            if strict:
                v = _float_of(graph, i, fvals)
            else:
                v = float(v) if isinstance(v, int | float) and math.isfinite(v) else math.nan
        fvals[i] = v if write is None else write(i, v)
    return fvals


def exact_values(
    graph: Graph, given: Mapping[int, Number], targets: Iterable[int]
) -> dict[int, sympy.Expr]:
    """Exact SymPy values of the targets and their ancestors, for the given inputs."""
    out: dict[int, sympy.Expr] = {}
    for i in sorted(graph.ancestors(targets)):
        eq = graph.equations[i]
        if eq.definition is None:
            out[i] = exact_number(given[i])  # callers check for missing values first
            continue
        if eq.kind == "matrix":
            out[i] = evaluate(eq.definition, lambda s: out[graph.index(s)], EXACT)
            continue
        v = eq.definition.xreplace({graph.symbols[p]: out[p] for p in eq.parents})
        if v.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo) or v.is_extended_real is False:
            raise NonRealValueError(
                f"node {eq.symbol} = {eq.definition} is {v} (not a real, finite number) at "
                + ", ".join(f"{graph.symbols[p]} = {out[p]}" for p in eq.parents)
            )
        out[i] = v
    return out


def expression_value(graph: Graph, expr: sympy.Expr, fvals: Sequence[float | None]) -> float:
    """The float of an expression in nodes whose values are in ``fvals``."""
    if has_matrix(expr):
        with np.errstate(all="ignore"):
            return evaluate(expr, lambda s: fvals[graph.index(s)])
    idx = sorted(graph.index(s) for s in expr.free_symbols)
    ps = placeholders(len(idx))
    local = expr.xreplace({graph.symbols[i]: p for i, p in zip(idx, ps, strict=True)})
    args = [fvals[i] for i in idx]

    def how() -> tuple[str, list[str]]:
        return f"the expression {expr}", [graph.symbols[i].name for i in idx]

    out = call_float(shape_of(local, len(idx)).value_fn, args, how)  # type: ignore[arg-type]
    return check_float(out, args, how)  # type: ignore[arg-type]


class ValueCache:
    """The numbers of one graph: the inputs' given values and every float computed so far.

    :meth:`set` forgets only what depends on a changed input; :meth:`floats` runs the
    forward sweep over what is missing.  Exact values are computed on request and kept
    until the next :meth:`set`.
    """

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.given: dict[int, Number] = {}
        self._floats: list[float | None] = []
        self._exact: dict[int, sympy.Expr] = {}

    def set(self, values: Iterable[tuple[int, Number | None]]) -> None:
        """Give inputs (by index) checked values; ``None`` removes one."""
        fvals = self._grow()
        changed = []
        for i, value in values:
            if value is None:
                self.given.pop(i, None)
            else:
                self.given[i] = value
            if value is None:
                fvals[i] = None
            elif isinstance(value, np.ndarray | sympy.MatrixBase):
                fvals[i] = as_float(value)
            else:
                fvals[i] = float(value)
            changed.append(i)
        self._exact.clear()
        consumers = self.graph.consumers
        stack = [c for i in changed for c in consumers[i]]
        while stack:  # forget downstream values (iterative)
            j = stack.pop()
            if fvals[j] is not None:
                fvals[j] = None
                stack.extend(consumers[j])

    def _grow(self) -> list[float | None]:
        fvals, n = self._floats, len(self.graph)
        if len(fvals) < n:
            fvals.extend([None] * (n - len(fvals)))
        return fvals

    def floats(self, targets: Iterable[int]) -> list[float | None]:
        """Compute (and cache) the float of every node the targets depend on; the list."""
        fvals, eqs = self._grow(), self.graph.equations
        need: list[int] = []
        stack = [i for i in set(targets) if fvals[i] is None]
        seen = set(stack)
        while stack:
            i = stack.pop()
            need.append(i)
            for p in eqs[i].parents:
                if fvals[p] is None and p not in seen:
                    seen.add(p)
                    stack.append(p)
        missing = sorted(i for i in need if eqs[i].definition is None)
        if missing:
            names = tuple(self.graph.symbols[i].name for i in missing)
            raise MissingValueError(
                f"no value for input(s) {', '.join(names)}; give them with "
                f"t.set({', '.join(n + '=...' for n in names)})",
                names,
            )
        need.sort()
        return forward(self.graph, fvals, need)

    def value_or_none(self, i: int) -> float | None:
        """Node ``i``'s float at the current inputs, or ``None`` when it has none (an
        input without a value, or a result that is not a real number)."""
        try:
            return self.floats([i])[i]
        except EvaluationError:
            return None

    def exact(self, targets: Iterable[int]) -> dict[int, sympy.Expr]:
        """Exact SymPy values of the targets and their ancestors (cached until ``set``)."""
        targets = list(targets)
        if any(i not in self._exact for i in targets):
            self.floats(targets)  # reports missing inputs and non-real values
            self._exact.update(exact_values(self.graph, self.given, targets))
        return self._exact
