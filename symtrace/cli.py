"""The ``symtrace`` command line.

``symtrace demo`` prints the seed-000 example (Karpathy's micrograd lecture:
``e = a*b``, ``d = e + c``, ``L = d*f`` at a=2, b=-3, c=10, f=-2): each node's
definition and value, and each node's symbolic and numeric ``dL/d(node)``.

``symtrace check FILE...`` grades exercise files (exit 0: all correct, 1: some answer
wrong or blank, 2: unreadable or invalid input, 3: internal error; ``--exit-zero`` turns 1
into 0); ``symtrace explain FILE`` prints the worked solution; ``symtrace new --seed N``
writes a random exercise and its answer key.  ``symtrace grade KEY SUBMISSION...`` grades
a class against a teacher's key, ``symtrace variants KEY --roster R --out DIR`` writes each
student's own exercise, ``symtrace sheet KEY`` prints the question sheet and answer key
(see ``docs/grading.md``).  See ``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from symtrace_launcher import parse

from . import notation as nt
from .check.matrix import MatrixReport
from .display import Renderable
from .errors import ExerciseError, SymtraceError
from .examples import micrograd_lecture
from .exercise import load, load_key, load_submission, short_message
from .generate import TEMPLATES as SCALAR_TEMPLATES
from .generate import generate, template
from .grade import (
    as_json_lines,
    feedback_latex,
    feedback_markdown,
    feedback_name,
    grade,
    grade_all,
    gradebook_csv,
    gradescope_results,
    results_text,
    summary,
)
from .html import to_html
from .templates import matrix_exercise
from .variants import exercise_text, read_roster, sheet, variant_key

__all__ = ["columns", "explain", "main", "run", "text_table"]

EXIT_OK, EXIT_WRONG, EXIT_INVALID, EXIT_INTERNAL = 0, 1, 2, 3
RENDER = {
    "text": Renderable.to_text,
    "markdown": Renderable.to_markdown,
    "latex": Renderable.to_latex,
}
"""How each ``--format`` renders a view or a report."""
NOT_A_TERMINAL_WIDTH = 100
"""Text output is wrapped to the terminal's width, or to this many columns when it does
not go to a terminal (a file, a pipe)."""
BUG_HINT = "this is a bug in symtrace; please report it with the input that caused it"


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned plain-text columns with a rule under the header."""
    return nt.grid(list(header), [list(r) for r in rows], "text", rule="-")


def demo() -> str:
    """The text ``symtrace demo`` prints."""
    t = micrograd_lecture()
    L = t["L"]
    g = t.grad(L)
    rows = []
    for node in t.nodes:
        definition = "input" if t.is_input(node) else str(t.definition(node))
        rows.append(
            [
                str(node),
                definition,
                nt.number(t.value(node), 12),
                f"dL/d{node} = {g[node]}",
                nt.number(g.value(node), 12),
            ]
        )
    header = ["node", "definition", "value", "symbolic dL/d(node)", "numeric"]
    return (
        "symtrace demo: the micrograd lecture example (seed 000)\n"
        "  e = a*b,  d = e + c,  L = d*f   at a=2, b=-3, c=10, f=-2\n\n"
        + text_table(header, rows)
        + "\n"
    )


def columns(out: TextIO) -> int:
    """How wide text output may be: the terminal's width (``COLUMNS`` if set), or
    :data:`NOT_A_TERMINAL_WIDTH` when ``out`` is not a terminal."""
    try:
        tty = out.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not tty:
        return NOT_A_TERMINAL_WIDTH
    return max(shutil.get_terminal_size((NOT_A_TERMINAL_WIDTH, 24)).columns, 40)


def explain(path: str, fmt: str = "text", width: int | None = None) -> str:
    """The worked solution of an exercise file: values, then every chain-rule step.

    ``width`` (text only) wraps the description and the derivation's long lines."""
    ex = load(path)
    t, out = ex.trace, ex.output
    parts = []
    title = ex.title or path
    # Title and description come from the file: escaped for the format they land in.
    if fmt == "markdown":
        parts.append(f"## {nt.markdown_escape(title, newlines=False)}\n")
    elif fmt == "latex":
        parts.append(f"\\section*{{{nt.latex_escape(nt.terminal_safe(title, False))}}}\n")
    else:
        title = nt.terminal_safe(title, newlines=False)
        parts.append(f"{title}\n{'=' * nt.width(title)}\n")
    if ex.description:
        escape = {"markdown": nt.markdown_escape, "latex": _latex_paragraphs}
        text = escape.get(fmt, nt.terminal_safe)(ex.description)
        if fmt == "text" and width is not None:
            text = nt.wrap(text, width)
        parts.append(text + "\n")
    derivation = t.derivation(out)
    parts += [
        RENDER[fmt](t.table(out, mode="forward")),
        derivation.to_text(width=width) if fmt == "text" else RENDER[fmt](derivation),
        RENDER[fmt](t.table(out, mode="reverse")),
    ]
    return "\n".join(p.rstrip("\n") + "\n" for p in parts)


def _latex_paragraphs(text: str) -> str:
    """Running text for LaTeX: escaped, its blank lines kept as paragraph breaks."""
    return "\n\n".join(nt.latex_escape(p) for p in text.split("\n\n"))


def _html(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    key = load_key(args.file)  # an exercise file is a key without points or variants
    report = None
    ex = key.exercise
    if args.answers:
        try:  # a student's answers-only submission, graded as `symtrace grade` does
            submission = load_submission(args.answers)
        except ExerciseError as not_a_submission:
            try:  # or a whole exercise file with answers, checked as `symtrace check` does
                report = ex.check(load(args.answers).answers)
            except ExerciseError:
                raise not_a_submission from None
        else:
            ex = variant_key(key, submission.student).exercise  # the student's own numbers
            report = grade(key, submission).report
    page = to_html(ex.trace.grad(ex.output), title=ex.title or args.file, report=report)
    if args.output is None:
        out.write(page)
    else:
        _write(Path(args.output), page)
        err.write(f"wrote {args.output}\n")
    return EXIT_OK


def _check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    status = EXIT_OK
    first = True
    for path in args.files:
        try:
            report = load(path).check()
        except SymtraceError as exc:
            err.write(f"symtrace check: {short_message(str(exc))}\n")
            status = EXIT_INVALID
            continue
        if isinstance(report, MatrixReport):  # a matrix exercise
            out.write(("" if first or args.format == "json" else "\n") + report.render(args.format))
        elif args.format == "json":
            out.write(json.dumps(report.as_dict(), ensure_ascii=False, allow_nan=False) + "\n")
        else:
            if not first:
                out.write("\n")
            text = RENDER[args.format](report)
            out.write(nt.wrap(text, columns(out)) if args.format == "text" else text)
        first = False
        if not report.ok and status == EXIT_OK:
            status = EXIT_WRONG
    if status == EXIT_WRONG and args.exit_zero:
        status = EXIT_OK
    return status


def _new(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.template in SCALAR_TEMPLATES:
        sheet: Any = template(args.template, args.seed, locals=args.locals)
    elif args.template is not None:  # a matrix exercise
        sheet = matrix_exercise(args.template, args.seed)
    else:
        ops = [o.strip() for o in args.ops.split(",") if o.strip()]
        sheet = generate(
            args.seed, nodes=args.nodes, ops=ops, fan_out=args.fan_out, locals=args.locals
        )
    key_path = args.key
    if args.output is None:
        out.write(sheet.exercise)
    else:
        target = Path(args.output)
        _write(target, sheet.exercise)
        if key_path is None:
            key_path = str(target.with_name(target.name.removesuffix(".toml") + ".key.toml"))
        err.write(f"wrote {target}\n")
    if key_path is not None:
        _write(Path(key_path), sheet.key)
        err.write(f"wrote the answer key to {key_path}\n")
    return EXIT_OK


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ExerciseError(f"{path}: cannot write the file ({exc.strerror or exc})") from None


def _grade(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    key = load_key(args.key)
    results = grade_all(key, args.submissions, lenient=not args.strict, stdin=sys.stdin)
    if args.format == "csv":
        text = gradebook_csv(key, results)
    elif args.format == "gradescope":
        found = [gradescope_results(r) for r in results]
        indent = 2 if len(found) == 1 else None  # several: one results.json per line
        text = "".join(json.dumps(r, indent=indent, ensure_ascii=False) + "\n" for r in found)
    elif args.format == "json":
        text = as_json_lines(results)
    else:
        text = results_text(results)
    stats = summary(key, results) if args.summary else ""
    if args.output is None:
        out.write(text + ("\n" + stats if stats else ""))
    else:  # the statistics go to standard output, the file holds only the format asked
        _write(Path(args.output), text)
        err.write(f"wrote {args.output}\n")
        out.write(stats)
    if args.feedback:
        folder = Path(args.feedback)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExerciseError(f"{folder}: cannot make the folder ({exc.strerror})") from None
        taken: dict[str, int] = {}
        for r in results:
            stem = feedback_name(r, taken)
            taken[stem] = taken.get(stem, 0) + 1
            _write(folder / f"{stem}.md", feedback_markdown(key, r))
            _write(folder / f"{stem}.tex", feedback_latex(key, r))
        err.write(f"wrote {2 * len(results)} feedback files to {folder}\n")
    for r in results:
        if r.error is not None:
            err.write(f"symtrace grade: {r.error}\n")
    if any(r.error is not None for r in results):
        return EXIT_INVALID
    return EXIT_OK if all(r.ok for r in results) else EXIT_WRONG


def _variants(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    key = load_key(args.key)
    students = read_roster(args.roster)
    folder = Path(args.out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExerciseError(f"{folder}: cannot make the folder ({exc.strerror})") from None
    taken: set[str] = set()
    for student in students:
        stem = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in student).strip(".")
        if not stem or stem in taken:
            raise ExerciseError(f"{args.roster}: student id {student!r} is empty or repeated")
        taken.add(stem)
        mine = variant_key(key, student)
        head = f'student = "{student}"  # keep this line: it picks your variant\n'
        _write(folder / f"{stem}.toml", head + exercise_text(mine, answers=False))
        _write(folder / f"{stem}.key.toml", exercise_text(mine, answers=True))
    err.write(f"wrote {2 * len(students)} files for {len(students)} students to {folder}\n")
    return EXIT_OK


def _sheet(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    key = load_key(args.key)
    if args.student is not None:
        key = variant_key(key, args.student)
    out.write(sheet(key, args.format))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``symtrace`` command; returns the exit status.

    The console script is :func:`symtrace_launcher.main`, which answers ``--help`` and
    ``--version`` before importing this module; both parse with the one
    :func:`symtrace_launcher.parser`."""
    args = parse(argv)
    return args if isinstance(args, int) else run(args)


def run(args: argparse.Namespace) -> int:
    """Run the command that ``args`` (from :func:`symtrace_launcher.parser`) names."""
    out, err = sys.stdout, sys.stderr
    try:
        if args.command == "demo":
            out.write(demo())
            return EXIT_OK
        if args.command == "check":
            return _check(args, out, err)
        if args.command == "html":
            return _html(args, out, err)
        if args.command == "explain":
            out.write(explain(args.file, args.format, columns(out)))
            return EXIT_OK
        if args.command == "grade":
            return _grade(args, out, err)
        if args.command == "variants":
            return _variants(args, out, err)
        if args.command == "sheet":
            return _sheet(args, out, err)
        return _new(args, out, err)
    except SymtraceError as exc:
        err.write(f"symtrace {args.command}: {short_message(str(exc))}\n")
        return EXIT_INVALID
    except KeyboardInterrupt:
        err.write("symtrace: interrupted\n")
        return 130
    except Exception as exc:  # the last line of defence: never a traceback
        where = traceback.extract_tb(exc.__traceback__)[-1]
        err.write(
            f"symtrace {args.command}: internal error: {type(exc).__name__}: "
            f"{short_message(str(exc))} "
            f"(at {Path(where.filename).name}:{where.lineno}); {BUG_HINT}\n"
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
