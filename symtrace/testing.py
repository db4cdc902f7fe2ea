"""Gradient checking, shipped with the package and used by symtrace's own tests.

:func:`check_grads` compares, for every input, three independent computations of
``dy/dx``: the reverse sweep, the forward sweep, and central finite differences of the
trace's own forward evaluation.

>>> import sympy
>>> from symtrace import Trace
>>> t = Trace()
>>> x, y = t.inputs("x y", values=(0.3, 1.7))
>>> z = t.define("z", sympy.sin(x * y) + x / y)
>>> check_grads(t, z)
"""

from __future__ import annotations

import math
from typing import Any

from .trace import Trace

__all__ = ["check_grads", "finite_difference"]


def finite_difference(trace: Trace, y: Any, x: Any, *, eps: float = 1e-6) -> float:
    """Central difference of ``y`` w.r.t. input ``x``, Richardson-extrapolated.

    With ``h = eps * max(1, |x|)`` and ``D(h) = (y(x+h) - y(x-h)) / 2h`` it returns
    ``(4 D(h/2) - D(h)) / 3``, accurate to ``O(h**4)``.  ``x`` must be an input with a
    value; the trace's values are restored afterwards.
    """
    original = trace.input_values[trace[str(x)]]
    x0 = float(original)
    h = eps * max(1.0, abs(x0))

    def central(step: float) -> float:
        up = trace.set({x: x0 + step}).value(y)
        down = trace.set({x: x0 - step}).value(y)
        return float(up - down) / (2 * step)

    try:
        return (4 * central(h / 2) - central(h)) / 3
    finally:
        trace.set({x: original})


def check_grads(
    trace: Trace,
    y: Any,
    *,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    sweep_rtol: float = 1e-9,
) -> None:
    """Raise ``AssertionError`` unless reverse, forward and finite differences agree.

    Reverse and forward mode must agree to ``sweep_rtol`` (relative); both must agree
    with central finite differences to ``rtol`` (relative) or ``atol`` (absolute).
    """
    g = trace.grad(y)
    for x in trace.input_nodes:
        reverse = g.value(x)
        forward = trace.tangents(x).value(y)
        fd = finite_difference(trace, y, x, eps=eps)
        if not math.isclose(reverse, forward, rel_tol=sweep_rtol, abs_tol=1e-12):
            raise AssertionError(f"d{y}/d{x}: reverse {reverse!r} != forward {forward!r}")
        if not math.isclose(reverse, fd, rel_tol=rtol, abs_tol=atol):
            raise AssertionError(
                f"d{y}/d{x}: reverse {reverse!r} != finite difference {fd!r} "
                f"(rtol={rtol}, atol={atol})"
            )
