"""The entrywise view of a matrix trace: one scalar node per entry.

``t.entrywise()`` writes every matrix node out as scalar nodes ``W_i_j`` (1-based; a
vector's entries ``x_i``, a 1×1 matrix's its own name), each defined by its entry of
the matrix expression (the sums over ``i`` and ``j`` written out).  It is a teaching
view, and the oracle of the rule table of :mod:`symtrace.matrices`: the scalar
engine's gradients must equal the matrix gradients entry by entry.

>>> import symtrace as st
>>> t = st.Trace()
>>> W, x = t.input("W", [[1, 2]]), t.input("x", [[3], [4]])
>>> z = t.define("z", W @ x)
>>> e = t.entrywise()
>>> e.definition("z"), e.grad("z").value("W_2")
(W_1*x_1 + W_2*x_2, 4.0)
"""

from __future__ import annotations

from typing import Any

import sympy

from .evaluation import ValueCache
from .functions import relu, sigmoid
from .graph import Builder, Graph
from .matrices import ExactOps, evaluate

ENTRY_OPS = ExactOps({"sigmoid": sigmoid, "relu": relu})
"""Exact matrix ops writing symtrace's own ``sigmoid``/``relu`` into the entries."""

__all__ = ["entry_names", "entrywise"]


def entry_names(name: str, dims: tuple[int, int]) -> list[list[str]]:
    """The scalar node names of a matrix node's entries, row by row.

    >>> entry_names("W", (2, 2)), entry_names("x", (2, 1)), entry_names("s", (1, 1))
    ([['W_1_1', 'W_1_2'], ['W_2_1', 'W_2_2']], [['x_1'], ['x_2']], [['s']])
    """
    r, c = dims
    if r == c == 1:
        return [[name]]
    if c == 1:
        return [[f"{name}_{i + 1}"] for i in range(r)]
    if r == 1:
        return [[f"{name}_{j + 1}" for j in range(c)]]
    return [[f"{name}_{i + 1}_{j + 1}" for j in range(c)] for i in range(r)]


def entrywise(graph: Graph, cache: ValueCache, out: Builder) -> dict[Any, Any]:
    """Fill the empty trace ``out`` with the entrywise equations of ``graph``.

    Returns each original node's entrywise form: a SymPy ``Matrix`` of ``out``'s
    Symbols for a matrix node, the Symbol for a scalar node.
    """
    form: dict[Any, Any] = {}
    for eq in graph.equations:
        dims = eq.dims
        if eq.is_input:
            given = cache.given.get(eq.index)
            if dims is None:
                (sym,) = out.inputs([eq.name], None if given is None else [given])
                form[eq.symbol] = sym
                continue
            names = entry_names(eq.name, dims)
            flat = [n for row in names for n in row]
            vals = None
            if given is not None:
                rows = given.tolist()  # type: ignore[union-attr]
                vals = [v for row in rows for v in row]
            syms = out.inputs(flat, vals)
            form[eq.symbol] = sympy.Matrix(dims[0], dims[1], list(syms))
            continue
        assert eq.definition is not None
        if eq.kind == "scalar":
            rhs = eq.definition.xreplace({s: form[s] for s in eq.definition.free_symbols})
            form[eq.symbol] = out.define(eq.name, rhs)
            continue
        value = evaluate(eq.definition, form.__getitem__, ENTRY_OPS)
        if dims is None:
            form[eq.symbol] = out.define(eq.name, sympy.sympify(value, strict=True))
            continue
        names = entry_names(eq.name, dims)
        entries = [
            out.define(names[i][j], value[i, j]) for i in range(dims[0]) for j in range(dims[1])
        ]
        form[eq.symbol] = sympy.Matrix(dims[0], dims[1], entries)
    return form
