"""The ``symtrace`` command line.

``symtrace demo`` prints the seed-000 example (Karpathy's micrograd lecture:
``e = a*b``, ``d = e + c``, ``L = d*f`` at a=2, b=-3, c=10, f=-2): each node's
definition and value, and each node's symbolic and numeric ``dL/d(node)``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .trace import Trace

__all__ = ["demo_trace", "main", "text_table"]


def demo_trace() -> Trace:
    """The seed-000 example as a Trace (output ``L``)."""
    t = Trace()
    a, b, c, f = t.inputs("a b c f", values=(2, -3, 10, -2))
    e = t.define("e", a * b)
    d = t.define("d", e + c)
    t.define("L", d * f)
    return t


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned plain-text columns with a rule under the header."""
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    fmt = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    return "\n".join([fmt[0], line, *fmt[1:]])


def _number(x: float) -> str:
    return f"{x:.12g}"


def demo() -> str:
    """The text ``symtrace demo`` prints."""
    t = demo_trace()
    L = t["L"]
    g = t.grad(L)
    rows = []
    for node in t.nodes:
        definition = "input" if t.is_input(node) else str(t.definition(node))
        rows.append(
            [
                str(node),
                definition,
                _number(t.value(node)),
                f"dL/d{node} = {g[node]}",
                _number(g.value(node)),
            ]
        )
    header = ["node", "definition", "value", "symbolic dL/d(node)", "numeric"]
    return (
        "symtrace demo: the micrograd lecture example (seed 000)\n"
        "  e = a*b,  d = e + c,  L = d*f   at a=2, b=-3, c=10, f=-2\n\n"
        + text_table(header, rows)
        + "\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``symtrace`` command; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="symtrace",
        description="Symbolic-plus-numeric backpropagation tracer built on SymPy.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("demo", help="derive every gradient of the micrograd lecture example")
    args = parser.parse_args(argv)
    if args.command == "demo":
        sys.stdout.write(demo())
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
