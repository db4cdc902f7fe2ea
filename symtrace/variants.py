"""Per-student variants of a key, and worksheets (question sheet and answer key).

An input of a key may be a range or a list of choices::

    [inputs]
    x = {min = -3, max = 3, step = 1}
    w = [0.5, 1.5, 2]

    [variants]          # optional
    saturation = 3      # |argument| of tanh/sigmoid at most this (default 3)
    attempts = 200      # draws tried before giving up (default 200)

A student's values are a deterministic function of (student id, the key's ``assignment``,
the key's ``seed``), through SHA-256 (:func:`variant_seed`): the same in every process,
whatever ``PYTHONHASHSEED``, so ``symtrace grade`` recomputes each student's variant from
the id in the submission.  Draws with a kink at the point (``relu``/``abs`` at 0, a tie in
``max``/``min``) or a saturated ``tanh``/``sigmoid`` are rejected.

>>> from symtrace.exercise import loads_key
>>> key = loads_key('''
... assignment = "hw1"
... [inputs]
... x = {min = -3, max = 3}
... w = [2, 3]
... [define]
... u = "w*x"
... L = "relu(u)"
... [answers]
... u = ""
... "dL/dx" = ""
... ''')
>>> values = variant_values(key, "ada")
>>> values == variant_values(key, "ada"), values["x"] != 0
(True, True)
>>> sorted(expected_answers(variant_key(key, "ada")))
['dL/dx', 'u']
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path

import sympy

from .check.matrix import scalar_report
from .errors import ExerciseError, SymtraceError
from .exercise import Key, dumps
from .notation import latex_escape, number

__all__ = [
    "expected_answers",
    "read_roster",
    "sheet",
    "variant_key",
    "variant_seed",
    "variant_values",
]

_SATURATING = ("tanh", "sigmoid")
_KINKS = ("relu", "Abs")
_TIES = ("Max", "Min")


def variant_seed(key: Key, student: str) -> int:
    """The seed of a student's variant: SHA-256 of (assignment, key seed, student id)."""
    text = "\x1f".join((key.assignment or "", str(key.seed), student.strip()))
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:16], "big")


def variant_values(key: Key, student: str) -> dict[str, Fraction]:
    """The student's values of the key's ranged inputs (empty when the key has none)."""
    if not key.ranges:
        return {}
    rng = random.Random(variant_seed(key, student))
    saturation = float(key.variants.get("saturation", 3))
    attempts = int(key.variants.get("attempts", 200))
    for _ in range(max(1, attempts)):
        values = {name: rng.choice(choices) for name, choices in key.ranges.items()}
        try:
            candidate = key.with_inputs(values)
        except SymtraceError:
            continue  # undefined at this point (log of a negative, a division by 0)
        if _sensible(candidate, saturation):
            return values
    raise ExerciseError(
        f"{key.source}: no sensible variant for {student!r} in {attempts} draws (every draw "
        "had a kink at the point or a saturated tanh/sigmoid); widen the ranges"
    )


def _sensible(key: Key, saturation: float) -> bool:
    """No kink at the point, no saturated tanh/sigmoid (|argument| <= ``saturation``)."""
    t = key.exercise.trace
    for node in t.nodes:
        if t.is_input(node):
            continue
        for f in t.definition(node).atoms(sympy.Function):
            name = type(f).__name__
            args = [t.value(a) for a in f.args]
            if name in _SATURATING and abs(args[0]) > saturation:
                return False
            if name in _KINKS and abs(args[0]) < 1e-12:
                return False
            if name in _TIES and len(set(args)) < len(args):
                return False
    return True


def variant_key(key: Key, student: str) -> Key:
    """The key of the student's own variant (the key itself when it has no ranges)."""
    if not key.ranges:
        return key
    return key.with_inputs(variant_values(key, student))


def expected_answers(key: Key) -> dict[str, float]:
    """The correct number for each answer of the key (at its input values)."""
    ex = key.exercise
    report = scalar_report(ex.trace.check({k: 0 for k in ex.answers}, output=ex.output), "variants")
    return {k: a.expected for k, a in report.items() if a.expected is not None}


def read_roster(path: str | Path) -> list[str]:
    """The student ids of a roster: a CSV file with a header row and a ``student`` column
    (other columns ignored; blank ids skipped)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExerciseError(f"{p}: cannot read the roster ({exc})") from None
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or "student" not in [f.strip() for f in reader.fieldnames]:
        raise ExerciseError(f"{p}: the roster needs a header row with a 'student' column")
    column = next(f for f in reader.fieldnames if f.strip() == "student")
    return [row[column].strip() for row in reader if (row.get(column) or "").strip()]


def _inputs(key: Key) -> dict[str, object]:
    """The key's input values, exact: ints, terminating decimals, fractions as text."""
    t = key.exercise.trace
    return {n.name: _written(t.value(n, exact=True)) for n in t.nodes if t.is_input(n)}


def _written(v: sympy.Expr) -> object:
    """An exact input value as a worksheet writes it: ``2``, ``"0.25"``, ``"1/3"``."""
    if v.is_Integer:
        return int(v)
    if v.is_Rational:
        x = Fraction(int(v.p), int(v.q))
        digits = next((d for d in range(16) if (x * 10**d).denominator == 1), None)
        return f"{float(x):.{digits}f}" if digits is not None else f"{x.numerator}/{x.denominator}"
    return str(v)


def _definitions(key: Key) -> dict[str, str]:
    raw = key.data.get("define", {})
    return {k: str(v) for k, v in raw.items()}


def exercise_text(key: Key, *, answers: bool) -> str:
    """An exercise file (TOML) for the key's inputs: answers blank, or filled in (the
    answer key, 6 significant digits)."""
    ex = key.exercise
    filled: Mapping[str, object | None]
    if answers:
        filled = {k: number(v, whole=True) for k, v in expected_answers(key).items()}
    else:
        filled = dict.fromkeys(ex.answers)
    return dumps(
        _inputs(key),
        _definitions(key),
        filled,
        output=ex.output.name,
        title=ex.title,
        description=ex.description,
    )


def sheet(key: Key, fmt: str = "markdown") -> str:
    """The question sheet (inputs, definitions, the answers to fill in) and the answer
    key, in Markdown or as a LaTeX document (compiles with ``pdflatex``)."""
    ex = key.exercise
    title = ex.title or "Backprop exercise"
    inputs = _inputs(key)
    defs = _definitions(key)
    expected = expected_answers(key)
    if fmt == "markdown":
        lines = [f"# {title}", ""]
        if ex.description:
            lines += [ex.description, ""]
        lines += ["Inputs: " + ", ".join(f"`{k} = {v}`" for k, v in inputs.items()), ""]
        lines += ["Definitions:", ""] + [f"- `{k} = {v}`" for k, v in defs.items()] + [""]
        lines += ["## Questions", ""]
        lines += [f"{i}. `{k}` = ________" for i, k in enumerate(ex.answers, 1)]
        lines += ["", "## Answer key", ""]
        lines += [
            f"{i}. `{k}` = {number(expected.get(k), whole=True)}"
            for i, k in enumerate(ex.answers, 1)
        ]
        return "\n".join(lines) + "\n"
    if fmt != "latex":
        raise ExerciseError(f"unknown sheet format {fmt!r}; use markdown or latex")

    def tex(s: object) -> str:
        return "".join(
            ch if ord(ch) < 128 else f"\\texttt{{U+{ord(ch):04X}}}" for ch in latex_escape(str(s))
        )

    body = [
        "\\documentclass[11pt]{article}",
        "\\usepackage[T1]{fontenc}",
        "\\usepackage{amssymb}",
        "\\usepackage[margin=2.5cm]{geometry}",
        "\\begin{document}",
        f"\\section*{{{tex(title)}}}",
    ]
    if ex.description:
        body.append(tex(ex.description) + "\\par")
    body.append(
        "Inputs: " + ", ".join(f"\\texttt{{{tex(k)} = {tex(v)}}}" for k, v in inputs.items())
    )
    body.append("\\begin{itemize}")
    body += [f"\\item \\texttt{{{tex(k)} = {tex(v)}}}" for k, v in defs.items()]
    body.append("\\end{itemize}")
    body.append("\\subsection*{Questions}")
    body.append("\\begin{enumerate}")
    body += [f"\\item \\texttt{{{tex(k)}}} = \\rule{{4cm}}{{0.4pt}}" for k in ex.answers]
    body.append("\\end{enumerate}")
    body.append("\\newpage\\subsection*{Answer key}")
    body.append("\\begin{enumerate}")
    body += [
        f"\\item \\texttt{{{tex(k)}}} = {tex(number(expected.get(k), whole=True))}"
        for k in ex.answers
    ]
    body += ["\\end{enumerate}", "\\end{document}"]
    return "\n".join(body) + "\n"
