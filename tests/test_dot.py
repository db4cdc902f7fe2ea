"""The DOT text of a trace: labels printed once per shape, clusters by layer and neuron.

``to_dot`` prints each family of definitions that differ only in names once and puts
the names in; these tests pin that every label is still exactly what SymPy's printer
writes for that node, whatever the names' alphabetical order, constants or unevaluated
forms.  (Its speed is measured in ``benchmarks/bench_views.py``.)
"""

from __future__ import annotations

import itertools

import sympy

import symtrace as st
from symtrace import notation as nt
from symtrace.dot import quote
from symtrace.examples import EXAMPLES
from symtrace.exercise import loads


def _first_lines(dot: str) -> dict[int, str]:
    """Node index -> the first line of its label (still DOT-quoted)."""
    out = {}
    for line in dot.splitlines():
        line = line.strip()
        if line.startswith("n") and " [label=" in line and "->" not in line:
            index, rest = line.split(" [label=", 1)
            out[int(index[1:])] = rest.split("\\n", 1)[0].split('", ', 1)[0]
    return out


def _expected(t: st.Trace) -> dict[int, str]:
    out = {}
    for i, eq in enumerate(t.graph.equations):
        name = nt.name(eq.symbol, "text")
        text = (
            f"{name} (input)"
            if eq.definition is None
            else f"{name} = {nt.expr(eq.definition, 'text')}"
        )
        out[i] = quote(text).removesuffix('"')
    return out


def _assert_labels_as_printed(t: st.Trace) -> None:
    shown, expected = _first_lines(t.to_dot()), _expected(t)
    assert shown.keys() == expected.keys()
    for i, text in expected.items():
        assert shown[i] == text, (t.graph.equations[i], shown[i], text)


def test_labels_match_the_printer_for_every_order_of_names() -> None:
    # the same shapes with their names in every alphabetical order: the printer sorts
    # terms by name (b - a is written -a + b), so a shared template must follow it
    t = st.Trace()
    names = ["z", "a", "m_2", "x_1", "alpha", "B"]
    syms = t.inputs(" ".join(names), values=(0.5, 1.5, -2, 3, 0.25, 4))
    shapes = [
        lambda p, q: p - q,
        lambda p, q: p * q + p,
        lambda p, q: sympy.sin(p) / q,
        lambda p, q: 3 * p - 2 * q,
        lambda p, q: st.relu(p - q),
        lambda p, q: sympy.Max(p, q),
        lambda p, q: p**2 * q + sympy.Rational(1, 3) * q,
        lambda p, q: 0.1 * p + sympy.Float("0.1", 30) * q,
        lambda p, q: -p * sympy.exp(-q),
    ]
    k = 0
    for shape in shapes:
        for p, q in itertools.permutations(syms, 2):
            t.define(f"u{k}", shape(p, q))
            k += 1
    _assert_labels_as_printed(t)


def test_labels_match_the_printer_on_every_example_and_unevaluated_definitions() -> None:
    for build in EXAMPLES.values():
        _assert_labels_as_printed(build()[0])
    # the parser keeps nested functions as written: log(exp(a)) is not simplified
    exercise = loads(
        'output = "L"\n[inputs]\na = 1\nb = 2\n[define]\n'
        'u = "log(exp(a))"\nv = "log(exp(b))"\nw = "exp(log(b)) + a"\nL = "u*v + w"\n'
    )
    t = exercise.trace
    assert "log(exp(a))" in t.to_dot()
    _assert_labels_as_printed(t)
