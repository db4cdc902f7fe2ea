"""The seed texts' examples, as one corpus that several test modules use.

Each builder returns ``(trace, output)`` with input values set; ``EXPECTED`` holds the
numbers the seed texts print (name of input -> dy/dx).
"""

from __future__ import annotations

from collections.abc import Callable

import sympy

from symtrace import Trace


def seed000_micrograd() -> tuple[Trace, sympy.Symbol]:
    """Seed 000: Karpathy's lecture example, L = (a*b + c) * f."""
    t = Trace()
    a, b, c, f = t.inputs("a b c f", values=(2.0, -3.0, 10.0, -2.0))
    e = t.define("e", a * b)
    d = t.define("d", e + c)
    return t, t.define("L", d * f)


def seed001_poly() -> tuple[Trace, sympy.Symbol]:
    """Seed 001: f(a, b, c) = 2abc(a^2 + b^2 + c^2)."""
    t = Trace()
    a, b, c = t.inputs("a b c", values=(1.5, -0.5, 2.0))
    s = t.define("s", a**2 + b**2 + c**2)
    p = t.define("p", 2 * a * b * c)
    return t, t.define("f", p * s)


def seed001_log() -> tuple[Trace, sympy.Symbol]:
    """Seed 001: log(x1*x2*(x1 + x2)) / (x1 - x2)**2 at (2, 10)."""
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
    """Seed 002, section 2.3: f1(f2(x1, f2(x2, x1)), f3(x1)) at (2, 3)."""
    t = Trace()
    x1, x2 = t.inputs("x_1 x_2", values=(2, 3))
    inner = t.define("u", x2**x1)  # f2(x2, x1)
    outer = t.define("v", x1**inner)  # f2(x1, f2(x2, x1))
    log = t.define("w", sympy.log(x1))  # f3(x1)
    return t, t.define("f", sympy.sin(sympy.pi * outer) + sympy.cos(sympy.pi * log))


def seed002_function_docstring() -> tuple[Trace, sympy.Symbol]:
    """Seed 002 appendix docstring: f1(f2(x1, x2), f3(x1, x2)) at (2, 3)."""
    t = Trace()
    x1, x2 = t.inputs("x1 x2", values=(2, 3))
    u = t.define("u", sympy.cos(sympy.pi * x1) / sympy.sin(x1))  # f2(x, y), y unused
    v = t.define("v", sympy.log(x1) / x2)  # f3
    return t, t.define("f", u * v)  # f1(x, y) = x*y


def seed003_tensor() -> tuple[Trace, sympy.Symbol]:
    """Seed 003: z = (12 - x*exp(y)) / (45 + x*y*exp(-x)) at (3, 5)."""
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

# The numbers the seed texts print (relative tolerance 1e-12 unless the text rounds).
EXPECTED: dict[str, dict[str, float]] = {
    "seed000_micrograd": {"a": 6.0, "b": -4.0, "c": -2.0, "f": 4.0, "e": -2.0, "d": -2.0},
    "seed002_graph": {"x_1": 18260.7627311899, "x_2": 6689.544469},
    "seed002_function_docstring": {"x1": 0.299580760323820, "x2": -0.0846987477622259},
    "seed003_tensor": {"x": -3.34729777301069, "y": -9.70176956641438},
}
