"""Verdicts: each answer judged correct, wrong or carried, and the first mistake explained.

:func:`check` reads the answers (:mod:`.keys`, :mod:`.claims`), makes the numeric worlds
(:mod:`.worlds`): the correct one, its variants at kinks and the student's, judges each
claim as the student's world reaches it, then writes the verdicts in words: the correct
chain-rule step in numbers, a recognised slip (:meth:`Grader.diagnose`) and, for a
carried answer, the student's own numbers that it follows from.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import sympy

from ..derivatives import Gradient, Tangents
from ..errors import ExerciseError, MissingValueError, OptionError, OptionValueError, UsageError
from ..evaluation import ValueCache
from ..graph import Graph, NodeLike
from .claims import Claim, read_claim
from .keys import LocalPartial, NodeGradient, NodeTangent, NodeValue, Quantity, parse_key
from .report import (
    PRINTED_NODES,
    Answer,
    Report,
    expected_text,
    expr_text,
    is_small,
    number_text,
    too_long_text,
)
from .worlds import RandomPoints, Substitution, Tracked, World, Worlds, kink_variants

__all__ = ["Grader", "Options", "check"]

_SYMBOLIC_STEP_NODES = 100  # larger traces: symbolic forms only on request
_SHOWN_NODES = 40  # a chain-rule result is written in a wrong answer's text up to this size
_SUBSET_LIMIT = 6  # fan-out: sums of fewer than this many consumers' contributions ...
_SUBSET_BUDGET = 5_000  # ... tried while there are at most this many such subsets
_NAMES_SHOWN = 8  # consumers named in a fan-out explanation (more: "and N others")
_SYMBOLIC_OPS = 300  # simplify only expressions this small ...
_EXPANSION_TERMS = 2_000  # ... whose powers of sums expand to at most this many terms


def _bounded(expr: sympy.Expr) -> bool:
    """Whether ``simplify`` on ``expr`` is bounded work: few operations, and no power of a
    sum that expands to many terms (``(a + b + c + f)**1000``: 1.7e8 terms)."""
    if sympy.count_ops(expr) > _SYMBOLIC_OPS:
        return False
    for p in expr.atoms(sympy.Pow):
        n = p.exp
        if isinstance(p.base, sympy.Add) and n.is_Rational and abs(n) > 1:
            k = abs(int(n)) if n.is_Integer else abs(int(n.p)) + 1
            if math.comb(k + len(p.base.args) - 1, k) > _EXPANSION_TERMS:
                return False
    return True


def _partial_sums(terms: list[float]) -> Iterator[tuple[float, tuple[int, ...], bool]]:
    """The sums a fan-out slip may have made of some consumers' contributions ``terms``:
    each sum, a subset of consumers, and whether the sum leaves out that subset (else it
    is the subset's own sum).

    Every proper subset of fewer than ``_SUBSET_LIMIT`` consumers, smallest first, while
    there are at most ``_SUBSET_BUDGET`` of them (a node with 5 consumers: 30 subsets);
    for a wider fan-out (a node feeding 50,000 others has 2.6e21 subsets of at most 5) only
    the linear few: each consumer alone, then all but one.
    """
    n = len(terms)
    sizes = range(1, min(n, _SUBSET_LIMIT))
    if sum(math.comb(n, r) for r in sizes) <= _SUBSET_BUDGET:
        for r in sizes:
            for subset in itertools.combinations(range(n), r):
                yield sum(terms[k] for k in subset), subset, False
        return
    for k in range(n):
        yield terms[k], (k,), False
    total = sum(terms)
    for k in range(n):
        yield total - terms[k], (k,), True


def _some_names(names: list[str]) -> str:
    """``a, b, c``, or the first few and how many others."""
    if len(names) <= _NAMES_SHOWN:
        return ", ".join(names)
    return f"{', '.join(names[:_NAMES_SHOWN])} and {len(names) - _NAMES_SHOWN:,} others"


@dataclass(frozen=True)
class Options:
    """How claims are judged (see :func:`check`)."""

    rel_tol: float = 1e-6
    abs_tol: float = 1e-9
    written_precision: bool = True
    random_points: int = 4
    seed: int = 0
    follow_rounding: bool = False


_OPTIONS = {f.name for f in fields(Options)}
_REPORT_OPTIONS = {"title", "lines", "source"}


def check(
    graph: Graph,
    cache: ValueCache,
    answers: Mapping[str, Any],
    output: NodeLike | None = None,
    **options: Any,
) -> Report:
    """Grade hand-worked ``answers`` (key -> claim) against a trace; return a :class:`Report`.

    ``output`` is the node whose gradient the ``dL/dx`` keys mean (default: the last node).
    Options: ``rel_tol`` (default ``1e-6``) and ``abs_tol`` (``1e-9``) for numbers without
    a written precision; ``written_precision=False`` judges numeric strings like floats;
    ``random_points`` (4) and ``seed`` (0) for the numeric second opinion on symbolic
    answers; ``title`` and ``source`` (a file name) for the report; ``lines`` (key -> line
    number) for error messages.  ``follow_rounding=True`` (off by default; on when
    grading a class) also accepts a step computed from the unrounded value of an earlier
    answer the student wrote rounded (judged with the written precision of the claims it
    used).  ``Trace.check`` calls this with the trace's graph and value cache.

    >>> from symtrace import Trace
    >>> t = Trace()
    >>> x = t.input("x", 1)
    >>> s = t.define("s", "sigmoid(x)"); L = t.define("L", 2 * s)
    >>> r = t.check({"s": "0.73", "dL/ds": 2, "∂s/∂x": "s*(1 - s)", "dL/dx": "-0.39"})
    >>> [a.verdict for a in r.values()], r.first_error
    (['correct', 'correct', 'correct', 'wrong'], 'dL/dx')
    >>> r["dL/dx"].mistake
    'sign'
    """
    unknown = set(options) - _OPTIONS - _REPORT_OPTIONS
    if unknown:
        raise OptionError(
            f"check() got unknown option(s) {', '.join(sorted(unknown))}; options are "
            f"{', '.join(sorted(_OPTIONS | _REPORT_OPTIONS))}"
        )
    if not isinstance(answers, Mapping):
        raise UsageError(
            f"answers must be a mapping from key to claim, got {type(answers).__name__}"
        )
    rel_tol = float(options.get("rel_tol", 1e-6))
    abs_tol = float(options.get("abs_tol", 1e-9))
    if not (rel_tol >= 0 and abs_tol >= 0 and math.isfinite(rel_tol) and math.isfinite(abs_tol)):
        raise OptionValueError("rel_tol and abs_tol must be finite and non-negative")
    settings = Options(
        rel_tol,
        abs_tol,
        bool(options.get("written_precision", True)),
        int(options.get("random_points", 4)),
        int(options.get("seed", 0)),
        bool(options.get("follow_rounding", False)),
    )
    grader = Grader(graph, cache, answers, output, settings, options.get("lines"))
    return grader.run(options.get("title"), options.get("source"))


class Grader:
    """One :func:`check` call: the answers read, the worlds, the verdicts and their words."""

    def __init__(
        self,
        graph: Graph,
        cache: ValueCache,
        answers: Mapping[str, Any],
        output: NodeLike | None,
        options: Options,
        lines: Mapping[str, int] | None = None,
    ) -> None:
        if len(graph) == 0:
            raise ExerciseError("the trace is empty: add inputs and definitions first")
        self.graph, self.cache, self.options = graph, cache, options
        self.out = len(graph) - 1 if output is None else graph.index(output)
        try:
            floats: list[float | None] | None = list(cache.floats(range(len(graph))))
        except MissingValueError:
            floats = None
        self.worlds = None if floats is None else Worlds(graph, self.out, floats)
        self.random = RandomPoints(graph, floats, options.random_points, options.seed)
        self.reach = graph.ancestors([self.out])
        self.grad = Gradient(graph, cache, self.out)
        self._tangents: dict[int, Tangents] = {}
        self.quantities: dict[str, Quantity] = {}
        self.claims: dict[str, Claim] = {}
        self.blank: list[str] = []
        self._read(answers, lines or {}, floats)
        # Filled in by run(): the first claim of each quantity, the worlds, the verdicts.
        self.by_quantity: dict[Quantity, Claim] = {}
        self.correct: World | None = None
        self.student: World | None = None
        self.ranges: dict[Quantity, tuple[float, float]] = {}
        self.kink_notes: dict[int, str] = {}
        self.symbolic_notes: dict[Quantity, str | None] = {}

    def _read(
        self,
        answers: Mapping[str, Any],
        lines: Mapping[str, int],
        floats: list[float | None] | None,
    ) -> None:
        graph, output = self.graph, self.graph.symbols[self.out]
        for key, raw in answers.items():
            quantity = parse_key(graph, key, output)
            claim = read_claim(
                graph,
                key,
                raw,
                written=self.options.written_precision,
                fvals=floats,
                lineno=lines.get(key),
            )
            if claim is None:
                self.blank.append(key)
                continue
            if claim.expr is None and floats is None:
                names = tuple(
                    graph.symbols[i].name for i in graph.input_indices if i not in self.cache.given
                )
                raise MissingValueError(
                    f"answer {key!r} is a number, but inputs {', '.join(names)} have no "
                    "values; give them with t.set(...) or answer symbolically",
                    names,
                )
            self.quantities[key] = quantity
            self.claims[key] = claim

    # -- the run ----------------------------------------------------------------------

    def run(self, title: str | None = None, source: str | None = None) -> Report:
        """Judge every answer; the report."""
        for key, quantity in self.quantities.items():
            self.by_quantity.setdefault(quantity, self.claims[key])
        verdicts = self._judge_in_worlds()
        answers = [
            self.answer(key, q, self.claims[key], self._verdict_of(key, q, verdicts))
            for key, q in self.quantities.items()
        ]
        wrong = [a for a in answers if a.verdict == "wrong"]
        first = min(wrong, key=lambda a: self.order(self.quantities[a.key]), default=None)
        answers = [self.carried_text(a, first) for a in answers]
        return Report(
            answers,
            self.graph.symbols[self.out].name,
            first.key if first else None,
            self.blank,
            title,
            source,
        )

    def _judge_in_worlds(self) -> dict[Quantity, str]:
        """Make the worlds; judge each claimed quantity as the student's world reaches it.

        Without values there are no worlds and no verdicts here (see :meth:`_verdict_of`).
        """
        worlds, by_quantity = self.worlds, self.by_quantity
        if worlds is None:
            return {}
        wrts = sorted({q.wrt for q in by_quantity if isinstance(q, NodeTangent)})
        self.correct = worlds.sweep(wrts)
        variants, self.kink_notes = kink_variants(self.graph, self.correct)
        alternatives = [self.correct] + [worlds.sweep(wrts, override=v) for v in variants]
        for q in by_quantity:
            numbers = [w.number(q) for w in alternatives]
            self.ranges[q] = (min(numbers), max(numbers))
        verdicts: dict[Quantity, str] = {}

        def judge(q: Quantity, computed: Tracked) -> bool:
            verdicts[q] = self.verdict(q, by_quantity[q], computed)
            return verdicts[q] == "correct"

        self.student = worlds.sweep(wrts, student=Substitution(by_quantity, judge))
        return verdicts

    def _verdict_of(self, key: str, q: Quantity, verdicts: Mapping[Quantity, str]) -> str:
        claim = self.claims[key]
        if self.student is None:  # no values: symbolic claims only
            expr = claim.expr
            return "wrong" if expr is None else self.symbolic_verdict(q, expr)
        if self.by_quantity[q] is claim:
            return verdicts[q]
        # A second key for the same quantity: judged against the same formula.
        return self.verdict(q, claim, self.student.formula[q])

    def verdict(self, q: Quantity, claim: Claim, computed: Tracked) -> str:
        """Judge ``claim`` given what the formula gives from the student's answers."""
        if claim.expr is not None:
            status = self.symbolic_verdict(q, claim.expr)
            if status == "correct":
                return status
            if computed.tainted and self.close(claim, computed.value):
                return "carried"
            return status
        lo, hi = self.ranges[q]
        if self.close(claim, lo, lo, hi):
            return "correct"
        if self.close(claim, computed.value):
            return "carried" if computed.tainted else "correct"
        if self.options.follow_rounding and self.close_rounded(q, claim, computed.value):
            return "carried" if computed.tainted else "correct"
        return "wrong"

    def close_rounded(self, q: Quantity, claim: Claim, target: float) -> bool:
        """Whether ``claim`` is ``target`` within what the written precision of the claims
        the chain-rule step used allows (``follow_rounding``): a student who wrote
        ``dL/dz = -0.140`` and then multiplied the unrounded ``-0.1403`` is still right.

        The slack of a product ``x · y`` is ``|y| hx + |x| hy + hx hy``, ``h`` half a unit
        of the last written digit of each factor claimed as a numeric string.
        """
        if self.correct is None or claim.value is None or not math.isfinite(target):
            return False
        correct, slack = self.correct, 0.0
        for x, y in self.factors(q):
            (vx, hx), (vy, hy) = self._written(x, correct), self._written(y, correct)
            slack += abs(vy) * hx + abs(vx) * hy + hx * hy
        if slack == 0.0 or not math.isfinite(slack):
            return False
        own = claim.half_unit or max(self.options.rel_tol * abs(target), self.options.abs_tol)
        return abs(claim.value - target) <= (slack + own) * (1 + 1e-9)

    def _written(self, q: Quantity, correct: World) -> tuple[float, float]:
        """The student's number for ``q`` (the ``correct`` one if not claimed) and half a
        unit of its last written digit (0 when it has no written precision)."""
        claim = self.by_quantity.get(q)
        if claim is None or claim.value is None or not math.isfinite(claim.value):
            return correct.number(q), 0.0
        return claim.value, claim.half_unit or 0.0

    def order(self, q: Quantity) -> tuple[int, ...]:
        """The working order: values forward, then backward from the output (each node's
        gradient before the local partials of its definition), then tangents."""
        match q:
            case NodeValue(i):
                return (0, i)
            case NodeGradient(i):
                return (1, -i, 0)
            case LocalPartial(c, p):
                return (1, -c, 1, p)
            case NodeTangent(y, a):
                return (2, a, y)

    # -- comparison -------------------------------------------------------------------

    def close(
        self, claim: Claim, target: float, lo: float | None = None, hi: float | None = None
    ) -> bool:
        """Whether ``claim`` is ``target`` (or in ``[lo, hi]``) within its tolerance."""
        c = claim.value
        if c is None or not math.isfinite(c) or not math.isfinite(target):
            return False
        lo = target if lo is None else lo
        hi = target if hi is None else hi
        if claim.half_unit is not None:
            slack = claim.half_unit * (1 + 1e-9) + max(
                self.options.abs_tol, 1e-12 * max(abs(lo), abs(hi))
            )
        else:
            slack = max(self.options.rel_tol * max(abs(lo), abs(hi), abs(c)), self.options.abs_tol)
        return lo - slack <= c <= hi + slack

    def symbolic_verdict(self, q: Quantity, expr: sympy.Expr) -> str:
        """``correct``, ``wrong`` or ``undecided``: whether the symbolic claim ``expr`` is
        the expected expression (note kept)."""
        if self.clearly_not(q, expr):
            self.symbolic_notes[q] = None
            return "wrong"
        status, note = self.equivalent(expr, self.expected_symbolic(q))
        self.symbolic_notes[q] = note
        return status

    def clearly_not(self, q: Quantity, expr: sympy.Expr) -> bool:
        """Whether the symbolic claim ``expr`` of a chain-rule result too long to show is
        clearly another number at a random point (:meth:`RandomPoints.differs`): then it
        is wrong, and the long formula is neither built nor compared.  Every other claim
        is judged by :meth:`equivalent` against the formula."""
        if not isinstance(q, NodeGradient | NodeTangent) or self.graph.has_matrices:
            return False
        return self.expected_if_small(q) is None and self.random.differs(expr, q, self.out)

    def equivalent(self, claim: sympy.Expr, expected: sympy.Expr) -> tuple[str, str | None]:
        """Symbolic equivalence, decided numerically first, with bounded symbolic work.

        Floats at the random points, then the same points with 60 digits
        (:meth:`RandomPoints.precise`): a difference at either is ``wrong``.  Then
        ``simplify``, only on expressions whose expansion stays small (for rational
        functions that decides it); when it cannot prove the difference 0, the verdict is
        ``undecided`` and the note says why.
        """
        diff = claim - expected
        if diff == 0:
            return "correct", None
        agree = self.random.agreeing(claim, expected)
        if agree is None:
            return "wrong", None
        precise = self.random.precise(claim, expected)
        if precise is False:
            return "wrong", None
        if _bounded(diff):
            expanded = self.graph.expand(diff)
            forms = [diff] + ([expanded, expanded.rewrite(sympy.exp)] if _bounded(expanded) else [])
            for form in forms:
                try:
                    if sympy.simplify(form) == 0:
                        return "correct", None
                except (RecursionError, TypeError, ValueError, NotImplementedError):
                    continue
            if expanded.is_rational_function():
                return "wrong", None  # cancel decides rational functions: not 0
        if precise is None and not agree:
            return "undecided", (
                "undecided: the expression could not be evaluated at the random points and "
                "SymPy could not decide whether it is the expected one"
            )
        digits = "to 30 digits" if precise else "in floating point"
        return "undecided", (
            f"undecided: equal {digits} at the random points, but SymPy could not prove "
            "it is the same formula"
        )

    # -- expected quantities ----------------------------------------------------------

    def expected_symbolic(self, q: Quantity) -> sympy.Expr:
        """The correct quantity in node symbols (compact form)."""
        symbols = self.graph.symbols
        match q:
            case NodeValue(i):
                return self.graph.equations[i].rhs
            case NodeGradient(i):
                return self.grad[symbols[i]]
            case LocalPartial(c, p):
                return self.graph.local_partial(c, p)
            case NodeTangent(y, a):
                if a not in self._tangents:
                    self._tangents[a] = Tangents(self.graph, self.cache, a)
                return self._tangents[a][symbols[y]]

    def expected_if_small(
        self, q: NodeGradient | NodeTangent, limit: int = _SHOWN_NODES
    ) -> sympy.Expr | None:
        """The correct chain-rule result in node symbols if it has at most ``limit``
        nodes (see :func:`~symtrace.check.report.is_small`), else ``None``; linear work
        over all the answers of a deep graph (:meth:`Gradient.compact_or_none`)."""
        symbols = self.graph.symbols
        if isinstance(q, NodeGradient):
            return self.grad.compact_or_none(symbols[q.node], limit)
        if q.wrt not in self._tangents:
            self._tangents[q.wrt] = Tangents(self.graph, self.cache, q.wrt)
        return self._tangents[q.wrt].compact_or_none(symbols[q.node], limit)

    def upstream(self, i: int) -> list[int]:
        """The consumers of node ``i`` its gradient sums over (those that reach the output)."""
        if i == self.out:
            return []
        return [c for c in self.graph.consumers[i] if c <= self.out and c in self.reach]

    def factors(self, q: Quantity) -> list[tuple[Quantity, Quantity]]:
        """The chain-rule products (first factor, second factor) that sum to ``q``."""
        match q:
            case NodeGradient(i):
                return [(NodeGradient(c), LocalPartial(c, i)) for c in self.upstream(i)]
            case NodeTangent(y, a):
                eq = self.graph.equations[y]
                if y <= a or eq.is_input:
                    return []
                return [(LocalPartial(y, p), NodeTangent(p, a)) for p in eq.parents if p >= a]
        return []

    def inputs_of(self, q: Quantity) -> list[Quantity]:
        """The quantities the chain-rule formula for ``q`` reads."""
        match q:
            case NodeValue(node=i) | LocalPartial(node=i):
                return [NodeValue(p) for p in self.graph.equations[i].parents]
        return [x for pair in self.factors(q) for x in pair]

    # -- words ------------------------------------------------------------------------

    def label(self, q: Quantity) -> str:
        """How the quantity is written: ``d``, ``dL/dd``, ``∂d/∂e``, ``dd/da``."""
        s = self.graph.symbols
        match q:
            case NodeValue(i):
                return s[i].name
            case NodeGradient(i):
                return f"d{s[self.out]}/d{s[i]}"
            case LocalPartial(c, p):
                return f"∂{s[c]}/∂{s[p]}"
            case NodeTangent(y, a):
                return f"d{s[y]}/d{s[a]}"

    def step_text(self, q: Quantity, w: World | None, total: float | None = None) -> str:
        """``lhs = formula = numbers = result`` for ``q`` in world ``w`` (formula alone
        without a world); ``total`` is the result when it is not ``w``'s own."""
        lhs = self.label(q)
        if w is not None and total is None:
            total = w.number(q)
        result = number_text(total)
        match q:
            case NodeValue(i):
                return self._value_step(i, lhs, w, result)
            case LocalPartial():
                sym = self.expected_symbolic(q)
                if w is None or not sym.free_symbols:
                    return f"{lhs} = {sym}"
                return f"{lhs} = {sym} = {result}"
            case NodeGradient(i) if i == self.out:
                return f"{lhs} = 1"
            case NodeTangent(y, a) if y == a:
                return f"{lhs} = 1"
        pairs = self.factors(q)
        if not pairs:
            return f"{lhs} = 0 ({self._why_zero(q)})"
        formula = " + ".join(f"{self.label(x)} · {self.label(y)}" for x, y in pairs)
        if w is None:
            return f"{lhs} = {formula}"
        numbers = " + ".join(
            f"{number_text(w.number(x), True)} · {number_text(w.number(y), True)}" for x, y in pairs
        )
        return f"{lhs} = {formula} = {numbers} = {result}"

    def _why_zero(self, q: Quantity) -> str:
        s = self.graph.symbols
        if isinstance(q, NodeTangent):
            return f"{s[q.node]} does not depend on {s[q.wrt]}"
        return f"{s[q.node]} does not affect {s[self.out]}"

    def _value_step(self, i: int, lhs: str, w: World | None, result: str) -> str:
        eq = self.graph.equations[i]
        if eq.is_input:
            return f"{lhs} = {result} (given)" if w is not None else f"{lhs} is an input"
        if w is None:
            return f"{lhs} = {eq.definition}"
        ps = ", ".join(f"{self.graph.symbols[p]} = {number_text(w.values[p])}" for p in eq.parents)
        return f"{lhs} = {eq.definition} = {result}, with {ps}"

    def answer(self, key: str, q: Quantity, claim: Claim, verdict: str) -> Answer:
        """The :class:`Answer` for one key (a carried one is explained by carried_text)."""
        memo: list[sympy.Expr] = []

        def symbolic() -> sympy.Expr:
            if not memo:
                memo.append(self.expected_symbolic(q))
            return memo[0]

        step = self.step_text(q, self.correct)
        shown: sympy.Expr | None = None
        if isinstance(q, NodeGradient | NodeTangent):
            if len(self.graph) <= _SYMBOLIC_STEP_NODES:
                shown = symbolic()
            elif claim.expr is not None:  # built only if short: a long one is not shown
                shown = self.expected_if_small(q)
        if shown is not None and is_small(shown) and shown.free_symbols:  # small first: a
            # DAG's shared adjoint walked as a tree (free_symbols) is exponential in its depth
            step += f" (symbolically {shown})"
        expected = self.correct.number(q) if self.correct is not None else None
        mistake, explanation = None, f"correct: {step}"
        if verdict == "wrong":
            mistake, explanation = self._wrong_text(q, claim, step, expected, symbolic)
        elif verdict == "carried":
            explanation = ""  # filled in by carried_text once first_error is known
        of, wrt, node = self._names(q)
        return Answer(
            key=key,
            kind=q.kind.value,
            node=node,
            of=of,
            wrt=wrt,
            verdict=verdict,
            expected=expected,
            symbolic=symbolic,
            claimed=claim.raw,
            claimed_value=claim.value,
            step=step,
            explanation=explanation,
            mistake=mistake,
            note="; ".join(self._notes(q, claim, verdict)) or None,
        )

    def _wrong_text(
        self,
        q: Quantity,
        claim: Claim,
        step: str,
        expected: float | None,
        symbolic: Callable[[], sympy.Expr],
    ) -> tuple[str | None, str]:
        """The slip recognised, and the explanation of a wrong answer."""
        mistake, why = self.diagnose(q, claim)
        if isinstance(q, NodeGradient | NodeTangent) and expected is not None:
            # a chain-rule result is shown only when short: building it in full for every
            # answer of a deep graph took time quadratic in the graph
            shown = self.expected_if_small(q)
            want = number_text(expected) if shown is None else expected_text(shown, expected)
        elif isinstance(q, NodeGradient | NodeTangent):
            want = self.formula_text(q, symbolic)
        else:
            want = expected_text(symbolic(), expected)
        explanation = f"wrong{f' ({why})' if why else ''}: expected {want}. {step}."
        if claim.expr is not None and expected is not None and self.close(claim, expected):
            explanation += (
                " Your expression has the right value at these inputs, but it is not the "
                f"same formula as {self.formula_text(q, symbolic)}."
            )
        return mistake, explanation

    def formula_text(self, q: Quantity, symbolic: Callable[[], sympy.Expr]) -> str:
        """The expected formula as :func:`~symtrace.check.report.expr_text` prints it; a
        chain-rule result of a large graph is built only up to the size printed."""
        if isinstance(q, NodeGradient | NodeTangent) and len(self.graph) > _SYMBOLIC_STEP_NODES:
            formula = self.expected_if_small(q, PRINTED_NODES)
            return too_long_text() if formula is None else expr_text(formula)
        return expr_text(symbolic())

    def _notes(self, q: Quantity, claim: Claim, verdict: str) -> list[str]:
        """Remarks on an answer: numeric equivalence, kinks, rounding."""
        notes = []
        symbolic_note = self.symbolic_notes.get(q)
        if symbolic_note:
            notes.append(symbolic_note)
        rng = self.ranges.get(q)
        kinks = self.kinks_of(q)
        if kinks and rng is not None and rng[0] != rng[1]:
            notes.append(f"{kinks}; accepted: from {number_text(rng[0])} to {number_text(rng[1])}")
        if (
            verdict == "correct"
            and claim.expr is None
            and rng is not None
            and not self.close(claim, rng[0], rng[0], rng[1])
        ):
            notes.append("consistent with your rounded earlier answers")
        return notes

    def _names(self, q: Quantity) -> tuple[str, str | None, str]:
        """``of``, ``wrt`` and ``node`` of an :class:`Answer`."""
        s = self.graph.symbols
        match q:
            case NodeValue(i):
                return s[i].name, None, s[i].name
            case NodeGradient(i):
                return s[self.out].name, s[i].name, s[i].name
            case LocalPartial(c, p):
                return s[c].name, s[p].name, s[c].name
            case NodeTangent(y, a):
                return s[y].name, s[a].name, s[y].name

    def kinks_of(self, q: Quantity) -> str | None:
        """The note of a kink that the quantity passes through, if any."""
        notes = self.kink_notes
        if not notes:
            return None
        match q:
            case LocalPartial(c, _):
                return notes.get(c)
            case NodeGradient():
                return next((n for k, n in notes.items() if k <= self.out), None)
            case NodeTangent(y, _):
                return next((n for k, n in notes.items() if k > y), None)
        return None

    # -- diagnosis --------------------------------------------------------------------

    def diagnose(self, q: Quantity, claim: Claim) -> tuple[str | None, str | None]:
        """Name a recognised slip: fan-out not summed, wrong argument, sign error."""
        if self.correct is None or claim.value is None:
            return None, None
        worlds = [w for w in (self.correct, self.student) if w is not None]
        found = None
        match q:
            case NodeGradient(i):
                found = self._fan_out(i, claim, worlds) or self._wrong_upstream_argument(
                    i, claim, worlds
                )
            case LocalPartial(c, p):
                found = self._wrong_local_argument(c, p, claim, worlds)
        return found or self._sign(q, claim, worlds) or (None, None)

    def _fan_out(self, i: int, claim: Claim, worlds: list[World]) -> tuple[str, str] | None:
        """A gradient that sums the contributions of only some of the node's consumers."""
        pairs = self.factors(NodeGradient(i))
        if len(pairs) < 2:
            return None
        s = self.graph.symbols
        via = [up.node for up, _ in pairs]
        for w in worlds:
            terms = [w.number(x) * w.number(y) for x, y in pairs]
            for partial, subset, leaves_out in _partial_sums(terms):
                if self.close(claim, partial):
                    missing = [
                        s[via[k]].name for k in range(len(terms)) if (k in subset) == leaves_out
                    ]
                    return "fan-out", (
                        f"fan-out not summed: {s[i]} feeds "
                        f"{_some_names([s[c].name for c in via])}; its gradient is the "
                        f"sum over all of them, and the contribution through "
                        f"{_some_names(missing)} is missing"
                    )
        return None

    def _wrong_upstream_argument(
        self, i: int, claim: Claim, worlds: list[World]
    ) -> tuple[str, str] | None:
        """A gradient whose local factor ``∂c/∂i`` was taken w.r.t. another parent of c."""
        pairs = self.factors(NodeGradient(i))
        s = self.graph.symbols
        for w in worlds:
            terms = [w.number(x) * w.number(y) for x, y in pairs]
            total = sum(terms)  # once: summing per consumer was quadratic in the fan-out
            for k, (up, local) in enumerate(pairs):
                c = local.node
                for position, other in enumerate(self.graph.equations[c].parents):
                    if other == i:
                        continue
                    alt = total - terms[k] + w.number(up) * w.locals[c][position]
                    if self.close(claim, alt):
                        return "wrong-argument", (
                            f"wrong argument: ∂{s[c]}/∂{s[i]} was taken with "
                            f"respect to {s[other]} instead of {s[i]}"
                        )
        return None

    def _wrong_local_argument(
        self, c: int, p: int, claim: Claim, worlds: list[World]
    ) -> tuple[str, str] | None:
        """A local partial ``∂c/∂p`` that is the partial w.r.t. another parent."""
        s = self.graph.symbols
        for w in worlds:
            for position, other in enumerate(self.graph.equations[c].parents):
                if other != p and self.close(claim, w.locals[c][position]):
                    return "wrong-argument", (
                        f"wrong argument: this is ∂{s[c]}/∂{s[other]}, the partial "
                        f"with respect to {s[other]} instead of {s[p]}"
                    )
        return None

    def _sign(self, q: Quantity, claim: Claim, worlds: list[World]) -> tuple[str, str] | None:
        """An answer that is minus the expected value."""
        for w in worlds:
            v = w.number(q)
            if math.isfinite(v) and not self.close(claim, v) and self.close(claim, -v):
                return (
                    "sign",
                    f"sign error: the expected value is {number_text(v)}; yours has the "
                    "opposite sign",
                )
        return None

    # -- carried errors ---------------------------------------------------------------

    def carried_text(self, a: Answer, first: Answer | None) -> Answer:
        """Fill in the explanation of a carried answer (needs ``first_error``)."""
        student = self.student
        if a.verdict != "carried" or student is None:
            return a
        q = self.quantities[a.key]
        yours, carried_from = [], []
        for dep in self.inputs_of(q):
            if not student.tainted(dep):
                continue
            label = self.label(dep)
            claim = self.by_quantity.get(dep)
            if claim is not None:
                yours.append(f"your {label} = {claim.raw}")
                carried_from.append(f"{label} = {claim.raw}")
            else:
                yours.append(f"{label} = {number_text(student.number(dep))} (from your answers)")
        where = f" (first error: {first.key})" if first is not None else ""
        own, formula = self.claims[a.key], student.formula[q].value
        wrote = "which is what you wrote"
        if own.expr is None and not self.close(own, formula):  # follow_rounding
            wrote = (
                f"and you wrote {own.raw}, the same to the precision of your rounded "
                "earlier answers"
            )
        text = (
            f"carried: with {', '.join(yours) or 'your earlier answers'}, "
            f"{self.step_text(q, student, formula)}, {wrote}"
            f": this step is right, the mistake is upstream{where}. "
            f"Correct: {self.step_text(q, self.correct)}."
        )
        return replace(a, explanation=text, carried_from=tuple(carried_from))
