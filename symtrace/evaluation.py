"""Numbers: checking input values and evaluating one node, as a float or exactly.

The forward sweep itself lives in :class:`~symtrace.trace.Trace` (it owns the value
cache); this module holds the per-node work and turns Python's arithmetic errors into
:class:`~symtrace.errors.NonRealValueError` messages that name the node.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any, TypeAlias

import sympy

from .errors import InvalidValueError, NonRealValueError

__all__ = ["Number", "call_float", "check_float", "check_input_value", "exact_number"]

Number: TypeAlias = int | float | Fraction | sympy.Expr


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
    if isinstance(value, sympy.Basic):
        if not (value.is_number and value.is_extended_real and value.is_finite):
            raise InvalidValueError(
                f"value for input {name!r} must be a real, finite number, got {value}"
            )
        return value
    if not math.isfinite(float(value)):
        raise InvalidValueError(f"value for input {name!r} must be finite, got {value!r}")
    if isinstance(value, int | float | Fraction):
        return value
    return float(value)


def exact_number(value: Number) -> sympy.Expr:
    """The SymPy number for a checked input value (floats become ``Float``)."""
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
        out = float(value)
        if math.isfinite(out):
            return out
        problem = f"the result is {out}"
    what, names = describe()
    raise NonRealValueError(f"{_where(what, list(zip(names, args, strict=True)))}: {problem}")
