"""Exercise files: a hand-worked backprop exercise in TOML, loaded into a Trace and answers.

The format (see ``docs/exercise-format.md``)::

    title = "micrograd lecture, example 1"     # optional
    description = "..."                        # optional
    output = "L"                               # optional: default the last definition

    [inputs]            # name = number, in order
    a = 2
    b = -3

    [define]            # name = "expression", in evaluation order
    e = "a*b"
    L = "e + 1"

    [answers]           # key = claim (see symtrace.check); "" = left blank
    "dL/de" = 1
    "dL/da" = "b"

    [tolerance]         # optional, for answers without a written precision
    rel = 1e-6
    abs = 1e-9

Every string is read by :func:`symtrace.parsing.parse_expression` (never evaluated);
TOML floats keep their written precision (``0.73`` is judged to ``±0.005``, like the string
``"0.73"``).  Every error is an :class:`~symtrace.errors.ExerciseError` whose message starts
with ``FILE:LINE:COLUMN:`` when the place is known.  YAML is not supported.

>>> ex = loads('''
... output = "L"
... [inputs]
... a = 2
... b = -3
... [define]
... e = "a*b"
... L = "e + 1"
... [answers]
... "dL/de" = 1
... "dL/da" = "a"
... ''', source="ex.toml")
>>> r = ex.check()
>>> [(k, a.verdict) for k, a in r.items()], r.first_error
([('dL/de', 'correct'), ('dL/da', 'wrong')], 'dL/da')
>>> loads('[inputs]\\na = 1\\n[define]\\nL = "a + q"\\n', source="bad.toml")
Traceback (most recent call last):
    ...
symtrace.errors.ExerciseError: bad.toml:4:10: definition of 'L': unknown name 'q' ...
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import sympy

from .check import Report, parse_key, read_claim
from .check.matrix import MatrixReport, read_matrix_claim
from .errors import ExerciseError, ParseError, SymtraceError, UsageError
from .matrix_parsing import parse_matrix_expression, uses_matrices
from .nodes import NodeSymbol
from .parsing import parse_expression, parse_number
from .trace import Trace

__all__ = [
    "MAX_ANSWERS",
    "MAX_FILE_BYTES",
    "MAX_KEY_LENGTH",
    "MAX_NODES",
    "Exercise",
    "Key",
    "Submission",
    "dumps",
    "load",
    "load_key",
    "load_submission",
    "loads",
    "loads_key",
    "loads_submission",
    "short_message",
]

#: Files larger than this are rejected before parsing.
MAX_FILE_BYTES = 1_000_000
#: At most this many inputs and definitions together (checked before the TOML is parsed).
MAX_NODES = 10_000
#: At most this many answers.
MAX_ANSWERS = 2_000
#: Keys longer than this (in characters) are rejected.
MAX_KEY_LENGTH = 200
#: Offending text is quoted to at most this many characters in error messages.
EXCERPT = 40

_TABLES = ("inputs", "define", "answers", "tolerance")
_STRUCTURED = ("inputs", "answers")
"""Tables whose values may be arrays or inline tables: matrix inputs (``W = [[1, 2]]``,
``x = {shape = [2, 1]}``), input ranges in a key, matrix answers; the other tables hold
single numbers and strings."""

_TOP_KEYS = ("title", "description", "output", "inputs", "define", "answers", "tolerance")


class _Written(str):
    """The text of a TOML float, kept as written (its precision matters)."""

    __slots__ = ()


@dataclass(frozen=True)
class Exercise:
    """A loaded exercise: the trace, its output, the answers to check, the tolerances.

    ``answers`` maps each key to its claim as written (numbers, strings; TOML floats as
    their text); ``lines`` maps keys to their line in the file.

    >>> from symtrace.exercise import loads
    >>> exercise = loads('''
    ... output = "L"
    ... [inputs]
    ... a = 2
    ... b = -3
    ... [define]
    ... L = "a*b"
    ... [answers]
    ... "dL/da" = -3
    ... ''')
    >>> exercise.output, exercise.check().ok
    (L, True)
    """

    trace: Trace
    output: NodeSymbol
    answers: dict[str, Any]
    title: str | None = None
    description: str | None = None
    rel_tol: float = 1e-6
    abs_tol: float = 1e-9
    source: str = "<string>"
    lines: dict[str, int] = field(default_factory=dict)

    def check(self, answers: Mapping[str, Any] | None = None) -> Report | MatrixReport:
        """Grade the file's answers (or ``answers``) against its trace."""
        try:
            return self.trace.check(
                self.answers if answers is None else answers,
                output=self.output,
                rel_tol=self.rel_tol,
                abs_tol=self.abs_tol,
                title=self.title,
                source=self.source,
                lines=self.lines,
            )
        except ExerciseError:
            raise
        except SymtraceError as exc:
            raise ExerciseError(f"{self.source}: {exc}") from None


def load(path: str | Path) -> Exercise:
    """Read an exercise file (UTF-8 TOML).

    Unreadable, oversized, non-UTF-8 or invalid files raise
    :class:`~symtrace.errors.ExerciseError` naming the file (and line and column).
    """
    text, source = _file_text(path)
    return loads(text, source=source)


def _file_text(path: str | Path) -> tuple[str, str]:
    """The UTF-8 text of a small, regular file and its name (every file symtrace reads:
    exercises, keys, submissions); a clear :class:`~symtrace.errors.ExerciseError` else."""
    p = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO with no writer returns at once; fstat then says what
        # it is (no race between a check and the open: STYLE trap 17).
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ExerciseError(f"{p}: cannot read the file ({exc.strerror or exc})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise ExerciseError(
            f"{p}: {kind}; an exercise is a regular file (FIFOs, devices "
            "and directories are not read)"
        )
    with os.fdopen(fd, "rb") as fh:
        if info.st_size > MAX_FILE_BYTES:
            raise ExerciseError(
                f"{p}: the file is larger than {MAX_FILE_BYTES:,} bytes; exercise files are "
                "small (symtrace.exercise.MAX_FILE_BYTES)"
            )
        try:
            data = fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise ExerciseError(f"{p}: cannot read the file ({exc.strerror or exc})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ExerciseError(
            f"{p}: the file is larger than {MAX_FILE_BYTES:,} bytes; exercise files are small"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExerciseError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    return text, str(p)


class _Locator:
    """Line and column of ``[table]`` keys, found by scanning the TOML text."""

    _HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]\s*(?:#.*)?$")
    _KEY = re.compile(r"""^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)\s*=\s*""")

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.where: dict[tuple[str, str], tuple[int, int]] = {}
        table = ""
        for n, line in enumerate(text.splitlines(), start=1):
            m = self._HEADER.match(line)
            if m:
                table = m.group(1)
                continue
            m = self._KEY.match(line)
            if not m:
                continue
            raw = m.group(1)
            if raw.startswith('"'):
                try:
                    key = json.loads(raw)
                except ValueError:
                    key = raw[1:-1]
            elif raw.startswith("'"):
                key = raw[1:-1]
            else:
                key = raw
            self.where.setdefault((table, key), (n, m.end()))

    def line(self, table: str, key: str) -> int | None:
        got = self.where.get((table, key))
        return got[0] if got else None

    def error(
        self, table: str, key: str, message: str, col_offset: int | None = None
    ) -> ExerciseError:
        got = self.where.get((table, key))
        if got is None:
            return ExerciseError(f"{self.source}: {message}")
        line, value_col = got
        col = value_col + 1  # 1-based column of the value
        if col_offset is not None:
            col += 1 + col_offset  # inside the quoted string
        return ExerciseError(f"{self.source}:{line}:{col}: {message}")


def _table(data: Mapping[str, Any], name: str, source: str, required: bool) -> dict[str, Any]:
    value = data.get(name)
    if value is None:
        if required:
            raise ExerciseError(f"{source}: missing the [{name}] table")
        return {}
    if not isinstance(value, dict):
        raise ExerciseError(f"{source}: '{name}' must be a table ([{name}]), not a value")
    return value


def _input_value(name: str, raw: Any, loc: _Locator) -> Any:
    if isinstance(raw, list | dict):
        return _matrix_input(name, raw, loc)
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise loc.error(
            "inputs",
            name,
            f"input {name!r}: expected a number, got {type(raw).__name__} {raw!r}",
        )
    if isinstance(raw, int):
        return raw
    text = raw.replace("_", "") if isinstance(raw, _Written) else raw
    try:
        if isinstance(raw, _Written):
            return parse_number(text)[0]
        value = parse_expression(text, {})
    except ParseError as exc:
        offset = None if isinstance(raw, _Written) else exc.col_offset
        raise loc.error("inputs", name, f"input {name!r}: {exc}", offset) from None
    if not (value.is_extended_real and value.is_finite):
        raise loc.error("inputs", name, f"input {name!r}: {raw!r} is not a real, finite number")
    return value


class _Shape(tuple[int, int]):
    """A symbolic matrix input's ``{shape = [r, c]}``: no value."""

    __slots__ = ()


MAX_INPUT_ENTRIES = 10_000
"""Entries of one matrix input of an exercise file."""


def _matrix_input(name: str, raw: Any, loc: _Locator) -> Any:
    """A matrix input: a TOML array of rows (a flat array is a column vector), or
    ``{shape = [r, c]}`` for a symbolic one (issue 12)."""
    if isinstance(raw, dict):
        shape = raw.get("shape")
        if set(raw) != {"shape"} or not (
            isinstance(shape, list)
            and len(shape) == 2
            and all(type(d) is int and 1 <= d <= 1_000 for d in shape)
            and shape[0] * shape[1] <= MAX_INPUT_ENTRIES
        ):
            raise loc.error(
                "inputs",
                name,
                f"input {name!r}: a symbolic matrix input is {{shape = [rows, cols]}} "
                f"(positive ints, at most {MAX_INPUT_ENTRIES:,} entries), got {raw!r}",
            )
        return _Shape(shape)
    rows = raw if raw and all(isinstance(r, list) for r in raw) else [[v] for v in raw]
    if not rows or not rows[0] or any(len(r) != len(rows[0]) for r in rows):
        raise loc.error(
            "inputs",
            name,
            f"input {name!r}: a matrix is a TOML array of rows of one length, e.g. "
            "[[0.15, 0.20], [0.25, 0.30]] (ragged or empty rows given)",
        )
    if len(rows) * len(rows[0]) > MAX_INPUT_ENTRIES:
        raise loc.error("inputs", name, f"input {name!r}: more than {MAX_INPUT_ENTRIES:,} entries")
    out = []
    for row in rows:
        values = []
        for v in row:
            if isinstance(v, list | dict | bool) or not isinstance(v, int | str):
                raise loc.error(
                    "inputs",
                    name,
                    f"input {name!r}: matrix entries must be numbers (a list of rows, "
                    f"two levels deep), got {type(v).__name__} {v!r}",
                )
            values.append(float(_input_value(name, v, loc)))
        out.append(values)
    return out


def loads(text: str, source: str = "<string>") -> Exercise:
    """Read an exercise from TOML text; ``source`` names it in error messages."""
    return _exercise(_read_toml(text, source), _Locator(text, source))


def short_message(message: str, limit: int = 400) -> str:
    """``message`` cut in the middle to about ``limit`` characters (numbers and
    expressions quoted from a file can be megabytes long).

    >>> short_message("x" * 1000, 20)
    'xxxxxxxxxxxxxxx ... [980 characters cut] ... xxxxx'
    """
    if len(message) <= limit:
        return message
    head, tail = limit * 3 // 4, limit // 4
    cut = len(message) - head - tail
    return f"{message[:head]} ... [{cut:,} characters cut] ... {message[-tail:]}"


def _excerpt(text: str, limit: int = EXCERPT) -> str:
    """``text`` quoted, cut to about ``limit`` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_QUOTED_KEY = re.compile(r""""(?:[^"\\\n]|\\.)*"|'[^'\n]*'""")


def _prescan(
    text: str, source: str, tables: tuple[str, ...] = _TABLES, structured: tuple[str, ...] = ()
) -> None:
    """Check the shape of the document before ``tomllib`` reads it (STYLE trap 16).

    An exercise is four tables of single keys with plain values: dotted keys, arrays of
    tables, inline tables, arrays, unknown tables, overlong keys and too many entries
    are rejected here, at once and with their line and column, so that no document
    makes the TOML reader slow.  A key file has more ``tables``, and in its
    ``structured`` ones (input ranges, ``[variants]``) a value may be an inline table or
    an array.
    """
    table, counts = "", dict.fromkeys(tables, 0)
    in_string: str | None = None  # the delimiter of an open multi-line string
    depth = 0  # open brackets of an array or inline table written over several lines
    for n, line in enumerate(text.split("\n"), start=1):
        if in_string is not None:
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        if depth > 0:
            _no_dotted_inline(line, source, n)
            depth += _brackets(line)
            continue
        stripped = line.lstrip()
        col = len(line) - len(stripped) + 1
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[") and "]" in stripped:
            table = _header(stripped, source, n, col, tables)
            continue
        m = _BARE_KEY.match(stripped) or _QUOTED_KEY.match(stripped)
        if m is None:
            continue  # not a key: tomllib says what is wrong
        key, rest = m.group(), stripped[m.end() :].lstrip()
        where = f"{source}:{n}:{col}"
        if len(key) > MAX_KEY_LENGTH:
            raise ExerciseError(
                f"{where}: key {_excerpt(key)} is {len(key):,} characters long; the limit is "
                f"{MAX_KEY_LENGTH} (symtrace.exercise.MAX_KEY_LENGTH)"
            )
        if rest.startswith("."):
            dotted = stripped.split("=", 1)[0].strip()
            raise ExerciseError(
                f"{where}: dotted key {_excerpt(dotted)}: keys in an exercise are single "
                'names (quote a key that contains a dot: "a.b" = ...)'
            )
        if not rest.startswith("="):
            continue
        value = rest[1:].lstrip()
        if value.startswith(("{", "[")):
            if table not in structured:
                at = f"{source}:{n}:{col + len(stripped) - len(value)}"
                raise ExerciseError(
                    f"{at}: {_excerpt(key)}: expected a number or a string, not an inline "
                    "table or an array"
                )
            _no_dotted_inline(value, source, n)
            depth = max(_brackets(value), 0)
        for delim in ('"""', "'''"):
            if value.startswith(delim) and value.count(delim) % 2 == 1:
                in_string = delim
        if table:
            counts[table] += 1
        _check_counts(counts, where)


_DOTTED_INLINE = re.compile(r"[{,]\s*[A-Za-z_\"'][A-Za-z0-9_\"'-]*\s*\.")


def _no_dotted_inline(text: str, source: str, n: int) -> None:
    """A dotted key inside an inline table (``{a.b = 1}``) is rejected too: long ones make
    the TOML reader slow (STYLE trap 16)."""
    m = _DOTTED_INLINE.search(_QUOTED_KEY.sub('""', text))
    if m is not None:
        raise ExerciseError(
            f"{source}:{n}: dotted key in an inline table ({_excerpt(text.strip())}): keys "
            "in an exercise are single names"
        )


def _brackets(line: str) -> int:
    """Brackets a line opens minus those it closes, outside strings and comments."""
    line = _QUOTED_KEY.sub("", line).split("#", 1)[0]
    return line.count("[") + line.count("{") - line.count("]") - line.count("}")


def _header(stripped: str, source: str, n: int, col: int, tables: tuple[str, ...]) -> str:
    """The table a ``[header]`` line opens (one of ``tables``), else an error."""
    m = re.match(r"\[\s*([A-Za-z0-9_-]+)\s*\]\s*(#.*)?$", stripped)
    if m is None or m.group(1) not in tables:
        raise ExerciseError(
            f"{source}:{n}:{col}: unknown top-level key (table "
            f"{_excerpt(stripped.split('#', 1)[0].strip())}): this file has the tables "
            f"{', '.join(f'[{t}]' for t in tables)} only"
        )
    return m.group(1)


def _check_counts(counts: dict[str, int], where: str) -> None:
    if counts.get("inputs", 0) + counts.get("define", 0) > MAX_NODES:
        raise ExerciseError(
            f"{where}: more than {MAX_NODES:,} inputs and definitions; the limit is "
            "symtrace.exercise.MAX_NODES (raise it for larger files)"
        )
    if counts.get("answers", 0) > MAX_ANSWERS:
        raise ExerciseError(
            f"{where}: more than {MAX_ANSWERS:,} answers; the limit is "
            "symtrace.exercise.MAX_ANSWERS (raise it for larger files)"
        )


def _read_toml(text: str, source: str) -> dict[str, Any]:
    """The TOML document of an exercise, after its size and shape (before parsing) and
    top-level keys are checked."""
    return _document(text, source, _TOP_KEYS, "an exercise has")


def _meta(data: Mapping[str, Any], loc: _Locator) -> dict[str, str | None]:
    """``title``, ``description`` and ``output``: strings, or None when not given."""
    meta: dict[str, str | None] = {}
    for name in ("title", "description", "output"):
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise loc.error("", name, f"'{name}' must be a string")
        meta[name] = value
    return meta


def _build_trace(inputs: dict[str, Any], define: dict[str, Any], loc: _Locator) -> Trace:
    """The trace of the ``[inputs]`` and ``[define]`` tables, with every value computed."""
    trace = Trace()
    symbolic = False  # an input with a shape and no value
    for name, raw in inputs.items():
        value = _input_value(name, raw, loc)
        try:
            if isinstance(value, _Shape):
                symbolic = True
                trace.input(name, shape=(value[0], value[1]))
                continue
            trace.input(name, value)
        except SymtraceError as exc:
            raise loc.error("inputs", name, str(exc)) from None
    later = {name: loc.line("define", name) for name in define}
    names = trace.graph.names()  # kept up to date here: one lookup table, linear loading
    for name, raw in define.items():
        expr = _definition(names, name, raw, later, loc)
        try:
            node = trace.define(name, expr)
        except SymtraceError as exc:
            raise loc.error("define", name, f"definition of {name!r}: {exc}") from None
        names[node.name] = node
    try:
        if not symbolic:
            trace.cache.floats(range(len(trace)))
    except SymtraceError as exc:
        raise ExerciseError(f"{loc.source}: {short_message(str(exc))}") from None
    return trace


def _definition(
    names: dict[str, NodeSymbol],
    name: str,
    raw: Any,
    later: dict[str, int | None],
    loc: _Locator,
) -> sympy.Expr:
    """The parsed expression of ``[define]``'s ``name`` in the nodes ``names``; ``later``
    (name -> line) are the definitions still to come, named when one is used too early."""
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise loc.error(
            "define",
            name,
            f'definition of {name!r}: expected an expression string such as "a*b", '
            f"got {type(raw).__name__} {raw!r}",
        )
    expr_text = raw.replace("_", "") if isinstance(raw, _Written) else str(raw)
    try:
        if uses_matrices(expr_text, names):
            return parse_matrix_expression(expr_text, names, lineno=loc.line("define", name))
        return parse_expression(expr_text, names, lineno=loc.line("define", name))
    except ParseError as exc:
        message = f"definition of {name!r}: {exc}"
        ref = exc.unknown_name
        if ref is not None and ref in later:
            message += (
                f". {ref!r} is defined later"
                + (f" (line {later[ref]})" if later[ref] else "")
                + ": definitions must come in evaluation order, each using only inputs "
                "and earlier definitions (no cycles)"
            )
        offset = None if isinstance(raw, _Written | int) else exc.col_offset
        raise loc.error("define", name, message, offset) from None


def _output(trace: Trace, out_name: str | None, loc: _Locator) -> NodeSymbol:
    """The node named by ``output``; the last definition when there is none."""
    if out_name is None:
        return trace.nodes[-1]
    if out_name not in trace:
        raise loc.error(
            "", "output", f"output {out_name!r} is not a node (nodes: {trace.graph.names_list()})"
        )
    return trace[out_name]


def _tolerances(tolerance: dict[str, Any], loc: _Locator) -> dict[str, float]:
    """``rel`` and ``abs`` from the ``[tolerance]`` table, defaults for those not given."""
    tol = {"rel": 1e-6, "abs": 1e-9}
    for name, raw in tolerance.items():
        if name not in tol:
            raise loc.error("tolerance", name, f"unknown tolerance {name!r}; use rel and abs")
        try:
            value = float(raw) if not isinstance(raw, bool) else math.nan
        except (TypeError, ValueError, OverflowError):
            value = math.nan
        if not (math.isfinite(value) and value >= 0):
            raise loc.error(
                "tolerance", name, f"tolerance {name!r} must be a finite number >= 0, such as 1e-6"
            )
        tol[name] = value
    return tol


def _answers(
    trace: Trace, output: NodeSymbol, answers: dict[str, Any], loc: _Locator
) -> tuple[dict[str, Any], dict[str, int]]:
    """The claims of the ``[answers]`` table, each key and claim checked, and the line of
    each key in the file."""
    claims: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for key, raw in answers.items():
        line = loc.line("answers", key)
        if line is not None:
            lines[key] = line
        try:
            parse_key(trace.graph, key, output)
        except SymtraceError as exc:
            raise loc.error("answers", key, str(exc)) from None
        if trace.graph.has_matrices:  # a matrix answer: a list of rows or a formula
            claims[key] = _matrix_claim(trace, key, raw, loc)
            continue
        if isinstance(raw, _Written):
            raw = str(raw).replace("_", "")
        elif raw is not None and (isinstance(raw, bool) or not isinstance(raw, int | str)):
            raise loc.error(
                "answers",
                key,
                f"answer {key!r}: expected a number or a string, got {type(raw).__name__}",
            )
        try:
            read_claim(trace.graph, key, raw, lineno=line)
        except ParseError as exc:
            raise loc.error("answers", key, str(exc), exc.col_offset) from None
        except SymtraceError as exc:
            raise loc.error("answers", key, str(exc)) from None
        claims[key] = raw
    return claims, lines


def _matrix_claim(trace: Trace, key: str, raw: Any, loc: _Locator) -> Any:
    """A matrix exercise's answer as written (TOML floats as their text), checked."""

    def written(v: Any) -> Any:
        if isinstance(v, list):
            return [written(e) for e in v]
        return str(v).replace("_", "") if isinstance(v, _Written) else v

    raw = written(raw)
    try:
        if raw is not None and raw != "":
            read_matrix_claim(trace.graph, key, raw)
    except ParseError as exc:
        raise loc.error("answers", key, f"answer {key!r}: {exc}", exc.col_offset) from None
    except SymtraceError as exc:
        raise loc.error("answers", key, str(exc)) from None
    return raw


def _toml_string(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_string(key)


def dumps(
    inputs: Mapping[str, Any],
    define: Mapping[str, str],
    answers: Mapping[str, Any],
    *,
    output: str | None = None,
    title: str | None = None,
    description: str | None = None,
    comments: Mapping[str, str] | None = None,
) -> str:
    """TOML text of an exercise (the inverse of :func:`loads`, used by ``symtrace new``).

    ``answers`` values that are ``None`` are written as blanks (``""``); ``comments``
    (key -> text) adds a comment after an answer.

    >>> print(dumps({"a": 2}, {"L": "3*a"}, {"dL/da": None}, output="L"), end="")
    output = "L"
    <BLANKLINE>
    [inputs]
    a = 2
    <BLANKLINE>
    [define]
    L = "3*a"
    <BLANKLINE>
    [answers]
    "dL/da" = ""
    """
    lines = []
    if title is not None:
        lines.append(f"title = {_toml_string(title)}")
    if description is not None:
        lines.append(f"description = {_toml_string(description)}")
    if output is not None:
        lines.append(f"output = {_toml_string(output)}")
    lines += ["", "[inputs]"]
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in inputs.items()]
    lines += ["", "[define]"]
    lines += [f"{_toml_key(k)} = {_toml_string(v)}" for k, v in define.items()]
    lines += ["", "[answers]"]
    for k, v in answers.items():
        line = f"{_toml_key(k)} = {_toml_value(v)}"
        if comments and k in comments:
            line += f"  # {comments[k]}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _toml_value(v: Any) -> str:
    if v is None:
        return '""'
    if isinstance(v, bool):
        raise UsageError("booleans are not exercise values")
    if isinstance(v, int):
        return str(v)
    if isinstance(v, sympy.Integer):
        return str(int(v))
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, list | tuple):  # a matrix: a list of rows
        return "[" + ", ".join(_toml_value(e) for e in v) + "]"
    return _toml_string(str(v))


# ------------------------------------------------------------ keys and submissions
#
# A key is an exercise file with the grading policy; a submission holds a student's
# answers only.  Both reuse the checks above (size, TOML, tables, inputs, definitions).

_KEY_KEYS = ("assignment", "seed", "points", "credit", "variants")
_POLICY_TABLES = ("points", "credit", "variants")
_SUBMISSION_KEYS = (
    "student",
    "assignment",
    "name",
    "answers",
    "inputs",
    "define",
    "output",
    "title",
    "description",
)
#: What a carried answer (and others) may earn, as a share of the answer's points.
CREDIT_VERDICTS = ("carried", "wrong")


@dataclass(frozen=True)
class Key:
    """A teacher's key: the exercise (with the correct answers' keys in ``[answers]``),
    each answer's ``points`` (default 1), the ``credit`` share per verdict (``correct`` 1,
    ``carried`` and ``wrong`` 0 unless ``[credit]`` says otherwise), the ``assignment``
    id and ``seed`` (for variants) and the raw ``[variants]`` table; ``ranges`` holds
    the values each varying input may take, ``shapes`` the shape of each varying
    *matrix* input (every entry drawn from its range).

    >>> key = loads_key('''
    ... assignment = "hw3"
    ... [inputs]
    ... a = 2
    ... [define]
    ... L = "3*a"
    ... [answers]
    ... L = 6
    ... "dL/da" = 3
    ... [points]
    ... "dL/da" = 2
    ... [credit]
    ... carried = 0.5
    ... ''')
    >>> key.points, key.credit, key.assignment
    ({'L': 1.0, 'dL/da': 2.0}, {'correct': 1.0, 'carried': 0.5, 'wrong': 0.0}, 'hw3')
    """

    exercise: Exercise
    points: dict[str, float]
    credit: dict[str, float]
    assignment: str | None = None
    seed: int = 0
    variants: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    ranges: dict[str, tuple[Fraction, ...]] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict, repr=False)
    shapes: dict[str, tuple[int, int]] = field(default_factory=dict)

    def with_inputs(self, values: Mapping[str, Any]) -> Key:
        """The same key with other input values (a student's variant), checked as the
        key itself was; ``values`` are exact numbers, or for a matrix input a list of
        rows of exact numbers."""
        inputs = dict(self.data.get("inputs", {}))
        for name, value in values.items():
            if name not in inputs:
                raise ExerciseError(f"{self.source}: {name!r} is not an input of the key")
            if isinstance(value, list):
                inputs[name] = [[_exact_text(Fraction(v)) for v in row] for row in value]
            else:
                inputs[name] = _exact_text(Fraction(value))
        data = {k: v for k, v in self.data.items() if k in _TOP_KEYS}
        data["inputs"] = inputs
        return replace(self, exercise=_exercise(data, _Locator(self.text, self.source)))

    @property
    def source(self) -> str:
        """The key file's name."""
        return self.exercise.source

    @property
    def max_points(self) -> float:
        """The points of every answer asked."""
        return sum(self.points.values())


@dataclass(frozen=True)
class Submission:
    """A student's answers-only file: ``student`` (their id), ``answers`` (key -> claim as
    written, TOML floats as their text), the line of each key, and the ``inputs`` and
    ``define`` tables if the file carries them (compared with the key's when grading).

    >>> sub = loads_submission('student = "ada"\\n[answers]\\n"dL/da" = 3.0\\nL = "2a"\\n')
    >>> sub.student, sub.answers, sub.lines
    ('ada', {'dL/da': '3.0', 'L': '2a'}, {'dL/da': 3, 'L': 4})
    """

    student: str
    answers: dict[str, Any]
    source: str = "<string>"
    lines: dict[str, int] = field(default_factory=dict)
    columns: dict[str, int] = field(default_factory=dict)
    inputs: dict[str, Any] | None = None
    define: dict[str, Any] | None = None
    assignment: str | None = None
    name: str | None = None


def _document(
    text: str, source: str, allowed: tuple[str, ...], what: str = "this file may have"
) -> dict[str, Any]:
    """The TOML document of an exercise, key or submission: its size and shape checked
    before ``tomllib`` reads it, its top-level keys in ``allowed``."""
    if len(text) > MAX_FILE_BYTES:
        raise ExerciseError(
            f"{source}: the text is longer than {MAX_FILE_BYTES:,} characters "
            "(symtrace.exercise.MAX_FILE_BYTES)"
        )
    tables = tuple(t for t in allowed if t in _TABLES + _POLICY_TABLES)
    structured = (*_STRUCTURED, "variants") if "variants" in allowed else _STRUCTURED
    _prescan(text, source, tables, structured)
    try:
        data = tomllib.loads(text, parse_float=_Written)
    except tomllib.TOMLDecodeError as exc:
        raise ExerciseError(f"{source}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ExerciseError(f"{source}: invalid TOML: nested too deeply") from None
    unknown = [k for k in data if k not in allowed]
    if unknown:
        raise ExerciseError(
            f"{source}: unknown top-level key(s) {', '.join(map(repr, unknown))}; "
            f"{what} {', '.join(allowed)}"
        )
    return data


def load_key(path: str | Path) -> Key:
    """Read a key file (see :func:`loads_key`)."""
    text, source = _file_text(path)
    return loads_key(text, source=source)


def loads_key(text: str, source: str = "<string>") -> Key:
    """A key from TOML text: an exercise plus ``assignment``, ``seed``, ``[points]``,
    ``[credit]`` and ``[variants]`` (all optional).  Errors are
    :class:`~symtrace.errors.ExerciseError` naming the file, line and column."""
    data = _document(text, source, _TOP_KEYS + _KEY_KEYS)
    loc = _Locator(text, source)
    exercise_data = {k: v for k, v in data.items() if k in _TOP_KEYS}
    variants = dict(_table(data, "variants", source, required=False))
    inputs = dict(_table(data, "inputs", source, required=True))
    ranges: dict[str, tuple[Fraction, ...]] = {}
    shapes: dict[str, tuple[int, int]] = {}
    for name, raw in [*inputs.items(), *variants.items()]:
        if isinstance(raw, dict | list):  # a range or choices: the first value stands in
            table = "inputs" if name in inputs and raw is inputs[name] else "variants"
            if name not in inputs:
                raise loc.error(table, name, f"[variants] {name!r} is not an input")
            if table == "inputs" and (_rows_of(raw) or _is_shape(raw)):
                continue  # a matrix input (a list of rows) or a symbolic one
            shape = _ranged_shape(name, raw, inputs[name], table, loc)
            if shape is not None:  # every entry of a matrix input drawn from the range
                if isinstance(raw, dict):
                    raw = raw.get("choices", {k: v for k, v in raw.items() if k != "shape"})
                shapes[name] = shape
            ranges[name] = _choices(name, raw, loc, table)
            stand_in = _exact_text(ranges[name][0])
            inputs[name] = stand_in if shape is None else [[stand_in] * shape[1]] * shape[0]
    exercise_data["inputs"] = inputs
    exercise = _exercise(exercise_data, loc)
    if not exercise.answers:
        raise ExerciseError(f"{source}: the key has no [answers]: list every answer to grade")
    points = {k: 1.0 for k in exercise.answers}
    for k, raw in _table(data, "points", source, required=False).items():
        if k not in points:
            raise loc.error("points", k, f"points for {k!r}, which is not in [answers]")
        points[k] = _share(raw, "points", k, loc, upper=None)
    credit = {"correct": 1.0} | {v: 0.0 for v in CREDIT_VERDICTS}
    for k, raw in _table(data, "credit", source, required=False).items():
        if k not in CREDIT_VERDICTS and k != "entries":
            raise loc.error(
                "credit",
                k,
                f"unknown verdict {k!r} in [credit]; use {', '.join(CREDIT_VERDICTS)} "
                "(or entries, the share a partly right matrix earns per right entry)",
            )
        credit[k] = _share(raw, "credit", k, loc, upper=1.0)
    assignment = data.get("assignment")
    if assignment is not None and not isinstance(assignment, str):
        raise loc.error("", "assignment", "'assignment' must be a string")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise loc.error("", "seed", "'seed' must be an integer")
    options = {k: v for k, v in variants.items() if k not in ranges}
    return Key(
        exercise, points, credit, assignment, seed, options, text, ranges, exercise_data, shapes
    )


def _rows_of(raw: Any) -> bool:
    """Whether ``raw`` is a matrix written as a TOML array of rows (``[[1, 2], [3, 4]]``)."""
    return isinstance(raw, list) and bool(raw) and all(isinstance(r, list) for r in raw)


def _is_shape(raw: Any) -> bool:
    """Whether ``raw`` is a symbolic matrix input, ``{shape = [r, c]}``."""
    return isinstance(raw, dict) and set(raw) == {"shape"}


def _ranged_shape(
    name: str, raw: Any, current: Any, table: str, loc: _Locator
) -> tuple[int, int] | None:
    """The shape of a matrix input whose entries vary (``None`` for a scalar one): in
    ``[inputs]``, ``{shape = [r, c], min = .., max = .., step = ..}`` or ``{shape = [r,
    c], choices = [..]}``; in ``[variants]``, a range or choices for an input that
    ``[inputs]`` gives as a matrix (its shape)."""
    if table == "variants":
        if not _rows_of(current):
            return None
        if isinstance(raw, dict) and "shape" in raw:
            raise loc.error(table, name, f"[variants] {name!r}: the shape is the input's own")
        return (len(current), len(current[0]))
    if not (isinstance(raw, dict) and "shape" in raw):
        return None
    shape = raw["shape"]
    rest = set(raw) - {"shape"}
    if not (
        isinstance(shape, list)
        and len(shape) == 2
        and all(type(d) is int and 1 <= d <= 1_000 for d in shape)
        and shape[0] * shape[1] <= MAX_INPUT_ENTRIES
    ) or not (rest == {"choices"} or (rest and rest <= {"min", "max", "step"})):
        raise loc.error(
            table,
            name,
            f"input {name!r}: a matrix whose entries vary is {{shape = [rows, cols], min = .., "
            f"max = .., step = ..}} or {{shape = [rows, cols], choices = [..]}} (at most "
            f"{MAX_INPUT_ENTRIES:,} entries), got {raw!r}",
        )
    if rest == {"choices"} and not isinstance(raw["choices"], list):
        raise loc.error(table, name, f"input {name!r}: choices = [..] is a list of numbers")
    return (shape[0], shape[1])


#: The most values one input's range may have.
MAX_CHOICES = 10_000


def _choices(name: str, raw: Any, loc: _Locator, table: str) -> tuple[Fraction, ...]:
    """The values an input given as a list of choices or a range ``{min, max, step}``
    (step default 1) may take, exactly."""

    def exact(x: Any, what: str) -> Fraction:
        problem = loc.error(table, name, f"input {name!r}: {what} must be a number")
        if isinstance(x, bool) or not isinstance(x, int | str) or len(str(x)) > 100:
            raise problem
        try:
            return Fraction(str(x).replace("_", ""))
        except (ValueError, ZeroDivisionError):
            raise problem from None

    if isinstance(raw, list):
        if not raw or len(raw) > MAX_CHOICES:
            raise loc.error(table, name, f"input {name!r}: give 1 to {MAX_CHOICES} choices")
        return tuple(exact(x, "each choice") for x in raw)
    unknown = set(raw) - {"min", "max", "step"}
    if unknown or "min" not in raw or "max" not in raw:
        raise loc.error(
            table, name, f"input {name!r}: a range is {{min = .., max = .., step = ..}}"
        )
    lo, hi = exact(raw["min"], "min"), exact(raw["max"], "max")
    step = exact(raw.get("step", 1), "step")
    if step <= 0 or hi < lo or (hi - lo) / step > MAX_CHOICES:
        raise loc.error(
            table, name, f"input {name!r}: need min <= max, step > 0, at most {MAX_CHOICES} values"
        )
    count = int((hi - lo) / step) + 1
    return tuple(lo + k * step for k in range(count))


def _exact_text(x: Fraction) -> Any:
    """An exact number as an ``[inputs]`` value: an int, a decimal as written, or "p/q"."""
    if x.denominator == 1:
        return int(x)
    d = x.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d == 1:  # a terminating decimal
        digits = 0
        while (x * 10**digits).denominator != 1:
            digits += 1
        return _Written(f"{float(x):.{digits}f}" if digits < 16 else str(x))
    return f"{x.numerator}/{x.denominator}"


def _exercise(data: dict[str, Any], loc: _Locator) -> Exercise:
    """The :class:`Exercise` of a parsed document (the steps of :func:`loads`)."""
    source = loc.source
    meta = _meta(data, loc)
    inputs = _table(data, "inputs", source, required=True)
    if not inputs:
        raise ExerciseError(f"{source}: [inputs] is empty; give every input a value")
    trace = _build_trace(inputs, _table(data, "define", source, required=False), loc)
    output = _output(trace, meta["output"], loc)
    tol = _tolerances(_table(data, "tolerance", source, required=False), loc)
    claims, lines = _answers(trace, output, _table(data, "answers", source, False), loc)
    return Exercise(
        trace=trace,
        output=output,
        answers=claims,
        title=meta["title"],
        description=meta["description"],
        rel_tol=tol["rel"],
        abs_tol=tol["abs"],
        source=source,
        lines=lines,
    )


def _share(raw: Any, table: str, key: str, loc: _Locator, upper: float | None) -> float:
    try:
        value = math.nan if isinstance(raw, bool) else float(raw)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value >= 0 and (upper is None or value <= upper)):
        bound = f"between 0 and {upper:g}" if upper is not None else ">= 0"
        raise loc.error(table, key, f"[{table}] {key!r} must be a number {bound}")
    return value


def _as_written(v: Any) -> Any:
    """A submission's input as written: text, a matrix as a list of rows of texts."""
    return [_as_written(e) for e in v] if isinstance(v, list) else str(v)


def load_submission(path: str | Path) -> Submission:
    """Read a submission file (see :func:`loads_submission`)."""
    text, source = _file_text(path)
    return loads_submission(text, source=source)


def loads_submission(text: str, source: str = "<string>") -> Submission:
    """A submission from TOML text: ``student = "id"`` and ``[answers]``; optionally
    ``name``, ``assignment``, ``[inputs]``, ``[define]`` and ``output``.  The answers are
    kept as written (read one by one when graded); the file itself must be valid TOML
    with a ``student``, else :class:`~symtrace.errors.ExerciseError`."""
    data = _document(text, source, _SUBMISSION_KEYS)
    loc = _Locator(text, source)
    strings = {}
    for name in ("student", "assignment", "name", "output"):
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise loc.error("", name, f"'{name}' must be a string")
        strings[name] = value
    student = (strings["student"] or "").strip()
    if not student:
        raise ExerciseError(f'{source}: no student id: write student = "your id" at the top')
    answers: dict[str, Any] = {}
    lines: dict[str, int] = {}
    columns: dict[str, int] = {}
    for key, raw in _table(data, "answers", source, required=False).items():
        answers[key] = str(raw).replace("_", "") if isinstance(raw, _Written) else raw
        got = loc.where.get(("answers", key))
        if got is not None:
            lines[key], columns[key] = got[0], got[1] + 1
    inputs = _table(data, "inputs", source, required=False) if "inputs" in data else None
    define = _table(data, "define", source, required=False) if "define" in data else None
    return Submission(
        student,
        answers,
        source,
        lines,
        columns,
        None if inputs is None else {k: _as_written(v) for k, v in inputs.items()},
        None if define is None else {k: str(v) for k, v in define.items()},
        strings["assignment"],
        strings["name"],
    )
