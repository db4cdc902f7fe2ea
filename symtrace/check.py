"""Grading hand-worked backprop: :func:`check` compares a student's answers with the trace.

Each answer is judged ``correct``, ``wrong`` or ``carried``.  *Carried* means: wrong, but
exactly what the chain rule gives from the student's own earlier answers (their upstream
gradient, their node values, their local partials), so the step itself was right and the
mistake lies upstream.  The report's ``first_error`` is the root mistake: the earliest
``wrong`` answer in the order a student works (forward values first, then backward from
the output, each node's gradient before the local partials of its definition, then
forward-mode tangents).

>>> from symtrace import Trace
>>> t = Trace()
>>> a, b, c, f = t.inputs("a b c f", values=(2, -3, 10, -2))
>>> e = t.define("e", a * b); d = t.define("d", e + c); L = t.define("L", d * f)
>>> r = t.check({"dL/dd": -2, "∂d/∂e": -1, "dL/de": 2, "dL/da": "b*f"}, output=L)
>>> [(k, ans.verdict) for k, ans in r.items()]
[('dL/dd', 'correct'), ('∂d/∂e', 'wrong'), ('dL/de', 'carried'), ('dL/da', 'correct')]
>>> r.first_error, r.score, r.ok
('∂d/∂e', 0.5, False)
>>> print(r["dL/de"].explanation)
carried: with your ∂d/∂e = -1, dL/de = dL/dd · ∂d/∂e = (-2) · (-1) = 2, which is what you
wrote: this step is right, the mistake is upstream (first error: ∂d/∂e). Correct:
dL/de = dL/dd · ∂d/∂e = (-2) · 1 = -2.

Answer keys
-----------
``"d"``
    the value of node ``d``;
``"dL/dd"``, ``"∂L/∂d"``, ``"grad:d"``
    the gradient of the output with respect to ``d``;
``"∂d/∂e"``, ``"dd/de"``, ``"local:d/e"``
    the local partial of ``d``'s own definition with respect to its parent ``e``;
``"tangent[a]:d"``
    the forward-mode tangent ``dd/da`` (``d`` differentiated through the graph w.r.t. ``a``).

A fraction ``dY/dX`` (or ``∂Y/∂X``) is read by one rule: if ``Y`` is the output it is the
gradient ``dY/dX``; otherwise, if ``X`` is a parent of ``Y`` it is the local partial of
``Y``'s definition; otherwise it is the total derivative of ``Y`` w.r.t. ``X`` through the
graph (the tangent ``tangent[X]:Y``).

Claims
------
* numbers (``int``, ``Fraction``, SymPy numbers exactly; ``float`` within ``rel_tol`` /
  ``abs_tol``, default ``1e-6`` / ``1e-9``);
* numeric strings, judged to their written precision: ``"0.73"`` stands for anything
  within ``±0.005`` (half a unit of the last written digit); integer strings (``"-2"``)
  are exact;
* symbolic expressions (SymPy expressions in the trace's symbols, or strings read by the
  safe parser :func:`symtrace.parsing.parse_expression` with the trace's node names),
  judged by symbolic equivalence (compact form in node symbols or expanded form in the
  inputs both count), with a numeric second opinion at the trace's values and at a few
  nearby random points;
* ``None`` or ``""``: left blank (listed in ``Report.blank``, counted as not correct).

At a kink (``relu`` at 0, ``abs`` at 0, a tie in ``max``/``min``) any value between the
one-sided derivatives is accepted, with a note; symtrace's own convention is PyTorch's
(``relu'(0) = 0``).
"""

from __future__ import annotations

import itertools
import json
import math
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import sympy

from .display import Renderable
from .errors import ExerciseError, MissingValueError, NonRealValueError, ParseError
from .parsing import ParseLimits, parse_expression, parse_number
from .shapes import placeholders, shape_of

if TYPE_CHECKING:
    from .trace import Trace

__all__ = [
    "ANSWER_LIMITS",
    "KINDS",
    "SCHEMA",
    "VERDICTS",
    "Answer",
    "Report",
    "check",
    "parse_key",
]

SCHEMA = "symtrace.report/1"
VERDICTS = ("correct", "wrong", "carried")
KINDS = ("value", "gradient", "local", "tangent")

#: Parse limits for answer strings: smaller than the defaults, since answers are short and
#: symbolic equivalence costs time in the size of the expression.
ANSWER_LIMITS = ParseLimits(max_length=2_000, max_nodes=400, max_depth=50)

_MISTAKES = {
    "fan-out": "a contribution is missing: {node} feeds several nodes and its gradient is "
    "the sum over all of them (fan-out not summed)",
    "wrong-argument": "the local partial was taken with respect to the wrong argument",
    "sign": "sign error: your answer is minus the expected value",
}

_OPTIONS = {"rel_tol", "abs_tol", "written_precision", "random_points", "seed"}
_KINK_LIMIT = 6
_SYMBOLIC_STEP_NODES = 100  # larger traces: symbolic forms only on request
_SUBSET_LIMIT = 6

Item = tuple[str, int, int | None]
"""(kind, node index, other index): value (i, None), gradient (x, None), local (c, p),
tangent (y, a)."""


# ----------------------------------------------------------------------------- keys


_FRACTION = re.compile(r"^\s*[d∂]\s*([^/\s]+)\s*/\s*[d∂]\s*(\S+)\s*$")
_TANGENT = re.compile(r"^\s*tangent\s*\[\s*([^\]\s]+)\s*\]\s*:\s*(\S+)\s*$")
_PREFIXED = re.compile(r"^\s*(grad|local)\s*:\s*(\S+?)\s*$")


def parse_key(trace: Trace, key: str, output: Any = None) -> Item:
    """Read an answer key into ``(kind, node index, other index)``; see the module docstring.

    >>> from symtrace import Trace
    >>> t = Trace()
    >>> a, b = t.inputs("a b"); e = t.define("e", a * b); L = t.define("L", 2 * e)
    >>> parse_key(t, "dL/de", L), parse_key(t, "∂e/∂a", L), parse_key(t, "dL/da", L)
    (('gradient', 2, None), ('local', 2, 0), ('gradient', 0, None))
    >>> parse_key(t, "e"), parse_key(t, "tangent[a]:L"), parse_key(t, "local:e/b")
    (('value', 2, None), ('tangent', 3, 0), ('local', 2, 1))
    """
    out = len(trace) - 1 if output is None else trace._idx(output)
    return _parse_key(trace, key, out)


def _parse_key(trace: Trace, key: str, out: int) -> Item:
    if not isinstance(key, str):
        raise ExerciseError(f"answer key {key!r} is not a string; keys look like 'd' or 'dL/dd'")

    def node(name: str) -> int:
        if name not in trace:
            raise ExerciseError(
                f"answer key {key!r}: no node named {name!r} (nodes: {trace._names_list()})"
            )
        return trace._names[name]

    text = key.strip()
    if text in trace:
        return ("value", trace._names[text], None)
    m = _TANGENT.match(text)
    if m:
        return ("tangent", node(m.group(2)), node(m.group(1)))
    m = _PREFIXED.match(text)
    if m and m.group(1) == "grad":
        return ("gradient", node(m.group(2)), None)
    if m:
        parts = m.group(2).split("/")
        if len(parts) != 2:
            raise ExerciseError(f"answer key {key!r}: write local:CHILD/PARENT, e.g. local:d/e")
        c, p = node(parts[0]), node(parts[1])
        if p not in trace._parents[c]:
            raise ExerciseError(
                f"answer key {key!r}: {parts[1]} is not used in the definition of {parts[0]} "
                f"({trace._syms[c]} = {trace.definition(trace._syms[c])}); a local partial "
                f"needs a parent, one of: {_names(trace, trace._parents[c]) or 'none (input)'}"
            )
        return ("local", c, p)
    m = _FRACTION.match(text)
    if m:
        y, x = node(m.group(1)), node(m.group(2))
        if y == out:
            return ("gradient", x, None)
        if x in trace._parents[y]:
            return ("local", y, x)
        return ("tangent", y, x)
    raise ExerciseError(
        f"answer key {key!r} is not understood: write a node name for its value ('d'), "
        f"'dL/dd' or 'grad:d' for a gradient, '∂d/∂e' or 'local:d/e' for a local partial, "
        f"'tangent[a]:d' for a forward-mode tangent (nodes: {trace._names_list()})"
    )


def _names(trace: Trace, idx: Sequence[int]) -> str:
    return ", ".join(trace._syms[i].name for i in idx)


# --------------------------------------------------------------------------- claims


@dataclass(frozen=True)
class _Claim:
    raw: Any
    value: float | None  # at the trace's values; None when they are unknown
    expr: sympy.Expr | None  # symbolic claim (with free symbols)
    half_unit: float | None  # written precision of a numeric string


def _normalize(text: str) -> str:
    return text.replace("−", "-").replace("×", "*").replace("·", "*").strip()


def _read_claim(
    trace: Trace, key: str, raw: Any, written: bool, numeric: bool, lineno: int | None = None
) -> _Claim | None:
    """The claim ``raw``; ``None`` for a blank answer."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ExerciseError(f"answer {key!r}: {raw!r} is not a number or an expression")
    if isinstance(raw, int | Fraction):
        return _Claim(raw, _finite(float(raw), key), None, None)
    if isinstance(raw, float):
        return _Claim(raw, _finite(raw, key), None, None)
    if isinstance(raw, str):
        text = _normalize(raw)
        if not text:
            return None
        try:
            value, half = parse_number(text, limits=ANSWER_LIMITS)
        except ParseError:
            pass
        else:
            exact_int = not any(ch in text for ch in ".eE")
            half_unit = None if exact_int or not written else float(half)
            return _Claim(raw, _finite(float(value), key), None, half_unit)
        names = {s.name: s for s in trace._syms}
        try:
            expr = parse_expression(text, names, limits=ANSWER_LIMITS, lineno=lineno)
        except ParseError as exc:
            raise ParseError(
                f"answer {key!r}: {exc}", exc.text, exc.lineno, exc.col_offset
            ) from None
    elif isinstance(raw, sympy.Basic):
        expr = raw
        if not isinstance(expr, sympy.Expr):
            raise ExerciseError(f"answer {key!r}: {raw!r} is not an expression")
        trace._check_symbols(expr, f"answer {key!r}")
    else:
        raise ExerciseError(
            f"answer {key!r}: expected a number, a numeric string or an expression, "
            f"got {type(raw).__name__} {raw!r}"
        )
    if not expr.free_symbols:
        if not (expr.is_extended_real and expr.is_finite):
            raise ExerciseError(f"answer {key!r}: {raw!r} is not a real, finite number")
        return _Claim(raw, _finite(float(expr), key), None, None)
    value = None
    if numeric:
        try:
            value = trace.value(expr)
        except NonRealValueError:
            value = math.nan
    return _Claim(raw, value, expr, None)


def _finite(x: float, key: str) -> float:
    if not math.isfinite(x):
        raise ExerciseError(f"answer {key!r}: the number is too large")
    return x


# ------------------------------------------------------------------- numeric worlds


@dataclass
class _World:
    """Every numeric quantity of one backprop, possibly built from a student's claims."""

    vals: list[float]
    locs: list[tuple[float, ...]]
    adj: list[float]
    tans: dict[int, list[float]]
    formula: dict[Item, tuple[float, bool, list[Any]]] = field(default_factory=dict)
    taint: dict[Item, bool] = field(default_factory=dict)


def _call(fn: Callable[..., Any], args: Sequence[float]) -> Any:
    try:
        return fn(*args)
    except (ArithmeticError, ValueError, TypeError):
        return math.nan


def _real(x: Any) -> float:
    return float(x) if isinstance(x, int | float) and math.isfinite(x) else math.nan


class _Context:
    """What one :func:`check` call needs about the trace, computed once."""

    def __init__(self, trace: Trace, out: int, numeric: bool) -> None:
        self.trace = trace
        self.out = out
        self.n = len(trace)
        self.numeric = numeric
        reach = {out}
        for i in range(out, -1, -1):
            if i in reach and trace._defs[i] is not None:
                reach.update(trace._parents[i])
        self.reach = reach
        self.inputs = trace._ensure_floats(range(self.n)) if numeric else []

    def sweep(
        self,
        claims: Mapping[Item, _Claim] | None = None,
        judge: Callable[[Item, float, bool], str] | None = None,
        override: Mapping[int, tuple[float, ...]] | None = None,
        wrts: Sequence[int] = (),
    ) -> _World:
        """One forward and backward pass; claimed quantities replace computed ones."""
        trace, n = self.trace, self.n
        defs, parents, shapes = trace._defs, trace._parents, trace._shapes
        claims = claims or {}
        override = override or {}
        world = _World([math.nan] * n, [()] * n, [0.0] * n, {})

        def settle(item: Item, computed: float, tainted: bool, detail: list[Any]) -> float:
            claim = claims.get(item)
            if claim is None:
                world.taint[item] = tainted
                return computed
            world.formula[item] = (computed, tainted, detail)
            assert judge is not None
            verdict = judge(item, computed, tainted)
            world.taint[item] = verdict != "correct"
            return claim.value if claim.value is not None else math.nan

        vals, vtaint = world.vals, world.taint
        for i in range(n):
            if defs[i] is None:
                given = self.inputs[i]
                computed, tainted, detail = (math.nan if given is None else given), False, []
            else:
                shape = shapes[i]
                assert shape is not None
                args = [vals[p] for p in parents[i]]
                computed = _real(_call(shape.value_fn, args))
                tainted = any(vtaint[("value", p, None)] for p in parents[i])
                detail = list(parents[i])
            vals[i] = settle(("value", i, None), computed, tainted, detail)
        for i in range(n):
            if defs[i] is None:
                continue
            shape = shapes[i]
            assert shape is not None
            if i in override:
                computed_locs = override[i]
            else:
                got = _call(shape.partials_fn, [vals[p] for p in parents[i]])
                if isinstance(got, tuple):
                    computed_locs = tuple(_real(v) for v in got)
                else:
                    computed_locs = (math.nan,) * len(parents[i])
            tainted = any(vtaint[("value", p, None)] for p in parents[i])
            world.locs[i] = tuple(
                settle(("local", i, p), v, tainted, [])
                for p, v in zip(parents[i], computed_locs, strict=True)
            )
        adj = world.adj
        for i in range(n - 1, -1, -1):
            terms: list[Any] = []
            if i == self.out:
                computed, tainted = 1.0, False
            elif i > self.out:
                computed, tainted = 0.0, False
            else:
                computed, tainted = 0.0, False
                for c in trace._consumers[i]:
                    if c > self.out or c not in self.reach:
                        continue
                    k = parents[c].index(i)
                    computed += adj[c] * world.locs[c][k]
                    tainted = tainted or vtaint[("gradient", c, None)] or vtaint[("local", c, i)]
                    terms.append((c, k))
            adj[i] = settle(("gradient", i, None), computed, tainted, terms)
        for a in wrts:
            tan = [0.0] * n
            tan[a] = settle(("tangent", a, a), 1.0, False, [])
            for i in range(a + 1, n):
                computed, tainted, terms = 0.0, False, []
                if defs[i] is not None:
                    for k, p in enumerate(parents[i]):
                        if p >= a:
                            computed += world.locs[i][k] * tan[p]
                            tainted = (
                                tainted
                                or vtaint.get(("tangent", p, a), False)
                                or vtaint[("local", i, p)]
                            )
                            terms.append((p, k))
                tan[i] = settle(("tangent", i, a), computed, tainted, terms)
            for i in range(a):
                settle(("tangent", i, a), 0.0, False, [])
            world.tans[a] = tan
        return world


# ------------------------------------------------------------------------- kinks


def _kink_variants(
    ctx: _Context, world: _World
) -> tuple[list[dict[int, tuple[float, ...]]], dict[int, str]]:
    """Local-partial overrides at kinks (one-sided derivatives), and a note per kink node."""
    trace = ctx.trace
    kinks: dict[int, tuple[tuple[float, ...], tuple[float, ...]]] = {}
    notes: dict[int, str] = {}
    for i in range(ctx.n):
        if trace._defs[i] is None:
            continue
        partials = trace._local_partials(i)
        funcs = set().union(*(p.atoms(sympy.Heaviside, sympy.sign) for p in partials))
        if not funcs:
            continue
        at = {trace._syms[p]: sympy.Float(world.vals[p]) for p in trace._parents[i]}
        zero = [f for f in funcs if abs(float(f.args[0].xreplace(at))) <= 1e-12]
        if not zero:
            continue
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
        kinks[i] = (sides[0], sides[1])
        notes[i] = (
            f"{trace._syms[i]} = {trace._defs[i]} is at a kink here; any value between the "
            "one-sided derivatives is accepted (symtrace uses PyTorch's convention)"
        )
        if len(kinks) >= _KINK_LIMIT:
            break
    variants: list[dict[int, tuple[float, ...]]] = []
    if kinks:
        variants.append({i: lo for i, (lo, _) in kinks.items()})
        variants.append({i: hi for i, (_, hi) in kinks.items()})
        for i, (lo, hi) in kinks.items():
            variants.append({i: lo})
            variants.append({i: hi})
    return variants, notes


# ------------------------------------------------------------------------ answers


@dataclass(frozen=True)
class Answer:
    """The verdict on one answer.

    ``kind`` is ``"value"``, ``"gradient"``, ``"local"`` or ``"tangent"``.  The quantity
    is ``d(of)/d(wrt)``: for a value, ``of`` is the node and ``wrt`` is ``None``; for a
    gradient ``of`` is the output and ``wrt`` the node; for a local partial ``∂c/∂p`` and a
    tangent ``dy/da`` they are ``c, p`` and ``y, a``.  ``node`` is the node whose row the
    answer belongs to (``wrt`` for a gradient, ``of`` otherwise).  ``expected`` is the
    correct number (a float; ``None`` when the trace has no values), ``expected_symbolic``
    the compact symbolic form, ``claimed`` the answer as given and ``claimed_value`` its
    number.  ``step`` is the correct chain-rule step in numbers, ``explanation`` the
    verdict in words; ``mistake`` names a recognised slip (``"fan-out"``,
    ``"wrong-argument"``, ``"sign"``) and ``note`` adds remarks (kinks, rounding).

    >>> from symtrace.examples import micrograd_lecture
    >>> answer = micrograd_lecture().check({"dL/da": 5}, output="L")["dL/da"]
    >>> answer.verdict, answer.expected, answer.claimed
    ('wrong', 6.0, 5)
    >>> print(answer.explanation)
    wrong: expected b*f = 6. dL/da = dL/de · ∂e/∂a = (-2) · (-3) = 6 (symbolically b*f).
    """

    key: str
    kind: str
    node: str
    of: str
    wrt: str | None
    verdict: str
    expected: float | None
    symbolic: Callable[[], sympy.Expr] = field(repr=False, compare=False)
    claimed: Any = None
    claimed_value: float | None = None
    step: str = ""
    explanation: str = ""
    mistake: str | None = None
    note: str | None = None

    @property
    def expected_symbolic(self) -> sympy.Expr:
        """The correct result in symbols (compact form), built on first request."""
        return self.symbolic()

    @property
    def correct(self) -> bool:
        """Whether the verdict is ``correct``."""
        return self.verdict == "correct"

    def as_dict(self) -> dict[str, Any]:
        """The answer in the JSON schema (see :meth:`Report.as_dict`)."""
        return {
            "key": self.key,
            "kind": self.kind,
            "node": self.node,
            "of": self.of,
            "wrt": self.wrt,
            "verdict": self.verdict,
            "claimed": self.claimed
            if isinstance(self.claimed, int | float) and not isinstance(self.claimed, bool)
            else str(self.claimed),
            "claimed_value": self.claimed_value,
            "expected": self.expected,
            "expected_symbolic": _expr_text(self.expected_symbolic),
            "step": self.step,
            "explanation": self.explanation,
            "mistake": self.mistake,
            "note": self.note,
        }


def _num(x: float | None, paren: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "undefined"
    s = str(int(x)) if x == int(x) and abs(x) < 1e15 else f"{x:.6g}"
    return f"({s})" if paren and s.startswith("-") else s


class Report(Renderable, Mapping[str, Answer]):
    """The graded answers: a mapping from each answer key to its :class:`Answer`.

    ``ok`` is true when every answer is correct and none is blank; ``score`` is the
    fraction of correct answers (blank ones count as not correct); ``first_error`` is the
    key of the root mistake (the earliest ``wrong`` answer in working order) or ``None``.
    Renders as text, Markdown and LaTeX; :meth:`as_dict` / :meth:`to_json` give the
    stable JSON schema ``symtrace.report/1``.

    >>> from symtrace.examples import micrograd_lecture
    >>> report = micrograd_lecture().check({"dL/dd": -2, "dL/de": "f", "dL/da": 5}, output="L")
    >>> report.ok, round(report.score, 3), report.first_error
    (False, 0.667, 'dL/da')
    >>> [answer.verdict for answer in report.values()]
    ['correct', 'correct', 'wrong']
    """

    def __init__(
        self,
        answers: Sequence[Answer],
        output: str,
        first_error: str | None,
        blank: Sequence[str] = (),
        title: str | None = None,
        source: str | None = None,
    ) -> None:
        self._answers = {a.key: a for a in answers}
        self.source = source
        self.output = output
        self.first_error = first_error
        self.blank = tuple(blank)
        self.title = title

    def __getitem__(self, key: str) -> Answer:
        return self._answers[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._answers)

    def __len__(self) -> int:
        return len(self._answers)

    @property
    def counts(self) -> dict[str, int]:
        """How many answers got each verdict (and how many are blank)."""
        out = {v: 0 for v in VERDICTS}
        for a in self._answers.values():
            out[a.verdict] += 1
        out["blank"] = len(self.blank)
        return out

    @property
    def ok(self) -> bool:
        """Every answer correct, none blank."""
        return not self.blank and all(a.correct for a in self._answers.values())

    @property
    def score(self) -> float:
        """Fraction of answers that are correct (blank answers count as not correct)."""
        total = len(self._answers) + len(self.blank)
        if total == 0:
            return 1.0
        return self.counts["correct"] / total

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data, schema ``symtrace.report/1``.

        Keys: ``schema``, ``source`` (the file, or ``None``), ``title``, ``output``, ``ok``,
        ``score``, ``first_error``,
        ``counts`` (``correct``, ``wrong``, ``carried``, ``blank``), ``blank`` (keys) and
        ``answers``, a list in the order given, each with ``key``, ``kind``, ``node``,
        ``of``, ``wrt``, ``verdict``, ``claimed``, ``claimed_value``, ``expected``,
        ``expected_symbolic``, ``step``, ``explanation``, ``mistake``, ``note``.
        """
        return {
            "schema": SCHEMA,
            "source": self.source,
            "title": self.title,
            "output": self.output,
            "ok": self.ok,
            "score": self.score,
            "first_error": self.first_error,
            "counts": self.counts,
            "blank": list(self.blank),
            "answers": [a.as_dict() for a in self._answers.values()],
        }

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`as_dict` as JSON text (UTF-8 characters kept)."""
        return json.dumps(self.as_dict(), indent=indent, ensure_ascii=False)

    def __repr__(self) -> str:
        c = self.counts
        return (
            f"<Report: {c['correct']} correct, {c['wrong']} wrong, {c['carried']} carried"
            f"{', ' + str(c['blank']) + ' blank' if c['blank'] else ''}; "
            f"first_error={self.first_error!r}>"
        )

    # -- rendering ---------------------------------------------------------------

    def _summary(self) -> str:
        c = self.counts
        parts = [f"{c['correct']} correct", f"{c['wrong']} wrong", f"{c['carried']} carried"]
        if c["blank"]:
            parts.append(f"{c['blank']} blank")
        return (
            f"{_plural(len(self) + len(self.blank), 'answer')} (output {self.output}): "
            f"{', '.join(parts)}; score {self.score:.2f}"
        )

    def _render(self, fmt: str, **options: Any) -> str:
        if options:
            raise TypeError(f"unknown rendering options: {', '.join(sorted(options))}")
        if fmt == "text":
            return self._text()
        if fmt == "markdown":
            return self._markdown()
        if fmt == "latex":
            return self._latex_table()
        raise ValueError(f"unknown format {fmt!r}; use 'text', 'markdown' or 'latex'")

    def _text(self) -> str:
        marks = {"correct": "✓", "wrong": "✗", "carried": "↳"}
        lines = [self.title] if self.title else []
        lines.append(self._summary())
        if self.first_error is not None:
            lines.append(f"first error: {self.first_error}")
        elif self.ok:
            lines.append("all correct")
        for a in self._answers.values():
            lines.append("")
            head = f"{marks[a.verdict]} {a.key} = {_claim_text(a)}  {a.verdict}"
            if not a.correct:
                head += f" (expected {_expected_text(a)})"
            lines.append(head)
            lines.append("    " + (a.explanation if not a.correct else a.step))
            if a.note and a.correct:
                lines.append("    note: " + a.note)
        if self.blank:
            lines.append("")
            lines.append("blank: " + ", ".join(self.blank))
        return "\n".join(lines) + "\n"

    def _markdown(self) -> str:
        def cell(s: str) -> str:
            return s.replace("|", "\\|").replace("\n", " ")

        lines = [f"### {self.title}", ""] if self.title else []
        lines.append(f"**{self._summary()}**")
        if self.first_error is not None:
            lines.append(f"First error: `{self.first_error}`")
        lines += [
            "",
            "| answer | claimed | expected | verdict | explanation |",
            "|---|---|---|---|---|",
        ]
        for a in self._answers.values():
            why = a.step if a.correct else a.explanation
            if a.note and a.correct:
                why += f" (note: {a.note})"
            lines.append(
                f"| `{cell(a.key)}` | `{cell(_claim_text(a))}` | {cell(_expected_text(a))} "
                f"| **{a.verdict}** | {cell(why)} |"
            )
        if self.blank:
            lines += ["", "Blank: " + ", ".join(f"`{k}`" for k in self.blank)]
        return "\n".join(lines) + "\n"

    def _latex_table(self) -> str:
        rows = []
        for a in self._answers.values():
            why = a.step if a.correct else a.explanation
            rows.append(
                f"{_latex_text(a.key)} & {_latex_text(_claim_text(a))} & "
                f"{_latex_text(_expected_text(a))} & {a.verdict} & {_latex_text(why)} \\\\"
            )
        head = []
        if self.title:
            head.append(f"\\paragraph{{{_latex_text(self.title)}}}")
        head.append(_latex_text(self._summary()) + "\\\\")
        if self.first_error is not None:
            head.append(f"First error: {_latex_text(self.first_error)}\\\\")
        return (
            "\n".join(
                [
                    "\\begin{flushleft}",
                    *head,
                    "\\begin{tabular}{lllp{0.12\\linewidth}p{0.45\\linewidth}}",
                    "answer & claimed & expected & verdict & explanation \\\\",
                    "\\hline",
                    *rows,
                    "\\end{tabular}",
                    "\\end{flushleft}",
                ]
            )
            + "\n"
        )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _claim_text(a: Answer) -> str:
    return str(a.claimed)


def _expected_text(a: Answer) -> str:
    if (
        a.expected is not None
        and a.kind in ("gradient", "tangent")
        and "(symbolically" not in a.step
    ):
        return _num(a.expected)  # large trace: no symbolic form unless asked for
    return _expected_text_raw(a.expected_symbolic, a.expected)


def _small(expr: sympy.Basic, limit: int = 40) -> bool:
    """Whether ``expr`` has at most ``limit`` tree nodes (stops counting early)."""
    count = 0
    stack = [expr]
    while stack:
        count += 1
        if count > limit:
            return False
        stack.extend(stack.pop().args)
    return True


def _expr_text(expr: sympy.Basic, limit: int = 500) -> str:
    """``str(expr)``, or a placeholder for expressions too large (or deep) to print."""
    if not _small(expr, limit):
        return f"<expression with more than {limit} nodes>"
    try:
        return str(expr)
    except RecursionError:
        return "<expression nested too deeply to print>"


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "∂": r"$\partial$",
    "·": r"$\cdot$",
    "✓": r"$\checkmark$",
    "−": "-",
    "±": r"$\pm$",
    "≈": r"$\approx$",
}


def _latex_text(s: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in s)


# ------------------------------------------------------------------------- check


class _Checker:
    def __init__(
        self,
        trace: Trace,
        answers: Mapping[str, Any],
        output: Any,
        rel_tol: float,
        abs_tol: float,
        written_precision: bool,
        random_points: int,
        seed: int,
        lines: Mapping[str, int] | None,
    ) -> None:
        if len(trace) == 0:
            raise ExerciseError("the trace is empty: add inputs and definitions first")
        self.trace = trace
        self.out = len(trace) - 1 if output is None else trace._idx(output)
        self.rel_tol, self.abs_tol = rel_tol, abs_tol
        self.random_points, self.seed = random_points, seed
        try:
            trace._ensure_floats(range(len(trace)))
            numeric = True
        except MissingValueError:
            numeric = False
        self.ctx = _Context(trace, self.out, numeric)
        self.items: dict[str, Item] = {}
        self.claims: dict[str, _Claim] = {}
        self.blank: list[str] = []
        lines = lines or {}
        for key, raw in answers.items():
            item = _parse_key(trace, key, self.out)
            claim = _read_claim(trace, key, raw, written_precision, numeric, lines.get(key))
            if claim is None:
                self.blank.append(key)
                continue
            if claim.expr is None and not numeric:
                names = tuple(s.name for s in trace.input_nodes if s not in trace.input_values)
                raise MissingValueError(
                    f"answer {key!r} is a number, but inputs {', '.join(names)} have no "
                    "values; give them with t.set(...) or answer symbolically",
                    names,
                )
            self.items[key] = item
            self.claims[key] = claim
        self._random_worlds: list[dict[sympy.Symbol, float]] | None = None

    # -- comparison ---------------------------------------------------------------

    def close(
        self, claim: _Claim, target: float, lo: float | None = None, hi: float | None = None
    ) -> bool:
        c = claim.value
        if c is None or not math.isfinite(c) or not math.isfinite(target):
            return False
        lo = target if lo is None else lo
        hi = target if hi is None else hi
        if claim.half_unit is not None:
            slack = claim.half_unit * (1 + 1e-9) + max(self.abs_tol, 1e-12 * max(abs(lo), abs(hi)))
        else:
            slack = max(self.rel_tol * max(abs(lo), abs(hi), abs(c)), self.abs_tol)
        return lo - slack <= c <= hi + slack

    # -- symbolic equivalence -------------------------------------------------------

    def random_worlds(self) -> list[dict[sympy.Symbol, float]]:
        if self._random_worlds is not None:
            return self._random_worlds
        trace = self.trace
        rng = random.Random(self.seed)
        worlds: list[dict[sympy.Symbol, float]] = []
        base = self.ctx.inputs if self.ctx.numeric else None
        for _ in range(self.random_points * 3):
            if len(worlds) >= self.random_points:
                break
            vals: list[float] = []
            ok = True
            for i in range(len(trace)):
                if trace._defs[i] is None:
                    b = base[i] if base is not None else None
                    if b is None:
                        v = rng.uniform(0.5, 2.0)
                    else:
                        v = b * (1 + rng.uniform(-0.3, 0.3)) + rng.uniform(-0.1, 0.1)
                else:
                    shape = trace._shapes[i]
                    assert shape is not None
                    v = _real(_call(shape.value_fn, [vals[p] for p in trace._parents[i]]))
                    if not math.isfinite(v):
                        ok = False
                        break
                vals.append(v)
            if ok:
                worlds.append(dict(zip(trace._syms, vals, strict=False)))
        self._random_worlds = worlds
        return worlds

    def equivalent(self, claim: sympy.Expr, expected: sympy.Expr) -> tuple[bool, str | None]:
        diff = claim - expected
        if diff == 0:
            return True, None
        syms = sorted(diff.free_symbols, key=lambda s: self.trace._index[s])
        ps = placeholders(len(syms))
        fn = shape_of(diff.xreplace(dict(zip(syms, ps, strict=True))), len(syms)).value_fn
        agree = 0
        for world in self.random_worlds():
            got = _real(_call(fn, [world[s] for s in syms]))
            if math.isnan(got):
                continue
            scale = max(
                1.0,
                *(
                    abs(
                        _real(
                            _call(
                                shape_of(
                                    e.xreplace(dict(zip(syms, ps, strict=True))), len(syms)
                                ).value_fn,
                                [world[s] for s in syms],
                            )
                        )
                    )
                    for e in (claim, expected)
                    if e.free_symbols <= set(syms)
                ),
            )
            if abs(got) > 1e-9 * scale:
                return False, None
            agree += 1
        if sympy.count_ops(diff) <= 300:
            expanded = self.trace.expand(diff)
            for form in (diff, expanded, expanded.rewrite(sympy.exp)):
                try:
                    if sympy.simplify(form) == 0:
                        return True, None
                except (RecursionError, TypeError, ValueError, NotImplementedError):
                    continue
        if agree >= max(1, self.random_points // 2 + 1):
            return True, (
                f"judged equal numerically at {agree} random points; SymPy's simplify could "
                "not prove it"
            )
        return False, None

    # -- expected quantities ----------------------------------------------------------

    def expected_symbolic(self, item: Item) -> sympy.Expr:
        kind, i, j = item
        t = self.trace
        if kind == "value":
            return t.definition(t._syms[i]) if t._defs[i] is not None else t._syms[i]
        if kind == "gradient":
            return self.grad[t._syms[i]]
        if kind == "local":
            assert j is not None
            return t.partial(t._syms[i], t._syms[j])
        assert j is not None
        return t.tangents(t._syms[j])[t._syms[i]]

    # -- the run ----------------------------------------------------------------------

    def run(self, title: str | None = None, source: str | None = None) -> Report:
        t, ctx = self.trace, self.ctx
        self.grad = t.grad(t._syms[self.out])
        by_item: dict[Item, _Claim] = {}
        for key, item in self.items.items():
            by_item.setdefault(item, self.claims[key])
        self.by_item = by_item
        wrts = sorted({it[2] for it in by_item if it[0] == "tangent" and it[2] is not None})
        verdicts: dict[Item, str] = {}
        sym_notes: dict[Item, str | None] = {}
        ranges: dict[Item, tuple[float, float]] = {}
        kink_notes: dict[int, str] = {}
        self.correct: _World | None = None
        self.student: _World | None = None
        if ctx.numeric:
            self.correct = ctx.sweep(wrts=wrts)
            variants, kink_notes = _kink_variants(ctx, self.correct)
            worlds = [self.correct] + [ctx.sweep(override=v, wrts=wrts) for v in variants]
            for item in by_item:
                qs = [self.value_of(w, item) for w in worlds]
                ranges[item] = (min(qs), max(qs))

        def judge_symbolic(item: Item, claim: _Claim) -> bool:
            assert claim.expr is not None
            same, note = self.equivalent(claim.expr, self.expected_symbolic(item))
            sym_notes[item] = note
            return same

        def judge(item: Item, computed: float, tainted: bool) -> str:
            verdicts[item] = self.verdict(
                item, by_item[item], computed, tainted, ranges[item], judge_symbolic
            )
            return verdicts[item]

        if ctx.numeric:
            self.student = ctx.sweep(by_item, judge, wrts=wrts)
        answers: list[Answer] = []
        for key, item in self.items.items():
            claim = self.claims[key]
            if self.student is None:  # no values: symbolic claims only
                verdict = "correct" if judge_symbolic(item, claim) else "wrong"
            elif by_item[item] is claim:
                verdict = verdicts[item]
            else:  # a second key for the same quantity: judged against the same formula
                computed, tainted, _ = self.student.formula[item]
                verdict = self.verdict(item, claim, computed, tainted, ranges[item], judge_symbolic)
            answers.append(
                self.answer(
                    key, item, claim, verdict, ranges.get(item), kink_notes, sym_notes.get(item)
                )
            )
        wrong = [a for a in answers if a.verdict == "wrong"]
        first = min(wrong, key=lambda a: self.order(self.items[a.key]), default=None)
        answers = [self.carried_text(a, first) for a in answers]
        return Report(
            answers,
            t._syms[self.out].name,
            first.key if first else None,
            self.blank,
            title,
            source,
        )

    def verdict(
        self,
        item: Item,
        claim: _Claim,
        computed: float,
        tainted: bool,
        rng: tuple[float, float],
        judge_symbolic: Callable[[Item, _Claim], bool],
    ) -> str:
        if claim.expr is not None:
            if judge_symbolic(item, claim):
                return "correct"
            if tainted and self.close(claim, computed):
                return "carried"
            return "wrong"
        if self.close(claim, rng[0], rng[0], rng[1]):
            return "correct"
        if self.close(claim, computed):
            return "carried" if tainted else "correct"
        return "wrong"

    def order(self, item: Item) -> tuple[int, ...]:
        kind, i, j = item
        if kind == "value":
            return (0, i)
        if kind == "gradient":
            return (1, -i, 0)
        if kind == "local":
            assert j is not None
            return (1, -i, 1, j)
        assert j is not None
        return (2, j, i)

    # -- words -----------------------------------------------------------------------

    def label(self, item: Item) -> str:
        kind, i, j = item
        s = self.trace._syms
        if kind == "value":
            return s[i].name
        if kind == "gradient":
            return f"d{s[self.out]}/d{s[i]}"
        assert j is not None
        if kind == "local":
            return f"∂{s[i]}/∂{s[j]}"
        return f"d{s[i]}/d{s[j]}"

    def factors(self, item: Item) -> list[tuple[Item, Item]]:
        """The chain-rule products (first factor, second factor) that sum to ``item``."""
        kind, i, j = item
        t = self.trace
        if kind == "gradient":
            return [
                (("gradient", c, None), ("local", c, i))
                for c in t._consumers[i]
                if c <= self.out and c in self.ctx.reach and i != self.out
            ]
        if kind == "tangent":
            assert j is not None
            if i <= j or t._defs[i] is None:
                return []
            return [(("local", i, p), ("tangent", p, j)) for p in t._parents[i] if p >= j]
        return []

    def value_of(self, w: _World, item: Item) -> float:
        kind, i, j = item
        if kind == "value":
            return w.vals[i]
        if kind == "gradient":
            return w.adj[i]
        if kind == "local":
            return w.locs[i][self.trace._parents[i].index(j)]
        assert j is not None
        return w.tans[j][i]

    def step_text(self, item: Item, w: _World | None, total: float | None = None) -> str:
        """``lhs = formula = numbers = result`` for ``item`` in world ``w``."""
        kind, i, j = item
        t = self.trace
        lhs = self.label(item)
        if w is not None and total is None:
            total = self.value_of(w, item)
        result = _num(total)
        if kind == "value":
            if t._defs[i] is None:
                return f"{lhs} = {result} (given)" if w else f"{lhs} is an input"
            if w is None:
                return f"{lhs} = {t._defs[i]}"
            ps = ", ".join(f"{t._syms[p]} = {_num(w.vals[p])}" for p in t._parents[i])
            return f"{lhs} = {t._defs[i]} = {result}, with {ps}"
        if kind == "local":
            sym = self.expected_symbolic(item)
            if w is None or not sym.free_symbols:
                return f"{lhs} = {sym}"
            return f"{lhs} = {sym} = {result}"
        if (kind == "gradient" and i == self.out) or (kind == "tangent" and i == j):
            return f"{lhs} = 1"
        pairs = self.factors(item)
        if not pairs:
            if kind == "gradient":
                return f"{lhs} = 0 ({t._syms[i]} does not affect {t._syms[self.out]})"
            assert j is not None
            return f"{lhs} = 0 ({t._syms[i]} does not depend on {t._syms[j]})"
        formula = " + ".join(f"{self.label(x)} · {self.label(y)}" for x, y in pairs)
        if w is None:
            return f"{lhs} = {formula}"
        numbers = " + ".join(
            f"{_num(self.value_of(w, x), True)} · {_num(self.value_of(w, y), True)}"
            for x, y in pairs
        )
        return f"{lhs} = {formula} = {numbers} = {result}"

    def answer(
        self,
        key: str,
        item: Item,
        claim: _Claim,
        verdict: str,
        rng: tuple[float, float] | None,
        kink_notes: Mapping[int, str],
        sym_note: str | None,
    ) -> Answer:
        t = self.trace
        kind, i, j = item
        s = t._syms
        correct = self.correct
        step = self.step_text(item, correct)
        memo: list[sympy.Expr] = []

        def symbolic() -> sympy.Expr:
            if not memo:
                memo.append(self.expected_symbolic(item))
            return memo[0]

        if kind in ("gradient", "tangent") and (self.ctx.n <= _SYMBOLIC_STEP_NODES or claim.expr):
            expected_sym = symbolic()
            if expected_sym.free_symbols and _small(expected_sym):
                step += f" (symbolically {expected_sym})"
        expected = self.value_of(correct, item) if correct is not None else None
        notes = []
        if sym_note:
            notes.append(sym_note)
        kinks = self.kinks_of(item, kink_notes)
        if kinks and rng is not None and rng[0] != rng[1]:
            notes.append(f"{kinks}; accepted: from {_num(rng[0])} to {_num(rng[1])}")
        if (
            verdict == "correct"
            and claim.expr is None
            and rng is not None
            and not self.close(claim, rng[0], rng[0], rng[1])
        ):
            notes.append("consistent with your rounded earlier answers")
        mistake = None
        if verdict == "wrong":
            mistake, why = self.diagnose(item, claim)
            want = _expected_text_raw(symbolic(), expected)
            explanation = f"wrong{f' ({why})' if why else ''}: expected {want}. {step}."
            if claim.expr is not None and expected is not None and self.close(claim, expected):
                explanation += (
                    " Your expression has the right value at these inputs, but it is not the "
                    f"same formula as {_expr_text(symbolic())}."
                )
        elif verdict == "carried":
            explanation = ""  # filled in by carried_text once first_error is known
        else:
            explanation = f"correct: {step}"
        if kind == "value":
            of, wrt, node = s[i].name, None, s[i].name
        elif kind == "gradient":
            of, wrt, node = s[self.out].name, s[i].name, s[i].name
        else:
            assert j is not None
            of, wrt, node = s[i].name, s[j].name, s[i].name
        return Answer(
            key=key,
            kind=kind,
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
            note="; ".join(notes) or None,
        )

    def kinks_of(self, item: Item, kink_notes: Mapping[int, str]) -> str | None:
        if not kink_notes:
            return None
        kind, i, _ = item
        if kind == "local" and i in kink_notes:
            return kink_notes[i]
        if kind in ("gradient", "tangent"):
            found = [
                n for k, n in kink_notes.items() if (k <= self.out if kind == "gradient" else k > i)
            ]
            return found[0] if found else None
        return None

    def diagnose(self, item: Item, claim: _Claim) -> tuple[str | None, str | None]:
        """Name a recognised slip: fan-out not summed, wrong argument, sign error."""
        correct, student = self.correct, self.student
        if correct is None or claim.value is None:
            return None, None
        t = self.trace
        kind, i, j = item
        worlds = [w for w in (correct, student) if w is not None]
        if kind == "gradient":
            pairs = self.factors(item)
            if len(pairs) >= 2:
                for w in worlds:
                    terms = [self.value_of(w, x) * self.value_of(w, y) for x, y in pairs]
                    for r in range(1, min(len(terms), _SUBSET_LIMIT)):
                        for subset in itertools.combinations(range(len(terms)), r):
                            if self.close(claim, sum(terms[k] for k in subset)):
                                missing = [
                                    t._syms[pairs[k][0][1]].name
                                    for k in range(len(terms))
                                    if k not in subset
                                ]
                                return "fan-out", (
                                    f"fan-out not summed: {t._syms[i]} feeds "
                                    f"{_names(t, [p[0][1] for p in pairs])}; its gradient is the "
                                    f"sum over all of them, and the contribution through "
                                    f"{', '.join(missing)} is missing"
                                )
            for w in worlds:
                terms = [self.value_of(w, x) * self.value_of(w, y) for x, y in pairs]
                for k, (up, (_, c, _p)) in enumerate(pairs):
                    for q_pos, q in enumerate(t._parents[c]):
                        if q == i:
                            continue
                        alt = sum(terms) - terms[k] + self.value_of(w, up) * w.locs[c][q_pos]
                        if self.close(claim, alt):
                            return "wrong-argument", (
                                f"wrong argument: ∂{t._syms[c]}/∂{t._syms[i]} was taken with "
                                f"respect to {t._syms[q]} instead of {t._syms[i]}"
                            )
        if kind == "local":
            assert j is not None
            for w in worlds:
                for q_pos, q in enumerate(t._parents[i]):
                    if q != j and self.close(claim, w.locs[i][q_pos]):
                        return "wrong-argument", (
                            f"wrong argument: this is ∂{t._syms[i]}/∂{t._syms[q]}, the partial "
                            f"with respect to {t._syms[q]} instead of {t._syms[j]}"
                        )
        for w in worlds:
            v = self.value_of(w, item)
            if math.isfinite(v) and not self.close(claim, v) and self.close(claim, -v):
                return (
                    "sign",
                    f"sign error: the expected value is {_num(v)}; yours has the opposite sign",
                )
        return None, None

    def carried_text(self, a: Answer, first: Answer | None) -> Answer:
        """Fill in the explanation of a carried answer (needs ``first_error``)."""
        if a.verdict != "carried" or self.student is None:
            return a
        item = self.items[a.key]
        student = self.student
        computed = student.formula[item][0]
        yours = []
        for dep in self.inputs_of(item):
            if not student.taint.get(dep, False):
                continue
            label = self.label(dep)
            claim = self.by_item.get(dep)
            if claim is not None:
                yours.append(f"your {label} = {claim.raw}")
            else:
                yours.append(f"{label} = {_num(self.value_of(student, dep))} (from your answers)")
        where = f" (first error: {first.key})" if first is not None else ""
        text = (
            f"carried: with {', '.join(yours) or 'your earlier answers'}, "
            f"{self.step_text(item, student, computed)}, which is what you wrote: this step "
            f"is right, the mistake is upstream{where}. "
            f"Correct: {self.step_text(item, self.correct)}."
        )
        return replace(a, explanation=text)

    def inputs_of(self, item: Item) -> list[Item]:
        """The quantities the chain-rule formula for ``item`` reads."""
        kind, i, _ = item
        t = self.trace
        if kind in ("value", "local"):
            return [("value", p, None) for p in t._parents[i]]
        return [x for pair in self.factors(item) for x in pair]


def _expected_text_raw(sym: sympy.Expr, value: float | None) -> str:
    if value is None:
        return _expr_text(sym)
    if sym.free_symbols and _small(sym):
        return f"{sym} = {_num(value)}"
    return _num(value)


def check(
    trace: Trace,
    answers: Mapping[str, Any],
    output: Any = None,
    **options: Any,
) -> Report:
    """Grade hand-worked ``answers`` (key -> claim) against ``trace``; return a :class:`Report`.

    ``output`` is the node whose gradient the ``dL/dx`` keys mean (default: the last node).
    Options: ``rel_tol`` (default ``1e-6``) and ``abs_tol`` (``1e-9``) for numbers without
    a written precision; ``written_precision=False`` judges numeric strings like floats;
    ``random_points`` (4) and ``seed`` (0) for the numeric second opinion on symbolic
    answers; ``title`` and ``source`` (a file name) for the report; ``lines`` (key -> line
    number) for error messages.

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
    unknown = set(options) - _OPTIONS - {"title", "lines", "source"}
    if unknown:
        raise TypeError(
            f"check() got unknown option(s) {', '.join(sorted(unknown))}; options are "
            f"{', '.join(sorted(_OPTIONS | {'title', 'lines', 'source'}))}"
        )
    if not isinstance(answers, Mapping):
        raise TypeError(
            f"answers must be a mapping from key to claim, got {type(answers).__name__}"
        )
    rel_tol = float(options.get("rel_tol", 1e-6))
    abs_tol = float(options.get("abs_tol", 1e-9))
    if not (rel_tol >= 0 and abs_tol >= 0 and math.isfinite(rel_tol) and math.isfinite(abs_tol)):
        raise ValueError("rel_tol and abs_tol must be finite and non-negative")
    checker = _Checker(
        trace,
        answers,
        output,
        rel_tol,
        abs_tol,
        bool(options.get("written_precision", True)),
        int(options.get("random_points", 4)),
        int(options.get("seed", 0)),
        options.get("lines"),
    )
    return checker.run(options.get("title"), options.get("source"))
