"""Reading claims: a student's answer as a number, a written-precision number or an expression.

>>> from symtrace.examples import micrograd_lecture
>>> g = micrograd_lecture().graph
>>> read_claim(g, "dL/da", "0.73")
Claim(raw='0.73', value=0.73, expr=None, half_unit=0.005)
>>> read_claim(g, "dL/da", "b*f").expr, read_claim(g, "dL/da", "") is None
(b*f, True)

Strings are read by symtrace's safe parser, never evaluated; the rules are in the
:mod:`symtrace.check` docstring.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy

from ..errors import ExerciseError, NodeKeyError, NonRealValueError, ParseError
from ..evaluation import expression_value
from ..graph import Graph
from ..parsing import ParseLimits, parse_expression, parse_number

__all__ = ["ANSWER_LIMITS", "Claim", "read_claim"]

#: Parse limits for answer strings: smaller than the defaults, since answers are short and
#: symbolic equivalence costs time in the size of the expression.
ANSWER_LIMITS = ParseLimits(max_length=2_000, max_nodes=400, max_depth=50)


@dataclass(frozen=True)
class Claim:
    """One answer as read.

    ``raw`` is the answer as given; ``value`` its number at the trace's values (``None``
    when they are unknown, NaN where the expression is not real); ``expr`` the symbolic
    claim (``None`` for a number); ``half_unit`` the written precision of a numeric
    string (``"0.73"``: 0.005; ``None`` for exact numbers and floats).
    """

    raw: Any
    value: float | None
    expr: sympy.Expr | None
    half_unit: float | None


def read_claim(
    graph: Graph,
    key: str,
    raw: Any,
    *,
    written: bool = True,
    fvals: Sequence[float | None] | None = None,
    lineno: int | None = None,
) -> Claim | None:
    """The claim ``raw`` made for answer ``key``; ``None`` for a blank answer.

    ``written=False`` judges numeric strings like floats (no written precision);
    ``fvals`` (every node's float) gives symbolic claims their value; ``lineno`` is the
    claim's line in a file, for error messages.  Unreadable claims raise
    :class:`~symtrace.errors.ParseError` or :class:`~symtrace.errors.ExerciseError`.
    """
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ExerciseError(f"answer {key!r}: {raw!r} is not a number or an expression")
    if isinstance(raw, int | Fraction):
        return Claim(raw, _finite(float(raw), key), None, None)
    if isinstance(raw, float):
        return Claim(raw, _finite(raw, key), None, None)
    if isinstance(raw, str):
        text = _normalize(raw)
        if not text:
            return None
        number = _written_number(text, written)
        if number is not None:
            return Claim(raw, _finite(number[0], key), None, number[1])
        try:
            expr = parse_expression(text, _Names(graph), limits=ANSWER_LIMITS, lineno=lineno)
        except ParseError as exc:
            raise ParseError(
                f"answer {key!r}: {exc}", exc.text, exc.lineno, exc.col_offset, exc.unknown_name
            ) from None
    elif isinstance(raw, sympy.Basic):
        expr = raw
        if not isinstance(expr, sympy.Expr):
            raise ExerciseError(f"answer {key!r}: {raw!r} is not an expression")
        graph.check_symbols(expr, f"answer {key!r}")
    else:
        raise ExerciseError(
            f"answer {key!r}: expected a number, a numeric string or an expression, "
            f"got {type(raw).__name__} {raw!r}"
        )
    if not expr.free_symbols:
        if not (expr.is_extended_real and expr.is_finite):
            raise ExerciseError(f"answer {key!r}: {raw!r} is not a real, finite number")
        return Claim(raw, _finite(float(expr), key), None, None)
    value = None
    if fvals is not None:
        try:
            value = expression_value(graph, expr, fvals)
        except NonRealValueError:
            value = math.nan
    return Claim(raw, value, expr, None)


class _Names(Mapping[str, sympy.Expr]):
    """The graph's node names as a mapping, without copying them (an exercise with
    thousands of answers and nodes reads each answer in time independent of the nodes)."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    def __getitem__(self, name: str) -> sympy.Expr:
        if not isinstance(name, str) or not self.graph.has_name(name):
            raise NodeKeyError(f"no node named {name!r}")
        return self.graph.symbols[self.graph.index(name)]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.graph.has_name(name)

    def __iter__(self) -> Iterator[str]:
        return (s.name for s in self.graph.symbols)

    def __len__(self) -> int:
        return len(self.graph)


def _normalize(text: str) -> str:
    return text.replace("−", "-").replace("×", "*").replace("·", "*").strip()


def _written_number(text: str, written: bool) -> tuple[float, float | None] | None:
    """A numeric string's value and half a unit of its last digit; ``None`` if not a number.

    Integer strings (``"-2"``) are exact; so is every number when ``written`` is false.
    """
    try:
        value, half = parse_number(text, limits=ANSWER_LIMITS)
    except ParseError:
        return None
    exact = not written or not any(ch in text for ch in ".eE")
    return float(value), None if exact else float(half)


def _finite(x: float, key: str) -> float:
    if not math.isfinite(x):
        raise ExerciseError(f"answer {key!r}: the number is too large")
    return x
