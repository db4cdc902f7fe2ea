"""The lenient reader: what students write, read as the safe parser's syntax; never more."""

from __future__ import annotations

import contextlib
import re

import pytest
from test_parsing import CORPUS

from symtrace.check import ANSWER_LIMITS, read_claim
from symtrace.check.lenient import LATEX_FUNCTIONS, normalise
from symtrace.errors import ParseError, SymtraceError
from symtrace.parsing import parse_expression
from symtrace.trace import Trace

from guards import HANG_TIMEOUT, finishes_within

READ = {
    "2a": "2*a",
    "b f": "b*f",
    "2(a + b)": "2*(a + b)",
    "(a)(b)": "(a)*(b)",
    "a(b + 1)": "a*(b + 1)",
    "3.5a": "3.5*a",
    "x^2": "x**2",
    "x²": "x**2",
    "x⁻¹": "x**(-1)",
    "a·b": "a*b",
    "a × b": "a * b",
    "a ÷ b": "a / b",
    "−a": "-a",
    "x₁ + x₂": "x1 + x2",
    "\\frac{a}{b}": "((a)/(b))",
    "\\frac{\\frac{a}{b}}{x1}": "((((a)/(b)))/(x1))",
    "a \\cdot b": "a * b",
    "x^{2}": "x**(2)",
    "\\sigma(a)": "sigmoid(a)",
    "\\tanh(a)": "tanh(a)",
    "\\left(a + b\\right)": "(a + b)",
    "$2a$": "2*a",
    "sigmoid(a)": "sigmoid(a)",  # a function call keeps its parenthesis
    "tanh (a)": "tanh (a)",
    "2e3": "2e3",
    "-0.140": "-0.140",
}


@pytest.mark.parametrize(("text", "expected"), list(READ.items()))
def test_reads_what_students_write(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_keys() -> None:
    assert normalise("∂L/∂x₁", key=True) == "∂L/∂x1"
    assert normalise("\\frac{\\partial L}{\\partial x}", key=True) == "((∂L)/(∂x))"


@pytest.fixture
def graph():  # type: ignore[no-untyped-def]
    t = Trace()
    t.inputs("a b f x1 x2 x", values=(2, -3, -2, 1, 2, 0.5))
    t.define("L", "a*b + x1*x2 + x")
    return t.graph


@pytest.mark.parametrize("text", [t for t in READ if not t.startswith("tanh (")])
def test_what_it_reads_parses(graph, text: str) -> None:  # type: ignore[no-untyped-def]
    read_claim(graph, "dL/da", normalise(text))


NAME = re.compile(r"[^\W\d]\w*")


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_hostile_text_gains_nothing(graph, name: str) -> None:  # type: ignore[no-untyped-def]
    """On every hostile input of the parser's corpus the normaliser finishes quickly, adds
    no name that the text does not contain (only whitelisted functions of its LaTeX
    commands), and what it gives is still rejected or read by the same safe parser."""
    text = CORPUS[name]
    out = finishes_within(HANG_TIMEOUT, normalise, text)
    allowed = set(NAME.findall(text)) | set(LATEX_FUNCTIONS.values()) | {"sqrt"}
    assert set(NAME.findall(out)) <= allowed
    with contextlib.suppress(SymtraceError):
        finishes_within(HANG_TIMEOUT, read_claim, graph, "dL/da", out)


@pytest.mark.parametrize(
    "text",
    [
        "\\frac{__import__('os')}{1}",
        "2(__class__)",
        "a.real b",
        "\\frac{" * 5000 + "a" + "}" * 5000,
        "2a" * 2000,
        "x^9^9^9",
        "\\input{x}",
        "\\def\\a{b}",
    ],
)
def test_lenient_path_is_no_wider(graph, text: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SymtraceError):
        finishes_within(HANG_TIMEOUT, read_claim, graph, "dL/da", normalise(text))


def test_long_text_is_left_alone() -> None:
    text = "2a+" * ANSWER_LIMITS.max_length
    assert normalise(text) == text
    with pytest.raises(ParseError):
        parse_expression(normalise(text), {}, limits=ANSWER_LIMITS)
