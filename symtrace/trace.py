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

import builtins
import itertools
import keyword
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import sympy

from . import derivatives
from .display import Renderable
from .errors import (
    DuplicateNameError,
    InvalidNameError,
    MissingValueError,
    NonRealValueError,
    NotANodeError,
    TraceError,
    UnknownSymbolError,
)
from .evaluation import Describe, Number, call_float, check_float, check_input_value, exact_number
from .nodes import NodeSymbol
from .shapes import Shape, placeholders, shape_of

if TYPE_CHECKING:
    from .blocks import Block
    from .derivatives import Gradient, Paths, Tangents

__all__ = ["Trace"]

NodeLike: TypeAlias = sympy.Symbol | str
"""A node given as its Symbol or its name."""


class Trace(Renderable):
    """An ordered list of equations ``name = expression`` over registered Symbols.

    Inputs are created with :meth:`input`/:meth:`inputs`, intermediate nodes with
    :meth:`define`; each returns a real SymPy Symbol owned by this trace.  Anywhere a
    node is expected, its name (``"d"``) works too.

    >>> t = Trace()
    >>> x = t.input("x", 3)
    >>> y = t.define("y", x**2)
    >>> t.nodes
    (x, y)
    >>> t.diff(y, x), t.value(t.diff(y, x))
    (2*x, 6.0)
    """

    _tokens = itertools.count(1)

    def __init__(self) -> None:
        self._token = next(Trace._tokens)
        self._syms: list[NodeSymbol] = []
        self._index: dict[sympy.Symbol, int] = {}
        self._names: dict[str, int] = {}
        self._defs: list[sympy.Expr | None] = []
        self._parents: list[tuple[int, ...]] = []
        self._shapes: list[Shape | None] = []
        self._consumers: list[list[int]] = []
        self._given: dict[int, Number] = {}
        self._fvals: list[float | None] = []
        self._exact: dict[int, sympy.Expr] = {}
        self._inlined: dict[int, sympy.Expr] = {}
        self._local: dict[int, tuple[sympy.Expr, ...]] = {}

    # ------------------------------------------------------------------ building

    def _check_name(self, name: object) -> str:
        if not isinstance(name, str) or not name.isidentifier():
            raise InvalidNameError(
                f"invalid node name {name!r}: use letters, digits and '_' and do not start "
                "with a digit (e.g. 'x1', 'w_12', 'alpha')"
            )
        if keyword.iskeyword(name) or name.startswith("__"):
            raise InvalidNameError(
                f"invalid node name {name!r}: Python keywords and names starting with '__' "
                f"are reserved; pick another name (e.g. {name + '_'!r})"
            )
        if name in self._names:
            i = self._names[name]
            what = "an input" if self._defs[i] is None else f"defined as {self._defs[i]}"
            raise DuplicateNameError(
                f"name {name!r} is already used in this trace ({what}); every node needs its "
                f"own name, e.g. {name}_2"
            )
        return name

    def _register(self, name: str, rhs: sympy.Expr | None) -> NodeSymbol:
        sym = NodeSymbol(name, self._token)
        i = len(self._syms)
        parents: tuple[int, ...] = ()
        shape = None
        if rhs is not None:
            parents = tuple(sorted(self._index[s] for s in rhs.free_symbols))
            ps = placeholders(len(parents))
            local = rhs.xreplace({self._syms[p]: ph for p, ph in zip(parents, ps, strict=True)})
            shape = shape_of(local, len(parents))
        self._syms.append(sym)
        self._index[sym] = i
        self._names[name] = i
        self._defs.append(rhs)
        self._parents.append(parents)
        self._shapes.append(shape)
        self._consumers.append([])
        for p in parents:
            self._consumers[p].append(i)
        self._fvals.append(None)
        return sym

    def input(self, name: str, value: Any = None) -> NodeSymbol:
        """Add an input node named ``name`` (optionally with a value); return its Symbol.

        >>> t = Trace()
        >>> t.input("x_1", 2.5)
        x_1
        """
        sym = self._register(self._check_name(name), None)
        if value is not None:
            self.set({sym: value})
        return sym

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
        for n in names:  # validate every name before adding any
            self._check_name(n)
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
        name = self._check_name(name)
        rhs = self._as_expr(expr, f"definition of {name!r}")
        return self._register(name, rhs)

    def _as_expr(self, expr: Any, what: str) -> sympy.Expr:
        if isinstance(expr, str):
            from .parsing import parse_expression

            names = {n: self._syms[i] for n, i in self._names.items()}
            expr = parse_expression(expr, names)
        elif isinstance(expr, bool):
            raise TypeError(f"{what}: expected an expression or a number, got {expr!r}")
        elif isinstance(expr, int | float):
            expr = sympy.Integer(expr) if isinstance(expr, int) else sympy.Float(expr)
        if not isinstance(expr, sympy.Expr):
            raise TypeError(
                f"{what}: expected a SymPy expression in this trace's nodes, got "
                f"{type(expr).__name__} {expr!r}"
            )
        self._check_symbols(expr, what)
        return expr

    def _check_symbols(self, expr: sympy.Basic, what: str) -> None:
        unknown = [s for s in expr.free_symbols if s not in self._index]
        for s in sorted(unknown, key=str):
            if isinstance(s, NodeSymbol):
                why = (
                    f"it is a node of another Trace; build the expression from this "
                    f"trace's Symbols (t[{s.name!r}])"
                )
            elif getattr(s, "name", None) in self._names:
                why = (
                    f"it is a plain SymPy Symbol, not this trace's node {s.name!r}; use the "
                    f"Symbol returned by input()/define(), or t[{s.name!r}]"
                )
            else:
                why = "declare it first with t.input(...) or t.define(...)"
            raise UnknownSymbolError(f"{what} uses {s!s}, which this trace did not create: {why}")

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
        checked = []
        for key, value in items:
            i = self._idx(key)
            if self._defs[i] is not None:
                raise TraceError(
                    f"{self._syms[i]} is defined as {self._defs[i]}; only inputs take values "
                    f"(inputs: {', '.join(str(s) for s in self.input_nodes)})"
                )
            checked.append((i, None if value is None else check_input_value(str(key), value)))
        for i, value in checked:
            if value is None:
                self._given.pop(i, None)
            else:
                self._given[i] = value
            self._fvals[i] = None if value is None else float(value)
        self._invalidate([i for i, _ in checked])
        return self

    def _invalidate(self, changed: list[int]) -> None:
        """Forget cached values downstream of the changed inputs (iterative)."""
        self._exact.clear()
        fvals, consumers = self._fvals, self._consumers
        stack = [c for i in changed for c in consumers[i]]
        while stack:
            j = stack.pop()
            if fvals[j] is not None:
                fvals[j] = None
                stack.extend(consumers[j])

    # ----------------------------------------------------------------- queries

    def _idx(self, node: Any) -> int:
        """Index of a node given as Symbol or name; clear errors otherwise."""
        if isinstance(node, str):
            try:
                return self._names[node]
            except KeyError:
                raise NotANodeError(
                    f"no node named {node!r} in this trace (nodes: {self._names_list()})"
                ) from None
        try:
            return self._index[node]
        except (KeyError, TypeError):
            pass
        if isinstance(node, sympy.Symbol):
            self._check_symbols(node, "the request")
        raise NotANodeError(
            f"{node} is not a node of this trace. Derivatives are taken with respect to "
            f"named nodes: name it first, e.g. t.define('u', {node})"
        )

    def _ancestors(self, starts: Iterable[int]) -> builtins.set[int]:
        """The given nodes and every node they depend on (iterative)."""
        return _reach(starts, self._parents)

    def _descendants(
        self, starts: Iterable[int], within: builtins.set[int] | None = None
    ) -> builtins.set[int]:
        """The given nodes and every node that depends on them, optionally ``within`` a set."""
        return _reach(starts, self._consumers, within)

    def _names_list(self) -> str:
        names = list(self._names)
        return ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")

    def __getitem__(self, name: str) -> NodeSymbol:
        """The Symbol of the node called ``name``."""
        return self._syms[self._idx(name)]

    def __contains__(self, node: object) -> bool:
        if isinstance(node, str):
            return node in self._names
        return isinstance(node, sympy.Basic) and node in self._index

    def __len__(self) -> int:
        return len(self._syms)

    def __iter__(self) -> Iterator[NodeSymbol]:
        return iter(self._syms)

    @property
    def nodes(self) -> tuple[NodeSymbol, ...]:
        """Every node, inputs included, in evaluation order."""
        return tuple(self._syms)

    @property
    def input_nodes(self) -> tuple[NodeSymbol, ...]:
        """The input nodes, in the order they were added."""
        return tuple(s for s, d in zip(self._syms, self._defs, strict=True) if d is None)

    def is_input(self, node: NodeLike) -> bool:
        """Whether ``node`` is an input (has no definition)."""
        return self._defs[self._idx(node)] is None

    def definition(self, node: NodeLike) -> sympy.Expr:
        """The right-hand side of ``node``'s equation; an input is its own definition."""
        i = self._idx(node)
        rhs = self._defs[i]
        return self._syms[i] if rhs is None else rhs

    def parents(self, node: NodeLike) -> tuple[NodeSymbol, ...]:
        """The nodes ``node``'s definition uses, in evaluation order."""
        return tuple(self._syms[p] for p in self._parents[self._idx(node)])

    def consumers(self, node: NodeLike) -> tuple[NodeSymbol, ...]:
        """The nodes whose definitions use ``node``, in evaluation order."""
        return tuple(self._syms[c] for c in self._consumers[self._idx(node)])

    def expand(self, expr: Any) -> sympy.Expr:
        """``expr`` (a node or an expression in nodes) written in the inputs only.

        >>> t = Trace()
        >>> a, b = t.inputs("a b")
        >>> e = t.define("e", a * b)
        >>> t.expand(t.define("d", e + 1))
        a*b + 1
        """
        expr = self._expr(expr)
        nodes = sorted((self._index[s] for s in expr.free_symbols), reverse=True)
        todo = [i for i in nodes if self._defs[i] is not None and i not in self._inlined]
        # Inline every needed node, parents first, with an explicit stack (no recursion).
        while todo:
            i = todo[-1]
            waiting = [
                p for p in self._parents[i] if self._defs[p] is not None and p not in self._inlined
            ]
            if waiting:
                todo.extend(waiting)
                continue
            todo.pop()
            if i in self._inlined:
                continue
            rhs = self._defs[i]
            assert rhs is not None
            self._inlined[i] = self._deep(
                lambda r=rhs, i=i: r.xreplace(
                    {self._syms[p]: self._inlined.get(p, self._syms[p]) for p in self._parents[i]}
                ),
                f"expanding {self._syms[i]}",
            )
        return self._deep(
            lambda: expr.xreplace(
                {s: self._inlined.get(self._index[s], s) for s in expr.free_symbols}
            ),
            "expanding the expression",
        )

    @staticmethod
    def _deep(fn: Any, what: str) -> Any:
        try:
            return fn()
        except RecursionError:
            raise TraceError(
                f"{what}: the inlined expression is nested too deeply for SymPy. Use the "
                "compact form (in node symbols) instead of expand=True / expanded()."
            ) from None

    def _expr(self, expr: Any) -> sympy.Expr:
        """A node name, node or expression, checked to use only this trace's nodes."""
        if isinstance(expr, str):
            return self._syms[self._idx(expr)]
        return self._as_expr(expr, "the expression")

    # ------------------------------------------------------------------ numbers

    def _ensure_floats(self, targets: Iterable[int]) -> list[float | None]:
        """Compute (and cache) the float value of every node the targets depend on."""
        fvals = self._fvals
        need: list[int] = []
        stack = [i for i in set(targets) if fvals[i] is None]
        seen = set(stack)
        while stack:
            i = stack.pop()
            need.append(i)
            for p in self._parents[i]:
                if fvals[p] is None and p not in seen:
                    seen.add(p)
                    stack.append(p)
        missing = sorted(i for i in need if self._defs[i] is None)
        if missing:
            names = tuple(self._syms[i].name for i in missing)
            raise MissingValueError(
                f"no value for input(s) {', '.join(names)}; give them with "
                f"t.set({', '.join(n + '=...' for n in names)})",
                names,
            )
        need.sort()
        shapes, parents = self._shapes, self._parents
        for i in need:  # the hot loop: plain calls; the checked path only when needed
            ps = parents[i]
            fn = shapes[i].value_fn  # type: ignore[union-attr]
            try:
                if len(ps) == 2:  # most nodes: spare building an argument list
                    v = fn(fvals[ps[0]], fvals[ps[1]])
                elif len(ps) == 1:
                    v = fn(fvals[ps[0]])
                else:
                    v = fn(*[fvals[p] for p in ps])
            except (ArithmeticError, ValueError, TypeError):
                v = self._float_of(i, fvals)  # raises NonRealValueError naming the node
            if type(v) is not float or v - v != 0.0:  # an int, complex, inf or nan
                v = self._float_of(i, fvals)
            fvals[i] = v
        return fvals

    def _describe(self, i: int, what: str) -> Describe:
        def describe() -> tuple[str, list[str]]:
            names = [self._syms[p].name for p in self._parents[i]]
            return f"{what}{self._syms[i]} = {self._defs[i]}", names

        return describe

    def _float_of(self, i: int, fvals: Sequence[float | None]) -> float:
        shape = self._shapes[i]
        assert shape is not None
        args = [fvals[p] for p in self._parents[i]]
        describe = self._describe(i, "node ")
        out = call_float(shape.value_fn, args, describe)  # type: ignore[arg-type]
        return check_float(out, args, describe)  # type: ignore[arg-type]

    def _local_partial_values(self, i: int, fvals: Sequence[float | None]) -> tuple[float, ...]:
        """Numeric local partials of node ``i`` w.r.t. its parents, at ``fvals``."""
        shape = self._shapes[i]
        assert shape is not None
        args = [fvals[p] for p in self._parents[i]]
        describe = self._describe(i, "the local partials of ")
        out = call_float(shape.partials_fn, args, describe)  # type: ignore[arg-type]
        return tuple(check_float(v, args, describe) for v in out)  # type: ignore[arg-type]

    def _exact_values(
        self, given: Mapping[int, Number], targets: Iterable[int]
    ) -> dict[int, sympy.Expr]:
        """Exact SymPy values of the targets and their ancestors, for the given inputs."""
        out: dict[int, sympy.Expr] = {}
        for i in sorted(self._ancestors(targets)):
            rhs = self._defs[i]
            if rhs is None:
                out[i] = exact_number(given[i])  # callers check for missing values first
                continue
            v = rhs.xreplace({self._syms[p]: out[p] for p in self._parents[i]})
            if v.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo) or v.is_extended_real is False:
                raise NonRealValueError(
                    f"node {self._syms[i]} = {rhs} is {v} (not a real, finite number) at "
                    + ", ".join(f"{self._syms[p]} = {out[p]}" for p in self._parents[i])
                )
            out[i] = v
        return out

    def value(self, expr: Any, *, exact: bool = False) -> Any:
        """The value of a node or of any expression in nodes, at the current inputs.

        A float by default; ``exact=True`` gives a SymPy number computed without
        rounding.  A SymPy Matrix gives a list of rows.

        >>> t = Trace()
        >>> x = t.input("x", 1)
        >>> y = t.define("y", x / 3)
        >>> t.value(y), t.value(y, exact=True), t.value(2 * y + x)
        (0.3333333333333333, 1/3, 1.6666666666666665)
        """
        if isinstance(expr, sympy.MatrixBase):
            return [[self.value(e, exact=exact) for e in row] for row in expr.tolist()]
        expr = self._expr(expr)
        idx = sorted(self._index[s] for s in expr.free_symbols)
        if exact:
            if not idx:
                return expr
            if any(i not in self._exact for i in idx):
                self._ensure_floats(idx)  # reports missing inputs and non-real values
                self._exact.update(self._exact_values(self._given, idx))
            return expr.xreplace({self._syms[i]: self._exact[i] for i in idx})
        fvals = self._ensure_floats(idx)
        if expr in self._index:
            v = fvals[self._index[expr]]
            assert v is not None
            return v
        ps = placeholders(len(idx))
        local = expr.xreplace({self._syms[i]: p for i, p in zip(idx, ps, strict=True)})
        args = [fvals[i] for i in idx]

        def describe() -> tuple[str, list[str]]:
            return f"the expression {expr}", [self._syms[i].name for i in idx]

        out = call_float(shape_of(local, len(idx)).value_fn, args, describe)  # type: ignore[arg-type]
        return check_float(out, args, describe)  # type: ignore[arg-type]

    def values(self, *, exact: bool = False) -> dict[NodeSymbol, Any]:
        """Every node's value, in evaluation order (all inputs need values)."""
        return {s: self.value(s, exact=exact) for s in self._syms}

    @property
    def input_values(self) -> dict[NodeSymbol, Number]:
        """The values given to inputs, as given (inputs without a value are absent)."""
        return {self._syms[i]: v for i, v in sorted(self._given.items())}

    # -------------------------------------------------------------- derivatives

    def _local_partials(self, i: int) -> tuple[sympy.Expr, ...]:
        """Symbolic local partials of node ``i`` w.r.t. its parents (cached)."""
        cached = self._local.get(i)
        if cached is None:
            shape = self._shapes[i]
            assert shape is not None
            back = dict(
                zip(
                    placeholders(shape.n_args),
                    (self._syms[p] for p in self._parents[i]),
                    strict=True,
                )
            )
            cached = tuple(d.xreplace(back) for d in shape.partials)
            self._local[i] = cached
        return cached

    def partial(self, child: NodeLike, parent: NodeLike) -> sympy.Expr:
        """The local partial of ``child``'s own definition w.r.t. ``parent``.

        Zero when ``parent`` does not appear in that definition.

        >>> t = Trace()
        >>> a, b = t.inputs("a b")
        >>> t.partial(t.define("e", a * b + a), a)
        b + 1
        """
        i, p = self._idx(child), self._idx(parent)
        if p not in self._parents[i]:
            return sympy.S.Zero
        return self._local_partials(i)[self._parents[i].index(p)]

    def diff(self, y: Any, *xs: NodeLike, expand: bool = False) -> sympy.Expr:
        """Derivative of ``y`` (a node or an expression in nodes) w.r.t. nodes ``xs``.

        For an intermediate ``x`` this is the adjoint: ``x`` is treated as a free
        variable, everything not downstream of it held fixed, summed over every
        consumer.  With several ``xs`` the derivative is taken in turn (higher order,
        through the graph).  The result is compact (in node symbols) unless
        ``expand=True`` (in inputs only).

        >>> t = Trace()
        >>> a = t.input("a")
        >>> b = t.define("b", a + a)
        >>> L = t.define("L", 2 * b)
        >>> t.diff(L, b), t.diff(L, a), t.diff(b**2, a, a)
        (2, 4, 8)
        """
        if not xs:
            raise TypeError("diff() needs at least one node to differentiate with respect to")
        result = self._expr(y)
        for x in xs:
            result = derivatives.adjoint(self, result, self._idx(x))
        return self.expand(result) if expand else result

    def grad(self, y: NodeLike) -> Gradient:
        """One reverse sweep: ``dy/d(node)`` for every node at once (a :class:`Gradient`)."""
        return derivatives.Gradient(self, self._idx(y))

    def tangents(self, x: NodeLike) -> Tangents:
        """Forward mode: ``d(node)/dx`` for every node (a :class:`Tangents`)."""
        return derivatives.Tangents(self, self._idx(x))

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
        xs = list(xs)
        first = [self.diff(y, x) for x in xs]
        return sympy.ImmutableMatrix(
            [[derivatives.adjoint(self, g, self._idx(x)) for x in xs] for g in first]
        )

    def paths(self, y: NodeLike, x: NodeLike, *, limit: int = 10_000) -> Paths:
        """Every path from ``y`` down to ``x``, with edge factors and products.

        The products sum to ``diff(y, x)``.  Raises
        :class:`~symtrace.errors.PathExplosionError` when there are more than ``limit``.
        """
        return derivatives.Paths(self, self._idx(y), self._idx(x), limit=limit)

    # ------------------------------------------------------- other front ends

    @classmethod
    def from_expr(cls, expr: Any, name: Any = "y", inputs: Any = None, **options: Any) -> Trace:
        """Decompose a plain SymPy expression into named primitive steps (see
        :mod:`symtrace.decompose`)."""
        from .decompose import from_expr

        return from_expr(expr, name=name, inputs=inputs, **options)

    def function(self, fn: Any, name: str | None = None) -> Block:
        """Wrap a SymPy-valued Python function as a reusable block: each call adds one
        node (see :mod:`symtrace.blocks`)."""
        from .blocks import Block

        return Block(self, fn, name=name)

    # --------------------------------------------------------------------- views

    def derivation(self, y: NodeLike, **options: Any) -> Any:
        """The chain rule written out for every node (see :mod:`symtrace.printing`)."""
        from .printing import derivation

        return derivation(self, y, **options)

    def table(self, y: NodeLike, mode: str = "reverse", wrt: Any = None, **options: Any) -> Any:
        """An evaluation-trace table, ``mode="forward"`` or ``"reverse"`` (see
        :mod:`symtrace.printing`)."""
        from .printing import table

        return table(self, y, mode=mode, wrt=wrt, **options)

    def to_dot(self, gradient: Any = None, **options: Any) -> str:
        """Graphviz DOT text of the graph (see :mod:`symtrace.dot`)."""
        from .dot import to_dot

        return to_dot(self, gradient, **options)

    # ------------------------------------------------------- checking, compiling

    def check(
        self, answers: Mapping[str, Any], output: NodeLike | None = None, **options: Any
    ) -> Any:
        """Grade hand-worked answers; returns a Report (see :mod:`symtrace.check`)."""
        from .check import check

        return check(self, answers, output=output, **options)

    def compile(self, outputs: Any, wrt: Any = None, backend: str = "numpy", **options: Any) -> Any:
        """A vectorised value-and-gradient function (see :mod:`symtrace.compile`)."""
        from .compile import compile_trace

        return compile_trace(self, outputs, wrt=wrt, backend=backend, **options)

    # ------------------------------------------------------------------ display

    def _render(self, fmt: str, **options: Any) -> str:
        from .printing import render_trace

        return render_trace(self, fmt, **options)

    def __repr__(self) -> str:
        eqs = [
            str(s) if d is None else f"{s} = {d}"
            for s, d in itertools.islice(zip(self._syms, self._defs, strict=True), 12)
        ]
        more = ", ..." if len(self._syms) > 12 else ""
        return f"<Trace: {', '.join(eqs)}{more} ({len(self._syms)} nodes)>"


def _reach(starts: Iterable[int], edges: list[Any], within: set[int] | None = None) -> set[int]:
    """Every node reachable from ``starts`` along ``edges`` (parents or consumers)."""
    seen = {s for s in starts if within is None or s in within}
    stack = list(seen)
    while stack:
        for j in edges[stack.pop()]:
            if j not in seen and (within is None or j in within):
                seen.add(j)
                stack.append(j)
    return seen
