"""Grading a class: a teacher's key, students' answers-only submissions, a gradebook.

A key (:func:`symtrace.exercise.loads_key`) is an exercise file plus ``[points]`` (per
answer, default 1) and ``[credit]`` (the share of the points a ``carried`` answer earns,
default 0).  A submission (:func:`symtrace.exercise.loads_submission`) holds
``student = "id"`` and ``[answers]``.  :func:`grade` judges each answer on its own
against the key: ``correct``, ``carried``, ``wrong``, ``blank`` (absent or ``""``) or
``unreadable`` (with the parser's message and position); the rest of the file is graded
all the same.  A submission that carries its own ``[inputs]``/``[define]`` is graded
against the key and flagged when they differ.  Carried answers follow the student's own
rounded numbers (``follow_rounding``) and name the claims they follow from.

>>> from symtrace.exercise import loads_key, loads_submission
>>> key = loads_key('''
... [inputs]
... a = 2
... b = -3
... [define]
... e = "a*b"
... L = "e + 1"
... [answers]
... e = -6
... "dL/de" = 1
... "dL/da" = -3
... [credit]
... carried = 0.5
... ''')
>>> sub = loads_submission('''
... student = "ada"
... [answers]
... "dL/de" = 2
... "dL/da" = -6
... e = "-6,0"
... ''')
>>> result = grade(key, sub)
>>> [(line.key, line.verdict, line.points) for line in result.lines]
[('e', 'unreadable', 0.0), ('dL/de', 'wrong', 0.0), ('dL/da', 'carried', 0.5)]
>>> result.points, result.max_points, result.ok
(0.5, 3.0, False)
>>> print(result.lines[0].explanation)
unreadable: '-6,0' has a decimal comma; write a decimal point: -6.0
>>> print(result.lines[2].explanation.split(":")[0])
carried from your dL/de = 2
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import sympy

from .check import Answer, Report, parse_key, read_claim
from .check.lenient import normalise, normalise_matrix
from .check.matrix import (
    MatrixAnswer,
    MatrixReport,
    latex_matrix,
    latex_text,
    read_matrix_claim,
)
from .errors import ExerciseError, MissingValueError, ParseError, SymtraceError
from .exercise import Key, Submission, load_submission, loads_submission
from .matrix_parsing import parse_matrix_expression, uses_matrices
from .notation import as_written, number
from .parsing import parse_expression
from .variants import variant_key

__all__ = [
    "GRADE_VERDICTS",
    "Graded",
    "Line",
    "as_json_lines",
    "check_key",
    "collect",
    "feedback_latex",
    "feedback_markdown",
    "feedback_name",
    "grade",
    "grade_all",
    "gradebook_csv",
    "gradescope_results",
    "results_text",
    "summary",
]

#: Every verdict an answer can get when a class is graded, in the order reported.
GRADE_VERDICTS = ("correct", "carried", "wrong", "undecided", "blank", "unreadable")


@dataclass(frozen=True)
class Line:
    """One graded answer: its ``key`` (as the key file writes it), ``verdict`` (one of
    :data:`GRADE_VERDICTS`), the ``points`` earned of ``max_points``, the answer as
    ``claimed``, the ``explanation`` in words, ``read_as`` (the text as the lenient
    reader understood it, when that differs), the named ``mistake`` and the checker's
    :class:`~symtrace.check.Answer` (``None`` for blank and unreadable answers)."""

    key: str
    verdict: str
    points: float
    max_points: float
    claimed: Any = None
    explanation: str = ""
    read_as: str | None = None
    mistake: str | None = None
    answer: Answer | MatrixAnswer | None = None


@dataclass(frozen=True)
class Graded:
    """One submission graded: the ``student``, the file (``source``), the ``lines`` in the
    key's order, ``flags`` (tampered definitions, unknown keys), the checker's
    :class:`~symtrace.check.Report` of the readable answers, and ``error`` (why the file
    is unusable; then there are no lines)."""

    source: str
    student: str | None
    lines: tuple[Line, ...] = ()
    flags: tuple[str, ...] = ()
    report: Report | MatrixReport | None = None
    error: str | None = None
    max_points: float = 0.0

    @property
    def points(self) -> float:
        """The points earned (0 for an unusable file)."""
        return sum(line.points for line in self.lines)

    @property
    def ok(self) -> bool:
        """Every answer correct (an unusable file or one without answers is not)."""
        return (
            self.error is None
            and bool(self.lines)
            and all(line.verdict == "correct" for line in self.lines)
        )

    @property
    def counts(self) -> dict[str, int]:
        """How many answers got each verdict."""
        out = {v: 0 for v in GRADE_VERDICTS}
        for line in self.lines:
            out[line.verdict] += 1
        return out

    @property
    def first_error(self) -> str | None:
        """The key of the root mistake, from the checker's report."""
        return self.report.first_error if self.report is not None else None

    def as_dict(self) -> dict[str, Any]:
        """The submission as JSON data: the checker's schema ``symtrace.report/1`` (for
        the readable answers) with ``student``, ``points``, ``max_points``, ``flags``,
        ``error``, ``unreadable`` and ``counts`` over every verdict; ``ok`` and
        ``score`` count every answer asked."""
        data: dict[str, Any] = (
            self.report.as_dict()
            if self.report is not None
            else {"schema": "symtrace.report/1", "source": self.source}
        )
        if isinstance(self.report, MatrixReport):
            by_key = {line.key: line for line in self.lines}
            for answer in data["answers"]:
                line = by_key[answer["key"]]
                answer.update(claimed=line.claimed, points=line.points, max_points=line.max_points)
        asked = len(self.lines)
        data.update(
            student=self.student,
            source=self.source,
            ok=self.ok,
            score=as_written(self.counts["correct"] / asked if asked else 0.0),
            points=as_written(self.points),
            max_points=as_written(self.max_points),
            counts=self.counts,
            flags=list(self.flags),
            error=self.error,
            unreadable=[
                {
                    "key": line.key,
                    "claimed": _written(line.claimed),
                    "explanation": line.explanation,
                }
                for line in self.lines
                if line.verdict == "unreadable"
            ],
        )
        return data


# ------------------------------------------------------------------ grading one file


def grade(key: Key, submission: Submission, *, lenient: bool = True) -> Graded:
    """Grade one submission against the key (see the module docstring).

    ``lenient`` (default) reads answers as students write them (``2a``, ``x^2``,
    ``\\frac{a}{b}``, see :mod:`symtrace.check.lenient`) and says how each was read.
    A key with ranged inputs is first turned into the student's own variant
    (:func:`symtrace.variants.variant_key`, from the submission's ``student``).
    """
    key = variant_key(key, submission.student)
    ex = key.exercise
    graph, output = ex.trace.graph, ex.output
    flags = _tampered(key, submission)
    by_quantity = {parse_key(graph, k, output): k for k in ex.answers}
    given: dict[str, tuple[str, Any]] = {}  # key's key -> (submission's key, claim)
    for sub_key, raw in submission.answers.items():
        quantity = _quantity(graph, output, sub_key, lenient)
        if quantity is None:
            flags.append(f"answer key {sub_key!r} is not a question here (ignored)")
        elif quantity not in by_quantity:
            flags.append(f"{sub_key!r} was not asked (ignored)")
        elif by_quantity[quantity] in given:
            flags.append(f"{sub_key!r} answers {by_quantity[quantity]!r} twice; the first counts")
        else:
            given[by_quantity[quantity]] = (sub_key, raw)
    if not submission.answers:
        flags.append("the [answers] table is empty or missing: nothing was answered")
    if graph.has_matrices:
        return _grade_matrix(key, submission, given, flags, lenient)
    readable: dict[str, Any] = {}
    lines: dict[str, Line] = {}
    read_as: dict[str, str] = {}
    for k in ex.answers:
        weight = key.points[k]
        sub_key, raw = given.get(k, (k, None))
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            lines[k] = Line(k, "blank", 0.0, weight, raw, "blank: no answer given")
            continue
        text, problem = _read(graph, k, raw, lenient, submission.lines.get(sub_key))
        if problem is not None:
            lines[k] = Line(k, "unreadable", 0.0, weight, raw, f"unreadable: {problem}")
            continue
        readable[k] = text
        if isinstance(raw, str) and text != raw.strip():
            read_as[k] = text
    report = ex.trace.check(
        readable,
        output=output,
        rel_tol=ex.rel_tol,
        abs_tol=ex.abs_tol,
        title=ex.title,
        source=submission.source,
        follow_rounding=True,
    )
    assert isinstance(report, Report)  # a scalar trace's
    answers = []
    for answer in report.values():
        weight = key.points[answer.key]
        earned = weight * key.credit.get(answer.verdict, 0.0)
        answer = replace(answer, points=earned)
        answers.append(answer)
        raw = given[answer.key][1]
        explanation = answer.explanation if not answer.correct else f"correct: {answer.step}"
        if answer.verdict == "carried" and answer.carried_from:
            rest = explanation.removeprefix("carried: ")
            explanation = f"carried from your {', '.join(answer.carried_from)}: {rest}"
        if answer.key in read_as:
            explanation = f"(read as {read_as[answer.key]}) {explanation}"
        lines[answer.key] = Line(
            answer.key,
            answer.verdict,
            earned,
            weight,
            raw,
            explanation,
            read_as.get(answer.key),
            answer.mistake,
            answer,
        )
    blank = [k for k, line in lines.items() if line.verdict == "blank"]
    scored = Report(
        answers,
        report.output,
        report.first_error,
        blank,
        report.title,
        report.source,
        max_points=key.max_points,
    )
    return _graded(key, submission, lines, flags, scored)


def _graded(
    key: Key,
    submission: Submission,
    lines: Mapping[str, Line],
    flags: list[str],
    report: Report | MatrixReport,
) -> Graded:
    """The graded submission: its lines in the key's order."""
    questions = key.exercise.answers
    return Graded(
        submission.source,
        submission.student,
        tuple(lines[k] for k in questions),
        tuple(flags),
        report,
        None,
        key.max_points,
    )


def _grade_matrix(
    key: Key,
    submission: Submission,
    given: Mapping[str, tuple[str, Any]],
    flags: list[str],
    lenient: bool,
) -> Graded:
    """:func:`grade` for a key with matrix nodes: each answer a matrix literal or a
    formula, judged by :func:`~symtrace.check.matrix.check_matrix`; a wrong matrix of the
    right shape earns its share of right entries (times ``[credit] entries``, default 1)
    when that is more than its verdict's credit.  ``lenient`` reads a formula's
    unambiguous spellings (:func:`~symtrace.check.lenient.normalise_matrix`: ``W^T``,
    ``−``, ``∘``) and says how it was read."""
    ex = key.exercise
    graph = ex.trace.graph
    names = set(graph.names())
    lines: dict[str, Line] = {}
    readable: dict[str, Any] = {}
    read_as: dict[str, str] = {}
    for k in ex.answers:
        weight = key.points[k]
        raw = given.get(k, (k, None))[1]
        if raw is None or (isinstance(raw, str | list) and not _filled(raw)):
            lines[k] = Line(k, "blank", 0.0, weight, raw, "blank: no answer given")
            continue
        text = normalise_matrix(raw, names) if lenient and isinstance(raw, str) else raw
        problem = _problem(partial(read_matrix_claim, graph, k, text))
        if problem is not None and text != raw:  # the parser's message on what they wrote
            problem = _problem(partial(read_matrix_claim, graph, k, raw)) or problem
        if problem is not None:
            lines[k] = Line(k, "unreadable", 0.0, weight, raw, f"unreadable: {problem}")
            continue
        readable[k] = text
        if text != raw.strip() if isinstance(raw, str) else False:
            read_as[k] = text
    report = ex.trace.check(
        readable,
        output=ex.output,
        rel_tol=ex.rel_tol,
        abs_tol=ex.abs_tol,
        title=ex.title,
        source=submission.source,
    )
    assert isinstance(report, MatrixReport)  # a matrix trace's
    per_entry = key.credit.get("entries", 1.0)
    defs = {k: str(v) for k, v in key.data.get("define", {}).items()}
    for k, answer in report.items():
        weight = key.points[k]
        share = key.credit.get(answer.verdict, 0.0)
        if answer.verdict != "correct":
            share = max(share, per_entry * answer.score)
        explanation = answer.explanation
        if answer.verdict == "correct":
            explanation = "correct" + (f": {answer.step[0]}" if answer.step else "")
            node = graph.symbols[parse_key(graph, k, ex.output).node]
            if answer.kind == "value" and node.name in defs:
                explanation = f"correct: {node.name} = {defs[node.name]}"
        if k in read_as:
            explanation = f"(read as {read_as[k]}) {explanation}"
        lines[k] = Line(
            k,
            answer.verdict,
            weight * share,
            weight,
            given[k][1],
            explanation,
            read_as.get(k),
            answer.mistake,
            answer,
        )
    return _graded(key, submission, lines, flags, report)


def _filled(raw: Any) -> bool:
    """Whether a matrix answer says anything (not ``""``, ``[]`` or ``[[], []]``)."""
    if isinstance(raw, str):
        return bool(raw.strip())
    if isinstance(raw, list):
        return any(_filled(v) if isinstance(v, list | str) else True for v in raw)
    return True


def _quantity(graph: Any, output: Any, key: str, lenient: bool) -> Any:
    """The quantity an answer key names (``None`` if it names none)."""
    candidates = [key] + ([normalise(key, key=True)] if lenient else [])
    for text in candidates:
        try:
            return parse_key(graph, text, output)
        except SymtraceError:
            continue
    return None


def _read(
    graph: Any, key: str, raw: Any, lenient: bool, lineno: int | None
) -> tuple[Any, str | None]:
    """The claim as the checker will read it, or the reason it cannot be read (the
    parser's message on the text as the student wrote it, with its position)."""
    text = raw
    if isinstance(raw, str) and lenient:
        comma = _decimal_comma(raw)
        if comma is not None:
            return raw, comma
        text = normalise(raw)
    problem = _problem(lambda: read_claim(graph, key, text, lineno=lineno))
    if problem is not None and text is not raw:
        problem = _problem(lambda: read_claim(graph, key, raw, lineno=lineno)) or problem
    return text, problem


def _problem(read: Callable[[], Any]) -> str | None:
    """Why ``read()`` (reading a claim) fails, or ``None``."""
    try:
        read()
    except ParseError as exc:
        where = ""
        if exc.col_offset is not None and "column" not in str(exc):
            where = f" (column {exc.col_offset + 1})"
        return f"{exc}{where}"
    except SymtraceError as exc:
        return str(exc)
    return None


def _decimal_comma(raw: str) -> str | None:
    """A message when the answer is a number written with a decimal comma (``6,0``)."""
    text = raw.strip().replace("−", "-")
    body = text.lstrip("+-")
    if body.count(",") == 1 and body.replace(",", "").isdigit():
        return f"{raw!r} has a decimal comma; write a decimal point: {text.replace(',', '.')}"
    return None


def _tampered(key: Key, submission: Submission) -> list[str]:
    """Flags for a submission whose own ``[inputs]``/``[define]`` differ from the key's."""
    flags: list[str] = []
    trace = key.exercise.trace
    if submission.inputs is not None:
        inputs = {s.name: s for s in trace.nodes if trace.is_input(s)}
        for name, text in submission.inputs.items():
            if name not in inputs:
                flags.append(f"[inputs] {name} is not an input of the key")
                continue
            try:
                theirs = trace.value(inputs[name])
                if isinstance(theirs, np.ndarray):  # a matrix input
                    value = read_matrix_claim(trace.graph, name, text).value
                    same = value is not None and value.shape == theirs.shape
                    same = same and bool(np.all(np.abs(value - theirs) <= 1e-12))
                else:
                    value = parse_expression(text, {})
                    same = bool(abs(float(value) - theirs) <= 1e-12)
            except MissingValueError:  # a symbolic input: a shape, no value to differ from
                continue
            except (SymtraceError, TypeError, ValueError):
                same = False
            if not same:
                flags.append(
                    f"[inputs] {name} = {_written(text)} differs from the key "
                    f"({number(trace.value(inputs[name]), whole=True)}); graded against the key"
                )
    if submission.define is not None:
        names = {s.name: s for s in trace.nodes}
        for name, text in submission.define.items():
            if name not in names or trace.is_input(names[name]):
                flags.append(f"[define] {name} is not a definition of the key")
                continue
            expected = trace.definition(names[name])
            try:
                if trace.graph.has_matrices and uses_matrices(text, names):
                    same = parse_matrix_expression(text, names) == expected
                else:
                    same = sympy.expand(parse_expression(text, names) - expected) == 0
            except SymtraceError:
                same = False
            if not same:
                flags.append(
                    f"[define] {name} = {text!r} differs from the key ({name} = {expected}); "
                    "graded against the key"
                )
    return flags


# ------------------------------------------------------------------ a class


def collect(paths: Sequence[str]) -> Iterator[tuple[str, Path | None]]:
    """The submissions named on the command line: files, folders (every ``*.toml``
    inside, sorted) and ``-`` (standard input); ``(name, path)`` pairs, ``path`` ``None``
    for standard input."""
    for arg in paths:
        if arg == "-":
            yield "<stdin>", None
            continue
        p = Path(arg)
        if p.is_dir():
            for child in sorted(p.glob("*.toml")):
                yield str(child), child
        else:
            yield str(p), p


def check_key(key: Key) -> None:
    """Raise :class:`~symtrace.errors.ExerciseError` when an answer the key gives is not
    correct for its own definitions (a typo in a key would mark a class wrong).  A key
    with per-student variants lists its questions only: its answers are not checked."""
    if key.ranges:
        return
    report = key.exercise.check()
    wrong = [a for a in report.values() if a.verdict not in ("correct", "blank")]
    if wrong:
        first = wrong[0]
        claimed = first.claimed if isinstance(first, Answer) else key.exercise.answers[first.key]
        raise ExerciseError(
            f"{key.source}: the key's own answer {first.key} = {_written(claimed)} is "
            f"{first.verdict}: {first.explanation}"
        )


def _written(claim: Any) -> str:
    """An answer as its file writes it: a matrix as a list of rows, ``[[0.5, -1]]``."""
    if isinstance(claim, list | tuple):
        return "[" + ", ".join(_written(v) for v in claim) + "]"
    return str(claim)


def grade_all(
    key: Key, paths: Sequence[str], *, lenient: bool = True, stdin: Any = None
) -> list[Graded]:
    """Grade every submission in ``paths`` (see :func:`collect`); an unusable file is
    a :class:`Graded` with its ``error``, never a reason to stop.  The key's own answers
    are checked first (:func:`check_key`)."""
    check_key(key)
    results = []
    for name, path in collect(paths):
        try:
            if path is None:
                text = (stdin or sys.stdin).read()
                submission = loads_submission(text, source=name)
            else:
                submission = load_submission(path)
            results.append(grade(key, submission, lenient=lenient))
        except SymtraceError as exc:
            message = str(exc)
            results.append(Graded(name, None, error=message, max_points=key.max_points))
    return results


# ------------------------------------------------------------------ outputs


def _pts(x: float) -> str:
    """Points as a gradebook writes them: ``3``, ``2.5``."""
    return number(x, whole=True)


def _cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula (``=cmd()`` gets a ``'``)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def gradebook_csv(key: Key, results: Iterable[Graded]) -> str:
    """The gradebook: one row per submission (unusable ones with their ``error``):
    ``student``, ``file``, ``points``, ``max_points``, ``error``, then per answer its
    verdict and its points (columns ``KEY`` and ``KEY points``).  Text cells that a
    spreadsheet would run as a formula (``=HYPERLINK(...)``) start with ``'``."""
    questions = list(key.exercise.answers)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["student", "file", "points", "max_points", "error"]
    for k in questions:
        header += [k, f"{k} points"]
    writer.writerow(header)
    for r in results:
        texts = [_cell(r.student or ""), _cell(r.source)]
        row = [*texts, _pts(r.points), _pts(r.max_points), _cell(r.error or "")]
        by_key = {line.key: line for line in r.lines}
        for k in questions:
            line = by_key.get(k)
            row += ["", ""] if line is None else [line.verdict, _pts(line.points)]
        writer.writerow(row)
    return out.getvalue()


def gradescope_results(result: Graded) -> dict[str, Any]:
    """Gradescope's autograder ``results.json`` for one submission: top-level ``score``
    and ``output``, and one test per answer with ``name``, ``score``, ``max_score``,
    ``status`` (``passed``/``failed``), ``output`` and ``visibility`` (``visible``)."""
    if result.error is not None:
        return {
            "score": 0.0,
            "output": f"This submission could not be graded: {result.error}",
            "visibility": "visible",
            "tests": [],
        }
    c = result.counts
    summary_text = ", ".join(f"{c[v]} {v}" for v in GRADE_VERDICTS if c[v])
    flags = "".join(f"\nNote: {flag}" for flag in result.flags)
    return {
        "score": as_written(float(result.points)),
        "output": f"{_pts(result.points)} of {_pts(result.max_points)} points "
        f"({summary_text}).{flags}",
        "visibility": "visible",
        "tests": [
            {
                "name": line.key,
                "score": as_written(float(line.points)),
                "max_score": as_written(float(line.max_points)),
                "status": "passed" if line.verdict == "correct" else "failed",
                "output": f"{line.verdict}: {line.explanation}"
                if not line.explanation.startswith(line.verdict)
                else line.explanation,
                "visibility": "visible",
            }
            for line in result.lines
        ],
    }


def results_text(results: Sequence[Graded]) -> str:
    """A plain-text table of the class: student, points, and each answer's verdict."""
    lines = []
    for r in results:
        if r.error is not None:
            lines.append(f"{r.source}: unusable: {r.error}")
            continue
        marks = " ".join(f"{line.key}:{line.verdict}" for line in r.lines)
        lines.append(f"{r.student} ({r.source}): {_pts(r.points)}/{_pts(r.max_points)}  {marks}")
        lines += [f"    note: {flag}" for flag in r.flags]
    return "\n".join(lines) + "\n"


def summary(key: Key, results: Sequence[Graded]) -> str:
    """Per question: the share of each verdict over the usable submissions, the most
    common first error (the root mistake) and the most common named mistake."""
    usable = [r for r in results if r.error is None]
    n = len(usable)
    rows = [f"{n} submissions graded, {len(results) - n} unusable"]
    firsts: dict[str, int] = {}
    for r in usable:
        if r.first_error is not None:
            firsts[r.first_error] = firsts.get(r.first_error, 0) + 1
    if firsts:
        top = max(firsts, key=lambda k: (firsts[k], -list(key.exercise.answers).index(k)))
        rows.append(f"most common first error: {top} ({firsts[top]} of {n})")
    for k in key.exercise.answers:
        counts = {v: 0 for v in GRADE_VERDICTS}
        mistakes: dict[str, int] = {}
        for r in usable:
            line = next(line for line in r.lines if line.key == k)
            counts[line.verdict] += 1
            if line.mistake:
                mistakes[line.mistake] = mistakes.get(line.mistake, 0) + 1
        shares = ", ".join(f"{v} {_share(counts[v], n)}" for v in GRADE_VERDICTS)
        row = f"{k}: {shares}"
        if mistakes:
            top = max(sorted(mistakes), key=lambda m: mistakes[m])
            row += f"; most common mistake: {top} ({mistakes[top]})"
        rows.append(row)
    return "\n".join(rows) + "\n"


def _share(count: int, total: int) -> str:
    return "0%" if total == 0 else f"{round(100 * count / total)}%"


_MARKS = {
    "correct": "✓",
    "carried": "↳",
    "wrong": "✗",
    "undecided": "≟",  # the numbers agree but SymPy could not prove it: for the teacher
    "blank": "–",
    "unreadable": "?",
}


def _why(line: Line) -> str:
    """The explanation without the verdict it starts with (the feedback shows it)."""
    return line.explanation.removeprefix(f"{line.verdict}: ")


def feedback_markdown(key: Key, result: Graded) -> str:
    """A student's feedback in Markdown: points, then each answer and why."""
    title = key.exercise.title or "Backprop exercise"
    head = [f"# {title}: feedback for {result.student or result.source}", ""]
    if result.error is not None:
        return "\n".join([*head, f"Your file could not be graded: {result.error}", ""])
    head.append(f"**{_pts(result.points)} of {_pts(result.max_points)} points**")
    head.append("")
    for flag in result.flags:
        head.append(f"> Note: {flag}")
        head.append("")
    for line in result.lines:
        claimed = "" if line.claimed is None else f" = `{_written(line.claimed)}`"
        why, *detail = _why(line).split("\n")
        head.append(
            f"- {_MARKS[line.verdict]} `{line.key}`{claimed}: **{line.verdict}** "
            f"({_pts(line.points)}/{_pts(line.max_points)}). {why}"
        )
        if detail:  # a matrix answer: the step, the shapes, the two matrices
            head += ["", "  ```text", *(f"  {d}" for d in detail), "  ```", ""]
    return "\n".join(head) + "\n"


def feedback_latex(key: Key, result: Graded) -> str:
    """A student's feedback as a complete LaTeX document (compiles with ``pdflatex``)."""
    title = key.exercise.title or "Backprop exercise"
    who = result.student or result.source
    body = [
        "\\documentclass[11pt]{article}",
        "\\usepackage[utf8]{inputenc}",
        "\\usepackage[T1]{fontenc}",
        "\\usepackage{amsmath,amssymb}",
        "\\usepackage{color}",
        "\\usepackage[margin=2.5cm]{geometry}",
        "\\begin{document}",
        f"\\section*{{{latex_text(title)}: feedback for {latex_text(who)}}}",
    ]
    if result.error is not None:
        body.append(f"Your file could not be graded: {latex_text(result.error)}")
    else:
        body.append(f"\\textbf{{{_pts(result.points)} of {_pts(result.max_points)} points}}\\par")
        for flag in result.flags:
            body.append(f"\\noindent Note: {latex_text(flag)}\\par")
        body.append("\\begin{itemize}")
        for line in result.lines:
            if isinstance(line.answer, MatrixAnswer):
                body.append(_matrix_item(line, line.answer))
                continue
            claimed = "" if line.claimed is None else f" = {latex_text(_written(line.claimed))}"
            body.append(
                f"\\item \\texttt{{{latex_text(line.key)}}}{claimed}: "
                f"\\textbf{{{line.verdict}}} ({_pts(line.points)}/{_pts(line.max_points)}). "
                f"{latex_text(_why(line))}"
            )
        body.append("\\end{itemize}")
    body.append("\\end{document}")
    return "\n".join(body) + "\n"


def _matrix_item(line: Line, answer: MatrixAnswer) -> str:
    """A matrix answer in the LaTeX feedback: the verdict and why, the chain-rule step
    with its shapes, the expected matrix and yours (wrong entries in red)."""
    claimed = ""
    if isinstance(line.claimed, str):  # a formula; a literal is shown below
        claimed = f" = \\texttt{{{latex_text(line.claimed)}}}"
    why = _why(line).split("\n")[0].replace("(marked ✗)", "(in red)")
    out = [
        f"\\item \\texttt{{{latex_text(line.key)}}}{claimed}: \\textbf{{{line.verdict}}} "
        f"({_pts(line.points)}/{_pts(line.max_points)}). {latex_text(why)}"
    ]
    if answer.step is not None and answer.verdict != "correct":
        out.append(f"\\\\ step: {latex_text(answer.step[0])}")
        if answer.step[1]:
            out.append(f"\\\\ shapes: {latex_text(answer.step[1].strip())}")
    if answer.verdict != "correct":
        shown = f"\\text{{expected: }}{latex_matrix(answer.expected)}"
        if answer.given is not None:
            marks = answer.entries if answer.given_shape == answer.expected_shape else None
            shown += f"\\qquad\\text{{yours: }}{latex_matrix(answer.given, marks)}"
        out.append(f"\\[ {shown} \\]")
    return "\n".join(out)


def feedback_name(result: Graded, taken: Mapping[str, int]) -> str:
    """A safe file stem for a student's feedback (their id, else the file's stem)."""
    base = result.student or Path(result.source).stem or "submission"
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in base).strip(".") or "x"
    if stem in taken:
        stem = f"{stem}-{taken[stem] + 1}"
    return stem


def as_json_lines(results: Iterable[Graded]) -> str:
    """One JSON object per submission and per line (see :meth:`Graded.as_dict`)."""
    return "".join(json.dumps(r.as_dict(), ensure_ascii=False) + "\n" for r in results)
