"""The Trace: an ordered list of single-assignment equations over named Symbols.

Every front end (``Trace.input``/``define``, :class:`~symtrace.Value`,
:meth:`Trace.from_expr`, exercise files) builds one; every interpreter (evaluation,
reverse and forward sweeps, printing, checking, compiling) reads one.  The trace is
validated at each addition and holds no derivative results: those are returned as
immutable values (:class:`~symtrace.Gradient`, :class:`~symtrace.Tangents`, ...).

>>> t = Trace()
>>> a, b, c, f = t.inputs("a b c f", values=(2, -3, 10, -2))
>>> e = t.define("e", a * b)
>>> d = t.define("d", e + c)
>>> L = t.define("L", d * f)
>>> t.diff(L, d)
f
>>> t.diff(L, a), t.diff(L, a, expand=True)
(b*f, b*f)
>>> t.value(L)
-8.0
>>> t.grad(L).value(a)
6.0
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import sympy

from . import derivatives
from .blocks import Block
from .check import Report, check
from .check.matrix import MatrixReport, check_matrix
from .compile import CompiledFunction, compile_trace
from .decompose import from_expr
from .derivatives import Gradient, Paths, Tangents
from .display import Renderable
from .dot import to_dot
from .entrywise import entrywise
from .errors import DuplicateNameError, ShapeError, TraceError, UsageError
from .evaluation import Number, ValueCache, check_input_value, expression_value
from .graph import Graph, NodeLike
from .handforms import HandNames, hand_local, hand_names
from .html import Explorer, explore, to_html
from .matrices import EXACT, evaluate, has_matrix, matrix_value
from .nodes import NodeSymbol
from .printing import Derivation, Table, derivation, render_graph, table
from .programs import MatrixProgram, compile_matrix_trace

__all__ = ["Trace"]


class Trace(Renderable):
    """An ordered list of equations ``name = expression`` over registered Symbols.

    Inputs are created with :meth:`input`/:meth:`inputs`, intermediate nodes with
    :meth:`define`; each returns a real SymPy Symbol owned by this trace.  Anywhere a
    node is expected, its name (``"d"``) works too.

    ``t.graph`` (:class:`~symtrace.graph.Graph`) and ``t.cache``
    (:class:`~symtrace.evaluation.ValueCache`) are the internal API the interpreters
    and views use (see :doc:`/how-it-works`).

    >>> t = Trace()
    >>> x = t.input("x", 3)
    >>> y = t.define("y", x**2)
    >>> t.nodes
    (x, y)
    >>> t.diff(y, x), t.value(t.diff(y, x))
    (2*x, 6.0)
    """

    def __init__(self) -> None:
        self.graph = Graph()
        self.cache = ValueCache(self.graph)
        self._hand_names = HandNames()
        self._hand_seen = 0  # equations read into _hand_names so far

    # ------------------------------------------------------------------ building

    def input(self, name: str, value: Any = None, shape: tuple[int, int] | None = None) -> Any:
        """Add an input node named ``name`` (optionally with a value); return its Symbol.

        A matrix value (nested lists, a NumPy array or a SymPy Matrix; a flat list is a
        column vector) or ``shape=(rows, cols)`` makes a matrix input, a
        :class:`~symtrace.matrices.MatrixNode`.

        >>> t = Trace()
        >>> t.input("x_1", 2.5)
        x_1
        >>> W = t.input("W", [[1, 2, 3], [4, 5, 6]])
        >>> W.shape, t.input("b", shape=(2, 1)).shape
        ((2, 3), (2, 1))
        """
        checked = None  # a matrix value, converted and checked once
        if shape is None and _is_matrix_value(value):
            checked = matrix_value(name, value, None)
            shape = checked.shape
        if shape is not None:
            shape = _check_shape(name, shape)
        elif value is not None:  # a bad value adds no node
            check_input_value(str(name), value)
        eq = self.graph.add(name, dims=shape)
        if checked is not None:
            self.cache.set([(eq.index, checked)])
        elif value is not None:
            self.set({eq.symbol: value})
        return eq.symbol

    def inputs(
        self, names: str | Iterable[str], values: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> tuple[NodeSymbol, ...]:
        """Add several inputs; ``names`` is ``"a b c"`` (spaces or commas) or an iterable.

        ``values`` is a sequence in the same order, a mapping from name to value, or
        ``None`` for purely symbolic work.  Always returns a tuple.

        >>> t = Trace()
        >>> t.inputs("a, b", values={"b": 1})
        (a, b)
        >>> t.value("b")
        1.0
        """
        if isinstance(names, str):
            names = names.replace(",", " ").split()
        names = list(names)
        if isinstance(values, Mapping):
            unknown = sorted(set(map(str, values)) - set(names))
            if unknown:
                raise TraceError(f"values given for {unknown}, which are not among {names}")
            vals = [values.get(n) for n in names]
        elif values is None:
            vals = [None] * len(names)
        else:
            vals = list(values)
            if len(vals) != len(names):
                raise TraceError(
                    f"{len(names)} input names ({' '.join(names)}) but {len(vals)} values"
                )
        # Validate (and NFKC-normalise) every name before adding any.
        names = [self.graph.check_name(n) for n in names]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise DuplicateNameError(f"input name {dup!r} is given twice")
        return tuple(self.input(n, v) for n, v in zip(names, vals, strict=True))

    def define(self, name: str, expr: Any) -> NodeSymbol:
        """Add the node ``name = expr``; return its Symbol.

        ``expr`` is a SymPy expression in this trace's nodes, a number, or a string,
        which is read by symtrace's safe parser (:mod:`symtrace.parsing`), never
        evaluated.

        >>> t = Trace()
        >>> a, b = t.inputs("a b")
        >>> t.define("e", a * b)
        e
        >>> t.define("g", "e + 1")
        g
        >>> t.definition("g")
        e + 1
        """
        name = self.graph.check_name(name)
        rhs = self.graph.as_expr(expr, f"definition of {name!r}")
        return self.graph.add(name, rhs).symbol

    def set(self, values: Mapping[NodeLike, Any] | None = None, /, **kwargs: Any) -> Trace:
        """Give inputs new values (``None`` removes one); downstream values re-evaluate.

        Only the nodes that depend on a changed input are recomputed, lazily.
        Returns the trace, so calls chain.

        >>> t = Trace()
        >>> x = t.input("x", 1)
        >>> y = t.define("y", 3 * x)
        >>> t.set(x=2).value(y)
        6.0
        """
        items = list((values or {}).items()) + list(kwargs.items())
        checked: list[tuple[int, Number | None]] = []
        for key, value in items:
            eq = self.graph.equations[self.graph.index(key)]
            if not eq.is_input:
                raise TraceError(
                    f"{eq.symbol} is defined as {eq.definition}; only inputs take values "
                    f"(inputs: {', '.join(str(s) for s in self.input_nodes)})"
                )
            if value is None:
                checked.append((eq.index, None))
            elif eq.kind == "matrix":
                checked.append((eq.index, matrix_value(eq.name, value, eq.dims)))
            else:
                checked.append((eq.index, check_input_value(str(key), value)))
        self.cache.set(checked)
        return self

    # ----------------------------------------------------------------- queries

    def __getitem__(self, name: str) -> NodeSymbol:
        """The Symbol of the node called ``name``."""
        return self.graph.symbols[self.graph.index(name)]

    def __contains__(self, node: object) -> bool:
        if isinstance(node, str):
            return self.graph.has_name(node)
        return self.graph.find(node) is not None

    def __len__(self) -> int:
        return len(self.graph)

    def __iter__(self) -> Iterator[NodeSymbol]:
        return iter(self.graph.symbols)

    @property
    def nodes(self) -> tuple[NodeSymbol, ...]:
        """Every node, inputs included, in evaluation order."""
        return tuple(self.graph.symbols)

    @property
    def input_nodes(self) -> tuple[NodeSymbol, ...]:
        """The input nodes, in the order they were added."""
        return tuple(self.graph.symbols[i] for i in self.graph.input_indices)

    def is_input(self, node: NodeLike) -> bool:
        """Whether ``node`` is an input (has no definition)."""
        return self.graph.equations[self.graph.index(node)].is_input

    def definition(self, node: NodeLike) -> sympy.Expr:
        """The right-hand side of ``node``'s equation; an input is its own definition."""
        return self.graph.equations[self.graph.index(node)].rhs

    def parents(self, node: NodeLike) -> tuple[NodeSymbol, ...]:
        """The nodes ``node``'s definition uses, in evaluation order."""
        eq = self.graph.equations[self.graph.index(node)]
        return tuple(self.graph.symbols[p] for p in eq.parents)

    def consumers(self, node: NodeLike) -> tuple[NodeSymbol, ...]:
        """The nodes whose definitions use ``node``, in evaluation order."""
        return tuple(self.graph.symbols[c] for c in self.graph.consumers[self.graph.index(node)])

    def expand(self, expr: Any) -> sympy.Expr:
        """``expr`` (a node or an expression in nodes) written in the inputs only.

        >>> t = Trace()
        >>> a, b = t.inputs("a b")
        >>> e = t.define("e", a * b)
        >>> t.expand(t.define("d", e + 1))
        a*b + 1
        """
        return self.graph.expand(self._expr(expr))

    def _expr(self, expr: Any) -> sympy.Expr:
        """A node name, node or expression, checked to use only this trace's nodes."""
        if isinstance(expr, str):
            return self.graph.symbols[self.graph.index(expr)]
        return self.graph.as_expr(expr, "the expression")

    # ------------------------------------------------------------------ numbers

    def value(self, expr: Any, *, exact: bool = False) -> Any:
        """The value of a node or of any expression in nodes, at the current inputs.

        A float by default; ``exact=True`` gives a SymPy number computed without
        rounding.  A SymPy Matrix gives a list of rows.  A matrix node or matrix
        expression gives a NumPy float64 array (a SymPy ``ImmutableMatrix`` if exact).

        >>> t = Trace()
        >>> x = t.input("x", 1)
        >>> y = t.define("y", x / 3)
        >>> t.value(y), t.value(y, exact=True), t.value(2 * y + x)
        (0.3333333333333333, 1/3, 1.6666666666666665)
        """
        if isinstance(expr, sympy.MatrixBase):
            return [[self.value(e, exact=exact) for e in row] for row in expr.tolist()]
        expr = self._expr(expr)
        graph = self.graph
        idx = sorted(graph.index(s) for s in expr.free_symbols)
        if exact:
            if not idx:
                return expr
            known = self.cache.exact(idx)
            if has_matrix(expr):
                return evaluate(expr, lambda s: known[graph.index(s)], EXACT)
            return expr.xreplace({graph.symbols[i]: known[i] for i in idx})
        fvals = self.cache.floats(idx)
        i = graph.find(expr)
        if i is not None:
            v = fvals[i]
            return v.copy() if isinstance(v, np.ndarray) else v
        return expression_value(graph, expr, fvals)

    def values(self, *, exact: bool = False) -> dict[NodeSymbol, Any]:
        """Every node's value, in evaluation order (all inputs need values)."""
        return {s: self.value(s, exact=exact) for s in self.graph.symbols}

    @property
    def input_values(self) -> dict[NodeSymbol, Number]:
        """The values given to inputs, as given (inputs without a value are absent)."""
        return {self.graph.symbols[i]: v for i, v in sorted(self.cache.given.items())}

    # -------------------------------------------------------------- derivatives

    def partial(self, child: NodeLike, parent: NodeLike) -> sympy.Expr:
        """The local partial of ``child``'s own definition w.r.t. ``parent``.

        Zero when ``parent`` does not appear in that definition.

        >>> t = Trace()
        >>> a, b = t.inputs("a b")
        >>> t.partial(t.define("e", a * b + a), a)
        b + 1
        """
        return self.graph.local_partial(self.graph.index(child), self.graph.index(parent))

    def diff(self, y: Any, *xs: NodeLike, expand: bool = False) -> sympy.Expr:
        """Derivative of ``y`` (a node or an expression in nodes) w.r.t. nodes ``xs``.

        For an intermediate ``x`` this is the adjoint: ``x`` is treated as a free
        variable, everything not downstream of it held fixed, summed over every
        consumer.  With several ``xs`` the derivative is taken in turn (higher order,
        through the graph).  The result is compact (in node symbols), written as by
        hand (:mod:`symtrace.handforms`: ``1 - o**2`` for ``o = tanh(n)``,
        ``2*(o - y)``), unless ``expand=True`` (in inputs only).

        >>> t = Trace()
        >>> a = t.input("a")
        >>> b = t.define("b", a + a)
        >>> L = t.define("L", 2 * b)
        >>> t.diff(L, b), t.diff(L, a), t.diff(b**2, a, a)
        (2, 4, 8)
        >>> import symtrace as st
        >>> n, y = t.inputs("n y")
        >>> o = t.define("o", st.tanh(n)); E = t.define("E", (o - y) ** 2)
        >>> t.diff(E, o), t.diff(o, n), t.diff(o, n, expand=True)
        (2*(o - y), 1 - o**2, 1 - tanh(n)**2)
        """
        if not xs:
            raise UsageError("diff() needs at least one node to differentiate with respect to")
        result = self._adjoint(y, xs)
        return self.expand(result) if expand else self._hand(result)

    def _adjoint(self, y: Any, xs: Iterable[NodeLike]) -> sympy.Expr:
        """``diff(y, *xs)`` in the engine's own form (what is differentiated further)."""
        result = self._expr(y)
        for x in xs:
            result = derivatives.adjoint(self.graph, result, self.graph.index(x))
        return result

    def _hand(self, e: sympy.Expr) -> sympy.Expr:
        """``e`` written as by hand, with the definitions that name a node so far."""
        if self.graph.has_matrices:
            return e  # matrix results are written by the matrix printer
        if self._hand_seen < len(self.graph):
            for d, node in hand_names(self.graph.equations[self._hand_seen :]).items():
                self._hand_names.setdefault(d, node)  # the first node keeps its name
            self._hand_names.quotients = None  # its index is rebuilt when next needed
            self._hand_seen = len(self.graph)
        return hand_local(e, self._hand_names)

    def grad(self, y: NodeLike) -> Gradient:
        """One reverse sweep: ``dy/d(node)`` for every node at once (a :class:`Gradient`).

        ``y`` must be scalar-valued; the gradient w.r.t. a matrix node is shaped like it.
        """
        i = self.graph.index(y)
        dims = self.graph.equations[i].dims
        if dims is not None:
            raise ShapeError(
                f"{self.graph.symbols[i]} is a {dims[0]}×{dims[1]} matrix; gradients are of a "
                f"scalar: define one, e.g. t.define('L', st.sum({self.graph.symbols[i]}))"
            )
        return Gradient(self.graph, self.cache, i)

    def tangents(self, x: NodeLike) -> Tangents:
        """Forward mode: ``d(node)/dx`` for every node (a :class:`Tangents`)."""
        self._scalar_only("forward mode (t.tangents)")
        return Tangents(self.graph, self.cache, self.graph.index(x))

    def hessian(self, y: Any, xs: Iterable[NodeLike]) -> sympy.ImmutableMatrix:
        """Second derivatives of ``y`` w.r.t. each pair of ``xs``, through the graph.

        >>> t = Trace()
        >>> a, b = t.inputs("a b", values=(2, 3))
        >>> H = t.hessian(t.define("e", a**2 * b), [a, b])
        >>> H, t.value(H)
        (Matrix([
        [2*b, 2*a],
        [2*a,   0]]), [[6.0, 4.0], [4.0, 0.0]])
        """
        self._scalar_only("t.hessian")
        xs = list(xs)
        first = [self._adjoint(y, [x]) for x in xs]
        return sympy.ImmutableMatrix(
            [[derivatives.adjoint(self.graph, g, self.graph.index(x)) for x in xs] for g in first]
        )

    def paths(self, y: NodeLike, x: NodeLike, *, limit: int = 10_000) -> Paths:
        """Every path from ``y`` down to ``x``, with edge factors and products.

        The products sum to ``diff(y, x)``.  Raises
        :class:`~symtrace.errors.PathExplosionError` when there are more than ``limit``.
        """
        self._scalar_only("t.paths")
        g = self.graph
        return Paths(g, self.cache, g.index(y), g.index(x), limit=limit)

    # ------------------------------------------------------- other front ends

    @classmethod
    def from_expr(cls, expr: Any, name: Any = None, inputs: Any = None, **options: Any) -> Trace:
        """Decompose a plain SymPy expression into named primitive steps (see
        :mod:`symtrace.decompose`)."""
        trace = cls()
        from_expr(trace, expr, name=name, inputs=inputs, **options)
        return trace

    def entrywise(self) -> Trace:
        """The equivalent scalar trace: one node per matrix entry, named ``W_i_j``
        (1-based; a vector's entries ``x_i``), with the input values of this trace.

        Its scalar gradients equal the matrix gradients entry by entry: a teaching view
        (the sums over ``i`` and ``j`` written out) and an oracle.

        >>> import symtrace as st
        >>> t = Trace()
        >>> A = t.input("A", [[1, 2], [3, 4]])
        >>> s = t.define("s", st.trace(A.T @ A))
        >>> e = t.entrywise()
        >>> e.definition("s")
        A_1_1**2 + A_1_2**2 + A_2_1**2 + A_2_2**2
        >>> t.grad(s).value(A).tolist(), e.grad("s").value("A_1_2")
        ([[2.0, 4.0], [6.0, 8.0]], 4.0)
        """
        out = Trace()
        entrywise(self.graph, self.cache, out)
        return out

    def _compile_matrices(
        self, outputs: Any, wrt: Any, backend: str, options: dict[str, Any]
    ) -> MatrixProgram:
        """One NumPy program for a trace with matrix nodes (see :mod:`symtrace.programs`)."""
        if backend != "numpy" or options:
            raise UsageError(
                "a trace with matrix nodes compiles to one NumPy program: backend='numpy' "
                f"and no options (got backend={backend!r}, options {sorted(options)})"
            )
        if isinstance(outputs, list | tuple):
            if len(outputs) != 1:
                raise UsageError("a trace with matrix nodes compiles one scalar output")
            outputs = outputs[0]
        if wrt is None:
            wrt = self.input_nodes
        elif isinstance(wrt, str | sympy.Basic):
            wrt = [wrt]
        return compile_matrix_trace(
            self.graph, self.graph.index(outputs), [self.graph.index(w) for w in wrt]
        )

    def _scalar_only(self, what: str) -> None:
        """A clear error for the features not built for matrix nodes yet."""
        if self.graph.has_matrices:
            raise UsageError(
                f"{what} is not available for traces with matrix nodes yet; use t.grad(L) "
                "(g[W], g.value(W), g.steps(W)), t.diff(L, W), t.value(...), or "
                "t.entrywise() for the scalar trace, which has every view"
            )

    def function(self, fn: Any, name: str | None = None) -> Block:
        """Wrap a SymPy-valued Python function as a reusable block: each call adds one
        node (see :mod:`symtrace.blocks`)."""
        return Block(self, fn, name=name)

    # --------------------------------------------------------------------- views

    def derivation(
        self, y: NodeLike, mode: str = "reverse", wrt: NodeLike | None = None, **options: Any
    ) -> Derivation:
        """The chain rule written out for every node (see :mod:`symtrace.printing`).

        With matrix nodes the backward pass is written in matrix form (each step through a
        matrix equation as its vector-Jacobian product, ``dL/dW = dL/dz · ∂z/∂W = z̄ xᵀ``);
        the forward pass is for scalar traces."""
        if mode != "reverse":
            self._scalar_only("t.derivation(mode='forward')")
        return derivation(self.graph, self.cache, y, mode=mode, wrt=wrt, **options)

    def table(
        self, y: NodeLike, mode: str = "reverse", wrt: NodeLike | None = None, **options: Any
    ) -> Table:
        """An evaluation-trace table, ``mode="forward"`` or ``"reverse"`` (see
        :mod:`symtrace.printing`).  With matrix nodes: the reverse adjoint trace, each
        term a VJP rule (``z̄ xᵀ``)."""
        if mode != "reverse":
            self._scalar_only(f"t.table(mode={mode!r})")
        return table(self.graph, self.cache, y, mode=mode, wrt=wrt, **options)

    def to_dot(self, gradient: Gradient | Tangents | None = None, **options: Any) -> str:
        """Graphviz DOT text of the graph (see :mod:`symtrace.dot`)."""
        return to_dot(self.graph, self.cache, gradient, **options)

    def to_html(
        self, y: NodeLike, path: str | os.PathLike[str] | None = None, **options: Any
    ) -> str:
        """The interactive HTML explorer of ``grad(y)``, one self-contained page.

        Written to ``path`` too when given.  Options as :func:`symtrace.html.to_html`
        (``title=``, ``report=`` a :class:`Report` to mark on the graph, ...).

        >>> t = Trace()
        >>> x = t.input("x", 3)
        >>> page = t.to_html(t.define("y", x**2), title="square")
        >>> page.startswith("<!DOCTYPE html>"), 'data-node="x"' in page
        (True, True)
        """
        page = to_html(self.grad(y), **options)
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page

    def explore(self, y: NodeLike, **options: Any) -> Explorer:
        """The explorer of ``grad(y)`` for Jupyter: shown inline, ``.save(path)`` writes it.

        Pass ``report=t.check(...)`` to see a student's answers marked on the graph.
        """
        return explore(self.grad(y), **options)

    # ------------------------------------------------------- checking, compiling

    def check(
        self, answers: Mapping[str, Any], output: NodeLike | None = None, **options: Any
    ) -> Report | MatrixReport:
        """Grade hand-worked answers; returns a Report (see :mod:`symtrace.check`); with
        matrix nodes a MatrixReport (see :mod:`symtrace.check.matrix`)."""
        if self.graph.has_matrices:
            return check_matrix(self.graph, self.cache, answers, output=output, **options)
        return check(self.graph, self.cache, answers, output=output, **options)

    def compile(
        self, outputs: Any, wrt: Any = None, backend: str = "numpy", **options: Any
    ) -> CompiledFunction | MatrixProgram:
        """A vectorised value-and-gradient function (see :mod:`symtrace.compile`).

        For a trace with matrix nodes: one NumPy program (BLAS matrix products) for one
        scalar output and its gradients w.r.t. ``wrt`` (default: every input), a
        :class:`~symtrace.programs.MatrixProgram`."""
        if self.graph.has_matrices:
            return self._compile_matrices(outputs, wrt, backend, options)
        return compile_trace(self.graph, self.cache, outputs, wrt=wrt, backend=backend, **options)

    # ------------------------------------------------------------------ display

    def _render(self, fmt: str, **options: Any) -> str:
        return render_graph(self.graph, self.cache, fmt, **options)

    def __repr__(self) -> str:
        eqs = [
            str(eq.symbol) if eq.is_input else f"{eq.symbol} = {eq.definition}"
            for eq in itertools.islice(self.graph.equations, 12)
        ]
        more = ", ..." if len(self.graph) > 12 else ""
        return f"<Trace: {', '.join(eqs)}{more} ({len(self.graph)} nodes)>"


def _is_matrix_value(value: Any) -> bool:
    if isinstance(value, np.ndarray):
        return value.ndim > 0
    return isinstance(value, list | tuple | sympy.MatrixBase)


def _check_shape(name: str, shape: Any) -> tuple[int, int]:
    ok = (
        isinstance(shape, tuple | list)
        and len(shape) == 2
        and all(
            isinstance(d, int | np.integer) and not isinstance(d, bool) and d > 0 for d in shape
        )
    )
    if not ok:
        raise ShapeError(
            f"shape of input {name!r} must be (rows, cols) with positive integers, got {shape!r}"
        )
    return (int(shape[0]), int(shape[1]))
