"""The seed texts' examples for the test modules, and the numbers the seed texts print.

The builders live in :mod:`symtrace.examples` (one corpus for the docs, ``symtrace demo``
and the tests); each returns ``(trace, output)`` with input values set.  ``EXPECTED``
holds the numbers the seed texts print (name of input -> dy/dx).
"""

from __future__ import annotations

from symtrace.examples import (
    EXAMPLES,
    micrograd_lecture,
    seed000_micrograd,
    seed001_log,
    seed001_poly,
    seed002_function_docstring,
    seed002_graph,
    seed003_tensor,
)

__all__ = [
    "EXAMPLES",
    "EXPECTED",
    "micrograd_lecture",
    "seed000_micrograd",
    "seed001_log",
    "seed001_poly",
    "seed002_function_docstring",
    "seed002_graph",
    "seed003_tensor",
]

# The numbers the seed texts print (relative tolerance 1e-12 unless the text rounds).
EXPECTED: dict[str, dict[str, float]] = {
    "seed000_micrograd": {"a": 6.0, "b": -4.0, "c": -2.0, "f": 4.0, "e": -2.0, "d": -2.0},
    "seed002_graph": {"x_1": 18260.7627311899, "x_2": 6689.544469},
    "seed002_function_docstring": {"x1": 0.299580760323820, "x2": -0.0846987477622259},
    "seed003_tensor": {"x": -3.34729777301069, "y": -9.70176956641438},
}
