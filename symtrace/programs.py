"""Compile a trace with matrix nodes into one NumPy program (BLAS products, no loops).

The rule table of :mod:`symtrace.matrices` is run once over a *code* namespace
(:data:`CODE`): each operation returns the NumPy source that computes it instead of a
number, so the forward sweep and the one reverse loop
(:func:`symtrace.derivatives.reverse`, with a ``write`` hook that names each adjoint)
emit one straight-line function: ``z1 = (W1 @ x) + b1`` ... ``W1_bar = (z1_bar @ x.T)``.

>>> import symtrace as st
>>> t = st.Trace()
>>> W, x = t.input("W", [[1.0, 2.0]]), t.input("x", [[3.0], [4.0]])
>>> z = t.define("z", W @ x)
>>> L = t.define("L", st.sum(st.square(z)))
>>> f = t.compile(L, wrt=[W])
>>> value, (dW,) = f(W=[[1.0, 2.0]], x=[[3.0], [4.0]])
>>> value, dW.tolist()
(121.0, [[66.0, 88.0]])
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter

from .derivatives import reverse
from .errors import MissingValueError, ShapeError, UsageError
from .graph import Graph
from .matrices import FUNCTIONS, NUMERIC, evaluate, is_matrix, pullback

__all__ = ["CODE", "Code", "MatrixProgram", "compile_matrix_trace"]


class Code(str):
    """NumPy source of one value, with its shape (``None`` for a scalar)."""

    shape: Any

    def __new__(cls, text: str, shape: Any = None) -> Code:
        obj = super().__new__(cls, text)
        obj.shape = shape
        return obj

    def _bin(self, op: str, other: Any, swap: bool = False) -> Code:
        other_shape = getattr(other, "shape", None)
        a, b = (other, self) if swap else (self, other)
        return Code(f"({a} {op} {b})", self.shape if self.shape is not None else other_shape)

    def __mul__(self, other: Any) -> Code:
        return self._bin("*", other)

    def __rmul__(self, other: Any) -> Code:
        return self._bin("*", other, swap=True)

    def __add__(self, other: Any) -> Code:
        return self._bin("+", other)

    def __radd__(self, other: Any) -> Code:
        return self._bin("+", other, swap=True)

    def __sub__(self, other: Any) -> Code:
        return self._bin("-", other)

    def __rsub__(self, other: Any) -> Code:
        return self._bin("-", other, swap=True)

    def __pow__(self, other: Any) -> Code:
        return self._bin("**", other)

    def __neg__(self) -> Code:
        return Code(f"(-{self})", self.shape)


def _c(text: str, shape: Any) -> Code:
    return Code(text, shape)


class _CodeOps:
    """The ops namespace whose values are NumPy source (:class:`Code`).

    ``bind(code)`` (when the namespace has ``lines``) writes ``code`` to a temporary,
    so an adjoint used by several arguments is computed once.
    """

    def __init__(self, lines: list[str] | None = None) -> None:
        self.lines = lines
        self.count = itertools.count()

    def bind(self, code: Any) -> Any:
        if self.lines is None or not isinstance(code, Code) or str(code).isidentifier():
            return code
        name = f"t{next(self.count)}"
        self.lines.append(f"    {name} = {code}")
        return Code(name, code.shape)

    @staticmethod
    def matmul(a: Any, b: Any) -> Code:
        return _c(f"({a} @ {b})", (a.shape[0], b.shape[1]))

    @staticmethod
    def T(a: Any) -> Code:
        return _c(f"{a}.T", (a.shape[1], a.shape[0]))

    @staticmethod
    def had(a: Any, b: Any) -> Code:
        return _c(f"({a} * {b})", getattr(a, "shape", None) or getattr(b, "shape", None))

    @staticmethod
    def scale(s: Any, a: Any) -> Any:
        if isinstance(s, int | float) and s == 1:
            return a
        return _c(f"({s} * {a})", getattr(a, "shape", None))

    @staticmethod
    def add(a: Any, b: Any) -> Code:
        return _c(f"({a} + {b})", getattr(a, "shape", None) or getattr(b, "shape", None))

    @staticmethod
    def sub(a: Any, b: Any) -> Code:
        return _c(f"({a} - {b})", getattr(a, "shape", None) or getattr(b, "shape", None))

    @staticmethod
    def one_minus(a: Any) -> Code:
        return _c(f"(1.0 - {a})", a.shape)

    @staticmethod
    def div(a: Any, b: Any) -> Code:
        return _c(f"({a} / {b})", a.shape)

    @staticmethod
    def sum(a: Any) -> Code:
        return _c(f"float({a}.sum())", None)

    @staticmethod
    def ones(r: int, c: int) -> Code:
        return _c(f"np.ones(({r}, {c}))", (r, c))

    @staticmethod
    def eye(n: int) -> Code:
        return _c(f"np.eye({n})", (n, n))

    @staticmethod
    def trace(a: Any) -> Code:
        return _c(f"float(np.trace({a}))", None)

    @staticmethod
    def sum_axis(a: Any, axis: int) -> Code:
        r, c = a.shape
        return _c(f"{a}.sum(axis={axis}, keepdims=True)", (1, c) if axis == 0 else (r, 1))

    @staticmethod
    def softmax(z: Any) -> Code:
        return _c(f"softmax({z})", z.shape)

    @staticmethod
    def log_softmax(z: Any) -> Code:
        return _c(f"log_softmax({z})", z.shape)

    @staticmethod
    def apply(name: str, z: Any) -> Code:
        return _c(f"f_{name}({z})", z.shape)

    @staticmethod
    def is_zero(a: Any) -> bool:
        return False

    @staticmethod
    def scalar(expr: Any, lookup: Any) -> Any:
        if not expr.free_symbols:
            return float(expr)
        names = {s: sympy.Symbol(str(lookup(s))) for s in expr.free_symbols}
        return Code(f"({_PRINTER.doprint(expr.xreplace(names))})", None)


CODE = _CodeOps()
_PRINTER = NumPyPrinter({"fully_qualified_modules": False})


def _var(graph: Graph, i: int) -> str:
    return f"v{i}_{graph.symbols[i].name}"


class MatrixProgram:
    """A compiled value-and-gradient function of a trace with matrix nodes.

    ``f(**values)`` (or positional values in the order of :attr:`inputs`) returns
    ``(value, [gradient per wrt node])``: a float and float64 arrays shaped like the
    nodes.  :attr:`source` is the generated NumPy program.
    """

    def __init__(self, source: str, inputs: list[str], wrt: list[str]) -> None:
        self.source = source
        self.inputs = inputs
        self.wrt = wrt
        namespace: dict[str, Any] = {"np": np, "softmax": NUMERIC.softmax}
        namespace["log_softmax"] = NUMERIC.log_softmax
        namespace.update({f"f_{n}": f.numeric for n, f in FUNCTIONS.items()})
        exec(compile(source, "<symtrace matrix program>", "exec"), namespace)  # noqa: S102
        self._fn = namespace["program"]

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[float, list[Any]]:
        if args and kwargs:
            raise UsageError("give the input values positionally or by name, not both")
        if args:
            if len(args) != len(self.inputs):
                raise UsageError(f"expected {len(self.inputs)} values: {', '.join(self.inputs)}")
            kwargs = dict(zip(self.inputs, args, strict=True))
        missing = [n for n in self.inputs if n not in kwargs]
        if missing:
            raise MissingValueError(f"no value for input(s) {', '.join(missing)}", tuple(missing))
        vals = [
            np.asarray(kwargs[n], dtype=np.float64) if _is_array(kwargs[n]) else float(kwargs[n])
            for n in self.inputs
        ]
        value, grads = self._fn(*vals)
        return value, list(grads)

    def __repr__(self) -> str:
        return (
            f"<MatrixProgram of {len(self.inputs)} inputs, gradients w.r.t. {', '.join(self.wrt)}>"
        )


def _is_array(v: Any) -> bool:
    return isinstance(v, np.ndarray | list | tuple) or is_matrix(v)


def compile_matrix_trace(graph: Graph, output: int, wrt: Sequence[int]) -> MatrixProgram:
    """One NumPy program for the value of scalar node ``output`` and its gradients."""
    eqs = graph.equations
    if eqs[output].dims is not None:
        raise ShapeError(f"{graph.symbols[output]} is a matrix; compile a scalar output")
    need = sorted(graph.ancestors([output]))
    inputs = [i for i in need if eqs[i].is_input]
    var = {i: _var(graph, i) for i in need}

    def code_of(sym: Any) -> Code:
        i = graph.find(sym)
        assert i is not None
        return Code(var[i], eqs[i].dims)

    def scalar_code(expr: Any) -> Code:
        names = {s: sympy.Symbol(var[graph.find(s)]) for s in expr.free_symbols}  # type: ignore[index]
        return Code(f"({_PRINTER.doprint(expr.xreplace(names))})", None)

    lines = [f"def program({', '.join(var[i] for i in inputs)}):"]
    ops = _CodeOps(lines)
    for i in need:
        eq = eqs[i]
        if eq.is_input:
            continue
        if eq.kind == "scalar":
            code = scalar_code(eq.definition)
        else:
            code = evaluate(eq.definition, code_of, CODE)
        lines.append(f"    {var[i]} = {code}")
    counter = itertools.count()

    def write(i: int, a: Any) -> Code:
        name = f"{var[i]}_bar"
        lines.append(f"    {name} = {a}")
        next(counter)
        return Code(name, eqs[i].dims)

    def local(i: int) -> list[Code]:
        return [scalar_code(d) for d in graph.local_partials(i)]

    def pull(i: int, a: Any) -> list[Any]:
        eq = eqs[i]
        got = pullback(eq.definition, a, out=Code(var[i], eq.dims), lookup=code_of, ops=ops)
        return [got.get(graph.symbols[p]) for p in eq.parents]

    def total(terms: list[Any]) -> Code:
        if len(terms) == 1:
            return Code(str(terms[0]), getattr(terms[0], "shape", None))
        return Code("(" + " + ".join(str(t) for t in terms) + ")", getattr(terms[0], "shape", None))

    within = graph.descendants(wrt)  # only the nodes between wrt and the output
    adj = reverse(
        graph,
        {output: Code("1.0")},
        local=local,
        total=total,
        write=write,
        pullback=pull,
        within=within,
    )
    outs = []
    for w in wrt:
        dims = eqs[w].dims
        if w in adj:
            outs.append(f"{var[w]}_bar")
        else:
            outs.append(f"np.zeros({dims!r})" if dims is not None else "0.0")
    lines.append(f"    return {var[output]}, [{', '.join(outs)}]")
    return MatrixProgram(
        "\n".join(lines) + "\n",
        [graph.symbols[i].name for i in inputs],
        [graph.symbols[w].name for w in wrt],
    )
