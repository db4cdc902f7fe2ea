"""Hypothesis strategies: random traces (DAGs with reuse) over real-safe operations."""

from __future__ import annotations

from collections.abc import Callable

import sympy
from hypothesis import strategies as st

from symtrace import Trace

Op = Callable[..., sympy.Expr]

# Each operation is real and finite for every real argument, so any random graph can be
# evaluated: log and division get a positive argument, powers are integer.
UNARY: dict[str, Op] = {
    "neg": lambda u: -u,
    "exp": lambda u: sympy.exp(sympy.tanh(u)),
    "log": lambda u: sympy.log(1 + u**2),
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tanh": sympy.tanh,
    "square": lambda u: u**2,
    "cube": lambda u: u**3 / 4,
}
BINARY: dict[str, Op] = {
    "add": lambda u, v: u + v,
    "sub": lambda u, v: u - v,
    "mul": lambda u, v: u * v,
    "div": lambda u, v: u / (1 + v**2),
    "pow": lambda u, v: (1 + u**2) ** sympy.tanh(v),
}


@st.composite
def traces(draw: st.DrawFn, max_inputs: int = 3, max_nodes: int = 7) -> tuple[Trace, sympy.Symbol]:
    """A trace whose last node is the output; nodes reuse earlier ones freely."""
    t = Trace()
    n_inputs = draw(st.integers(1, max_inputs))
    values = draw(
        st.lists(st.floats(-1.5, 1.5, allow_nan=False), min_size=n_inputs, max_size=n_inputs)
    )
    nodes = list(t.inputs([f"x{i}" for i in range(n_inputs)], values=values))
    for k in range(draw(st.integers(1, max_nodes))):
        if draw(st.booleans()):
            op = UNARY[draw(st.sampled_from(sorted(UNARY)))]
            expr = op(draw(st.sampled_from(nodes)))
        else:
            op = BINARY[draw(st.sampled_from(sorted(BINARY)))]
            expr = op(draw(st.sampled_from(nodes)), draw(st.sampled_from(nodes)))
        if expr.is_number:  # e.g. u - u: keep the graph connected
            expr = expr + nodes[-1]
        nodes.append(t.define(f"v{k}", expr))
    return t, nodes[-1]
