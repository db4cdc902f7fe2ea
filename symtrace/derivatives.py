"""Reverse mode (adjoints), forward mode (tangents) and paths over a graph.

Two interpreters, each one short loop over ``graph.equations`` in the style of
autodidax's ``eval_jaxpr``: :func:`reverse` walks the equations backwards and *adds*
each consumer's contribution ``adjoint(consumer) * ∂consumer/∂node`` into its parents;
:func:`forward` walks them forwards and sums ``∂node/∂parent * tangent(parent)``.  Both
take the local partials (``local(i)``) and how to sum contributions (``total``), so the
same loop gives symbolic results (SymPy expressions, summed with one ``Add``) and
numbers (floats), and both take a ``write`` hook that may replace what is stored for a
node (the checker substitutes a student's claims there).

Results are immutable values: a :class:`Gradient` or :class:`Tangents` keeps the input
values of the moment it was made, so later ``Trace.set`` calls do not change it.

>>> from symtrace.examples import micrograd_lecture
>>> t = micrograd_lecture()
>>> g, out = t.graph, t.graph.index("L")
>>> local = numeric_partials(g, t.cache.floats([out]))
>>> adjoints = reverse(g, {out: 1.0}, local=local, total=sum)
>>> {g.symbols[i]: v for i, v in sorted(adjoints.items())}
{a: 6.0, b: -4.0, c: -2.0, f: 4.0, e: -2.0, d: -2.0, L: 1.0}
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import sympy

from . import matrices
from .display import Renderable
from .errors import (
    EvaluationError,
    MissingValueError,
    NonRealValueError,
    NotANodeError,
    PathExplosionError,
    UsageError,
)
from .evaluation import Number, ValueCache, exact_values, local_partial_values
from .graph import Graph
from .handforms import HandNames, hand_local, hand_names
from .nodes import NodeSymbol
from .shapes import size_at_most

__all__ = [
    "Gradient",
    "MatrixStep",
    "Path",
    "Paths",
    "Product",
    "Step",
    "Tangents",
    "adjoint",
    "float_adjoints",
    "forward",
    "numeric_partials",
    "product_sum",
    "reverse",
    "symbolic_sum",
    "vjp_rules",
]

Zero = sympy.S.Zero
T = TypeVar("T")


def symbolic_sum(terms: Sequence[sympy.Expr]) -> sympy.Expr:
    """One ``Add`` of all terms (a left fold re-flattens at every step: quadratic)."""
    if len(terms) == 1:
        return terms[0]
    if terms[0].is_Matrix:
        return sympy.MatAdd(*terms).doit()
    return sympy.Add(*terms)


class Product:
    """An adjoint times local partials, multiplied out only when read (:meth:`expr`).

    Along a chain each adjoint is the one above it times a local partial, so the
    compact adjoint of the node in the middle of a 100,000-node chain is a product of
    50,000 factors; multiplying as the sweep went (``a * d``, SymPy flattening the
    product so far at every step) was quadratic.  A Product keeps the factors
    multiplied into an expression since it was last built (a linked list: each step
    costs the same) and builds ``Mul(value, *factors)`` once.  That is the expression
    the step-by-step products give, because a factor is kept only while nothing
    cancels (no base's exponents add up to 0, no base is a number), so that no partial
    product is a number times a sum, the one case SymPy distributes (``2*(o - y)`` is
    ``2*o - 2*y``); otherwise, and when the value is a number or a sum, the product is
    taken at once.
    :func:`reverse` handles a Product like any adjoint.

    >>> x, y = sympy.symbols("x y")
    >>> p = Product(sympy.S(2)) * (x - y) * sympy.cos(x) * sympy.sin(y)
    >>> p.expr(), p.expr() == 2 * (x - y) * sympy.cos(x) * sympy.sin(y)
    ((2*x - 2*y)*sin(y)*cos(x), True)
    """

    __slots__ = ("_extended", "_factor", "_powers", "_prev", "_value")

    def __init__(
        self,
        value: sympy.Expr | None,
        factor: Any = None,
        prev: Product | None = None,
        powers: dict[Any, Any] | None = None,
    ) -> None:
        self._value, self._factor, self._prev = value, factor, prev
        self._powers = powers  # base -> exponent of the factors so far (None: not yet)
        self._extended = False  # whether a product was made from these powers

    def __mul__(self, d: Any) -> Product:
        v = self._value
        if (v is not None and (v.is_Number or v.is_Add)) or not _plain_factor(d):
            return Product(self.expr() * d)  # as SymPy multiplies, at once
        # The first product made from this one takes its powers over and adds to
        # them; any other (a node with several parents) counts them again.
        powers = self._powers if not self._extended else None
        if powers is None:
            powers = self._count_powers()
        new = _powers(d)
        if new is None or powers is None:
            return Product(self.expr() * d)
        changed = {}
        for base, exp in new.items():
            total = powers[base] + exp if base in powers else exp
            if total == 0:  # x * 1/x: the product cancels, multiply as SymPy does
                return Product(self.expr() * d)
            changed[base] = total
        self._extended = True
        powers.update(changed)
        return Product(None, d, self, powers)

    def _count_powers(self) -> dict[Any, Any] | None:
        """Base -> exponent over the value and every factor since (see :func:`_powers`)."""
        factors = []
        node: Product = self
        while node._value is None:
            factors.append(node._factor)
            node = node._prev  # type: ignore[assignment]
        powers = _powers(node._value)
        for f in factors:
            new = _powers(f)
            if powers is None or new is None:
                return None
            for base, exp in new.items():
                powers[base] = powers[base] + exp if base in powers else exp
        return powers

    def __eq__(self, other: object) -> bool:
        return self._value is not None and self._value == other  # factors are never 0

    __hash__ = None  # type: ignore[assignment]

    def expr(self) -> sympy.Expr:
        """The product, built once: ``Mul(value, *factors)``.

        The product one step up the list is built too (and kept), and this one from it:
        when every adjoint is read, or a node sums the contributions of a whole chain
        (an input that feeds every node), each is then its neighbour's product times one
        factor, which SymPy merges into an already sorted product, instead of sorting
        the whole list of factors again (see "Symbolic gradients" in docs/performance.md)."""
        if self._value is None:
            factors = []
            node: Product = self
            while node._value is None:
                factors.append(node._factor)
                node = node._prev  # type: ignore[assignment]
            above = self._prev
            if len(factors) > 1 and above is not None:
                above._value = sympy.Mul(node._value, *reversed(factors[1:]))
                above._prev = None
                self._value = sympy.Mul(above._value, factors[0])
            else:
                self._value = sympy.Mul(node._value, *reversed(factors))
            self._prev = None  # the list is not needed again
        return self._value


def _plain_factor(d: Any) -> bool:
    """Whether ``d`` may wait in a :class:`Product`: a commutative expression and, if a
    number, a finite one (``0`` never reaches a product)."""
    if not isinstance(d, sympy.Expr) or not d.is_commutative:
        return False
    return not d.is_Number or bool(d.is_finite)


def _powers(e: Any) -> dict[Any, Any] | None:
    """The factors of ``e`` as base -> exponent (``x**2``: ``x`` -> 2, ``exp(x)``:
    ``E`` -> ``x``), numbers left out; ``None`` if a base is a number (``sqrt(2)``:
    SymPy combines those into new numbers)."""
    out: dict[Any, Any] = {}
    for f in sympy.Mul.make_args(e):
        if f.is_Number:
            continue
        base, exp = f.as_base_exp()
        if base.is_number:
            return None
        out[base] = out[base] + exp if base in out else exp
    return out


def expr_of(a: Any) -> Any:
    """An adjoint as an expression: a :class:`Product` built, anything else as it is."""
    return a.expr() if isinstance(a, Product) else a


def product_sum(terms: Sequence[Any]) -> Any:
    """``total`` for :func:`reverse` over :class:`Product` adjoints: one term stays a
    Product (a chain's next step multiplies it further), several are built and summed
    by :func:`symbolic_sum`."""
    if len(terms) == 1:
        return terms[0]
    return Product(symbolic_sum([expr_of(t) for t in terms]))


Pullback = Callable[[int, Any], Sequence[Any]]
"""``pullback(i, adjoint)``: the contribution of matrix equation ``i`` to each parent's
adjoint (aligned with ``parents``; ``None`` for none).  For a scalar equation the
contribution is ``adjoint * local(i)[k]``, inlined in the loop."""


def reverse(
    graph: Graph,
    seeds: Mapping[int, T],
    *,
    local: Callable[[int], Sequence[T]],
    total: Callable[[list[T]], T] | None = None,
    stop: int = 0,
    within: set[int] | None = None,
    write: Callable[[int, T], T] | None = None,
    pullback: Pullback | None = None,
) -> dict[int, T]:
    """The reverse sweep: adjoints of every node from the seeds' down to index ``stop``.

    ``seeds`` maps nodes to their starting adjoint (``{output: 1}``); ``local(i)`` gives
    node ``i``'s local partials w.r.t. its parents.  Each consumer's contribution
    ``adjoint * local`` is *added* into its parent: with ``+`` as it arrives (numbers),
    or, when ``total`` is given, gathered and summed once per node by ``total`` (SymPy
    terms: one ``Add``, never a left fold).  Only nodes in ``within`` (default: all)
    receive contributions.  ``write(i, adjoint)`` returns what is stored and propagated
    for node ``i``.  Nodes that receive nothing are absent from the result (adjoint 0).
    Matrix equations (kind ``"matrix"``) contribute ``pullback(i, adjoint)`` instead of
    ``adjoint * local``: the VJP rules of :mod:`symtrace.matrices`.
    """
    eqs = graph.equations
    gather = total is not None
    top = max(seeds, default=-1)
    if within is None:
        order: Iterable[int] = range(top, stop - 1, -1)
    else:  # visit only the region, however far apart its nodes are
        order = sorted({i for i in (*within, *seeds) if i >= stop}, reverse=True)
        top = max(top, order[0] if order else -1)
    allowed: Container[int] | None = within  # the nodes that may receive contributions
    if within is None and stop > 0:
        allowed = range(stop, top + 1)
    pending: list[Any] = [None] * (top + 1)  # contributions received, by node
    for i, seed in seeds.items():
        pending[i] = [seed] if gather else seed
    done: list[int] = []
    for i in order:
        a: Any = pending[i]
        if a is None:
            continue
        if total is not None:
            a = pending[i] = total(a)
        if write is not None:
            a = pending[i] = write(i, a)
        done.append(i)
        eq = eqs[i]
        if eq.shape is None:  # an input, or a matrix equation
            if eq.definition is None or pullback is None:
                continue
            contributions: Iterable[tuple[int, Any]] = zip(eq.parents, pullback(i, a), strict=True)
        elif a == 0:
            continue
        else:
            contributions = zip(eq.parents, local(i), strict=True)
        for p, d in contributions:
            if d is None or (allowed is not None and p not in allowed):
                continue
            if eq.shape is not None:
                if d == 0:
                    continue
                d = a * d
            have = pending[p]
            if have is None:
                pending[p] = [d] if gather else d
            elif gather:
                have.append(d)
            else:
                pending[p] = have + d
    return {i: pending[i] for i in done}


def vjp_rules(graph: Graph, c: int) -> dict[Any, Any]:
    """Each parent's vector-Jacobian rule in matrix equation ``c``, written with the
    equation's own adjoint as a symbol: ``{W: z̄ xᵀ, x: Wᵀ z̄, b: z̄}`` for ``z = W x + b``
    (the rules of :mod:`symtrace.matrices`; views print them as the edges' factors)."""
    eq = graph.equations[c]
    bar = sympy.S.One if eq.dims is None else matrices.Bar(eq.symbol)
    return matrices.pullback(eq.definition, bar, out=eq.symbol)


def symbolic_pullback(graph: Graph) -> Pullback:
    """``pullback`` for :func:`reverse`: matrix-form adjoints in node symbols."""
    eqs, symbols = graph.equations, graph.symbols

    def pull(i: int, a: Any) -> list[Any]:
        eq = eqs[i]
        got = matrices.pullback(eq.definition, a, out=eq.symbol)
        return [got.get(symbols[p]) for p in eq.parents]

    return pull


def numeric_pullback(graph: Graph, fvals: Sequence[Any]) -> Pullback:
    """``pullback`` for :func:`reverse`: matrix adjoints as float64 arrays at ``fvals``."""
    eqs, symbols, find = graph.equations, graph.symbols, graph.find

    def pull(i: int, a: Any) -> list[Any]:
        eq = eqs[i]
        with np.errstate(all="ignore"):
            got = matrices.pullback(
                eq.definition,
                a,
                out=fvals[i],
                lookup=lambda s: fvals[find(s)],  # type: ignore[index]
                ops=matrices.NUMERIC,
            )
        return [got.get(symbols[p]) for p in eq.parents]

    return pull


def forward(
    graph: Graph,
    seeds: Mapping[int, T],
    nodes: Iterable[int],
    *,
    local: Callable[[int], Sequence[T]],
    total: Callable[[list[T]], T],
    zero: T,
    write: Callable[[int, T], T] | None = None,
) -> dict[int, T]:
    """The forward sweep: tangents of ``nodes`` (ascending) given the seeds' tangents.

    A node's tangent sums ``local(i)[k] * tangent(parent k)`` over its parents with a
    nonzero tangent (``zero`` when there is none); ``write(i, tangent)`` returns what is
    stored, for the seeds too.  Without ``write``, zero tangents are left out.
    """
    eqs = graph.equations
    tan: dict[int, T] = {}
    for i, v in seeds.items():
        tan[i] = v if write is None else write(i, v)
    for i in nodes:
        if i in seeds or eqs[i].shape is None:
            continue
        terms = [
            d * tan[p]  # type: ignore[operator]
            for p, d in zip(eqs[i].parents, local(i), strict=True)
            if p in tan and d != 0 and tan[p] != 0
        ]
        v = total(terms) if terms else zero
        if write is not None:
            tan[i] = write(i, v)
        elif terms:
            tan[i] = v
    return tan


def numeric_partials(
    graph: Graph, fvals: Sequence[float | None]
) -> Callable[[int], tuple[float, ...]]:
    """``local`` for :func:`reverse` and :func:`forward`: local partials as floats at ``fvals``."""
    return lambda i: local_partial_values(graph, i, fvals)


def adjoint(graph: Graph, expr: sympy.Expr, ix: int) -> sympy.Expr:
    """d(expr)/d(node ix) with adjoint semantics; ``expr`` is an expression in nodes."""
    i = graph.find(expr)
    if i is not None:
        seeds = {i: sympy.S.One}
    elif matrices.has_matrix(expr):
        raise UsageError(
            f"differentiate a scalar node: name {expr} first (t.define('L', ...)), then "
            "t.diff(L, W); SymPy's diff with respect to a matrix is never used"
        )
    else:
        seeds = {}
        for s in expr.free_symbols:
            j = graph.index(s)
            if j >= ix:
                seeds[j] = sympy.diff(expr, s)
    seeds = {j: e for j, e in seeds.items() if e != 0}
    adj = _symbolic_reverse(graph, seeds, ix)
    return expr_of(adj[ix]) if ix in adj else _zero(graph, ix)


def _symbolic_reverse(
    graph: Graph, seeds: Mapping[int, Any], stop: int, within: set[int] | None = None
) -> dict[int, Any]:
    """The symbolic sweep: :class:`Product` adjoints for a scalar trace (built when
    read), the matrix rules' adjoints for a trace with matrix nodes."""
    if graph.has_matrices:
        return reverse(
            graph,
            seeds,
            local=graph.local_partials,
            total=symbolic_sum,
            stop=stop,
            within=within,
            pullback=symbolic_pullback(graph),
        )
    products = {j: a if isinstance(a, Product) else Product(a) for j, a in seeds.items()}
    return reverse(
        graph, products, local=graph.local_partials, total=product_sum, stop=stop, within=within
    )


def _zero(graph: Graph, i: int) -> Any:
    """The zero adjoint of node ``i``: ``0``, or a zero matrix shaped like the node."""
    dims = graph.equations[i].dims
    return Zero if dims is None else sympy.ZeroMatrix(*dims)


@dataclass(frozen=True)
class Step:
    """One chain-rule contribution: ``upstream * local``.

    In a :class:`Gradient`, ``via`` is a consumer ``c`` of the node, ``local`` is
    ``∂c/∂node`` and ``upstream`` is ``dy/dc``.  In :class:`Tangents`, ``via`` is a
    parent ``p``, ``local`` is ``∂node/∂p`` and ``upstream`` is ``dp/dx``.  The
    ``*_value`` fields are floats (``None`` when the inputs had no values).

    >>> from symtrace.examples import micrograd_lecture
    >>> step, = micrograd_lecture().grad("L").steps("a")
    >>> step.via, step.local, step.upstream, step.term, step.value
    (e, b, f, b*f, 6.0)
    """

    via: NodeSymbol
    local: sympy.Expr
    upstream: sympy.Expr
    local_value: float | None
    upstream_value: float | None

    @property
    def term(self) -> sympy.Expr:
        """The symbolic contribution ``upstream * local``."""
        return self.upstream * self.local

    @property
    def value(self) -> float | None:
        """The numeric contribution."""
        if self.local_value is None or self.upstream_value is None:
            return None
        return self.upstream_value * self.local_value


@dataclass(frozen=True)
class MatrixStep(Step):
    """One chain-rule contribution through a matrix equation, in matrix notation.

    ``local`` is the VJP rule with the consumer's adjoint as a symbol (``z̄ xᵀ`` for
    ``z = W x + b``); ``term`` puts the upstream adjoint ``upstream`` in its place;
    ``value`` is the contribution's number (a float64 array for a matrix node).

    >>> import symtrace as st
    >>> t = st.Trace()
    >>> W, x = t.input("W", [[1.0, 2.0]]), t.input("x", [[3.0], [4.0]])
    >>> z = t.define("z", W @ x)
    >>> L = t.define("L", st.sum(st.square(z)))
    >>> step, = t.grad(L).steps(W)
    >>> step.via, step.local, step.term, step.value
    (z, zbar*x.T, 2*z*x.T, array([[66., 88.]]))
    """

    contribution: Any = None

    @property
    def term(self) -> sympy.Expr:
        """The symbolic contribution: the rule with the upstream adjoint in place."""
        return self.local.xreplace({matrices.Bar(self.via): self.upstream}).doit()

    @property
    def value(self) -> Any:
        """The numeric contribution."""
        return self.contribution


class _Sweep(Renderable, Mapping[NodeSymbol, sympy.Expr]):
    """What Gradient and Tangents share: a mapping node -> compact symbolic result.

    Public fields for views: ``graph`` (the :class:`~symtrace.graph.Graph`), ``size``
    (the number of nodes when it was made), :attr:`input_values`, :meth:`node_value`
    and :meth:`local_values` (numbers at the inputs it was made with).
    """

    kind = ""

    def __init__(self, graph: Graph, cache: ValueCache, anchor: int, targets: list[int]) -> None:
        self.graph = graph
        self.anchor = anchor
        self.size = len(graph)
        self._targets = targets
        self._given = dict(cache.given)
        self._fvals: list[float | None] | None = None
        self._value_error: EvaluationError | None = None
        try:
            self._fvals = list(cache.floats(targets)[: self.size])
        except (MissingValueError, NonRealValueError) as exc:
            self._value_error = exc
        self._memo: dict[int, Any] = {anchor: sympy.S.One}  # a Gradient's: Products too
        self._hand: dict[int, sympy.Expr] = {}
        self._hand_names: HandNames | None = None
        self._numeric: dict[int, float] | None = None
        self._exact: dict[int, sympy.Expr] | None = None
        self._local_values: dict[int, tuple[float, ...]] = {}
        self._bounded: dict[int, dict[int, sympy.Expr | None]] = {}

    # ------------------------------------------------------------------ lookups

    def index(self, node: Any) -> int:
        """The index of ``node`` (Symbol or name), which must predate this result."""
        i = self.graph.index(node)
        if i >= self.size:
            raise NotANodeError(
                f"{node} was added to the trace after this {self.kind} was made; make a new one"
            )
        return i

    def __getitem__(self, node: Any) -> sympy.Expr:
        return self._written(self.index(node))

    def _written(self, i: int) -> sympy.Expr:
        """Node ``i``'s result in its hand-style form (:mod:`symtrace.handforms`):
        ``1 - o**2`` for ``o = tanh(n)``, ``2*(o - y)``; the sweep itself keeps the
        engine's form (:meth:`_result`), which expands, evaluates and differentiates."""
        got = self._hand.get(i)
        if got is None:
            got = self._hand[i] = self.hand(self._result(i))
        return got

    def hand(self, e: Any) -> Any:
        """``e`` (an expression in this result's nodes) in its hand-style form."""
        if self.graph.has_matrices:
            return e  # matrix results are written by the matrix printer
        if self._hand_names is None:
            self._hand_names = hand_names(self.graph.equations[: self.size])
        return hand_local(e, self._hand_names)

    def __contains__(self, node: object) -> bool:
        i = self.graph.find(node)
        if i is None and isinstance(node, str) and self.graph.has_name(node):
            i = self.graph.index(node)
        return i is not None and i < self.size

    def __iter__(self) -> Iterator[NodeSymbol]:
        return iter(self.graph.symbols[: self.size])

    def __len__(self) -> int:
        return self.size

    @property
    def input_values(self) -> dict[NodeSymbol, Number]:
        """The input values this result was computed at (inputs without values absent)."""
        return {self.graph.symbols[i]: v for i, v in sorted(self._given.items())}

    def value_cache(self) -> ValueCache:
        """A new :class:`~symtrace.evaluation.ValueCache` at this result's input values.

        The trace's own cache may have moved on (``Trace.set``); views that need more
        results at the same point (tangents, paths) build them on this one.
        """
        cache = ValueCache(self.graph)
        cache.set(list(self._given.items()))
        return cache

    @property
    def has_values(self) -> bool:
        """Whether every number this result needs could be computed."""
        return self._fvals is not None

    def floats(self) -> list[float | None]:
        """Every node's float at this result's inputs; raises the evaluation error if any."""
        if self._fvals is None:
            assert self._value_error is not None
            raise self._value_error
        return self._fvals

    def node_value(self, node: Any) -> float | None:
        """The float of ``node`` itself at these inputs (``None`` without values)."""
        if self._fvals is None:
            return None
        return self._fvals[self.index(node)]

    def local_values(self, node: Any) -> tuple[float, ...]:
        """Numeric local partials of ``node``'s definition w.r.t. its parents."""
        i = node if isinstance(node, int) else self.index(node)
        got = self._local_values.get(i)
        if got is None:
            got = local_partial_values(self.graph, i, self.floats())
            self._local_values[i] = got
        return got

    # ------------------------------------------------------------------ results

    def _result(self, i: int) -> sympy.Expr:
        raise NotImplementedError

    def _upstream(self, i: int) -> list[int]:
        """The nodes whose results node ``i``'s result sums (consumers or parents)."""
        raise NotImplementedError

    def compact_or_none(self, node: Any, limit: int) -> sympy.Expr | None:
        """``self[node]`` if it has at most ``limit`` SymPy nodes, else ``None``.

        A result is built only from upstream results that are small themselves, so
        asking this for every node of a deep graph takes linear time, where ``self[node]``
        for each would build results as long as the graph (quadratic in all).  Reports
        use it to show a formula where one is short enough to read.

        >>> from symtrace import Trace
        >>> import sympy
        >>> t = Trace()
        >>> v = x = t.input("x", 0.5)
        >>> for k in range(30):
        ...     v = t.define(f"v{k}", sympy.sin(v))
        >>> g = t.grad(v)
        >>> g.compact_or_none("v28", 40), g.compact_or_none("x", 40)
        (cos(v28), None)
        """
        i = self.index(node)
        known = self._bounded.setdefault(limit, {self.anchor: sympy.S.One})
        region = _reach_new([i], self._upstream, known)
        for j in sorted(region, reverse=self.kind == "Gradient"):  # upstream first
            if any(known[u] is None for u in self._upstream(j)):
                known[j] = None
                continue
            r = self._result(j)
            known[j] = r if size_at_most(r, limit) else None
        return known[i]

    def _numeric_results(self) -> dict[int, float]:
        raise NotImplementedError

    def expanded(self, node: Any) -> sympy.Expr:
        """The result for ``node`` in the inputs only."""
        return self.graph.expand(self._result(self.index(node)))

    def value(self, node: Any, *, exact: bool = False) -> Any:
        """The number for ``node`` at the input values this object was made with."""
        i = self.graph.find(node) if isinstance(node, NodeSymbol) else None
        if i is None or i >= self.size:  # a name, a non-node, or a node added later
            i = self.index(node)
        if exact:
            if self._exact is None:
                self.floats()  # report missing or non-real values first
                self._exact = exact_values(self.graph, self._given, self._targets)
            ex, res = self._exact, self._result(i)
            if self.graph.has_matrices:
                return matrices.evaluate(res, lambda s: ex[self.graph.index(s)], matrices.EXACT)
            return res.xreplace({s: ex[self.graph.index(s)] for s in res.free_symbols})
        if self._numeric is None:
            self._numeric = self._numeric_results()
        got = self._numeric.get(i)
        if got is None:
            dims = self.graph.equations[i].dims
            return 0.0 if dims is None else np.zeros(dims)
        return got.copy() if isinstance(got, np.ndarray) else got

    def _step(self, via: int, local: sympy.Expr, local_value: float | None) -> Step:
        up_value = self.value(self.graph.symbols[via]) if self._fvals is not None else None
        return Step(
            self.graph.symbols[via], self.hand(local), self._written(via), local_value, up_value
        )

    def __repr__(self) -> str:
        return f"<{self.kind} {self._title()} ({self.size} nodes)>"

    def _title(self) -> str:
        raise NotImplementedError


class Gradient(_Sweep):
    """``dy/d(node)`` for every node of a trace: the result of one reverse sweep.

    ``g[node]`` is the compact symbolic adjoint (in node symbols), ``g.expanded(node)``
    the same in inputs only, ``g.value(node)`` the number, ``g.steps(node)`` the
    chain-rule terms it sums.  Nodes that do not reach ``y`` give 0.

    >>> from symtrace import Trace
    >>> t = Trace()
    >>> a, b, c, f = t.inputs("a b c f", values=(2, -3, 10, -2))
    >>> e = t.define("e", a * b); d = t.define("d", e + c); L = t.define("L", d * f)
    >>> g = t.grad(L)
    >>> g[e], g.value(e), g[a], g.value(a)
    (f, -2.0, b*f, 6.0)
    >>> [(s.via, s.local, s.upstream, s.value) for s in g.steps(e)]
    [(d, 1, f, -2.0)]
    """

    kind = "Gradient"

    def __init__(self, graph: Graph, cache: ValueCache, output: int) -> None:
        super().__init__(graph, cache, output, [output])

    @property
    def output(self) -> NodeSymbol:
        """The node being differentiated."""
        return self.graph.symbols[self.anchor]

    def _title(self) -> str:
        return f"of {self.output}"

    def _result(self, i: int) -> sympy.Expr:
        """The compact adjoint of node ``i``, built on first request.

        Only the nodes between ``i`` and the output are swept: asking for a node next to
        the output of a 100,000-node chain costs a few steps, while the full compact
        form deep down is as large as the chain itself.
        """
        memo = self._memo
        if i not in memo:
            self._sweep_to(i)
        got = memo[i]
        if isinstance(got, Product):
            got = memo[i] = got.expr()
        return got

    def _sweep_to(self, i: int) -> None:
        """Sweep from the known adjoints down to node ``i``, remembering the region's
        adjoints (as :class:`Product` for a scalar trace: built when read)."""
        memo, graph = self._memo, self.graph
        out, consumers = self.anchor, graph.consumers
        region = _reach_new([i], lambda j: [c for c in consumers[j] if c <= out], memo)
        seeds = {c: memo[c] for j in region for c in consumers[j] if c in memo and memo[c] != 0}
        adj = _symbolic_reverse(graph, seeds, i, region)
        for j in region:
            memo[j] = adj[j] if j in adj else _zero(graph, j)

    def _upstream(self, i: int) -> list[int]:
        return [c for c in self.graph.consumers[i] if c <= self.anchor]

    def _numeric_results(self) -> dict[int, float]:
        graph, fvals = self.graph, self.floats()
        if graph.has_matrices:
            with_matrices = reverse(
                graph,
                {self.anchor: 1.0},
                local=self.local_values,
                pullback=numeric_pullback(graph, fvals),
            )
            return self._matrix_results(with_matrices)
        adj = float_adjoints(graph, fvals, self.anchor, self.local_values)
        total = sum(adj)  # complex, inf or nan if any adjoint is (or the sum overflows)
        if type(total) is not float or total - total != 0.0:
            self._report_non_finite(dict(enumerate(adj)))
        return {i: v for i, v in enumerate(adj) if v != 0.0}

    def _matrix_results(self, adj: dict[int, Any]) -> dict[int, Any]:
        """Adjoints of a graph with matrix nodes: floats and float64 arrays, checked."""
        out: dict[int, Any] = {}
        for i, v in adj.items():
            if isinstance(v, np.ndarray):
                v = np.asarray(v, dtype=np.float64)
                if v.ndim != 2:
                    v = v.reshape(self.graph.equations[i].dims or (1, 1))
            if not matrices.finite(v):
                raise NonRealValueError(
                    f"the adjoint d{self.output}/d{self.graph.symbols[i]} is not finite (inf "
                    "or nan): a local derivative overflowed or was undefined"
                )
            out[i] = v
        return out

    def _report_non_finite(self, adj: dict[int, Any]) -> None:
        """Find the node whose local partials made an adjoint complex, infinite or NaN."""
        if all(type(v) is float and v - v == 0.0 for v in adj.values()):
            return  # only the sum of finite adjoints overflowed
        for i in sorted(adj, reverse=True):
            if adj[i] != 0.0 and not self.graph.equations[i].is_input:
                self.local_values(i)  # raises NonRealValueError naming the node
        bad = next(i for i, v in sorted(adj.items()) if type(v) is not float or v - v != 0.0)
        raise NonRealValueError(
            f"the adjoint d{self.output}/d{self.graph.symbols[bad]} is {adj[bad]}: the product "
            "of finite local partials overflowed"
        )

    def steps(self, node: Any) -> tuple[Step, ...]:
        """The chain-rule terms ``dy/dc * ∂c/∂node`` over the consumers ``c`` that reach y.

        Through a matrix equation a term is a :class:`MatrixStep` (its VJP rule)."""
        i = self.index(node)
        out: list[Step] = []
        for c in self.graph.consumers[i]:
            if c >= self.size or self._result(c) == 0:
                continue
            if self.graph.equations[c].kind == "matrix":
                out.append(self._matrix_step(c, i))
                continue
            k = self.graph.equations[c].parents.index(i)
            local_value = self.local_values(c)[k] if self._fvals is not None else None
            out.append(self._step(c, self.graph.local_partials(c)[k], local_value))
        return tuple(out)

    def _matrix_step(self, c: int, i: int) -> MatrixStep:
        graph = self.graph
        eq, sym = graph.equations[c], graph.symbols[i]
        local = vjp_rules(graph, c).get(sym, _zero(graph, i))
        value = None
        if self._fvals is not None:
            fvals = self._fvals
            up = self.value(eq.symbol)
            k = eq.parents.index(i)
            value = numeric_pullback(graph, fvals)(c, up)[k]
        return MatrixStep(eq.symbol, local, self._written(c), None, None, value)


class Tangents(_Sweep):
    """``d(node)/dx`` for every node of a trace: the result of one forward sweep.

    Same interface as :class:`Gradient`; ``steps(node)`` lists the contributions
    ``∂node/∂p * dp/dx`` over the parents ``p``.

    >>> from symtrace import Trace
    >>> t = Trace()
    >>> x = t.input("x", 1)
    >>> s = t.define("s", x**2); y = t.define("y", s * x)
    >>> tx = t.tangents(x)
    >>> tx[s], tx[y], tx.expanded(y), tx.value(y)
    (2*x, s + 2*x**2, 3*x**2, 3.0)
    """

    kind = "Tangents"

    def __init__(self, graph: Graph, cache: ValueCache, wrt: int) -> None:
        self.downstream = sorted(graph.descendants([wrt]))
        super().__init__(graph, cache, wrt, self.downstream)

    @property
    def wrt(self) -> NodeSymbol:
        """The node the tangents are taken with respect to."""
        return self.graph.symbols[self.anchor]

    def _title(self) -> str:
        return f"w.r.t. {self.wrt}"

    def _result(self, i: int) -> sympy.Expr:
        """The compact tangent of node ``i``; only its ancestors downstream of x are swept."""
        memo = self._memo
        if i in memo:
            return memo[i]
        x, eqs = self.anchor, self.graph.equations
        region = _reach_new([i], lambda j: [p for p in eqs[j].parents if p >= x], memo)
        seeds = {p: memo[p] for j in region for p in eqs[j].parents if p in memo}
        tan = forward(
            self.graph,
            seeds,
            sorted(region),
            local=self.graph.local_partials,
            total=symbolic_sum,
            zero=Zero,
        )
        for j in region:
            memo[j] = tan.get(j, Zero)
        return memo[i]

    def _upstream(self, i: int) -> list[int]:
        return [p for p in self.graph.equations[i].parents if p >= self.anchor]

    def _numeric_results(self) -> dict[int, float]:
        return forward(
            self.graph,
            {self.anchor: 1.0},
            self.downstream,
            local=self.local_values,
            total=sum,
            zero=0.0,
        )

    def steps(self, node: Any) -> tuple[Step, ...]:
        """The terms ``∂node/∂p * dp/dx`` over the parents ``p`` downstream of x."""
        i = self.index(node)
        out = []
        for k, p in enumerate(self.graph.equations[i].parents):
            if p >= self.anchor and self._result(p) != 0:
                local_value = self.local_values(i)[k] if self._fvals is not None else None
                out.append(self._step(p, self.graph.local_partials(i)[k], local_value))
        return tuple(out)


def _reach_new(
    starts: list[int], edges: Callable[[int], Iterable[int]], known: Mapping[int, Any]
) -> set[int]:
    """The nodes reachable from ``starts`` along ``edges`` that are not ``known`` yet."""
    seen: set[int] = set()
    stack = [s for s in starts if s not in known]
    while stack:
        j = stack.pop()
        if j not in seen:
            seen.add(j)
            stack.extend(k for k in edges(j) if k not in known and k not in seen)
    return seen


def float_adjoints(
    graph: Graph, fvals: Sequence[float | None], output: int, checked: Callable[[int], Any]
) -> list[float]:
    """:func:`reverse` specialised to floats from ``{output: 1.0}``: the numbers of a
    :class:`Gradient`, as a list indexed by node (0.0 for nodes that do not reach).

    The same sweep, in the same order, with the local partials called inline (most nodes
    have two parents): the generic loop's per-node hooks cost ~3x on a numeric gradient,
    the operation users repeat most.  ``checked(i)`` gives node ``i``'s partials by the
    checked path, called only when a plain call raises (it raises
    :class:`~symtrace.errors.NonRealValueError` naming the node).  Non-finite results are
    not checked here: the caller checks the sum once per sweep.  A property test checks
    that it agrees with :func:`reverse` exactly.
    """
    eqs = graph.equations
    adj = [0.0] * (output + 1)
    adj[output] = 1.0
    for i in range(output, -1, -1):
        a = adj[i]
        eq = eqs[i]
        if a == 0.0 or eq.shape is None:
            continue
        ps, fn = eq.parents, eq.shape.partials_fn
        try:
            if len(ps) == 2:  # most nodes: spare building lists
                d0, d1 = fn(fvals[ps[0]], fvals[ps[1]])
                adj[ps[0]] += a * d0
                adj[ps[1]] += a * d1
                continue
            ds = fn(*[fvals[p] for p in ps])
        except (ArithmeticError, ValueError, TypeError):
            ds = checked(i)
        for p, d in zip(ps, ds, strict=True):
            adj[p] += a * d
    return adj


@dataclass(frozen=True)
class Path:
    """One path ``y -> ... -> x`` through the graph with its edge factors.

    ``nodes[0]`` is the output, ``nodes[-1]`` the node differentiated against;
    ``factors[k]`` is the local partial ``∂nodes[k]/∂nodes[k+1]``.  The ``*values`` are
    floats, or ``None`` when the inputs had no values.

    >>> from symtrace.examples import micrograd_lecture
    >>> path, = micrograd_lecture().paths("L", "a")
    >>> path.nodes, path.factors, path.product, path.value
    ((L, d, e, a), (f, 1, b), b*f, 6.0)
    """

    nodes: tuple[NodeSymbol, ...]
    factors: tuple[sympy.Expr, ...]
    factor_values: tuple[float, ...] | None

    @property
    def product(self) -> sympy.Expr:
        """The product of the edge factors."""
        return sympy.Mul(*self.factors)

    @property
    def value(self) -> float | None:
        """The numeric product of the edge factors."""
        if self.factor_values is None:
            return None
        out = 1.0
        for v in self.factor_values:
            out *= v
        return out


class Paths(Renderable, tuple[Path, ...]):
    """Every path from an output down to a node; the products sum to the derivative.

    >>> from symtrace import Trace
    >>> t = Trace()
    >>> a = t.input("a", 3)
    >>> b = t.define("b", a**2); c = t.define("c", b * a)
    >>> ps = t.paths(c, a)
    >>> [(p.nodes, p.product, p.value) for p in ps]
    [((c, a), b, 9.0), ((c, b, a), 2*a**2, 18.0)]
    >>> ps.total, ps.value
    (2*a**2 + b, 27.0)
    """

    output: NodeSymbol
    wrt: NodeSymbol
    graph: Graph

    def __new__(
        cls, graph: Graph, cache: ValueCache, y: int, x: int, *, limit: int = 10_000
    ) -> Paths:
        eqs = graph.equations
        count = {x: 1}
        for i in range(x + 1, y + 1):
            n = sum(count.get(p, 0) for p in eqs[i].parents)
            if n:
                count[i] = n
        total = count.get(y, 0)
        if total > limit:
            raise PathExplosionError(
                f"there are {total} paths from {graph.symbols[y]} to {graph.symbols[x]}, more "
                f"than limit={limit}; pass a larger limit=, or use t.grad()/t.diff(), which "
                "sum over all paths without listing them"
            )
        try:
            fvals: list[float | None] | None = cache.floats([y])
        except (MissingValueError, NonRealValueError):
            fvals = None
        local_values: dict[int, tuple[float, ...]] = {}
        found: list[Path] = []
        stack: list[tuple[int, ...]] = [(y,)]
        while stack:
            path = stack.pop()
            end = path[-1]
            if end == x:
                found.append(_make_path(graph, path, fvals, local_values))
                continue
            stack.extend((*path, p) for p in reversed(eqs[end].parents) if p in count)
        obj = super().__new__(cls, found)
        obj.output, obj.wrt, obj.graph = graph.symbols[y], graph.symbols[x], graph
        return obj

    @property
    def total(self) -> sympy.Expr:
        """The sum of the path products (equals the compact derivative, up to ordering)."""
        return sympy.Add(*(p.product for p in self))

    @property
    def value(self) -> float | None:
        """The numeric sum of the path products."""
        vals = [p.value for p in self]
        return None if any(v is None for v in vals) else sum(vals)  # type: ignore[arg-type]


def _make_path(
    graph: Graph,
    path: tuple[int, ...],
    fvals: list[float | None] | None,
    cache: dict[int, tuple[float, ...]],
) -> Path:
    factors, values = [], []
    for child, parent in itertools.pairwise(path):
        k = graph.equations[child].parents.index(parent)
        factors.append(graph.local_partials(child)[k])
        if fvals is not None:
            if child not in cache:
                cache[child] = local_partial_values(graph, child, fvals)
            values.append(cache[child][k])
    syms = tuple(graph.symbols[i] for i in path)
    return Path(syms, tuple(factors), tuple(values) if fvals is not None else None)
