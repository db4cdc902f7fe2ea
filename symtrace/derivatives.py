"""Reverse sweep (adjoints), forward sweep (tangents) and paths over a Trace.

Each interpreter is a short loop over the equation list: the reverse sweep walks it
backwards and *adds* each consumer's contribution ``adjoint(consumer) * local partial``
into its parents; the forward sweep walks it forwards.  Symbolic results are built
when first asked for, numbers from plain floats and compiled per-shape partials.

Results are immutable values: a :class:`Gradient` or :class:`Tangents` keeps the input
values of the moment it was made, so later ``Trace.set`` calls do not change it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sympy

from .display import Renderable
from .errors import EvaluationError, MissingValueError, NonRealValueError, PathExplosionError
from .nodes import NodeSymbol

if TYPE_CHECKING:
    from .trace import Trace

__all__ = ["Gradient", "Path", "Paths", "Step", "Tangents", "adjoint"]

Zero = sympy.S.Zero


def _sum(terms: list[sympy.Expr]) -> sympy.Expr:
    # One Add of all terms: a left fold re-flattens at every step (quadratic).
    return terms[0] if len(terms) == 1 else sympy.Add(*terms)


def _symbolic_sweep(trace: Trace, seeds: Mapping[int, sympy.Expr], stop: int) -> dict[int, Any]:
    """Compact adjoints of the seeded expression for nodes ``stop ..`` (reverse order)."""
    terms: dict[int, list[sympy.Expr]] = {i: [e] for i, e in seeds.items() if e != 0}
    adj: dict[int, sympy.Expr] = {}
    parents = trace._parents
    for i in range(max(terms, default=-1), stop - 1, -1):
        ts = terms.pop(i, None)
        if not ts:
            continue
        a = _sum(ts)
        if a == 0:
            continue
        adj[i] = a
        if trace._defs[i] is None:
            continue
        for p, local in zip(parents[i], trace._local_partials(i), strict=True):
            if p >= stop and local != 0:
                terms.setdefault(p, []).append(a * local)
    return adj


def adjoint(trace: Trace, expr: sympy.Expr, ix: int) -> sympy.Expr:
    """d(expr)/d(node ix) with adjoint semantics; ``expr`` is an expression in nodes."""
    index = trace._index
    if expr in index:
        seeds = {index[expr]: sympy.S.One}
    else:
        seeds = {index[s]: sympy.diff(expr, s) for s in expr.free_symbols if index[s] >= ix}
    return _symbolic_sweep(trace, seeds, ix).get(ix, Zero)


@dataclass(frozen=True)
class Step:
    """One chain-rule contribution: ``upstream * local``.

    In a :class:`Gradient`, ``via`` is a consumer ``c`` of the node, ``local`` is
    ``∂c/∂node`` and ``upstream`` is ``dy/dc``.  In :class:`Tangents`, ``via`` is a
    parent ``p``, ``local`` is ``∂node/∂p`` and ``upstream`` is ``dp/dx``.  The
    ``*_value`` fields are floats (``None`` when the inputs had no values).

    >>> from symtrace.cli import demo_trace
    >>> step, = demo_trace().grad("L").steps("a")
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


class _Sweep(Renderable, Mapping[NodeSymbol, sympy.Expr]):
    """What Gradient and Tangents share: a mapping node -> compact symbolic result."""

    _kind = ""
    _reverse = True

    def __init__(self, trace: Trace, anchor: int, targets: list[int]) -> None:
        self._trace = trace
        self._anchor = anchor
        self._n = len(trace)
        self._targets = targets
        self._given = dict(trace._given)
        self._fvals: list[float | None] | None = None
        self._value_error: EvaluationError | None = None
        try:
            self._fvals = list(trace._ensure_floats(targets)[: self._n])
        except (MissingValueError, NonRealValueError) as exc:
            self._value_error = exc
        self._memo: dict[int, sympy.Expr] = {anchor: sympy.S.One}
        self._numeric: dict[int, float] | None = None
        self._exact: dict[int, sympy.Expr] | None = None
        self._local_values: dict[int, tuple[float, ...]] = {}

    # Subclasses say which neighbours a result depends on and what they contribute.

    def _deps(self, i: int) -> list[int]:
        raise NotImplementedError

    def _terms(self, i: int) -> list[sympy.Expr]:
        raise NotImplementedError

    def _numeric_results(self) -> dict[int, float]:
        raise NotImplementedError

    def _i(self, node: Any) -> int:
        i = self._trace._idx(node)
        if i >= self._n:
            raise KeyError(f"{node} was added to the trace after this {self._kind} was made")
        return i

    def _result(self, i: int) -> sympy.Expr:
        """The compact symbolic result for node ``i``, built on first request.

        Only the nodes between ``i`` and the anchor are visited (iteratively): asking
        for a node next to the output of a 100,000-node chain costs a few steps, while
        the full compact form deep down is as large as the chain itself.
        """
        memo = self._memo
        if i in memo:
            return memo[i]
        region: set[int] = set()
        stack = [i]
        while stack:
            j = stack.pop()
            if j not in memo and j not in region:
                region.add(j)
                stack.extend(self._deps(j))
        for j in sorted(region, reverse=self._reverse):
            terms = self._terms(j)
            memo[j] = _sum(terms) if terms else Zero
        return memo[i]

    def _floats(self) -> list[float | None]:
        if self._fvals is None:
            assert self._value_error is not None
            raise self._value_error
        return self._fvals

    def _partials_at(self, i: int) -> tuple[float, ...]:
        got = self._local_values.get(i)
        if got is None:
            got = self._trace._local_partial_values(i, self._floats())
            self._local_values[i] = got
        return got

    def __getitem__(self, node: Any) -> sympy.Expr:
        return self._result(self._i(node))

    def __contains__(self, node: object) -> bool:
        return node in self._trace and self._trace._idx(node) < self._n

    def __iter__(self) -> Iterator[NodeSymbol]:
        return iter(self._trace._syms[: self._n])

    def __len__(self) -> int:
        return self._n

    def expanded(self, node: Any) -> sympy.Expr:
        """The result for ``node`` in the inputs only."""
        return self._trace.expand(self[node])

    def value(self, node: Any, *, exact: bool = False) -> Any:
        """The number for ``node`` at the input values this object was made with."""
        i = self._trace._index.get(node, -1) if isinstance(node, NodeSymbol) else -1
        if not 0 <= i < self._n:  # a name, a non-node, or a node added later
            i = self._i(node)
        if exact:
            if self._exact is None:
                self._floats()  # report missing or non-real values first
                self._exact = self._trace._exact_values(self._given, self._targets)
            ex = self._exact
            res = self[node]
            return res.xreplace({s: ex[self._trace._index[s]] for s in res.free_symbols})
        if self._numeric is None:
            self._numeric = self._numeric_results()
        return self._numeric.get(i, 0.0)

    def _step(self, via: int, local: sympy.Expr, local_value: float | None) -> Step:
        up_value = None
        if self._fvals is not None:
            up_value = self.value(self._trace._syms[via])
        via_sym = self._trace._syms[via]
        return Step(via_sym, local, self[via_sym], local_value, up_value)

    def __repr__(self) -> str:
        return f"<{self._kind} {self._title()} ({self._n} nodes)>"

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

    _kind = "Gradient"

    def __init__(self, trace: Trace, output: int) -> None:
        super().__init__(trace, output, [output])

    @property
    def output(self) -> NodeSymbol:
        """The node being differentiated."""
        return self._trace._syms[self._anchor]

    def _title(self) -> str:
        return f"of {self.output}"

    def _render(self, fmt: str, **options: Any) -> str:
        from .printing import render_gradient

        return render_gradient(self, fmt, **options)

    _reverse = True

    def _deps(self, i: int) -> list[int]:
        return [c for c in self._trace._consumers[i] if c <= self._anchor]

    def _terms(self, i: int) -> list[sympy.Expr]:
        trace, out = self._trace, list[sympy.Expr]()
        for c in self._deps(i):
            upstream = self._memo[c]
            if upstream != 0:
                local = trace._local_partials(c)[trace._parents[c].index(i)]
                if local != 0:
                    out.append(upstream * local)
        return out

    def _numeric_results(self) -> dict[int, float]:
        trace, fvals = self._trace, self._floats()
        parents, defs, shapes = trace._parents, trace._defs, trace._shapes
        adj = [0.0] * (self._anchor + 1)
        adj[self._anchor] = 1.0
        for i in range(self._anchor, -1, -1):  # the hot loop: plain calls, checked after
            a = adj[i]
            if a == 0.0 or defs[i] is None:
                continue
            ps = parents[i]
            fn = shapes[i].partials_fn  # type: ignore[union-attr]
            try:
                if len(ps) == 2:  # most nodes: spare building lists
                    d0, d1 = fn(fvals[ps[0]], fvals[ps[1]])
                    adj[ps[0]] += a * d0
                    adj[ps[1]] += a * d1
                    continue
                ds = fn(*[fvals[p] for p in ps])
            except (ArithmeticError, ValueError, TypeError):
                ds = self._partials_at(i)  # raises NonRealValueError naming the node
            for p, d in zip(ps, ds, strict=True):
                adj[p] += a * d
        total = sum(adj)  # complex, inf or nan if any adjoint is (or if the sum overflows)
        if type(total) is not float or total - total != 0.0:
            self._report_non_finite(adj)
        return {i: v for i, v in enumerate(adj) if v != 0.0}

    def _report_non_finite(self, adj: list[Any]) -> None:
        """Find the node whose local partials made an adjoint complex, infinite or NaN."""
        if all(type(v) is float and v - v == 0.0 for v in adj):
            return  # only the sum of finite adjoints overflowed
        for i in range(self._anchor, -1, -1):
            if adj[i] != 0.0 and self._trace._defs[i] is not None:
                self._partials_at(i)  # raises NonRealValueError naming the node
        bad = next(i for i, v in enumerate(adj) if type(v) is not float or v - v != 0.0)
        raise NonRealValueError(
            f"the adjoint d{self.output}/d{self._trace._syms[bad]} is {adj[bad]}: the product "
            "of finite local partials overflowed"
        )

    def steps(self, node: Any) -> tuple[Step, ...]:
        """The chain-rule terms ``dy/dc * ∂c/∂node`` over the consumers ``c`` that reach y."""
        i = self._i(node)
        trace = self._trace
        out = []
        for c in trace._consumers[i]:
            if c >= self._n or self._result(c) == 0:
                continue
            k = trace._parents[c].index(i)
            local_value = self._partials_at(c)[k] if self._fvals is not None else None
            out.append(self._step(c, trace._local_partials(c)[k], local_value))
        return tuple(out)


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

    _kind = "Tangents"

    def __init__(self, trace: Trace, wrt: int) -> None:
        self._downstream = sorted(trace._descendants([wrt]))
        super().__init__(trace, wrt, self._downstream)

    @property
    def wrt(self) -> NodeSymbol:
        """The node the tangents are taken with respect to."""
        return self._trace._syms[self._anchor]

    def _title(self) -> str:
        return f"w.r.t. {self.wrt}"

    def _render(self, fmt: str, **options: Any) -> str:
        from .printing import render_tangents

        return render_tangents(self, fmt, **options)

    _reverse = False

    def _deps(self, i: int) -> list[int]:
        return [p for p in self._trace._parents[i] if p >= self._anchor]

    def _terms(self, i: int) -> list[sympy.Expr]:
        trace, out = self._trace, list[sympy.Expr]()
        if trace._defs[i] is None:
            return out
        for p, local in zip(trace._parents[i], trace._local_partials(i), strict=True):
            if p >= self._anchor and local != 0:
                upstream = self._memo[p]
                if upstream != 0:
                    out.append(local * upstream)
        return out

    def _numeric_results(self) -> dict[int, float]:
        parents = self._trace._parents
        tan = {self._anchor: 1.0}
        for i in self._downstream[1:]:
            total = 0.0
            for p, d in zip(parents[i], self._partials_at(i), strict=True):
                total += d * tan.get(p, 0.0)
            tan[i] = total
        return tan

    def steps(self, node: Any) -> tuple[Step, ...]:
        """The terms ``∂node/∂p * dp/dx`` over the parents ``p`` downstream of x."""
        i = self._i(node)
        trace = self._trace
        out = []
        for k, p in enumerate(trace._parents[i]):
            if p >= self._anchor and self._result(p) != 0:
                local_value = self._partials_at(i)[k] if self._fvals is not None else None
                out.append(self._step(p, trace._local_partials(i)[k], local_value))
        return tuple(out)


@dataclass(frozen=True)
class Path:
    """One path ``y -> ... -> x`` through the graph with its edge factors.

    ``nodes[0]`` is the output, ``nodes[-1]`` the node differentiated against;
    ``factors[k]`` is the local partial ``∂nodes[k]/∂nodes[k+1]``.  The ``*values`` are
    floats, or ``None`` when the inputs had no values.

    >>> from symtrace.cli import demo_trace
    >>> path, = demo_trace().paths("L", "a")
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

    def __new__(cls, trace: Trace, y: int, x: int, *, limit: int = 10_000) -> Paths:
        count = {x: 1}
        for i in range(x + 1, y + 1):
            n = sum(count.get(p, 0) for p in trace._parents[i])
            if n:
                count[i] = n
        total = count.get(y, 0)
        if total > limit:
            raise PathExplosionError(
                f"there are {total} paths from {trace._syms[y]} to {trace._syms[x]}, more than "
                f"limit={limit}; pass a larger limit=, or use t.grad()/t.diff(), which sum "
                "over all paths without listing them"
            )
        try:
            fvals: list[float | None] | None = trace._ensure_floats([y])
        except (MissingValueError, NonRealValueError):
            fvals = None
        local_values: dict[int, tuple[float, ...]] = {}
        found: list[Path] = []
        stack: list[tuple[int, ...]] = [(y,)]
        while stack:
            path = stack.pop()
            end = path[-1]
            if end == x:
                found.append(_make_path(trace, path, fvals, local_values))
                continue
            stack.extend((*path, p) for p in reversed(trace._parents[end]) if p in count)
        obj = super().__new__(cls, found)
        obj.output, obj.wrt = trace._syms[y], trace._syms[x]
        return obj

    def _render(self, fmt: str, **options: Any) -> str:
        from .printing import render_paths

        return render_paths(self, fmt, **options)

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
    trace: Trace,
    path: tuple[int, ...],
    fvals: list[float | None] | None,
    cache: dict[int, tuple[float, ...]],
) -> Path:
    factors, values = [], []
    for child, parent in itertools.pairwise(path):
        k = trace._parents[child].index(parent)
        factors.append(trace._local_partials(child)[k])
        if fvals is not None:
            if child not in cache:
                cache[child] = trace._local_partial_values(child, fvals)
            values.append(cache[child][k])
    syms = tuple(trace._syms[i] for i in path)
    return Path(syms, tuple(factors), tuple(values) if fvals is not None else None)
