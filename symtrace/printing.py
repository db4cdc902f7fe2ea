"""Views of a trace's results: chain-rule derivations, evaluation-trace tables, paths.

Every view is a :class:`~symtrace.display.Renderable`: ``str(v)`` is plain Unicode
text, ``v.to_markdown()`` Markdown with inline ``$...$`` math, ``v.to_latex()`` LaTeX
(``align*`` for derivations, an ``array`` inside ``\\[ ... \\]`` for tables, both of
which compile with ``amsmath`` and display in Jupyter), ``sympy.latex(v)`` the same.
Numbers are read from the engine (``Gradient.value``, ``Tangents.value``,
``Step.value``, ``Trace.value``), never recomputed here; notation comes from
:mod:`symtrace.notation`.

>>> from symtrace import Trace
>>> t = Trace()
>>> a, b, c, f = t.inputs("a b c f", values=(2, -3, 10, -2))
>>> e = t.define("e", a * b); d = t.define("d", e + c); L = t.define("L", d * f)
>>> print(derivation(t.graph, t.cache, L, nodes=[e, a]))
Backward pass for L at a = 2, b = -3, c = 10, f = -2
dL/de = dL/dd · ∂d/∂e = f · 1 = f = (-2) · 1 = -2
dL/da = dL/de · ∂e/∂a = f · b = b*f = (-2) · (-3) = 6

The views are made from a trace's :class:`~symtrace.graph.Graph` and
:class:`~symtrace.evaluation.ValueCache` (``Trace.derivation`` and ``Trace.table`` call
:func:`derivation` and :func:`table` with ``t.graph, t.cache``).  :func:`render` renders
the engine's results (:class:`~symtrace.Gradient`, :class:`~symtrace.Tangents`,
:class:`~symtrace.Paths`), whose ``str()`` and ``to_*`` methods call it.

Options (given when the view is made, or again to ``to_text``/``to_markdown``/
``to_latex`` to override them) are validated by
:func:`symtrace.notation.validate_options`; unknown ones raise
:class:`~symtrace.errors.OptionError` (a ``TypeError``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
from sympy.printing.precedence import PRECEDENCE, precedence

from . import notation as nt
from .derivatives import Gradient, MatrixStep, Paths, Step, Tangents, vjp_rules
from .display import Renderable
from .errors import EvaluationError, OptionValueError, UsageError
from .evaluation import ValueCache
from .graph import Graph
from .shapes import size_at_most

__all__ = [
    "Derivation",
    "DerivationLine",
    "Table",
    "TableRow",
    "derivation",
    "render",
    "render_gradient",
    "render_graph",
    "render_paths",
    "render_tangents",
    "table",
]

DERIVATION_OPTIONS: dict[str, Any] = {
    "nodes": None,
    "symbolic_only": False,
    "numeric_only": False,
    "expanded": False,
    "precision": nt.DEFAULT_PRECISION,
    "width": None,
}
"""Options of :func:`derivation` and their defaults."""

TABLE_OPTIONS: dict[str, Any] = {"nodes": None, "precision": nt.DEFAULT_PRECISION}
"""Options of :func:`table` and their defaults."""

RESULT_OPTIONS: dict[str, Any] = {
    "nodes": None,
    "expanded": False,
    "precision": nt.DEFAULT_PRECISION,
    "width": None,
}
"""Options of the renderings of :class:`~symtrace.Gradient` and :class:`~symtrace.Tangents`."""

PATHS_OPTIONS: dict[str, Any] = {"precision": nt.DEFAULT_PRECISION}
"""Options of the rendering of :class:`~symtrace.Paths`."""

TRACE_OPTIONS: dict[str, Any] = {"precision": nt.DEFAULT_PRECISION}
"""Options of the rendering of a :class:`~symtrace.Trace`."""

_RULES: dict[str, nt.Rule] = {
    "precision": nt.check_precision,
    "width": nt.check_width,
    "symbolic_only": nt.check_flag,
    "numeric_only": nt.check_flag,
    "expanded": nt.check_flag,
}


# ---------------------------------------------------------------------- helpers


def _options(what: str, given: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults`` updated with ``given``; unknown or ill-typed options raise."""
    out = nt.validate_options(what, given, defaults, _RULES)
    if out.get("symbolic_only") and out.get("numeric_only"):
        raise OptionValueError(f"{what}: symbolic_only and numeric_only cannot both be True")
    return out


def _select(graph: Graph, nodes: Any, default: list[int], reverse: bool) -> list[int]:
    """The node indices to show: ``nodes`` (names or Symbols) in display order, or ``default``."""
    if nodes is None:
        return default
    if isinstance(nodes, str | sympy.Symbol):
        nodes = [nodes]
    chosen = {graph.index(n) for n in nodes}
    return sorted(chosen, reverse=reverse)


def _value_or_none(fn: Any, *args: Any) -> Any:
    try:
        v = fn(*args)
        return v if isinstance(v, np.ndarray) else float(v)
    except EvaluationError:
        return None


def _input_values(graph: Graph, cache: ValueCache) -> dict[sympy.Symbol, Any]:
    """The inputs' current values, in evaluation order."""
    return {graph.symbols[i]: v for i, v in sorted(cache.given.items())}


def _at(given: Mapping[Any, Any], fmt: str, precision: int) -> str:
    """``a = 2, b = -3`` for the input values a result was made with."""
    parts = []
    v: Any
    for sym, v in given.items():
        num = nt.number(
            v if isinstance(v, sympy.MatrixBase | np.ndarray) else float(v), precision, fmt
        )
        parts.append(nt.inline(f"{nt.name(sym, fmt)} = {num}", fmt))
    return ", ".join(parts)


def _dedupe(parts: list[list[str]]) -> list[list[str]]:
    """Drop empty parts and any part written the same as one before it in the chain.

    ``∂L/∂r = ∂L/∂s · ∂s/∂r = 1 · 1 = 1 = 1 · 1 = 1`` is written once:
    ``∂L/∂r = ∂L/∂s · ∂s/∂r = 1 · 1 = 1``.
    """
    out: list[list[str]] = []
    seen: dict[str, int] = {}
    for p in parts:
        text = nt.sum_terms(p)
        if text in seen:
            k = seen[text]
            if len(p) > len(out[k]):  # the same sum, known term by term: breakable
                out[k] = p
        elif text:
            seen[text] = len(out)
            out.append(p)
    return out


def _equation_lines(
    lines: list[list[list[str]]], fmt: str, header: str = "", width: int | None = None
) -> str:
    """Chains ``lhs = a = b`` (see :func:`symtrace.notation.equation_lines`); text lines
    wider than ``width`` columns are broken with a hanging indent."""
    if width is not None and fmt == "text":
        header = nt.wrap(header, width)
    return nt.equation_lines(lines, fmt, header, wrap=width)


_REPR_LINES = 30


def _repr(view: Renderable) -> str:
    """A view's text, or its first lines and how many more there are when it is long."""
    text = view.to_text()
    lines = text.splitlines()
    if len(lines) <= _REPR_LINES and len(text) <= 4000:
        return text
    head = "\n".join(line[:200] for line in lines[: _REPR_LINES // 2])
    return f"{head}\n... ({len(lines) - _REPR_LINES // 2} more lines; print() it for all)"


def _math(s: str, fmt: str) -> str:
    """A table cell holding math: inline ``$...$`` in Markdown, as is otherwise."""
    return nt.inline(s, fmt)


TEXT_CELL = 40
"""Text table cells wider than this many columns are cut between terms into lines."""


LATEX_CELLS = {"primal": 30.0, "reverse": 18.0, "forward": 13.0}
"""How wide a LaTeX table cell may be (:func:`symtrace.notation.tex_width` units) in each
table mode, so that the whole table fits an A4 page."""


def _cell(prefix: str, parts: list[str], fmt: str, mode: str = "primal") -> str:
    """A table cell ``prefix + sum``, cut between the sum's terms when it is too wide."""
    whole = prefix + nt.sum_terms(parts)
    if fmt == "markdown" or len(parts) < 2:
        return whole
    limit = LATEX_CELLS.get(mode, nt.LATEX_CELL) if fmt == "latex" else float(TEXT_CELL)
    if nt.measure(whole, fmt) <= limit:
        return whole
    return nt.stack([prefix + parts[0], *parts[1:]], fmt, limit)


_OPEN, _CLOSE = object(), object()  # the parentheses around a factor, as layout tokens
_Token = tuple[str, Any]  # (what joins it to the token before, its text or _OPEN/_CLOSE)


def _tokens(e: Any, fmt: str, limit: float, depth: int = 0) -> list[_Token]:
    """``e`` as the pieces a line may be broken between: the terms of a sum, and the
    factors of a product too wide for a line (a factor that is a sum in parentheses,
    its terms again); a piece that cannot be cut (a fraction, a function) stays whole.
    In text, cut once per family (see :func:`_fit`)."""
    if fmt == "text":
        found = _by_family(
            e, ("tokens", limit, depth), 0, lambda m: _tokens_now(m, fmt, limit, depth)
        )
        if found is not None:
            template, names = found
            return [
                (sep, t if t is _OPEN or t is _CLOSE else nt.fill(t, names)) for sep, t in template
            ]
    return _tokens_now(e, fmt, limit, depth)


def _tokens_now(e: Any, fmt: str, limit: float, depth: int) -> list[_Token]:
    """:func:`_tokens`, cut from scratch."""
    whole = nt.expr(e, fmt)
    if depth > 4 or nt.measure(whole, fmt) <= limit:
        return [("", whole)]
    out: list[_Token] = []
    if isinstance(e, sympy.Add):
        for k, term in enumerate(nt.ordered_terms(e)):
            minus = k > 0 and term.could_extract_minus_sign()
            inner = _tokens(-term if minus else term, fmt, limit, depth + 1)
            sep = "" if k == 0 else " - " if minus else " + "
            out += [(sep + inner[0][0], inner[0][1]), *inner[1:]]
        return out
    if isinstance(e, sympy.Mul) and not any(_denominator(f) for f in e.args):
        if e.could_extract_minus_sign():
            out.append(("", "-"))
            e = -e
        for k, factor in enumerate(e.as_ordered_factors()):
            text = nt.expr(factor, fmt)
            paren = precedence(factor) < PRECEDENCE["Mul"]  # a sum: in parentheses
            sep = "" if k == 0 else "*" if fmt == "text" else " "
            if sep == " " and not paren and text[0].isdigit():
                sep = r" \cdot "  # 2 \cdot 3^{x}, not 2 3^{x}
            if paren:
                inner = _tokens(factor, fmt, limit, depth + 1)
                out += [(sep, _OPEN), *inner, ("", _CLOSE)]
            else:
                out.append((sep, text))
        return out
    return [("", whole)]


def _denominator(factor: Any) -> bool:
    """Whether the printer puts ``factor`` under a fraction bar (``x**-2``)."""
    return bool(factor.is_Pow and factor.exp.is_Number and factor.exp < 0)


def _layout(prefix: str, tokens: list[_Token], fmt: str, limit: float) -> list[str]:
    """The tokens on lines at most ``limit`` wide where they can be: a line is cut only
    before a term (``+``/``-``) or a factor (``·``), and a line ends with its open
    parentheses closed (``\\right.``) and the next opens them again (``\\left.``)."""
    tex = fmt != "text"
    opened, closed = (r"\left(", r"\right)") if tex else ("(", ")")
    times = r"\cdot" if tex else "·"
    pieces = [opened if t is _OPEN else closed if t is _CLOSE else t for _, t in tokens]
    widths = [nt.measure(sep + p, fmt) for (sep, _), p in zip(tokens, pieces, strict=True)]
    run = widths[:]  # how wide the line grows up to the next place it may be cut
    for k in range(len(tokens) - 2, -1, -1):
        if not tokens[k + 1][0]:
            run[k] += run[k + 1]
    level, depths = 0, []
    for _, t in tokens:
        depths.append(level)
        level += 1 if t is _OPEN else -1 if t is _CLOSE else 0
    for k, (sep, _) in enumerate(tokens):  # a term goes on a line of its own if it must be cut
        if sep.strip() in ("+", "-"):
            j = k + 1
            while (
                j < len(tokens)
                and depths[j] >= depths[k]
                and not (depths[j] == depths[k] and tokens[j][0].strip() in ("+", "-"))
            ):
                j += 1
            run[k] = sum(widths[k:j])
    lines: list[str] = []
    line, used, depth, placed = prefix, nt.measure(prefix, fmt) + 2, 0, 0
    for k, (sep, text) in enumerate(tokens):
        piece, w = pieces[k], widths[k]
        if sep and placed and used + run[k] > limit:
            lines.append(line + (r" \right." * depth if tex else ""))
            lead = sep.strip() if sep.strip() in ("+", "-") else times
            inside = r"\quad \left. " * depth if tex else "  " * depth  # deeper, further in
            line = inside + ("{}" if tex and depth else "") + f"{lead} {piece}"
            used, placed = 2 + nt.measure(line, fmt), 1
        else:
            line, used, placed = line + sep + piece, used + w, placed + 1
        depth += 1 if text is _OPEN else -1 if text is _CLOSE else 0
    lines.append(line)
    return lines


def _fit(prefix: str, e: Any, fmt: str, limit: float) -> str:
    """``prefix + e`` as a table cell no wider than ``limit`` where it can be: a sum cut
    between its terms (:func:`~symtrace.notation.stack`), a term too wide for a line of
    its own cut between its factors."""
    lead = nt.width(prefix)
    if fmt == "text" and (lead or not prefix):
        found = _by_family(
            e, ("cell", limit), lead, lambda m: _fit_now(nt.prefix_mark(lead), m, fmt, limit)
        )
        if found is not None:
            template, names = found
            return nt.fill(template, names, prefix)
    return _fit_now(prefix, e, fmt, limit)


_LAID_OUT: dict[tuple[Any, ...], Any] = {}
_UNSEEN: Any = object()  # not looked up yet
LAID_OUT = 4_096
"""How many text layouts of cells and of their pieces :func:`_fit` remembers (it forgets
them all when full)."""


def _by_family(
    e: Any, how: tuple[Any, ...], lead: int, lay_out: Callable[[Any], Any]
) -> tuple[Any, list[str]] | None:
    """A text layout of ``e`` made once per family, and the names to fill into it.

    The expressions of one :func:`~symtrace.notation.family` print alike, names apart,
    and with names of the same widths (and after a prefix of ``lead`` columns) they
    break alike too: the layout measures widths only.  ``lay_out`` lays out the family
    once, over marks of those widths for the names (:func:`~symtrace.notation.marked`),
    and each member fills in its own (:func:`~symtrace.notation.fill`).  ``how`` tells
    layouts apart (their kind and width).  None when ``e`` has no family (a matrix, a
    symbol printed otherwise than by name)."""
    found = nt.family(e)
    if found is None:
        return None
    key, symbols = found
    names = [nt.name(s, "text") for s in symbols]
    widths = [nt.width(n) for n in names]
    if 0 in widths:
        return None
    layout = (key, tuple(widths), lead, how)
    template = _LAID_OUT.get(layout, _UNSEEN)  # None: seen, and not to be reused
    if template is _UNSEEN:
        mark = nt.marked(e, symbols, widths)
        template = None if mark is None else lay_out(mark)
        if len(_LAID_OUT) >= LAID_OUT:
            _LAID_OUT.clear()
        _LAID_OUT[layout] = template
    return None if template is None else (template, names)


def _fit_now(prefix: str, e: Any, fmt: str, limit: float) -> str:
    """:func:`_fit`, laid out from scratch."""
    parts = nt.terms(e, fmt)
    whole = prefix + nt.sum_terms(parts)
    if fmt == "markdown" or nt.measure(whole, fmt) <= limit:
        return whole
    if all(nt.measure(p, fmt) + 3 <= limit for p in parts[1:]) and (
        nt.measure(prefix + parts[0], fmt) + 2 <= limit
    ):
        return nt.stack([prefix + parts[0], *parts[1:]], fmt, limit) if len(parts) > 1 else whole
    lines = _layout(prefix, _tokens(e, fmt, limit), fmt, limit)
    if len(lines) < 2:
        return whole
    if fmt == "latex":
        body = r" \\ ".join([lines[0], *(rf"\quad {{}}{c}" for c in lines[1:])])
        return rf"\begin{{array}}[t]{{@{{}}l@{{}}}} {body} \end{{array}}"
    return "\n".join([lines[0], *(f"  {c}" for c in lines[1:])])


LATEX_TABLE_WIDTH = 62.0
"""How wide (in :func:`~symtrace.notation.tex_width` units, about 5 pt each) a LaTeX
table is laid out to be, counting two units a column for the space between columns:
an A4 ``article`` page's text width (345 pt), less room for the estimate's error."""

LATEX_TABLE_FITS = 67.0
"""A LaTeX table estimated no wider than this is left as it is (it fits the page);
a wider one is cut and split to :data:`LATEX_TABLE_WIDTH`."""

LATEX_TABLE_LINES = 36
"""At most this many lines (a fraction counts two) go in one LaTeX table, which cannot
break across pages; a longer table goes on in another, under the same header."""

_STACKED = (r"\begin{array}[t]{@{}l@{}} ", r" \end{array}")


def _lines(cell: str) -> list[str]:
    """The lines of a LaTeX table cell (a stacked cell is an ``array`` of them)."""
    head, tail = _STACKED
    if cell.startswith(head) and cell.endswith(tail):
        return cell[len(head) : -len(tail)].split(r" \\ ")
    return [cell]


LATEX_NARROWEST = 10.0
"""A LaTeX table's formulas are not cut narrower than this to fit the page's width; the
table is split into two instead."""

_SECTIONS = {"primal": [[1, 2]], "forward": [[1, 2], [3, 5, 4]], "reverse": [[1, 2, 4, 3]]}
"""The columns that belong together in each table mode (after the node column), in the
order they are given up when they do not fit side by side: a forward table too wide
for the page is its primal trace, then its tangent trace; the terms of a sum go last."""


@dataclass(frozen=True)
class _Fit:
    """A cell ``prefix + expr`` still to be fitted to its column's width."""

    prefix: str
    expr: Any
    fmt: str

    def at(self, limit: float) -> str:
        return _math(_fit(self.prefix, self.expr, self.fmt, limit), self.fmt)


def _fill(cell: str | _Fit, limit: float) -> str:
    return cell.at(limit) if isinstance(cell, _Fit) else cell


def _page_tables(
    header: list[str],
    rows: list[list[str | _Fit]],
    title: str,
    limit: float,
    sections: list[list[int]],
) -> str:
    """A LaTeX table that fits an A4 page.  Columns too many for the page's width go in
    a further table with the node column again (a mode's ``sections`` kept together
    where they fit, and their formulas then given the room left); rows too many for a
    page's height go on in a further table under the same header."""

    def width(k: int, cells: list[str]) -> float:
        lines = [x for c in cells for x in _lines(c)]
        # tex_width counts a \left( as a (; around a sum or a square it is wider
        widest = max([0.0] + [nt.tex_width(x) + 0.5 * x.count(r"\left") for x in lines])
        return max(nt.tex_width(rf"\text{{{header[k]}}}"), widest)

    columns = [[_fill(r[k], limit) for r in rows] for k in range(len(header))]
    widths = [width(k, c) for k, c in enumerate(columns)]

    def fits(group: list[int]) -> bool:
        return sum(widths[j] + 2 for j in group) <= LATEX_TABLE_WIDTH

    formulas = [k for k in range(len(header)) if any(isinstance(r[k], _Fit) for r in rows)]

    def narrowed(group: list[int]) -> bool:
        """Whether ``group`` fits, once its formulas share the room the rest leaves
        (they are cut narrower, never below LATEX_NARROWEST)."""
        if fits(group):
            return True
        mine = [k for k in group if k in formulas]
        others = sum(widths[k] + 2 for k in group if k not in mine)
        share = (LATEX_TABLE_WIDTH - others) / max(len(mine), 1) - 2
        if not mine or share < LATEX_NARROWEST:
            return False
        narrow = {k: [_fill(r[k], min(limit, share)) for r in rows] for k in mine}
        if others + sum(width(k, c) + 2 for k, c in narrow.items()) > LATEX_TABLE_WIDTH:
            return False
        for k, c in narrow.items():
            columns[k], widths[k] = c, width(k, c)
        return True

    groups: list[list[int]] = [[0]]
    everything = list(range(len(header)))
    if sum(widths[j] + 2 for j in everything) <= LATEX_TABLE_FITS or narrowed(everything):
        groups = [everything]
    else:
        for section in sections:
            if len(groups[-1]) > 1 and not fits(groups[-1] + section):
                groups.append([0])
            if len(groups[-1]) == 1 and narrowed([0, *section]):
                groups[-1] += section
                continue
            for k in section:
                if len(groups[-1]) > 1 and not fits([*groups[-1], k]):
                    groups.append([0])
                groups[-1].append(k)
    if len(groups) > 1:  # a formula gets the room its table has left
        for g in groups:
            spare = LATEX_TABLE_WIDTH - sum(widths[j] + 2 for j in g) - 6
            for k in g:
                if spare > 0 and k in formulas:
                    wider = [_fill(r[k], widths[k] + spare) for r in rows]
                    spare -= width(k, wider) - widths[k]
                    columns[k], widths[k] = wider, width(k, wider)
    heights = [
        max(sum(2 if r"\frac" in x else 1 for x in _lines(c[i])) for c in columns)
        for i in range(len(rows))
    ]
    chunks: list[list[int]] = [[]]
    used = 0
    for i, h in enumerate(heights):
        if chunks[-1] and used + h > LATEX_TABLE_LINES:
            chunks.append([])
            used = 0
        chunks[-1].append(i)
        used += h
    out: list[str] = []
    for g in groups:
        g.sort()
        for part in chunks:
            cells = [[columns[k][i] for k in g] for i in part]
            out.append(nt.grid([header[k] for k in g], cells, "latex", "" if out else title))
    return "\n".join(out)


def _text(s: str, fmt: str) -> str:
    """A table cell holding words."""
    return rf"\text{{{s}}}" if fmt == "latex" and s else s


def _numeric_steps(
    graph: Graph, sweep: Gradient | Tangents, i: int, keep: set[int]
) -> list[tuple[int, float | None, float | None]]:
    """The chain-rule terms of node ``i`` in numbers: ``(via, local value, upstream value)``.

    Reverse mode sums over the consumers ``via`` in ``keep`` (the nodes the output
    depends on), forward mode over the parents in ``keep`` (the nodes that depend on
    ``wrt``).  Made from the sweep's numbers only (``value``, ``local_values``), never its
    symbolic results, so views of long chains take linear time.
    """
    syms = graph.symbols
    out: list[tuple[int, float | None, float | None]] = []
    values = sweep.has_values
    if isinstance(sweep, Gradient):
        for c in graph.consumers[i]:
            if c in keep and c < sweep.size:
                k = graph.equations[c].parents.index(i)
                local = sweep.local_values(c)[k] if values else None
                out.append((c, local, float(sweep.value(syms[c])) if values else None))
        return out
    parents = graph.equations[i].parents
    for k, p in enumerate(parents):
        if p in keep and p not in parents[:k]:
            local = sweep.local_values(i)[k] if values else None
            out.append((p, local, float(sweep.value(syms[p])) if values else None))
    return out


SYMBOLIC_NODES = 200
"""Derivations of more nodes than this are written in numbers only (chain-rule factors
named, not expanded), unless ``symbolic_only=True``: their symbolic results grow with the
depth of the graph, and printing them all would take quadratic time and space."""


REFERENCE_SIZE = 40
"""A symbolic result of a derivation (``dL/dx₄``) with more SymPy nodes than this is
written by name in the later steps that use it, not repeated: the compact results of a
deep graph grow with its depth, and writing each in full at every step would make the
derivation quadratic in the graph."""

LOCAL_SIZE = 200
"""A local partial (``∂x₄/∂x₃``) with more SymPy nodes than this is written by name: one
definition with many arguments has as many partials, each nearly as large as itself."""


def _local_or_name(graph: Graph, c: int, p: int, names: Any) -> Any:
    """The local partial ``∂c/∂p`` as by hand, or its name when it has more than
    :data:`LOCAL_SIZE` nodes."""
    local = graph.local_partial(c, p)
    if size_at_most(local, LOCAL_SIZE):
        return nt.hand_local(local, names)
    return nt.partial_symbol(graph.symbols[c], graph.symbols[p])


# ------------------------------------------------------------------ derivations


@dataclass(frozen=True)
class DerivationLine:
    """One node's chain-rule step in a :class:`Derivation`.

    ``steps`` are the engine's :class:`~symtrace.Step` terms that sum to ``result``
    (the compact symbolic derivative); ``value`` is the engine's number (``None``
    without input values).  For the seed node (the output in reverse mode, ``wrt`` in
    forward mode) ``steps`` is empty and ``result`` is 1.
    """

    node: sympy.Symbol
    steps: tuple[Step, ...]
    result: sympy.Expr
    value: float | None


def _vjp_steps(sweep: Gradient | Tangents, node: sympy.Symbol) -> dict[int, MatrixStep]:
    """The steps of ``node`` that go through matrix equations, by consumer index."""
    return {sweep.graph.index(s.via): s for s in sweep.steps(node) if isinstance(s, MatrixStep)}


class Derivation(Renderable):
    """The chain rule written out node by node, symbols first, then numbers.

    Made by :func:`derivation` (``Trace.derivation``).  ``lines`` holds the structured
    content; rendering writes, for a node ``e`` whose consumer is ``d``::

        ∂L/∂e = ∂L/∂d · ∂d/∂e = f · 1 = f = (-2) · 1 = -2

    and a sum over the consumers when there are several.
    """

    def __init__(
        self,
        graph: Graph,
        cache: ValueCache,
        y: Any,
        mode: str,
        wrt: Any,
        options: dict[str, Any],
    ) -> None:
        if mode not in ("reverse", "forward"):
            raise OptionValueError(
                f"derivation(): mode must be 'reverse' or 'forward', got {mode!r}"
            )
        self._options = _options("derivation()", options, DERIVATION_OPTIONS)
        self.graph = graph
        self.mode = mode
        iy = graph.index(y)
        self.output = graph.symbols[iy]
        self.sweep: Gradient | Tangents
        if mode == "reverse":
            if wrt is not None:
                raise UsageError(
                    "derivation(mode='reverse') takes no wrt=: a backward pass gives "
                    "the derivative with respect to every node; use nodes=[...] to show "
                    "only some, or mode='forward', wrt=x for a forward pass"
                )
            self.sweep = Gradient(graph, cache, iy)
            self.wrt = None
            default = sorted(graph.ancestors([iy]), reverse=True)
        else:
            if wrt is None:
                names = ", ".join(graph.symbols[i].name for i in graph.input_indices)
                raise UsageError(
                    "derivation(mode='forward') needs wrt=<node>: the node the forward "
                    f"pass differentiates with respect to (inputs: {names})"
                )
            ix = graph.index(wrt)
            self.wrt = graph.symbols[ix]
            self.sweep = Tangents(graph, cache, ix)
            default = sorted(graph.ancestors([iy]) & graph.descendants([ix]))
        self._default = default
        self._values = _value_or_none(self.sweep.value, self._anchor) is not None

    @property
    def _anchor(self) -> sympy.Symbol:
        """The seed node: the output (reverse mode) or ``wrt`` (forward mode)."""
        return self.graph.symbols[self.sweep.anchor]

    @property
    def options(self) -> dict[str, Any]:
        """The options this derivation renders with by default."""
        return dict(self._options)

    def lines(self, nodes: Any = None) -> tuple[DerivationLine, ...]:
        """The structured steps, in display order (``nodes`` as for the option)."""
        out = []
        for i in _select(self.graph, nodes, self._default, self.mode == "reverse"):
            sym = self.graph.symbols[i]
            steps = () if i == self.sweep.anchor else self.sweep.steps(sym)
            value = self.sweep.value(sym) if self._values else None
            out.append(DerivationLine(sym, steps, self.sweep[sym], value))
        return tuple(out)

    def _chain(self, node: sympy.Symbol, via: sympy.Symbol, fmt: str) -> tuple[str, bool]:
        """``dL/dd · ∂d/∂e`` for one step through ``via``, and whether ``via`` is the seed."""
        anchor = self._anchor
        if self.mode == "reverse":
            upstream = nt.derivative(anchor, via, fmt)
            local = nt.partial(via, node, fmt)
            return nt.product([upstream, local], fmt), via == anchor
        local = nt.partial(node, via, fmt)
        upstream = nt.derivative(via, anchor, fmt)
        return nt.product([local, upstream], fmt), via == anchor

    def _render(self, fmt: str, **overrides: Any) -> str:
        nt.check_format(fmt)
        o = _options("derivation()", {**self._options, **overrides}, DERIVATION_OPTIONS)
        precision, expanded = o["precision"], o["expanded"]
        symbolic = not o["numeric_only"]
        numeric = not o["symbolic_only"]
        if numeric and not self._values:
            if o["numeric_only"]:
                self.sweep.value(self._anchor)  # raises the engine's error
            numeric = False
        if symbolic and not o["symbolic_only"] and len(self._default) > SYMBOLIC_NODES:
            symbolic = not numeric  # a long graph: numbers only (see SYMBOLIC_NODES)
        expand = self.graph.expand
        anchor = self._anchor
        forward = self.mode == "forward"
        syms = self.graph.symbols
        keep = set(self._default)
        if forward:
            keep.add(self.sweep.anchor)
        names = nt.hand_names(self.graph.equations) if symbolic else {}
        small = self._small_results(keep) if symbolic and not self.graph.has_matrices else {}

        rows = []
        for i in _select(self.graph, o["nodes"], self._default, not forward):
            node = syms[i]
            lhs = nt.derivative(node, anchor, fmt) if forward else nt.derivative(anchor, node, fmt)
            if i == self.sweep.anchor:
                rows.append([[lhs], ["1"]])
                continue
            steps: list[tuple[int, Any, Any, float | None, float | None]]
            if symbolic and i in small:  # large factors by reference (see REFERENCE_SIZE)
                steps = self._symbolic_steps(i, small, keep, names, fmt)
            elif symbolic or self.graph.has_matrices:  # VJP steps come with their rule
                steps = [
                    (
                        self.graph.index(s.via),
                        nt.hand_local(s.local, names),
                        nt.hand_local(s.upstream, names),
                        s.local_value,
                        s.upstream_value,
                    )
                    for s in self.sweep.steps(node)
                ]
            else:
                steps = [
                    (via, None, None, lv, uv)
                    for via, lv, uv in _numeric_steps(self.graph, self.sweep, i, keep)
                ]
            chains, sym_terms, num_terms = [], [], []
            alone = len(steps) == 1
            vjps = _vjp_steps(self.sweep, node) if self.graph.has_matrices else {}
            rules: list[str] = []
            for via, local, upstream, local_value, upstream_value in steps:
                chain, seed = self._chain(node, syms[via], fmt)
                if seed and alone:  # dL/dL · ∂L/∂d is just dL/dd
                    chain = lhs
                chains.append(chain)
                if via in vjps:  # through a matrix equation: its VJP rule, then the number
                    step = vjps[via]
                    rules.append(nt.expr(step.local, fmt))
                    sym_terms.append(nt.expr(step.term, fmt))
                    num_terms.append(nt.number(step.value, precision, fmt))
                    continue
                rules.append(chain)
                one = seed and alone  # the seed factor dL/dL = 1 is left out
                if symbolic:
                    factors = [local] if one else [local, upstream]
                    if not forward:
                        factors.reverse()
                    if expanded:  # a factor written by name (a str) stays as it is
                        factors = [f if isinstance(f, str) else expand(f) for f in factors]
                    sym_terms.append(nt.expr_product(factors, fmt))
                values = [local_value] if one else [local_value, upstream_value]
                if not forward:
                    values.reverse()
                num_terms.append(nt.number_product(values, precision, fmt))
            parts: list[list[str]] = [[lhs], chains]
            if vjps and symbolic:
                parts.append(rules)
            if symbolic:
                parts.append(sym_terms)
                if small.get(i, (sympy.S.One, True))[0] is not None:  # built: written
                    result = nt.hand_local(self.sweep[node], names)
                    parts.append(nt.terms(expand(result) if expanded else result, fmt))
            if numeric:
                value = self.sweep.value(node) if self._values else None
                parts += [num_terms, [nt.number(value, precision, fmt)]]
            if not steps:
                parts.append(["0"])
            rows.append(_dedupe(parts))
        header = self._header(fmt, precision)
        return _equation_lines(rows, fmt, header, o["width"])

    def _vias(self, i: int, keep: set[int]) -> list[tuple[int, int]]:
        """The steps of node ``i`` as ``(via, equation)``: its consumers (reverse mode) or
        its parents (forward mode) in ``keep``; ``equation`` is the one whose local partial
        the step takes."""
        graph = self.graph
        if self.mode == "reverse":
            return [(c, c) for c in graph.consumers[i] if c in keep and c < self.sweep.size]
        parents = graph.equations[i].parents
        return [(p, i) for k, p in enumerate(parents) if p in keep and p not in parents[:k]]

    def _small_results(self, keep: set[int]) -> dict[int, tuple[sympy.Expr | None, bool]]:
        """Each node's compact symbolic result (``None`` where it is not written) and
        whether later steps may repeat it (``False``: they name it, ``dL/dx₄``).

        A node's result is built (by the sweep) only when every upstream result it sums
        may be repeated, so each one is a sum of bounded terms, one per step; a result
        with more than :data:`REFERENCE_SIZE` SymPy nodes is written on its own line
        only.  The whole derivation then takes time linear in the graph.
        """
        small: dict[int, tuple[sympy.Expr | None, bool]] = {}
        anchor = self.sweep.anchor
        for i in sorted(keep, reverse=self.mode == "reverse"):
            if i == anchor:
                small[i] = (sympy.S.One, True)
                continue
            if not all(small[via][1] for via, _ in self._vias(i, keep)):
                small[i] = (None, False)
                continue
            r = self.sweep[self.graph.symbols[i]]
            small[i] = (r, size_at_most(r, REFERENCE_SIZE))
        return small

    def _symbolic_steps(
        self,
        i: int,
        small: dict[int, tuple[sympy.Expr | None, bool]],
        keep: set[int],
        names: Any,
        fmt: str,
    ) -> list[tuple[int, Any, Any, float | None, float | None]]:
        """Node ``i``'s chain-rule steps ``(via, local, upstream, local value, upstream
        value)``, as :meth:`Gradient.steps` gives them but with a large local partial or
        upstream result written by name (``∂x₄/∂x₃``, ``dL/dx₄``)."""
        graph, sweep = self.graph, self.sweep
        syms, anchor = graph.symbols, self._anchor
        values = sweep.has_values
        out: list[tuple[int, Any, Any, float | None, float | None]] = []
        for via, eq in self._vias(i, keep):
            up, repeat = small[via]
            if up is not None and up == 0:
                continue  # a step that contributes nothing, as the engine leaves it out
            wrt = i if self.mode == "reverse" else via  # the partial ∂eq/∂wrt
            k = graph.equations[eq].parents.index(wrt)
            local: Any = graph.local_partials(eq)[k]
            if not size_at_most(local, LOCAL_SIZE):
                local = nt.partial(syms[eq], syms[wrt], fmt)
            else:
                local = nt.hand_local(local, names)
            upstream: Any
            if up is None or not repeat:  # named: its own line above says what it is
                if self.mode == "forward":
                    upstream = nt.derivative(syms[via], anchor, fmt)
                else:
                    upstream = nt.derivative(anchor, syms[via], fmt)
            else:
                upstream = nt.hand_local(up, names)
            local_value = sweep.local_values(eq)[k] if values else None
            up_value = float(sweep.value(syms[via])) if values else None
            out.append((via, local, upstream, local_value, up_value))
        return out

    def __repr__(self) -> str:
        return _repr(self)

    def _header(self, fmt: str, precision: int) -> str:
        at = ""
        if self._values:
            at = " at " + _at(self.sweep.input_values, fmt, precision)
        out = nt.name(self.output, "text" if fmt == "text" else "latex")
        if self.mode == "reverse":
            return f"Backward pass for {nt.inline(out, fmt)}{at}"
        wrt = nt.name(self.wrt, "text" if fmt == "text" else "latex")
        return (
            f"Forward pass with respect to {nt.inline(wrt, fmt)}, toward {nt.inline(out, fmt)}{at}"
        )


def derivation(
    graph: Graph,
    cache: ValueCache,
    y: Any,
    *,
    mode: str = "reverse",
    wrt: Any = None,
    **options: Any,
) -> Derivation:
    """The chain rule written out for every node of ``graph`` that ``y`` depends on.

    Usually called as ``t.derivation(y, ...)``; numbers are at ``cache``'s input values.

    ``mode="reverse"`` (default) gives the backward pass: ``∂y/∂node`` for every node,
    from the output down, each as the sum over the node's consumers.
    ``mode="forward", wrt=x`` gives the forward pass: ``∂node/∂x`` for every node
    between ``x`` and ``y``, each as the sum over the node's parents.

    Options (defaults in :data:`DERIVATION_OPTIONS`):

    * ``nodes=None`` -- which nodes to show (names or Symbols); default all on the way;
    * ``symbolic_only=False`` -- leave out the numbers;
    * ``numeric_only=False`` -- leave out the symbolic factors and results;
    * ``expanded=False`` -- write symbolic results in the inputs only (default:
      compact, in node symbols);
    * ``precision=6`` -- significant digits of the numbers;
    * ``width=None`` -- break text lines wider than this many columns after ``=`` and
      between terms, with a hanging indent (the command line passes the terminal's
      width); LaTeX lines are always broken to fit an A4 page.

    >>> from symtrace import Trace
    >>> t = Trace()
    >>> x = t.input("x", 3)
    >>> s = t.define("s", x**2); y = t.define("y", s + x)
    >>> print(derivation(t.graph, t.cache, y, symbolic_only=True))
    Backward pass for y at x = 3
    dy/dy = 1
    dy/ds = 1
    dy/dx = dy/ds · ∂s/∂x + dy/dy · ∂y/∂x = 1 · 2*x + 1 · 1 = 2*x + 1
    >>> print(derivation(t.graph, t.cache, y, mode="forward", wrt=x, numeric_only=True))
    Forward pass with respect to x, toward y at x = 3
    dx/dx = 1
    ds/dx = 6
    dy/dx = ∂y/∂x · dx/dx + ∂y/∂s · ds/dx = 1 · 1 + 1 · 6 = 7
    >>> print(derivation(t.graph, t.cache, y, nodes=[s]).to_latex())
    % Backward pass for y at x = 3
    \\begin{align*}
    \\frac{\\mathrm{d} y}{\\mathrm{d} s} &= 1
    \\end{align*}
    """
    return Derivation(graph, cache, y, mode, wrt, options)


# ----------------------------------------------------------------------- tables


@dataclass(frozen=True)
class TableRow:
    """One row of an evaluation-trace :class:`Table`, with the engine's numbers.

    ``definition`` is ``None`` for inputs.  ``derivative`` is the recurrence for the
    node's tangent (``Σ ∂v/∂p · ṗ``) or adjoint (``Σ c̄ · ∂c/∂v``) written with dotted
    or barred symbols (``None`` in a primal table or for the seed); ``contributions``
    are the engine's nonzero terms of that sum (:attr:`Step.value`), and
    ``derivative_value`` the engine's tangent or adjoint.
    """

    node: sympy.Symbol
    definition: sympy.Expr | None
    value: float | None
    derivative: sympy.Expr | None = None
    contributions: tuple[float | None, ...] = ()
    derivative_value: float | None = None


class Table(Renderable):
    """An evaluation-trace table in the style of Griewank & Walther and Baydin et al.

    ``mode`` is ``"primal"`` (node, definition, value), ``"forward"`` (the primal trace
    beside the tangent trace for ``wrt``) or ``"reverse"`` (the adjoint trace, from
    the output down).  ``rows`` holds the content with the engine's numbers.
    """

    def __init__(
        self,
        graph: Graph,
        cache: ValueCache,
        y: Any,
        mode: str,
        wrt: Any,
        options: dict[str, Any],
    ) -> None:
        self._options = _options("table()", options, TABLE_OPTIONS)
        if mode == "forward" and wrt is None:
            mode = "primal"
        if mode not in ("primal", "forward", "reverse"):
            raise OptionValueError(
                f"table(): mode must be 'forward' (with wrt=<input> for the tangent trace), "
                f"'primal' or 'reverse', got {mode!r}"
            )
        if mode != "forward" and wrt is not None:
            raise UsageError(
                f"table(mode={mode!r}) takes no wrt=: only the forward tangent trace is "
                "taken with respect to one node"
            )
        self.graph = graph
        self.cache = cache
        self.mode = mode
        iy = graph.index(y)
        self.output = graph.symbols[iy]
        ix = None if wrt is None else graph.index(wrt)
        self.wrt = None if ix is None else graph.symbols[ix]
        self._order = sorted(graph.ancestors([iy]), reverse=mode == "reverse")
        self.sweep: Gradient | Tangents | None = None
        if mode == "reverse":
            self.sweep = Gradient(graph, cache, iy)
        elif ix is not None:
            self.sweep = Tangents(graph, cache, ix)
        self._rows_cache: dict[Any, tuple[TableRow, ...]] = {}
        self._reach: set[int] | None = None

    @property
    def options(self) -> dict[str, Any]:
        """The options this table renders with by default."""
        return dict(self._options)

    @property
    def rows(self) -> tuple[TableRow, ...]:
        """Every row (the ``nodes`` option selects among them when rendering)."""
        return self._rows(None)

    def _rows(self, nodes: Any) -> tuple[TableRow, ...]:
        graph, sweep = self.graph, self.sweep
        key = None if nodes is None else tuple(graph.index(n) for n in nodes)
        if key in self._rows_cache:
            return self._rows_cache[key]
        syms = graph.symbols
        order = self._order
        if nodes is not None:
            chosen = set(key or ())
            order = [i for i in order if i in chosen]
        keep = set(self._order)
        names = nt.hand_names(graph.equations)
        out = []
        for i in order:
            sym, rhs = syms[i], graph.equations[i].definition
            value = self.cache.value_or_none(i)
            if sweep is None:
                out.append(TableRow(sym, rhs, value))
                continue
            dvalue = _value_or_none(sweep.value, sym)
            contributions = self._contributions(i, keep)
            if i == sweep.anchor:
                out.append(TableRow(sym, rhs, value, None, (), dvalue))
                continue
            terms: list[sympy.Expr] = []
            if isinstance(sweep, Gradient):
                for c in graph.consumers[i]:
                    if c not in keep:
                        continue
                    if graph.equations[c].kind == "matrix":  # its VJP rule holds c̄ already
                        terms.append(vjp_rules(graph, c).get(sym, sympy.S.Zero))
                    else:
                        local = _local_or_name(graph, c, i, names)
                        terms.append(nt.adjoint_symbol(syms[c]) * local)
            elif rhs is not None:
                for p in graph.equations[i].parents:
                    local = _local_or_name(graph, i, p, names)
                    terms.append(local * nt.tangent_symbol(syms[p]))
            deriv = sympy.Add(*terms) if terms else sympy.S.Zero
            out.append(TableRow(sym, rhs, value, deriv, contributions, dvalue))
        rows = tuple(out)
        self._rows_cache[key] = rows
        return rows

    def _contributions(self, i: int, keep: set[int]) -> tuple[float | None, ...]:
        """The numbers of the terms of node ``i``'s adjoint (or tangent) sum."""
        sweep = self.sweep
        assert sweep is not None
        if isinstance(sweep, Tangents):
            if self._reach is None:
                self._reach = self.graph.descendants([sweep.anchor]) | {sweep.anchor}
            keep = self._reach
        if self.graph.has_matrices:  # through matrix equations: each VJP's number
            return tuple(s.value for s in sweep.steps(self.graph.symbols[i]))
        steps = _numeric_steps(self.graph, sweep, i, keep)
        return tuple(None if lv is None or uv is None else lv * uv for _, lv, uv in steps)

    def _render(self, fmt: str, **overrides: Any) -> str:
        nt.check_format(fmt)
        o = _options("table()", {**self._options, **overrides}, TABLE_OPTIONS)
        precision = o["precision"]
        rows = self._rows(o["nodes"])

        def num(v: float | None) -> str:
            return _math(nt.number(v, precision, fmt), fmt)

        def contributions(vs: tuple[float | None, ...]) -> str:
            if len(vs) < 2:
                return ""
            return _math(_cell("", [nt.number(v, precision, fmt) for v in vs], fmt, self.mode), fmt)

        header = ["node", "definition", "value"]
        if self.mode == "reverse":
            header = ["node", "value", "adjoint", "terms", "adjoint value"]
        elif self.mode == "forward":
            header += ["tangent", "terms", "tangent value"]
        anchor = None if self.sweep is None else self.graph.symbols[self.sweep.anchor]
        cells: list[list[str | _Fit]] = []
        for r in rows:
            row: list[str | _Fit] = [_math(nt.name(r.node, fmt), fmt)]
            if self.mode != "reverse":
                row.append(
                    _text("input", fmt) if r.definition is None else _Fit("", r.definition, fmt)
                )
            row.append(num(r.value))
            if self.mode in ("forward", "reverse"):
                deco = nt.adjoint_symbol if self.mode == "reverse" else nt.tangent_symbol
                lhs = nt.name(deco(r.node), fmt)
                if r.derivative is None:
                    rhs = "1" if r.node == anchor else "0"
                    row.append(_math(f"{lhs} = {rhs}", fmt))
                else:
                    row.append(_Fit(f"{lhs} = ", r.derivative, fmt))
                row.append(contributions(r.contributions))
                row.append(num(r.derivative_value))
            cells.append(row)
        title, limit = self._title(fmt, precision), self._limit(fmt)
        if fmt == "latex":
            return _page_tables(header, cells, title, limit, _SECTIONS[self.mode])
        return nt.grid(header, [[_fill(c, limit) for c in r] for r in cells], fmt, title)

    def __repr__(self) -> str:
        return _repr(self)

    def _limit(self, fmt: str) -> float:
        """How wide a cell of this table may be in ``fmt``."""
        return LATEX_CELLS.get(self.mode, nt.LATEX_CELL) if fmt == "latex" else float(TEXT_CELL)

    def _title(self, fmt: str, precision: int) -> str:
        def nm(sym: Any) -> str:
            return nt.inline(nt.name(sym, fmt), fmt)

        given = _input_values(self.graph, self.cache)
        at = f" at {_at(given, fmt, precision)}" if given else ""
        if self.mode == "primal":
            return f"Forward primal trace of {nm(self.output)}{at}"
        if self.mode == "forward":
            return (
                f"Forward primal and tangent trace of {nm(self.output)}, tangents with "
                f"respect to {nm(self.wrt)}{at}"
            )
        return f"Reverse adjoint trace of {nm(self.output)}{at}"


def table(
    graph: Graph,
    cache: ValueCache,
    y: Any,
    mode: str = "reverse",
    wrt: Any = None,
    **options: Any,
) -> Table:
    """An evaluation-trace table of ``y``, with the user's own node names.

    Usually called as ``t.table(y, ...)``; numbers are at ``cache``'s input values.

    * ``mode="forward"`` without ``wrt`` (or ``mode="primal"``): the forward primal
      trace -- node, definition, value;
    * ``mode="forward", wrt=x``: the primal trace beside the forward tangent trace,
      ``v̇ = Σ ∂v/∂p · ṗ`` with ``ẋ = 1``;
    * ``mode="reverse"`` (default): the reverse adjoint trace, ``v̄ = Σ c̄ · ∂c/∂v``
      over the consumers ``c``, with ``ȳ = 1``.

    Options: ``nodes=None`` (which rows), ``precision=6`` (significant digits).

    >>> from symtrace import Trace
    >>> t = Trace()
    >>> a, b = t.inputs("a b", values=(2, -3))
    >>> e = t.define("e", a * b); L = t.define("L", 2 * e)
    >>> print(table(t.graph, t.cache, L))
    Reverse adjoint trace of L at a = 2, b = -3
    node  value  adjoint  terms  adjoint value
    ────  ─────  ───────  ─────  ─────────────
    L     -12    L̄ = 1           1
    e     -6     ē = 2*L̄         2
    b     -3     b̄ = a*ē         4
    a     2      ā = b*ē         -6
    """
    return Table(graph, cache, y, mode, wrt, options)


# -------------------------------------------------- Gradient, Tangents, Paths, Trace


def _result_lines(sweep: Gradient | Tangents, fmt: str, options: dict[str, Any], what: str) -> str:
    o = _options(what, options, RESULT_OPTIONS)
    nt.check_format(fmt)
    graph, anchor = sweep.graph, sweep.anchor
    reverse = isinstance(sweep, Gradient)
    if reverse:
        default = sorted(graph.ancestors([anchor]), reverse=True)
    else:
        default = sorted(i for i in graph.descendants([anchor]) if i < sweep.size)
    idx = _select(graph, o["nodes"], default, reverse)
    a = graph.symbols[anchor]
    has_values = _value_or_none(sweep.value, a) is not None
    names = nt.hand_names(graph.equations)
    lines = []
    for i in idx:
        sym = graph.symbols[i]
        lhs = nt.derivative(a, sym, fmt) if reverse else nt.derivative(sym, a, fmt)
        res = sweep.expanded(sym) if o["expanded"] else nt.hand_local(sweep[sym], names)
        parts = [[lhs], nt.terms(res, fmt)]
        if has_values:
            parts.append([nt.number(sweep.value(sym), o["precision"], fmt)])
        lines.append(_dedupe(parts))
    kind = "Gradient of" if reverse else "Tangents with respect to"
    header = f"{kind} {nt.inline(nt.name(a, fmt), fmt)}"
    if has_values:
        header += " at " + _at(sweep.input_values, fmt, o["precision"])
    return _equation_lines(lines, fmt, header, o["width"])


def render_gradient(g: Gradient, fmt: str, **options: Any) -> str:
    """Every ``∂y/∂node = compact = value`` of a :class:`~symtrace.Gradient`.

    Options: ``nodes=None``, ``expanded=False``, ``precision=6``, ``width=None``.

    >>> from symtrace import Trace
    >>> t = Trace()
    >>> a, b = t.inputs("a b", values=(2, -3))
    >>> print(t.grad(t.define("e", a * b)))
    Gradient of e at a = 2, b = -3
    de/de = 1
    de/db = a = 2
    de/da = b = -3
    """
    return _result_lines(g, fmt, options, "Gradient rendering")


def render_tangents(tan: Tangents, fmt: str, **options: Any) -> str:
    """Every ``∂node/∂x = compact = value`` of a :class:`~symtrace.Tangents`.

    Options: ``nodes=None``, ``expanded=False``, ``precision=6``, ``width=None``.
    """
    return _result_lines(tan, fmt, options, "Tangents rendering")


def render_paths(p: Paths, fmt: str, **options: Any) -> str:
    """A :class:`~symtrace.Paths` as a table: each path, its edge factors (symbolic and
    numeric), its product and value, and the sum of all paths (the derivative).

    Options: ``precision=6``.

    >>> from symtrace import Trace
    >>> t = Trace()
    >>> a = t.input("a", 3)
    >>> b = t.define("b", a**2); c = t.define("c", b * a)
    >>> print(t.paths(c, a))
    Paths from c to a
    path         factors  factor values  product     value
    ───────────  ───────  ─────────────  ──────────  ─────
    c → a        b        9              b           9
    c → b → a    a · 2*a  3 · 6          2*a**2      18
    dc/da = sum                          2*a**2 + b  27
    """
    o = _options("Paths rendering", options, PATHS_OPTIONS)
    nt.check_format(fmt)
    precision = o["precision"]
    arrow = " → " if fmt == "text" else r" \to "
    has_values = bool(p) and all(path.factor_values is not None for path in p)
    header = ["path", "factors", "factor values", "product", "value"]
    if not has_values:
        header = ["path", "factors", "product"]
    rows = []
    names = nt.hand_names(p.graph.equations) if hasattr(p, "graph") else {}
    for path in p:
        row = [
            _math(arrow.join(nt.name(s, fmt) for s in path.nodes), fmt),
            _math(nt.expr_product([nt.hand_local(f, names) for f in path.factors], fmt), fmt),
        ]
        if has_values:
            vals = list(path.factor_values or ())
            row.append(_math(nt.number_product(vals, precision, fmt), fmt))
        row.append(_math(nt.expr(nt.hand(path.product, names), fmt), fmt))
        if has_values:
            row.append(_math(nt.number(path.value, precision, fmt), fmt))
        rows.append(row)
    total = [_math(nt.derivative(p.output, p.wrt, fmt), fmt) + " = sum", ""]
    if fmt == "latex":
        total[0] = rf"{nt.derivative(p.output, p.wrt, fmt)} = \text{{sum}}"
    if has_values:
        total.append("")
    total.append(_math(nt.expr(nt.hand(p.total, names), fmt), fmt))
    if has_values:
        total.append(_math(nt.number(p.value, precision, fmt), fmt))
    return nt.grid(header, [*rows, total], fmt, _paths_title(p, fmt))


def _paths_title(p: Paths, fmt: str) -> str:
    names = [nt.name(s, "text" if fmt == "text" else "latex") for s in (p.output, p.wrt)]
    if fmt == "markdown":
        names = [nt.inline(n, fmt) for n in names]
    out = f"Paths from {names[0]} to {names[1]}"
    return out


def render_graph(graph: Graph, cache: ValueCache, fmt: str, **options: Any) -> str:
    """A graph's equations in evaluation order, with values where inputs have them.

    This is how a :class:`~symtrace.Trace` renders (``str(t)``, ``t.to_latex()``).

    >>> from symtrace import Trace
    >>> t = Trace()
    >>> a, b = t.inputs("a b", values=(2, -3))
    >>> _ = t.define("e", a * b); _ = t.define("w_1", t["e"] + 1)
    >>> print(render_graph(t.graph, t.cache, "text"))
    a = 2
    b = -3
    e = a*b = -6
    w₁ = e + 1 = -5
    >>> print(render_graph(t.graph, t.cache, "latex"))
    \\begin{align*}
    a &= 2 \\\\
    b &= -3 \\\\
    e &= a b = -6 \\\\
    w_{1} &= e + 1 = -5
    \\end{align*}
    """
    o = _options("Trace rendering", options, TRACE_OPTIONS)
    nt.check_format(fmt)
    lines = []
    for eq in graph.equations:
        rhs = eq.definition
        parts = [[nt.name(eq.symbol, fmt)]]
        if eq.dims is not None:
            parts[0][0] += (" ∈ " if fmt == "text" else " \\in ") + nt.shape(eq.dims, fmt)
        if rhs is not None:
            parts.append(nt.terms(rhs, fmt))
        value = cache.value_or_none(eq.index)
        if value is not None:
            parts.append([nt.number(value, o["precision"], fmt)])
        elif rhs is None:
            note = r" \quad \text{(input)}" if fmt != "text" else " (input)"
            parts = [[parts[0][0] + note]]
        lines.append(parts)
    if not lines:
        return "(empty trace)" if fmt == "text" else ""
    return _equation_lines(lines, fmt)


# ---------------------------------------------------------------------- dispatch


@functools.singledispatch
def render(obj: object, fmt: str, **options: Any) -> str:
    """Render one of the engine's results in ``fmt`` (``"text"``, ``"markdown"``, ``"latex"``).

    Dispatches on the result's type: :class:`~symtrace.Gradient` to
    :func:`render_gradient`, :class:`~symtrace.Tangents` to :func:`render_tangents`,
    :class:`~symtrace.Paths` to :func:`render_paths`.  This is what their ``str()`` and
    ``to_text``/``to_markdown``/``to_latex`` methods call
    (:class:`~symtrace.display.Renderable`).

    >>> from symtrace import Trace
    >>> t = Trace()
    >>> x = t.input("x", 3)
    >>> print(render(t.tangents(x), "markdown"))
    Tangents with respect to $x$ at $x = 3$
    <BLANKLINE>
    - $\\frac{\\mathrm{d} x}{\\mathrm{d} x} = 1$
    """
    raise UsageError(
        f"symtrace.printing.render() cannot render a {type(obj).__name__}; it renders "
        "Gradient, Tangents and Paths"
    )


render.register(Gradient, render_gradient)
render.register(Tangents, render_tangents)
render.register(Paths, render_paths)
