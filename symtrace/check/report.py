"""The graded answers: :class:`Answer`, :class:`Report`, and how they are written.

A report renders as text, Markdown and LaTeX, and as plain data in the stable JSON
schema ``symtrace.report/1`` (:meth:`Report.as_dict`, :meth:`Report.to_json`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy

from ..display import Renderable
from ..errors import OptionError
from ..notation import (
    as_written,
    check_format,
    grid,
    latex_escape,
    markdown_escape,
    number,
    terminal_safe,
)
from ..shapes import size_at_most
from .keys import Kind

__all__ = [
    "SCHEMA",
    "VERDICTS",
    "Answer",
    "Report",
    "expected_text",
    "expr_text",
    "is_small",
    "number_text",
]

SCHEMA = "symtrace.report/1"
VERDICTS = ("correct", "wrong", "carried", "undecided")


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
    ``points`` is what the answer earns when a key gives weights (``None`` otherwise;
    see :mod:`symtrace.grade`); ``carried_from`` names the student's own earlier claims a
    carried answer follows from (``("dL/dz = -0.140",)``).

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
    points: float | None = None
    carried_from: tuple[str, ...] = ()

    @property
    def expected_symbolic(self) -> sympy.Expr:
        """The correct result in symbols (compact form), built on first request."""
        return self.symbolic()

    @property
    def correct(self) -> bool:
        """Whether the verdict is ``correct``."""
        return self.verdict == "correct"

    def as_dict(self) -> dict[str, Any]:
        """The answer in the JSON schema (see :meth:`Report.as_dict`); ``points`` only
        when the answer has points."""
        data: dict[str, Any] = {
            "key": self.key,
            "kind": self.kind,
            "node": self.node,
            "of": self.of,
            "wrt": self.wrt,
            "verdict": self.verdict,
            "claimed": self.claimed
            if isinstance(self.claimed, int | float) and not isinstance(self.claimed, bool)
            else str(self.claimed),
            "claimed_value": as_written(_finite_or_none(self.claimed_value)),
            "expected": as_written(_finite_or_none(self.expected)),
            "expected_symbolic": expr_text(self.expected_symbolic),
            "step": self.step,
            "explanation": self.explanation,
            "mistake": self.mistake,
            "note": self.note,
        } | _non_finite_reasons(self.claimed_value, self.expected)
        if self.points is not None:
            data["points"] = as_written(self.points)
        return data


def _code(x: object) -> str:
    """A Markdown code span of ``x`` (HTML in a code span is shown, not run)."""
    return "`" + terminal_safe(str(x), newlines=False).replace("`", "'") + "`"


def _finite_or_none(x: float | None) -> float | None:
    """JSON has no NaN or infinity: such numbers are written as ``null``."""
    return None if x is None or not math.isfinite(x) else x


def _non_finite_reasons(claimed: float | None, expected: float | None) -> dict[str, str]:
    """``claimed_value_reason``/``expected_reason`` for numbers written as ``null``."""
    out = {}
    for name, x in (("claimed_value", claimed), ("expected", expected)):
        if x is not None and not math.isfinite(x):
            out[f"{name}_reason"] = (
                "not a real number at the trace's values" if math.isnan(x) else "too large"
            )
    return out


class Report(Renderable, Mapping[str, Answer]):
    """The graded answers: a mapping from each answer key to its :class:`Answer`.

    ``ok`` is true when every answer is correct and none is blank; ``score`` is the
    fraction of correct answers (blank ones count as not correct); ``first_error`` is the
    key of the root mistake (the earliest ``wrong`` answer in working order) or ``None``.
    Renders as text, Markdown and LaTeX; :meth:`as_dict` / :meth:`to_json` give the
    stable JSON schema ``symtrace.report/1``.  With a key's weights (``max_points``, the
    points of every answer asked, blank ones included) :attr:`points` is the sum of the
    answers' :attr:`Answer.points`; ``score`` stays the fraction of correct answers.

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
        max_points: float | None = None,
    ) -> None:
        self._answers = {a.key: a for a in answers}
        self.max_points = max_points
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

    @property
    def points(self) -> float | None:
        """The points earned (``None`` without a key's weights, see ``max_points``)."""
        if self.max_points is None:
            return None
        return sum(a.points or 0.0 for a in self._answers.values())

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data, schema ``symtrace.report/1``.

        Keys: ``schema``, ``source`` (the file, or ``None``), ``title``, ``output``, ``ok``,
        ``score``, ``first_error``, ``counts`` (``correct``, ``wrong``, ``carried``,
        ``undecided``, ``blank``), ``blank`` (keys) and
        ``answers``, a list in the order given, each with ``key``, ``kind``, ``node``,
        ``of``, ``wrt``, ``verdict``, ``claimed``, ``claimed_value``, ``expected``,
        ``expected_symbolic``, ``step``, ``explanation``, ``mistake``, ``note``; with a
        key's weights also ``points`` (per answer and in all) and ``max_points``.
        """
        data: dict[str, Any] = {
            "schema": SCHEMA,
            "source": self.source,
            "title": self.title,
            "output": self.output,
            "ok": self.ok,
            "score": as_written(self.score),
            "first_error": self.first_error,
            "counts": self.counts,
            "blank": list(self.blank),
            "answers": [a.as_dict() for a in self._answers.values()],
        }
        if self.max_points is not None:
            data["points"] = as_written(self.points)
            data["max_points"] = as_written(self.max_points)
        return data

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`as_dict` as JSON text (UTF-8 characters kept)."""
        return json.dumps(self.as_dict(), indent=indent, ensure_ascii=False, allow_nan=False)

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
        if c["undecided"]:
            parts.append(f"{c['undecided']} undecided")
        if c["blank"]:
            parts.append(f"{c['blank']} blank")
        return (
            f"{_plural(len(self) + len(self.blank), 'answer')} (output {self.output}): "
            f"{', '.join(parts)}; score {self.score:.2f}"
        )

    def _render(self, fmt: str, **options: Any) -> str:
        if options:
            raise OptionError(f"unknown rendering options: {', '.join(sorted(options))}")
        if check_format(fmt) == "text":
            return self._text()
        if fmt == "markdown":
            return self._markdown()
        return self._latex_table()

    def _text(self) -> str:
        marks = {"correct": "✓", "wrong": "✗", "carried": "↳", "undecided": "?"}
        lines = [terminal_safe(self.title, newlines=False)] if self.title else []
        lines.append(self._summary())
        if self.first_error is not None:
            lines.append(f"first error: {self.first_error}")
        elif not self._answers and not self.blank:
            lines.append("no answers to check")
        elif self.ok:
            lines.append("all correct")
        for a in self._answers.values():
            lines.append("")
            claimed = terminal_safe(str(a.claimed))
            head = f"{marks[a.verdict]} {terminal_safe(a.key)} = {claimed}  {a.verdict}"
            if not a.correct and "expected" not in a.explanation:
                head += f" (expected {_expected(a)})"  # said once, not again below
            lines.append(head)
            lines.append("    " + (a.explanation if not a.correct else a.step))
            if a.note and a.correct:
                lines.append("    note: " + a.note)
        if self.blank:
            lines.append("")
            lines.append("blank: " + ", ".join(self.blank))
        return "\n".join(lines) + "\n"

    def _markdown(self) -> str:
        title = markdown_escape(self.title, newlines=False) if self.title else None
        lines = [f"### {title}", ""] if title else []
        lines.append(f"**{self._summary()}**")
        if self.first_error is not None:
            lines.append(f"First error: `{self.first_error}`")
        rows = []
        for a in self._answers.values():
            why = a.step if a.correct else a.explanation
            if a.note and a.correct:
                why += f" (note: {a.note})"
            key, claimed = (_code(x) for x in (a.key, a.claimed))
            rows.append([key, claimed, _expected(a), f"**{a.verdict}**", terminal_safe(why)])
        lines += ["", grid(_HEADER, rows, "markdown")]
        if self.blank:
            lines += ["", "Blank: " + ", ".join(f"`{k}`" for k in self.blank)]
        return "\n".join(lines) + "\n"

    def _latex_table(self) -> str:
        rows = [
            [
                _latex_cell(_latex_key(a)),
                _latex_cell(latex_escape(str(a.claimed))),
                _latex_cell(_latex_expected(a)),
                _latex_cell(a.verdict),
                _latex_cell(latex_escape(a.step if a.correct else a.explanation)),
            ]
            for a in self._answers.values()
        ]
        head = []
        if self.title:
            head.append(f"\\textbf{{{latex_escape(self.title)}}}\\par")
        head.append(latex_escape(self._summary()) + "\\par")
        if self.first_error is not None:
            head.append(f"First error: {latex_escape(self.first_error)}\\par")
        if self.blank:
            head.append("Blank: " + latex_escape(", ".join(self.blank)) + "\\par")
        table = grid(_HEADER, rows, "latex", math=False, columns=_LATEX_COLUMNS)
        return "\n".join(["\\begin{flushleft}", *head, table, "\\end{flushleft}"]) + "\n"


def _latex_cell(s: str) -> str:
    """A ragged-right paragraph cell (rows end in ``\\tabularnewline``, so it is safe)."""
    return f"\\raggedright {s}"


def _latex_name(name: str | None) -> str:
    return sympy.latex(sympy.Symbol(name)) if name else ""


def _latex_key(a: Answer) -> str:
    """The quantity an answer is about, in math: ``$\\mathrm{d}L/\\mathrm{d}a$``, ``$e$``."""
    of, wrt = _latex_name(a.of), _latex_name(a.wrt)
    if a.kind == Kind.VALUE.value or not wrt:
        return f"${of}$" if of else latex_escape(a.key)
    d = "\\partial " if a.kind == Kind.LOCAL.value else "\\mathrm{d}"
    return f"${d}{of}/{d}{wrt}$"


def _latex_expected(a: Answer) -> str:
    """:func:`_expected` in math: ``$b f = 6$``."""
    text = _expected(a)
    value = a.expected
    if value is None or "=" not in text:
        return f"${number(value, fmt='latex')}$" if value is not None else latex_escape(text)
    return f"${sympy.latex(a.expected_symbolic)} = {number(value, whole=True, fmt='latex')}$"


_HEADER = ["answer", "claimed", "expected", "verdict", "explanation"]
_LATEX_COLUMNS = "".join(f"p{{{w}\\linewidth}}" for w in ("0.13", "0.1", "0.15", "0.1", "0.34"))
"""Paragraph columns that add up (with the column gaps) to the width of the page."""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _expected(a: Answer) -> str:
    if (
        a.expected is not None
        and a.kind in (Kind.GRADIENT.value, Kind.TANGENT.value)
        and "(symbolically" not in a.step
    ):
        return number_text(a.expected)  # large trace: no symbolic form unless asked for
    return expected_text(a.expected_symbolic, a.expected)


# ------------------------------------------------------------ numbers and expressions


def number_text(x: float | None, paren: bool = False) -> str:
    """A number as the checker writes it: integers in full, else 6 significant digits.

    >>> number_text(-2.0, paren=True), number_text(0.1 + 0.2), number_text(float("nan"))
    ('(-2)', '0.3', 'undefined')
    """
    return number(x, whole=True, paren=paren, undefined="undefined")


def is_small(expr: sympy.Basic, limit: int = 40) -> bool:
    """Whether ``expr`` has at most ``limit`` tree nodes (stops counting early)."""
    return size_at_most(expr, limit)


def expr_text(expr: sympy.Basic, limit: int = 500) -> str:
    """``str(expr)``, or a placeholder for expressions too large (or deep) to print."""
    if not is_small(expr, limit):
        return f"<expression with more than {limit} nodes>"
    try:
        return str(expr)
    except RecursionError:
        return "<expression nested too deeply to print>"


def expected_text(sym: sympy.Expr, value: float | None) -> str:
    """The expected result: ``b*f = 6``, the number alone, or the expression alone."""
    if value is None:
        return expr_text(sym)
    if sym.free_symbols and is_small(sym):
        return f"{sym} = {number_text(value)}"
    return number_text(value)
