"""The example traces from the seed texts, as one corpus.

``symtrace demo``, the doctests of the lower modules and the test suite all build their
examples here, so every example is written once.  :func:`micrograd_lecture` returns the
Trace of Karpathy's lecture (seed 000); each ``seedNNN_...`` builder returns
``(trace, output)`` with the input values set, and :data:`EXAMPLES` maps the builders'
names to the builders.

>>> from symtrace.examples import EXAMPLES, micrograd_lecture
>>> micrograd_lecture().value("L")
-8.0
>>> t, y = EXAMPLES["seed003_tensor"]()
>>> y, t.definition(y)
(z, num/den)

This module is a front end (it imports only :class:`symtrace.trace.Trace`), so any
module may use it in a doctest without an import cycle at import time.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy

from .trace import Trace

__all__ = [
    "EXAMPLES",
    "micrograd_lecture",
    "seed000_micrograd",
    "seed001_log",
    "seed001_poly",
    "seed002_function_docstring",
    "seed002_graph",
    "seed003_tensor",
]


def micrograd_lecture() -> Trace:
    """Seed 000, Karpathy's micrograd lecture: ``L = (a*b + c) * f`` (output ``L``).

    ``e = a*b``, ``d = e + c``, ``L = d*f`` at ``a, b, c, f = 2, -3, 10, -2`` (integer
    values, as in the lecture).  This is the example ``symtrace demo`` prints.

    >>> t = micrograd_lecture()
    >>> [str(n) for n in t.nodes]
    ['a', 'b', 'c', 'f', 'e', 'd', 'L']
    >>> t.value("L"), t.diff("L", "d"), t.grad("L").value("a")
    (-8.0, f, 6.0)
    """
    t = Trace()
    a, b, c, f = t.inputs("a b c f", values=(2, -3, 10, -2))
    e = t.define("e", a * b)
    d = t.define("d", e + c)
    t.define("L", d * f)
    return t


def seed000_micrograd() -> tuple[Trace, sympy.Symbol]:
    """Seed 000 as ``(trace, L)``, with float input values ``2.0, -3.0, 10.0, -2.0``.

    >>> t, L = seed000_micrograd()
    >>> t.diff(L, "a"), t.grad(L).value("a")
    (b*f, 6.0)
    """
    t = Trace()
    a, b, c, f = t.inputs("a b c f", values=(2.0, -3.0, 10.0, -2.0))
    e = t.define("e", a * b)
    d = t.define("d", e + c)
    return t, t.define("L", d * f)


def seed001_poly() -> tuple[Trace, sympy.Symbol]:
    """Seed 001: ``f(a, b, c) = 2abc(a^2 + b^2 + c^2)`` at ``(1.5, -0.5, 2)``.

    >>> t, f = seed001_poly()
    >>> t.diff(f, "s"), t.value(f)
    (p, -19.5)
    """
    t = Trace()
    a, b, c = t.inputs("a b c", values=(1.5, -0.5, 2.0))
    s = t.define("s", a**2 + b**2 + c**2)
    p = t.define("p", 2 * a * b * c)
    return t, t.define("f", p * s)


def seed001_log() -> tuple[Trace, sympy.Symbol]:
    """Seed 001: ``log(x1*x2*(x1 + x2)) / (x1 - x2)**2`` at ``(2, 10)``, in seven steps.

    >>> t, t7 = seed001_log()
    >>> [str(n) for n in t.nodes]
    ['x1', 'x2', 't1', 't2', 't3', 't4', 't5', 't6', 't7']
    >>> t.definition(t7)
    t4/t6
    """
    t = Trace()
    x1, x2 = t.inputs("x1 x2", values=(2, 10))
    t1 = t.define("t1", x1 * x2)
    t2 = t.define("t2", x1 + x2)
    t3 = t.define("t3", t1 * t2)
    t4 = t.define("t4", sympy.log(t3))
    t5 = t.define("t5", x1 - x2)
    t6 = t.define("t6", t5**2)
    return t, t.define("t7", t4 / t6)


def seed002_graph() -> tuple[Trace, sympy.Symbol]:
    """Seed 002, section 2.3: ``f1(f2(x1, f2(x2, x1)), f3(x1))`` at ``(2, 3)``.

    >>> t, f = seed002_graph()
    >>> round(t.grad(f).value("x_1"), 6)
    18260.762731
    """
    t = Trace()
    x1, x2 = t.inputs("x_1 x_2", values=(2, 3))
    inner = t.define("u", x2**x1)  # f2(x2, x1)
    outer = t.define("v", x1**inner)  # f2(x1, f2(x2, x1))
    log = t.define("w", sympy.log(x1))  # f3(x1)
    return t, t.define("f", sympy.sin(sympy.pi * outer) + sympy.cos(sympy.pi * log))


def seed002_function_docstring() -> tuple[Trace, sympy.Symbol]:
    """Seed 002's appendix docstring: ``f1(f2(x1, x2), f3(x1, x2))`` at ``(2, 3)``.

    >>> t, f = seed002_function_docstring()
    >>> t.definition(f), round(t.grad(f).value("x2"), 6)
    (u*v, -0.084699)
    """
    t = Trace()
    x1, x2 = t.inputs("x1 x2", values=(2, 3))
    u = t.define("u", sympy.cos(sympy.pi * x1) / sympy.sin(x1))  # f2(x, y), y unused
    v = t.define("v", sympy.log(x1) / x2)  # f3
    return t, t.define("f", u * v)  # f1(x, y) = x*y


def seed003_tensor() -> tuple[Trace, sympy.Symbol]:
    """Seed 003: ``z = (12 - x*exp(y)) / (45 + x*y*exp(-x))`` at ``(3, 5)``.

    >>> t, z = seed003_tensor()
    >>> round(t.grad(z).value("x"), 6), round(t.grad(z).value("y"), 6)
    (-3.347298, -9.70177)
    """
    t = Trace()
    x, y = t.inputs("x y", values=(3, 5))
    num = t.define("num", 12 - x * sympy.exp(y))
    den = t.define("den", 45 + x * y * sympy.exp(-x))
    return t, t.define("z", num / den)


EXAMPLES: dict[str, Callable[[], tuple[Trace, sympy.Symbol]]] = {
    f.__name__: f
    for f in (
        seed000_micrograd,
        seed001_poly,
        seed001_log,
        seed002_graph,
        seed002_function_docstring,
        seed003_tensor,
    )
}
"""Every ``(trace, output)`` builder above, by name, in the seed texts' order."""
