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
from typing import Any

import numpy as np
import sympy

from . import matrices
from .errors import ExerciseError, MissingValueError, SymtraceError
from .exercise import Key, dumps
from .notation import latex_escape, matrix_number, number

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


def variant_values(key: Key, student: str) -> dict[str, Any]:
    """The student's values of the key's ranged inputs (empty when the key has none): a
    number each, and for a matrix input (``key.shapes``) a list of rows, every entry
    drawn from the range on its own, row by row."""
    if not key.ranges:
        return {}
    rng = random.Random(variant_seed(key, student))
    saturation = float(key.variants.get("saturation", 3))
    attempts = int(key.variants.get("attempts", 200))

    def draw(name: str, choices: tuple[Fraction, ...]) -> Any:
        if name not in key.shapes:
            return rng.choice(choices)
        rows, cols = key.shapes[name]
        return [[rng.choice(choices) for _ in range(cols)] for _ in range(rows)]

    for _ in range(max(1, attempts)):
        values = {name: draw(name, choices) for name, choices in key.ranges.items()}
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
    """No kink at the point, no saturated tanh/sigmoid (|argument| <= ``saturation``);
    in a matrix exercise, in no entry of an elementwise function's argument."""
    t = key.exercise.trace
    for node in t.nodes:
        if t.is_input(node):
            continue
        for sub in sympy.preorder_traversal(t.definition(node)):
            if not isinstance(sub, matrices.Apply):
                continue
            arg = np.abs(np.asarray(t.value(sub.args[1]), dtype=float))
            if sub.fname in _SATURATING and bool(np.any(arg > saturation)):
                return False
            if sub.fname in ("relu", "abs") and bool(np.any(arg < 1e-12)):
                return False
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


def expected_answers(key: Key) -> dict[str, Any]:
    """The correct number for each answer of the key (at its input values); a matrix
    answer's is a list of rows of floats."""
    ex = key.exercise
    t = ex.trace
    if not t.graph.has_matrices:
        report = t.check({k: 0 for k in ex.answers}, output=ex.output)
        return {k: a.expected for k, a in report.items() if a.expected is not None}
    symbolic = [n.name for n in t.nodes if t.is_input(n) and not _has_value(t, n)]
    if symbolic:
        raise ExerciseError(
            f"{key.source}: input {symbolic[0]!r} has a shape and no value: a sheet or a "
            "variant needs numbers; give every input a value (or a range)"
        )
    matrix_report = t.check(dict.fromkeys(ex.answers, ""), output=ex.output)
    return {k: a.expected for k, a in matrix_report.items()}


def _has_value(t: Any, node: Any) -> bool:
    try:
        t.value(node)
    except MissingValueError:
        return False
    return True


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
    """The key's input values, exact: ints, terminating decimals, fractions as text; a
    matrix input as a list of rows (ints and floats)."""
    t = key.exercise.trace
    out: dict[str, object] = {}
    for n in t.nodes:
        if not t.is_input(n):
            continue
        if t.graph.equations[t.graph.index(n)].dims is not None:
            out[n.name] = _matrix_written(t.value(n))
        else:
            out[n.name] = _written(t.value(n, exact=True))
    return out


def _matrix_written(value: Any) -> list[list[int | float]]:
    """A matrix as TOML writes it: a list of rows, integral entries as ints."""
    return [[int(v) if float(v).is_integer() else float(v) for v in row] for row in value]


def _filled(value: Any) -> object:
    """A correct answer as an answer key writes it: six significant digits (a matrix
    as a list of rows of such numbers, strings so that they keep their precision)."""
    if isinstance(value, list):
        return [[number(float(v), whole=True) for v in row] for row in value]
    return number(value, whole=True)


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
        filled = {k: _filled(v) for k, v in expected_answers(key).items()}
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
    if ex.trace.graph.has_matrices:
        return _matrix_sheet(key, fmt)
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

    tex = _tex_text
    body = _latex_head(title, ex.description, "amssymb")
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


def _tex_text(s: object) -> str:
    """Running text for the sheet's LaTeX: escaped, other characters as code points."""
    return "".join(
        ch if ord(ch) < 128 else f"\\texttt{{U+{ord(ch):04X}}}" for ch in latex_escape(str(s))
    )


def _latex_head(title: str, description: str | None, packages: str) -> list[str]:
    """A sheet's LaTeX document up to its title and description."""
    body = [
        "\\documentclass[11pt]{article}",
        "\\usepackage[T1]{fontenc}",
        f"\\usepackage{{{packages}}}",
        "\\usepackage[margin=2.5cm]{geometry}",
        "\\begin{document}",
        f"\\section*{{{_tex_text(title)}}}",
    ]
    if description:
        body.append(_tex_text(description) + "\\par")
    return body


_FULL = 20
"""A sheet writes every entry of matrices up to this many rows and columns."""


def _shape_text(value: Any, times: str = "×") -> str:
    rows, cols = np.shape(value)
    return f"{rows}{times}{cols}"


def _matrix_sheet(key: Key, fmt: str) -> str:
    """The sheet of a matrix exercise: its matrix inputs and answers as grids (Markdown)
    or ``bmatrix`` (LaTeX), each question with the shape of its answer."""
    ex = key.exercise
    t = ex.trace
    title = ex.title or "Backprop exercise"
    expected = {k: np.array(v, dtype=float) for k, v in expected_answers(key).items()}
    inputs = {n.name: t.value(n) for n in t.nodes if t.is_input(n)}

    def written(value: Any, how: str) -> str:
        if np.ndim(value) == 2:
            return matrix_number(np.asarray(value), fmt=how, limit=_FULL)
        return number(float(value), whole=True, fmt=how)

    if fmt == "markdown":
        lines = [f"# {title}", ""]
        if ex.description:
            lines += [ex.description, ""]
        lines += ["Inputs:", ""] + [f"- `{k} = {written(v, 'text')}`" for k, v in inputs.items()]
        lines += ["", "Definitions:", ""]
        lines += [f"- `{k} = {v}`" for k, v in _definitions(key).items()]
        lines += ["", "## Questions", ""]
        lines += [
            f"{i}. `{k}` ({_shape_text(expected[k])}) = ________"
            for i, k in enumerate(ex.answers, 1)
        ]
        lines += ["", "## Answer key", ""]
        lines += [
            f"{i}. `{k}` = {written(expected[k], 'text')}" for i, k in enumerate(ex.answers, 1)
        ]
        return "\n".join(lines) + "\n"
    if fmt != "latex":
        raise ExerciseError(f"unknown sheet format {fmt!r}; use markdown or latex")
    names = {n.name: sympy.latex(n) for n in t.nodes}
    body = _latex_head(title, ex.description, "amsmath,amssymb")
    body.append("\\subsection*{Inputs}")
    body.append(
        "\\noindent "
        + ",\\quad\n".join(f"${names[k]} = {written(v, 'latex')}$" for k, v in inputs.items())
    )
    body.append("\\subsection*{Definitions}")
    body.append("\\begin{align*}")
    body.append(
        " \\\\\n".join(
            f"{names[n.name]} &= {sympy.latex(t.definition(n))}"
            for n in t.nodes
            if not t.is_input(n)
        )
    )
    body.append("\\end{align*}")
    body.append("\\subsection*{Questions}")
    body.append("\\begin{enumerate}")
    times = " \\times "
    body += [
        f"\\item \\texttt{{{_tex_text(k)}}} (${_shape_text(expected[k], times)}$) = "
        "\\rule{4cm}{0.4pt}"
        for k in ex.answers
    ]
    body.append("\\end{enumerate}")
    body.append("\\newpage\\subsection*{Answer key}")
    body.append("\\begin{enumerate}")
    body += [
        f"\\item \\texttt{{{_tex_text(k)}}} = ${written(expected[k], 'latex')}$" for k in ex.answers
    ]
    body += ["\\end{enumerate}", "\\end{document}"]
    return "\n".join(body) + "\n"
