"""Numeric worlds: every number of one backprop, computed by symtrace's own loops.

A :class:`World` holds every value, local partial, adjoint and tangent of one backprop
at the trace's input values.  The checker makes several: the correct one, one per
choice of one-sided derivatives at kinks (:func:`kink_variants`), and the student's,
in which each claimed quantity replaces the computed one the moment it is computed, so
that everything downstream is what the student's own earlier answers give.

All of them run on the core interpreters, each given a ``write`` hook:
:func:`symtrace.evaluation.forward` (``strict=False``: NaN instead of an error) for the
values, :func:`symtrace.derivatives.reverse` for the adjoints and
:func:`symtrace.derivatives.forward` for the tangents.  The hook substitutes the claims
(:class:`Substitution`) and tracks what is *tainted*: a number is tainted when it was
computed from a claim judged wrong.  Adjoints and tangents are carried as
:class:`Tracked` numbers (a float and its taint), so the loops sum and multiply taints
with the numbers.

:class:`RandomPoints` are the other worlds: random input values near the trace's, at
which symbolic answers are compared numerically.

>>> from symtrace.examples import micrograd_lecture
>>> t = micrograd_lecture()
>>> g = t.graph
>>> worlds = Worlds(g, g.index("L"), t.cache.floats(range(len(g))))
>>> world = worlds.sweep()
>>> world.number(NodeGradient(g.index("a"))), world.number(LocalPartial(g.index("e"), 1))
(6.0, 2.0)
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import sympy

from .. import derivatives, evaluation
from ..graph import Equation, Graph
from ..shapes import placeholders, shape_of
from .claims import Claim
from .keys import Kind, LocalPartial, NodeGradient, NodeTangent, NodeValue, Quantity

__all__ = [
    "Judge",
    "RandomPoints",
    "Substitution",
    "Tracked",
    "World",
    "Worlds",
    "kink_variants",
]

KINK_LIMIT = 6
"""At most this many kinks are varied (two worlds each, and two with all of them)."""

PRECISE_NODES = 400
"""The precise comparison (:meth:`RandomPoints.precise`) recomputes at most this many
nodes per point; larger answers get the float comparison alone."""

PRECISE_DIGITS = 60
"""Digits of the node values in the precise comparison."""

PRECISE_THRESHOLD = sympy.Float("1e-30")
"""Relative size above which a difference found by the precise comparison is real."""

SCREEN_TOLERANCE = 1e-6
"""How far apart, relative to the sizes involved, a symbolic claim and the expected
number must be at a random point for :meth:`RandomPoints.differs` to tell them apart: a
thousand times the float comparison's ``1e-9``, so that rounding in either never decides."""


class Tracked:
    """A number of a world and whether it rests on a claim judged wrong (its taint).

    Products and sums carry the taint along.  A Tracked number never equals ``0``, so
    the derivative loops follow every edge: a zero adjoint may still carry a student's
    wrong claim to the nodes below it.
    """

    __slots__ = ("tainted", "value")

    def __init__(self, value: float, tainted: bool = False) -> None:
        self.value = value
        self.tainted = tainted

    def __mul__(self, other: Tracked) -> Tracked:
        return Tracked(self.value * other.value, self.tainted or other.tainted)

    def __repr__(self) -> str:
        return f"Tracked({self.value!r}{', tainted' if self.tainted else ''})"


ZERO = Tracked(0.0)
ONE = Tracked(1.0)


def _total(terms: Sequence[Tracked]) -> Tracked:
    """The sum of the contributions, in order, from ``0.0`` (so ``-0.0`` sums to ``0.0``)."""
    if len(terms) == 1:  # most nodes
        t = terms[0]
        return Tracked(0.0 + t.value, t.tainted)
    value, tainted = 0.0, False
    for t in terms:
        value += t.value
        tainted = tainted or t.tainted
    return Tracked(value, tainted)


def _total_upward(terms: list[Tracked]) -> Tracked:
    """The sum of a reverse sweep's contributions, in consumer order (they arrive last first)."""
    return _total(terms[::-1])


Local = Callable[[int], tuple[Tracked, ...]]
"""Node ``i``'s local partials for the derivative loops."""

Judge = Callable[[Quantity, Tracked], bool]
"""Judges a claimed quantity given what the formula computes at that point of the
student's world; returns whether the claim is correct."""


@dataclass
class Substitution:
    """The student's claims, put in place of the computed quantities by the write hooks.

    ``formula`` collects, for each claimed quantity, what the chain rule gives from the
    student's earlier answers (before the claim replaces it).  ``nodes[kind]`` are the
    nodes with a claim of that kind: the hooks look up claims only for those.
    """

    claims: Mapping[Quantity, Claim]
    judge: Judge
    formula: dict[Quantity, Tracked] = field(default_factory=dict)

    def __post_init__(self) -> None:
        claimed: dict[Kind, set[int]] = {kind: set() for kind in Kind}
        for q in self.claims:
            claimed[q.kind].add(q.node)
        self.nodes = claimed

    def apply(self, q: Quantity, computed: Tracked) -> Tracked:
        """The claim for ``q`` (tainted unless judged correct), or ``computed``."""
        claim = self.claims.get(q)
        if claim is None:
            return computed
        self.formula[q] = computed
        correct = self.judge(q, computed)
        return Tracked(math.nan if claim.value is None else claim.value, not correct)


def _unused_judge(q: Quantity, computed: Tracked) -> bool:
    return True  # no claims: never called


@dataclass
class World:
    """Every numeric quantity of one backprop (see the module docstring).

    Numbers are kept as plain floats, with their taints beside them: a check holds a
    dozen worlds of thousands of nodes, and plain floats cost the garbage collector
    nothing.  ``locals[i]`` are node ``i``'s local partials, one per parent.
    """

    graph: Graph
    values: list[float]
    value_taint: list[bool]
    locals: list[tuple[float, ...]] = field(default_factory=list)
    local_taint: list[tuple[bool, ...]] = field(default_factory=list)
    adjoints: list[float] = field(default_factory=list)
    adjoint_taint: list[bool] = field(default_factory=list)
    tangents: dict[int, list[float]] = field(default_factory=dict)
    tangent_taint: dict[int, list[bool]] = field(default_factory=dict)
    formula: dict[Quantity, Tracked] = field(default_factory=dict)

    def number(self, q: Quantity) -> float:
        """The float of the quantity ``q`` in this world."""
        numbers, _, k = self._where(q)
        return numbers[k]

    def tainted(self, q: Quantity) -> bool:
        """Whether the quantity ``q`` rests on a claim judged wrong."""
        _, taints, k = self._where(q)
        return taints[k]

    def _where(self, q: Quantity) -> tuple[Sequence[float], Sequence[bool], int]:
        match q:
            case NodeValue(i):
                return self.values, self.value_taint, i
            case NodeGradient(i):
                return self.adjoints, self.adjoint_taint, i
            case LocalPartial(c, p):
                k = self.graph.equations[c].parents.index(p)
                return self.locals[c], self.local_taint[c], k
            case NodeTangent(i, a):
                return self.tangents[a], self.tangent_taint[a], i


class Worlds:
    """What every world of one check shares: the graph, the output and its floats.

    ``floats`` are every node's float at the trace's values.
    """

    def __init__(self, graph: Graph, out: int, floats: Sequence[float | None]) -> None:
        self.graph = graph
        self.out = out
        self.floats = floats

    def sweep(
        self,
        wrts: Sequence[int] = (),
        *,
        override: Mapping[int, tuple[float, ...]] | None = None,
        student: Substitution | None = None,
    ) -> World:
        """One forward and backward pass, and the tangents w.r.t. each of ``wrts``.

        ``override`` replaces the local partials of some nodes (one-sided derivatives at
        kinks); ``student`` substitutes claims for the quantities they claim.
        """
        student = student or Substitution({}, _unused_judge)
        world = World(self.graph, [math.nan if v is None else v for v in self.floats], [])
        self._values(world, student)
        self._locals(world, student, override or {})
        locals_, taints = world.locals, world.local_taint

        def local(i: int) -> tuple[Tracked, ...]:  # made when a loop asks: few objects live
            return tuple(map(Tracked, locals_[i], taints[i]))

        self._adjoints(world, student, local)
        for a in wrts:
            self._tangents(world, student, local, a)
        world.formula = student.formula
        return world

    def _values(self, world: World, student: Substitution) -> None:
        eqs, claimed, taint = self.graph.equations, student.nodes[Kind.VALUE], world.value_taint
        taint.extend([False] * len(eqs))

        def write(i: int, computed: float) -> float:
            tainted = any(taint[p] for p in eqs[i].parents)
            if i in claimed:
                got = student.apply(NodeValue(i), Tracked(computed, tainted))
                computed, tainted = got.value, got.tainted
            taint[i] = tainted
            return computed

        evaluation.forward(self.graph, world.values, range(len(eqs)), write=write, strict=False)

    def _locals(
        self, world: World, student: Substitution, override: Mapping[int, tuple[float, ...]]
    ) -> None:
        """Every node's local partials at the world's values (claims substituted)."""
        claimed, values, taint = student.nodes[Kind.LOCAL], world.values, world.value_taint
        for eq in self.graph.equations:
            if eq.is_input:
                world.locals.append(())
                world.local_taint.append(())
                continue
            computed = override[eq.index] if eq.index in override else _partials(eq, values)
            tainted = any(taint[p] for p in eq.parents)
            if eq.index in claimed:
                row = [
                    student.apply(LocalPartial(eq.index, p), Tracked(v, tainted))
                    for p, v in zip(eq.parents, computed, strict=True)
                ]
                world.locals.append(tuple(t.value for t in row))
                world.local_taint.append(tuple(t.tainted for t in row))
            else:
                world.locals.append(computed)
                world.local_taint.append((tainted,) * len(computed))

    def _adjoints(self, world: World, student: Substitution, local: Local) -> None:
        claimed = student.nodes[Kind.GRADIENT]

        def write(i: int, adjoint: Tracked) -> Tracked:
            return student.apply(NodeGradient(i), adjoint) if i in claimed else adjoint

        got = derivatives.reverse(
            self.graph, {self.out: ONE}, local=local, total=_total_upward, write=write
        )
        # Nodes the output does not depend on (or past it) have adjoint 0; claims too.
        adjoints = [got[i] if i in got else write(i, ZERO) for i in range(len(self.graph))]
        world.adjoints = [t.value for t in adjoints]
        world.adjoint_taint = [t.tainted for t in adjoints]

    def _tangents(self, world: World, student: Substitution, local: Local, a: int) -> None:
        eqs, claimed = self.graph.equations, student.nodes[Kind.TANGENT]

        def write(i: int, tangent: Tracked) -> Tracked:
            return student.apply(NodeTangent(i, a), tangent) if i in claimed else tangent

        # The inputs after ``a`` are seeds too: their tangent is 0, or what is claimed.
        seeds = {a: ONE} | {i: ZERO for i in range(a + 1, len(eqs)) if eqs[i].is_input}
        got = derivatives.forward(
            self.graph,
            seeds,
            range(a + 1, len(eqs)),
            local=local,
            total=_total,
            zero=ZERO,
            write=write,
        )
        # Nodes before ``a`` do not depend on it: tangent 0, claims judged but not used.
        before = [write(i, ZERO).tainted for i in range(a)]
        world.tangents[a] = [0.0] * a + [got[i].value for i in range(a, len(eqs))]
        world.tangent_taint[a] = before + [got[i].tainted for i in range(a, len(eqs))]


def _call(fn: Callable[..., object], args: Sequence[float]) -> object:
    try:
        return fn(*args)
    except (ArithmeticError, ValueError, TypeError):
        return math.nan


def _real(x: object) -> float:
    return float(x) if isinstance(x, int | float) and math.isfinite(x) else math.nan


def _partials(eq: Equation, values: Sequence[float]) -> tuple[float, ...]:
    """Node ``eq``'s local partials at ``values``, NaN where they are not real numbers."""
    shape = eq.shape
    got = math.nan if shape is None else _call(shape.partials_fn, [values[p] for p in eq.parents])
    if isinstance(got, tuple):
        return tuple(_real(v) for v in got)
    return (math.nan,) * len(eq.parents)


# ------------------------------------------------------------------------- kinks


def kink_variants(
    graph: Graph, world: World
) -> tuple[list[dict[int, tuple[float, ...]]], dict[int, str]]:
    """Local-partial overrides at kinks (one-sided derivatives), and a note per kink node.

    A kink is a ``Heaviside`` or ``sign`` in a local partial whose argument is 0 at the
    world's values (``relu`` at 0, ``abs`` at 0, a tie in ``max``).  The variants are:
    every kink at its lower side, every kink at its upper side, then each kink alone at
    either side.
    """
    kinks: dict[int, tuple[tuple[float, ...], tuple[float, ...]]] = {}
    notes: dict[int, str] = {}
    for eq in graph.equations:
        if eq.is_input:
            continue
        sides = _one_sided(graph, eq, world.values)
        if sides is None:
            continue
        kinks[eq.index] = sides
        notes[eq.index] = (
            f"{eq.symbol} = {eq.definition} is at a kink here; any value between the "
            "one-sided derivatives is accepted (symtrace uses PyTorch's convention)"
        )
        if len(kinks) >= KINK_LIMIT:
            break
    variants: list[dict[int, tuple[float, ...]]] = []
    if kinks:
        variants.append({i: lo for i, (lo, _) in kinks.items()})
        variants.append({i: hi for i, (_, hi) in kinks.items()})
        for i, (lo, hi) in kinks.items():
            variants.append({i: lo})
            variants.append({i: hi})
    return variants, notes


def _one_sided(
    graph: Graph, eq: Equation, values: Sequence[float]
) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """The local partials of ``eq`` from below and from above a kink; ``None`` if none."""
    if eq.shape is not None and not eq.shape.has_kinks:
        return None  # decided once per shape, without writing the partials in node symbols
    partials = graph.local_partials(eq.index)
    funcs = set().union(*(p.atoms(sympy.Heaviside, sympy.sign) for p in partials))
    if not funcs:
        return None
    at = {graph.symbols[p]: sympy.Float(values[p]) for p in eq.parents}
    zero = [f for f in funcs if abs(float(f.args[0].xreplace(at))) <= 1e-12]
    if not zero:
        return None
    sides = []
    for h in (0, 1):
        swap = {
            f: (
                sympy.Heaviside(f.args[0], h)
                if f.func is sympy.Heaviside
                else 2 * sympy.Heaviside(f.args[0], h) - 1
            )
            for f in zero
        }
        sides.append(tuple(float(p.xreplace(swap).xreplace(at)) for p in partials))
    return sides[0], sides[1]


# ----------------------------------------------------------------- random points


class RandomPoints:
    """Worlds at random input values, where symbolic answers are compared numerically.

    Each input is drawn near its value in the trace (``±30%`` and ``±0.1``), or in
    ``[0.5, 2]`` when the trace has no values; points where some node is not a real
    number are skipped (at most ``3 * count`` tries).  Drawn once, on first use.
    """

    def __init__(
        self, graph: Graph, base: Sequence[float | None] | None, count: int, seed: int
    ) -> None:
        self.graph = graph
        self.base = base
        self.count = count
        self.seed = seed
        self._points: list[dict[sympy.Symbol, float]] | None = None
        self._exact: dict[int, dict[sympy.Symbol, sympy.Expr]] = {}  # -1: the trace's values
        self._sweeps: dict[tuple[int, tuple[int, ...]], list[tuple[World, World]]] = {}

    @property
    def points(self) -> list[dict[sympy.Symbol, float]]:
        """Every node's float at each random point."""
        if self._points is None:
            rng = random.Random(self.seed)
            self._points = []
            for _ in range(self.count * 3):
                if len(self._points) >= self.count:
                    break
                point = self._draw(rng)
                if point is not None:
                    self._points.append(dict(zip(self.graph.symbols, point, strict=False)))
        return self._points

    def _draw(self, rng: random.Random) -> list[float] | None:
        """One forward sweep at random inputs; ``None`` at the first non-real node."""
        eqs, base = self.graph.equations, self.base
        failed = False

        def write(i: int, computed: float) -> float:
            nonlocal failed
            if not eqs[i].is_input:
                failed = not math.isfinite(computed)
                return computed
            b = base[i] if base is not None else None
            if b is None:
                return rng.uniform(0.5, 2.0)
            return b * (1 + rng.uniform(-0.3, 0.3)) + rng.uniform(-0.1, 0.1)

        nodes = itertools.takewhile(lambda _: not failed, range(len(eqs)))
        values = [math.nan] * len(eqs)
        evaluation.forward(self.graph, values, nodes, write=write, strict=False)
        return None if failed else values

    def agreeing(self, claim: sympy.Expr, expected: sympy.Expr) -> int | None:
        """At how many points ``claim - expected`` is 0; ``None`` if it is not at one."""
        diff = claim - expected
        syms = sorted(diff.free_symbols, key=self.graph.index)
        rename = dict(zip(syms, placeholders(len(syms)), strict=True))
        fn = shape_of(diff.xreplace(rename), len(syms)).value_fn
        sides = [
            shape_of(e.xreplace(rename), len(syms)).value_fn
            for e in (claim, expected)
            if e.free_symbols <= set(syms)
        ]
        agree = 0
        for point in self.points:
            args = [point[s] for s in syms]
            got = _real(_call(fn, args))
            if math.isnan(got):
                continue
            scale = max([1.0, *(abs(_real(_call(side, args))) for side in sides)])
            if abs(got) > 1e-9 * scale:
                return None
            agree += 1
        return agree

    def differs(self, claim: sympy.Expr, q: NodeGradient | NodeTangent, out: int) -> bool:
        """Whether ``claim`` (in node symbols) is clearly not the gradient of ``out`` (or
        the tangent) ``q`` at one of the points: both real there and apart by more than
        :data:`SCREEN_TOLERANCE` times the largest of 1, the two numbers and the sum of
        the magnitudes of the chain-rule terms that make ``q`` (what rounding could
        amount to).

        The expected number comes from one numeric sweep per point, shared by every
        claim, so ``q``'s formula is never written: deep in a graph of long definitions
        it is as long as the graph, and building and compiling it for every answer made
        checking grow as the square of the file.
        """
        syms = sorted(claim.free_symbols, key=self.graph.index)
        rename = dict(zip(syms, placeholders(len(syms)), strict=True))
        fn = shape_of(claim.xreplace(rename), len(syms)).value_fn
        wrts = (q.wrt,) if isinstance(q, NodeTangent) else ()
        for point, (world, sizes) in zip(self.points, self._worlds(out, wrts), strict=True):
            got = _real(_call(fn, [point[s] for s in syms]))
            want, size = world.number(q), sizes.number(q)
            if not (math.isfinite(got) and math.isfinite(want) and math.isfinite(size)):
                continue
            if abs(got - want) > SCREEN_TOLERANCE * max(1.0, abs(got), abs(want), size):
                return True
        return False

    def _worlds(self, out: int, wrts: tuple[int, ...]) -> list[tuple[World, World]]:
        """At each point: its world, and the world of magnitudes (every local partial
        replaced by its absolute value, so each adjoint and tangent is the sum of the
        magnitudes of its chain-rule terms)."""
        key = (out, wrts)
        if key not in self._sweeps:
            pairs = []
            for point in self.points:
                worlds = Worlds(self.graph, out, [point[s] for s in self.graph.symbols])
                world = worlds.sweep(wrts)
                magnitudes = {i: tuple(map(abs, row)) for i, row in enumerate(world.locals) if row}
                pairs.append((world, worlds.sweep(wrts, override=magnitudes)))
            self._sweeps[key] = pairs
        return self._sweeps[key]

    def precise(self, claim: sympy.Expr, expected: sympy.Expr, points: int = 2) -> bool | None:
        """Whether ``claim`` and ``expected`` (in node symbols) agree to 30 digits at the
        trace's values and the first ``points`` random points (``False`` also where the
        claim is not real and the expected value is); ``None`` when that cannot be told
        (too many nodes to recompute, or no point where it is real).

        Node values are recomputed from the inputs with :data:`PRECISE_DIGITS` digits
        (SymPy's ``evalf``, whose error is bounded), so a difference of ``1e-20`` (which
        floats cannot see) is found, and values too large for floats are compared too.
        """
        graph, eqs = self.graph, self.graph.equations
        free = claim.free_symbols | expected.free_symbols
        needed = sorted(graph.ancestors(graph.index(s) for s in free))
        if len(needed) > PRECISE_NODES:
            return None
        told = 0
        base = self.base
        tried: list[Mapping[sympy.Symbol, float | None]] = []
        if base is not None:
            tried.append(dict(zip(graph.symbols, base, strict=True)))
        first = len(tried)
        tried += self.points[:points]
        for k, point in enumerate(tried):
            if any(point[graph.symbols[i]] is None for i in needed if eqs[i].is_input):
                continue
            # Kept per point: every claim of a check reuses the nodes computed so far.
            exact = self._exact.setdefault(k - first, {})
            try:
                for i in needed:
                    sym = graph.symbols[i]
                    if sym in exact:
                        continue
                    if eqs[i].is_input:
                        exact[sym] = sympy.Float(point[sym], PRECISE_DIGITS)
                    else:
                        at = {graph.symbols[p]: exact[graph.symbols[p]] for p in eqs[i].parents}
                        exact[sym] = eqs[i].rhs.evalf(PRECISE_DIGITS, subs=at)
                at = {s: exact[s] for s in free}
                want = sympy.sympify(expected, strict=True).evalf(40, subs=at)
            except (ArithmeticError, ValueError, TypeError, RecursionError, KeyError):
                continue
            try:
                sides = [sympy.sympify(claim, strict=True).evalf(40, subs=at), want]
            except OverflowError:
                # Too large even for 60-digit arithmetic (exp(exp(exp(exp(c))))), where
                # the expected value is a number: not the same value.
                if want.is_Number and want.is_finite:
                    return False
                continue
            except (ArithmeticError, ValueError, TypeError, RecursionError):
                continue
            real = [v.is_Number and v.is_finite for v in sides]
            if real[1] and not real[0] and sides[0].is_finite:
                return False  # not real where the expected value is
            if not all(real):
                continue
            scale = max(sympy.Float(1), abs(sides[0]), abs(sides[1]))
            if abs(sides[0] - sides[1]) > PRECISE_THRESHOLD * scale:
                return False
            told += 1
        return True if told else None
