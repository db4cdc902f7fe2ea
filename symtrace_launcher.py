"""The ``symtrace`` command's launcher: its argument specification, and ``--help`` and
``--version`` answered without importing SymPy.

``import sympy`` alone takes about a third of a second, and importing the package
``symtrace`` imports SymPy, so this module lives *outside* the package and imports the
standard library only.  It holds the one argument parser of the command line
(:func:`parser`, which :mod:`symtrace.cli` uses too) and the version (:data:`__version__`,
which ``pyproject.toml`` and ``symtrace.__version__`` read).  :func:`main` parses the
arguments; ``--help``, ``-h`` of any subcommand, ``--version`` and usage errors end
there, and every command that does work goes on to :func:`symtrace.cli.run`, imported
only then.  This is the console script ``symtrace`` (``python -m symtrace`` runs the
same function, after the package's own import).

>>> parser().parse_args(["check", "ex.toml"]).files
['ex.toml']
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

__all__ = ["MATRIX_TEMPLATES", "SCALAR_TEMPLATES", "main", "parser"]

__version__ = "0.1.0"
"""symtrace's version: the one place it is written (``pyproject.toml`` reads it)."""
SCALAR_TEMPLATES = ("neuron", "scalar-mlp", "scalar-softmax")
"""``symtrace new --template`` names with scalar nodes (``symtrace.generate.TEMPLATES``,
repeated here as data so that ``--help`` needs no SymPy; a test keeps the two equal)."""
MATRIX_TEMPLATES = ("linear", "mlp", "softmax")
"""The matrix template names (``symtrace.templates.TEMPLATES``, kept equal by a test)."""
EXIT_INVALID = 2


def parser() -> argparse.ArgumentParser:
    """The argument parser of the ``symtrace`` command (every subcommand and option)."""
    top = argparse.ArgumentParser(
        prog="symtrace",
        description="Symbolic-plus-numeric backpropagation tracer built on SymPy.",
    )
    top.add_argument("--version", action="version", version=f"symtrace {__version__}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("demo", help="derive every gradient of the micrograd lecture example")
    p = sub.add_parser(
        "check",
        help="grade the answers in exercise files (TOML)",
        description="Grade hand-worked answers. Exit status: 0 all correct, 1 some answer "
        "wrong or blank, 2 unreadable or invalid input, 3 internal error.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="exercise files (TOML)")
    p.add_argument(
        "--format",
        choices=("text", "markdown", "latex", "json"),
        default="text",
        help="output format (default: text); json prints one object per line",
    )
    p.add_argument(
        "--exit-zero",
        action="store_true",
        help="exit 0 even when answers are wrong (invalid input still exits 2)",
    )
    p = sub.add_parser("explain", help="print the worked solution of an exercise file")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", choices=("text", "markdown", "latex"), default="text")
    p = sub.add_parser(
        "new",
        help="write a random exercise (answers blank) and its answer key",
        description="Write a random exercise, reproducible from --seed.",
    )
    p.add_argument("--seed", type=int, required=True, help="random seed (same seed, same file)")
    p.add_argument("--nodes", type=int, default=4, help="number of definitions (default 4)")
    p.add_argument(
        "--ops",
        default="add,mul,sub",
        help="comma-separated operations: add,sub,mul,square,relu,max,tanh,sigmoid,exp",
    )
    p.add_argument("--fan-out", action="store_true", help="make a node feed two others")
    p.add_argument("--locals", action="store_true", help="also ask for every local partial")
    p.add_argument(
        "--template",
        choices=SCALAR_TEMPLATES + MATRIX_TEMPLATES,
        help="a realistic exercise instead of a random graph (--nodes, --ops and --fan-out do "
        "not apply): with scalar nodes a sigmoid neuron, a 2-2-1 tanh network (scalar-mlp) or "
        "softmax with cross-entropy (scalar-softmax); in matrix form a linear layer (linear), "
        "a 2-2-2 sigmoid network (mlp) or softmax with cross-entropy (softmax)",
    )
    p.add_argument(
        "-o", "--output", metavar="FILE", help="write the exercise here (default: stdout)"
    )
    p.add_argument(
        "--key",
        metavar="KEYFILE",
        help="write the answer key here (default with -o FILE: FILE's name with .key.toml)",
    )
    p = sub.add_parser(
        "html",
        help="write an interactive HTML explorer of an exercise (or key) file",
        description="Write one self-contained HTML page: click a node for its value, adjoint, "
        "chain-rule step and paths; step through the reverse or forward sweep.",
    )
    p.add_argument("file", metavar="FILE", help="exercise or key file (TOML)")
    p.add_argument("-o", "--output", metavar="PAGE", help="write here (default: stdout)")
    p.add_argument(
        "--answers",
        metavar="SUBMISSION",
        help="a student's submission (answers only, or a whole exercise file): mark each "
        "answer correct, wrong or carried on the graph",
    )
    p = sub.add_parser(
        "grade",
        help="grade a class: a key file and answers-only submissions",
        description="Grade submissions against a teacher's key, each answer on its own. Exit "
        "status: 0 all correct, 1 some answer not correct, 2 the key or a file is unusable.",
    )
    p.add_argument("key", metavar="KEY", help="the key file (TOML)")
    p.add_argument(
        "submissions",
        nargs="+",
        metavar="SUBMISSION",
        help="submission files, folders (every *.toml inside, sorted) or - (standard input)",
    )
    p.add_argument(
        "--format",
        choices=("text", "csv", "gradescope", "json"),
        default="text",
        help="text (default), csv (a gradebook), gradescope (results.json), json (one per line)",
    )
    p.add_argument("--strict", action="store_true", help="read answers with the strict parser")
    p.add_argument("--summary", action="store_true", help="print statistics per question")
    p.add_argument("--feedback", metavar="DIR", help="write a feedback file per student here")
    p.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    p = sub.add_parser(
        "variants",
        help="write each student's own exercise and answer key from a key with ranges",
        description="One exercise (answers blank) and one answer key per student of the "
        "roster, deterministic from (student id, the key's assignment, the key's seed).",
    )
    p.add_argument("key", metavar="KEY", help="the key file (TOML)")
    p.add_argument("--roster", required=True, metavar="ROSTER.csv", help="a 'student' column")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    p = sub.add_parser("sheet", help="print the question sheet and the answer key of a key")
    p.add_argument("key", metavar="KEY", help="the key file (TOML)")
    p.add_argument("--format", choices=("markdown", "latex"), default="markdown")
    p.add_argument("--student", metavar="ID", help="the sheet of this student's variant")
    return top


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace | int:
    """The parsed arguments, or the exit status when argparse has already answered
    (``--help`` and ``--version``: 0, a usage error: 2)."""
    try:
        return parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_INVALID


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``symtrace`` command; returns the exit status."""
    args = parse(argv)
    if isinstance(args, int):
        return args
    # The one import of symtrace's own code here, and the reason this module exists:
    # the package (and SymPy) loads only for a command that does work.
    from symtrace.cli import run

    return run(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
