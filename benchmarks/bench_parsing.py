"""Parsing long and hostile expressions: the speed the parser's tests used to time.

The tests only guard against hangs (``tests/guards.py``); the times are measured here.
A long sum or product is built with one ``Add`` / ``Mul`` call; the peer is SymPy's own
left fold (``acc = acc + term``), which re-flattens the sum at every step.  The hostile
cases are the ones ``tests/test_parsing.py`` guards: they must stay in milliseconds.
"""

from __future__ import annotations

import sys

import sympy

from symtrace.parsing import parse_expression

from common import best_time, ms, ratio, table


def run(quick: bool = False) -> tuple[str, list[str]]:
    a, b, c = sympy.symbols("a b c", real=True)
    names = {"a": a, "b": b, "c": c}
    n = 200 if quick else 450
    terms = [a, b] * n
    cases = [
        (
            f"sum of {2 * n} terms",
            " + ".join(["a", "b"] * n),
            lambda: _fold(terms, lambda x, y: x + y),
        ),
        (
            f"product of {2 * n} factors",
            "*".join(["a"] * (2 * n)),
            lambda: _fold([a] * (2 * n), lambda x, y: x * y),
        ),
        (
            "max of 300 sums",
            "max(" + ", ".join(f"a + {i}*b" for i in range(300)) + ")",
            None,
        ),
        (
            "nested functions (18 s when simplified)",
            "tan(tanh(((cos((a-pi-a))/acos((c+E))/cosh((c-7-b))/(E+E+c+pi)))**(10)))",
            None,
        ),
    ]
    rows = []
    notes = []
    for label, text, peer in cases:
        ours = best_time(lambda text=text: parse_expression(text, names), repeats=3)
        theirs = best_time(peer, repeats=1 if quick else 3) if peer is not None else None
        rows.append([label, ms(ours), ms(theirs), ratio(theirs, ours)])
        if theirs is not None:
            speed_up = ratio(theirs, ours)
            notes.append(f"Parsing a {label}: {ms(ours)}, {speed_up} faster than a left fold.")
    header = ["expression", "parse_expression", "SymPy left fold", "speed-up"]
    return table(header, rows), notes


def _fold(items: list[sympy.Expr], op: object) -> sympy.Expr:
    acc = items[0]
    for item in items[1:]:
        acc = op(acc, item)  # type: ignore[operator]
    return acc


if __name__ == "__main__":
    text, notes = run("--quick" in sys.argv)
    print(text)
    print("\n".join(notes))
