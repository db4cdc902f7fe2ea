"""The graph: symtrace's one core structure, as records with a small internal API.

A :class:`Graph` is an ordered list of single-assignment :class:`Equation` records,
``symbol = definition`` over earlier symbols, validated at every addition.  It holds
no numbers and no derivative results: the interpreters (:mod:`symtrace.evaluation`,
:mod:`symtrace.derivatives`, :mod:`symtrace.compile`) are short loops over
``graph.equations`` and keep their results to themselves.

This is the **internal API** symtrace's own modules use (it is not in
``symtrace.__all__``); a user reaches it as ``Trace.graph``.  Everything an interpreter
or a view needs is here, with public names:

================================  ==========================================================
``graph.equations[i]``            the record of node ``i``: ``index``, ``symbol``,
                                  ``definition`` (``None`` for an input), ``parents``
                                  (indices, ascending), ``shape`` (the cached local
                                  expression, :class:`~symtrace.shapes.Shape`; ``None``
                                  for a matrix equation), ``kind`` (``"scalar"``, or
                                  ``"matrix"`` for an equation the rule table of
                                  :mod:`symtrace.matrices` handles), ``dims``
                                  (``(rows, cols)`` of a matrix value, ``None`` for a
                                  scalar value such as a loss)
``graph.symbols[i]``              the node's :class:`~symtrace.nodes.NodeSymbol` (a
                                  :class:`~symtrace.matrices.MatrixNode` for a matrix)
``graph.has_matrices``            whether any equation is of kind ``"matrix"``
``graph.consumers[i]``            indices of the nodes whose definitions use node ``i``
``graph.index(node)``             index of a node given as Symbol or name (clear errors)
``graph.find(symbol)``            index, or ``None`` for a Symbol that is not a node
``graph.name_table``              name -> Symbol, a read-only view (``names()`` copies)
``graph.ancestors(starts)``       the nodes given and all they depend on
``graph.descendants(starts)``     the nodes given and all that depend on them
``graph.local_partials(i)``       ``∂node_i/∂parent`` for each parent, in node symbols
``graph.expand(expr)``            an expression in nodes, written in the inputs only
``graph.as_expr(expr, what)``     a user's expression or text, checked to use only nodes
``graph.check_symbols(expr, w)``  the ownership check, with a message naming the culprit
================================  ==========================================================

>>> g = Graph()
>>> a, b = g.add("a").symbol, g.add("b").symbol
>>> e = g.add("e", a * b + a)
>>> e.index, e.symbol, e.definition, e.parents, e.kind, e.is_input
(2, e, a*b + a, (0, 1), 'scalar', False)
>>> g.consumers[0], g.local_partials(2)
([2], (b + 1, a))
>>> g.index("e"), g.find(a), sorted(g.ancestors([2]))
(2, 0, [0, 1, 2])
"""

from __future__ import annotations

import itertools
import keyword
import reprlib
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeAlias

import sympy

from .errors import (
    DuplicateNameError,
    InvalidExpressionError,
    InvalidNameError,
    NotANodeError,
    TraceError,
    UnknownSymbolError,
)
from .handforms import replace_shared
from .matrices import MatrixNode, check_definition, dims_of, has_matrix
from .matrix_parsing import parse_matrix_expression, uses_matrices
from .nodes import NodeSymbol
from .parsing import parse_expression, replace_unevaluated
from .shapes import Shape, placeholders, shape_of

__all__ = ["Builder", "Equation", "Graph", "NodeLike", "reach"]

NodeLike: TypeAlias = sympy.Symbol | str
"""A node given as its Symbol or its name."""

KINDS = ("scalar", "matrix")
"""The kinds of equation: ``"scalar"`` (local partials by SymPy's ``diff``, cached per
shape) and ``"matrix"`` (a matrix input, or a definition that uses matrix nodes: numbers
and adjoints by the rule table of :mod:`symtrace.matrices`)."""


_SHORT = reprlib.Repr()
_SHORT.maxstring = 60  # names quoted in error messages
_SHORT.maxother = 60


class Builder(Protocol):
    """What the builders below the facade (:mod:`~symtrace.blocks`,
    :mod:`~symtrace.decompose`) use of the :class:`~symtrace.Trace` they fill."""

    graph: Graph

    def inputs(self, names: Any, values: Any = None) -> tuple[NodeSymbol, ...]: ...

    def define(self, name: str, expr: Any) -> NodeSymbol: ...

    def definition(self, node: Any) -> sympy.Expr: ...

    def __getitem__(self, name: str) -> NodeSymbol: ...

    def __contains__(self, node: object) -> bool: ...


@dataclass(frozen=True, slots=True)
class Equation:
    """One node of a graph: ``symbol = definition``; an input has no definition.

    ``parents`` are the indices of the nodes the definition uses, ascending (evaluation
    order); ``shape`` is the definition with its parents renamed to placeholders, which
    caches local partials and float code for every node of that shape.
    """

    index: int
    symbol: NodeSymbol
    definition: sympy.Expr | None
    parents: tuple[int, ...]
    shape: Shape | None
    kind: str = "scalar"
    dims: tuple[int, int] | None = None

    @property
    def name(self) -> str:
        """The node's name."""
        return str(self.symbol.name)

    @property
    def is_input(self) -> bool:
        """Whether the node is an input (has no definition)."""
        return self.definition is None

    @property
    def rhs(self) -> sympy.Expr:
        """The definition; an input is its own definition."""
        return self.symbol if self.definition is None else self.definition


class Graph:
    """Equations in evaluation order, with the lookups every interpreter needs.

    Built by :class:`~symtrace.Trace` (one graph per trace); see the module docstring
    for the internal API.
    """

    _tokens = itertools.count(1)

    def __init__(self) -> None:
        self.token = next(Graph._tokens)
        self.equations: list[Equation] = []
        self.symbols: list[NodeSymbol] = []  # MatrixNode for matrix nodes
        self.has_matrices = False
        self.consumers: list[list[int]] = []
        self._inputs: list[int] = []
        self._index: dict[sympy.Symbol, int] = {}
        self._names: dict[str, int] = {}
        self._local: dict[int, tuple[sympy.Expr, ...]] = {}
        self._in_order: dict[tuple[Any, ...], tuple[tuple[sympy.Expr, ...], list[Any]]] = {}
        self._inlined: dict[int, sympy.Expr] = {}

    def __len__(self) -> int:
        return len(self.equations)

    # ------------------------------------------------------------------ building

    def check_name(self, name: object) -> str:
        """``name`` (NFKC-normalised, Python's rule for identifiers: ``ｘ`` is ``x``) if it
        can name a new node; a clear error otherwise."""
        written = name
        if isinstance(name, str):
            name = unicodedata.normalize("NFKC", name)
        shown = _SHORT.repr(name)  # a 100 KB name is not quoted whole
        if not isinstance(name, str) or not name.isidentifier():
            raise InvalidNameError(
                f"invalid node name {shown}: use letters, digits and '_' and do not start "
                "with a digit (e.g. 'x1', 'w_12', 'alpha')"
            )
        if keyword.iskeyword(name) or name.startswith("__"):
            raise InvalidNameError(
                f"invalid node name {shown}: Python keywords and names starting with '__' "
                f"are reserved; pick another name (e.g. {_SHORT.repr(name + '_')})"
            )
        if name in self._names:
            eq = self.equations[self._names[name]]
            what = "an input" if eq.is_input else f"defined as {eq.definition}"
            alike = (
                f" (written {_SHORT.repr(written)}, which Python reads as {shown})"
                if written != name
                else ""
            )
            raise DuplicateNameError(
                f"name {shown}{alike} is already used in this trace ({what}); every node "
                f"needs its own name, e.g. {_SHORT.repr(name + '_2')[1:-1]}"
            )
        return name

    def add(
        self,
        name: str,
        definition: sympy.Expr | None = None,
        dims: tuple[int, int] | None = None,
    ) -> Equation:
        """Append the node ``name = definition`` (an input when ``None``); return its record.

        ``definition`` must already be checked (:meth:`as_expr`).  An input with
        ``dims=(rows, cols)`` is a matrix input; a definition that uses matrix nodes
        makes a ``"matrix"`` equation (its ``dims`` from the expression).
        """
        name = self.check_name(name)
        i = len(self.equations)
        parents: tuple[int, ...] = ()
        shape = None
        kind = "scalar"
        if definition is not None:
            parents = tuple(sorted(self._index[s] for s in definition.free_symbols))
            if has_matrix(definition):
                check_definition(definition)  # every operation is in the rule table
                kind, dims = "matrix", dims_of(definition)
            else:
                ps = placeholders(len(parents))
                local = replace_shared(
                    definition, {self.symbols[p]: ph for p, ph in zip(parents, ps, strict=True)}
                )
                shape = shape_of(local, len(parents))
        elif dims is not None:
            kind = "matrix"
        sym: Any
        if kind == "matrix" and dims is not None:
            sym = MatrixNode(name, dims[0], dims[1], self.token)
        else:
            sym = NodeSymbol(name, self.token)
        if kind == "matrix":
            self.has_matrices = True
        eq = Equation(i, sym, definition, parents, shape, kind, dims)
        self.equations.append(eq)
        self.symbols.append(sym)
        self.consumers.append([])
        self._index[sym] = i
        self._names[sym.name] = i
        for p in parents:
            self.consumers[p].append(i)
        if definition is None:
            self._inputs.append(i)
        return eq

    def as_expr(self, expr: Any, what: str) -> sympy.Expr:
        """``expr`` as a SymPy expression in this graph's nodes, or a clear error.

        Numbers become SymPy numbers; a string is read by the safe parser
        (:func:`symtrace.parsing.parse_expression`), never evaluated.
        """
        if isinstance(expr, str) and uses_matrices(expr, self.name_table):
            expr = parse_matrix_expression(expr, self.name_table)  # matrix syntax (issue 12)
        elif isinstance(expr, str):
            expr = parse_expression(expr, self.name_table)
        elif isinstance(expr, bool):
            raise InvalidExpressionError(
                f"{what}: expected an expression or a number, got {expr!r}"
            )
        elif isinstance(expr, int | float):
            expr = sympy.Integer(expr) if isinstance(expr, int) else sympy.Float(expr)
        if not isinstance(expr, sympy.Expr):
            raise InvalidExpressionError(
                f"{what}: expected a SymPy expression in this trace's nodes, got "
                f"{type(expr).__name__} {expr!r}"
            )
        self.check_symbols(expr, what)
        return expr

    def check_symbols(self, expr: sympy.Basic, what: str) -> None:
        """Raise :class:`~symtrace.errors.UnknownSymbolError` for a Symbol that is not a node."""
        unknown = [s for s in expr.free_symbols if s not in self._index]
        for s in sorted(unknown, key=str):
            if isinstance(s, NodeSymbol | MatrixNode):
                why = (
                    f"it is a node of another Trace; build the expression from this "
                    f"trace's Symbols (t[{s.name!r}])"
                )
            elif getattr(s, "name", None) in self._names:
                kind = "MatrixSymbol" if isinstance(s, sympy.MatrixSymbol) else "Symbol"
                why = (
                    f"it is a plain SymPy {kind}, not this trace's node {s.name!r}; use the "
                    f"Symbol returned by input()/define(), or t[{s.name!r}]"
                )
            elif isinstance(s, sympy.MatrixSymbol):
                why = (
                    "it is a plain SymPy MatrixSymbol; declare matrix inputs with "
                    f"t.input({s.name!r}, shape={tuple(int(d) for d in s.shape)}) or a value"
                )
            else:
                why = "declare it first with t.input(...) or t.define(...)"
            raise UnknownSymbolError(f"{what} uses {s!s}, which this trace did not create: {why}")

    # ------------------------------------------------------------------ lookups

    def names(self) -> dict[str, NodeSymbol]:
        """Every node's name and Symbol, in evaluation order (a new dict: a copy the
        caller may change; :attr:`name_table` is the same without copying)."""
        return {n: self.symbols[i] for n, i in self._names.items()}

    @property
    def name_table(self) -> Mapping[str, NodeSymbol]:
        """Every node's name and Symbol, as a read-only view that follows the graph.

        Made in constant time: reading a definition given as text looks names up here,
        where copying the table (:meth:`names`) at every ``define`` made building a
        graph quadratic (20,000 nodes defined by strings took 200 s).
        """
        return _NameTable(self._names, self.symbols)

    def find(self, node: object) -> int | None:
        """The index of a node Symbol, or ``None`` (no error, no name lookup)."""
        try:
            return self._index.get(node)
        except TypeError:  # unhashable
            return None

    def index(self, node: object) -> int:
        """The index of a node given as Symbol or name; clear errors otherwise."""
        if isinstance(node, str):
            try:
                return self._names[unicodedata.normalize("NFKC", node)]
            except KeyError:
                raise NotANodeError(
                    f"no node named {node!r} in this trace (nodes: {self.names_list()})"
                ) from None
        i = self.find(node)
        if i is not None:
            return i
        if isinstance(node, sympy.Symbol):
            self.check_symbols(node, "the request")
        raise NotANodeError(
            f"{node} is not a node of this trace. Derivatives are taken with respect to "
            f"named nodes: name it first, e.g. t.define('u', {node})"
        )

    def has_name(self, name: str) -> bool:
        """Whether a node is called ``name`` (after NFKC normalisation)."""
        return unicodedata.normalize("NFKC", name) in self._names

    def names_list(self, limit: int = 20) -> str:
        """The first ``limit`` node names, for error messages."""
        names = list(self._names)
        return ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")

    @property
    def input_indices(self) -> list[int]:
        """The indices of the input nodes, in order."""
        return list(self._inputs)

    def ancestors(self, starts: Iterable[int]) -> set[int]:
        """The given nodes and every node they depend on (iterative)."""
        return reach(starts, lambda i: self.equations[i].parents)

    def descendants(self, starts: Iterable[int], within: set[int] | None = None) -> set[int]:
        """The given nodes and every node that depends on them, optionally ``within`` a set."""
        return reach(starts, self.consumers.__getitem__, within)

    # --------------------------------------------------------------- symbolic

    def local_partials(self, i: int) -> tuple[sympy.Expr, ...]:
        """Symbolic ``∂node_i/∂parent`` for each parent of node ``i`` (cached per node).

        The shape differentiates once per expression shape; this maps the result back to
        the node's own parents.  An input has none.
        """
        cached = self._local.get(i)
        if cached is None:
            eq = self.equations[i]
            if eq.shape is None:
                return ()
            parents = [self.symbols[p] for p in eq.parents]
            cached = self._named_partials(eq.shape, parents)
            if cached is None:
                back = dict(zip(placeholders(eq.shape.n_args), parents, strict=True))
                done: dict[sympy.Basic, sympy.Basic] = {}  # parts shared by the partials
                cached = tuple(replace_shared(d, back, done) for d in eq.shape.partials)
            self._local[i] = cached
        return cached

    def _named_partials(self, shape: Shape, parents: list[Any]) -> tuple[sympy.Expr, ...] | None:
        """The shape's partials in ``parents``, built from those of stand-ins named in the
        same alphabetical order (and with the same assumptions), which are worked out once
        per shape and order; ``None`` where that does not apply (two parents of one name,
        a parent that is not a plain node symbol, a part that is not rebuilt as it is).

        SymPy's canonical form depends on symbols only through their assumptions and the
        order of their names (the same rule :func:`~symtrace.parsing.parse_expression`
        uses for its shapes): mapping each partial back to the node's own parents with
        ``xreplace`` evaluates every function of them again (``cos(x₅ - y)`` looks for
        multiples of ``I`` and ``pi``), which was half of explaining a deep chain."""
        names = [p.name for p in parents]
        if len(set(names)) < len(names) or any(type(p) is not NodeSymbol for p in parents):
            return None
        rank = [0] * len(parents)
        for r, k in enumerate(sorted(range(len(parents)), key=names.__getitem__)):
            rank[k] = r
        kinds = tuple(tuple(sorted(p.assumptions0.items())) for p in parents)
        key = (shape, tuple(rank), kinds)
        hit = self._in_order.get(key)
        if hit is None:
            width = len(str(len(parents)))
            stand_ins = [
                NodeSymbol(f"_ж{r:0{width}d}", -1, **p.assumptions0)
                for r, p in zip(rank, parents, strict=True)
            ]
            back = dict(zip(placeholders(shape.n_args), stand_ins, strict=True))
            done: dict[sympy.Basic, sympy.Basic] = {}
            hit = (tuple(replace_shared(d, back, done) for d in shape.partials), stand_ins)
            self._in_order[key] = hit
        partials, stand_ins = hit
        new = dict(zip(stand_ins, parents, strict=True))
        out = tuple(replace_unevaluated(d, new) for d in partials)
        return None if any(d is None for d in out) else out

    def clear_symbolic_caches(self) -> None:
        """Forget the cached local partials and inlined expressions (they are rebuilt on
        request); benchmarks use it to time the cold path."""
        self._local.clear()
        self._in_order.clear()
        self._inlined.clear()

    def local_partial(self, child: int, parent: int) -> sympy.Expr:
        """``∂child/∂parent`` of ``child``'s own definition; zero if it does not use it."""
        parents = self.equations[child].parents
        if parent not in parents:
            return sympy.S.Zero
        return self.local_partials(child)[parents.index(parent)]

    def expand(self, expr: sympy.Expr) -> sympy.Expr:
        """``expr`` (in node symbols) written in the inputs only (inlining, cached)."""
        eqs, inlined = self.equations, self._inlined
        nodes = sorted((self._index[s] for s in expr.free_symbols), reverse=True)
        todo = [i for i in nodes if not eqs[i].is_input and i not in inlined]
        # Inline every needed node, parents first, with an explicit stack (no recursion).
        while todo:
            i = todo[-1]
            waiting = [p for p in eqs[i].parents if not eqs[p].is_input and p not in inlined]
            if waiting:
                todo.extend(waiting)
                continue
            todo.pop()
            if i in inlined:
                continue
            rhs, parents = eqs[i].rhs, eqs[i].parents
            swap = {self.symbols[p]: inlined.get(p, self.symbols[p]) for p in parents}
            inlined[i] = _deep(partial(rhs.xreplace, swap), f"expanding {self.symbols[i]}")
        return _deep(
            lambda: expr.xreplace({s: inlined.get(self._index[s], s) for s in expr.free_symbols}),
            "expanding the expression",
        )


class _NameTable(Mapping[str, NodeSymbol]):
    """The read-only mapping name -> Symbol behind :attr:`Graph.name_table`."""

    __slots__ = ("_names", "_symbols")

    def __init__(self, names: dict[str, int], symbols: list[NodeSymbol]) -> None:
        self._names, self._symbols = names, symbols

    def __getitem__(self, name: str) -> NodeSymbol:
        return self._symbols[self._names[name]]

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _deep(fn: Callable[[], Any], what: str) -> Any:
    try:
        return fn()
    except RecursionError:
        raise TraceError(
            f"{what}: the inlined expression is nested too deeply for SymPy. Use the "
            "compact form (in node symbols) instead of expand=True / expanded()."
        ) from None


def reach(
    starts: Iterable[int],
    edges: Callable[[int], Iterable[int]],
    within: set[int] | None = None,
) -> set[int]:
    """Every node reachable from ``starts`` along ``edges(i)`` (parents or consumers)."""
    seen = {s for s in starts if within is None or s in within}
    stack = list(seen)
    while stack:
        for j in edges(stack.pop()):
            if j not in seen and (within is None or j in within):
                seen.add(j)
                stack.append(j)
    return seen
