"""The lenient reading of matrix formulas (``symtrace grade``): only what has one meaning
in matrix notation is rewritten (``W^T``, ``−``, ``∘``, subscripts); ``@``, ``ᵀ`` and
``⊙`` keep theirs; whatever is ambiguous for matrices is left for the parser to reject."""

from __future__ import annotations

import pytest
from test_matrix_exercises import HOSTILE

import symtrace as st
from symtrace.check.lenient import normalise_matrix
from symtrace.errors import ParseError
from symtrace.exercise import load_key, loads_submission
from symtrace.grade import grade
from symtrace.matrix_parsing import parse_matrix_expression

from guards import HANG_TIMEOUT, finishes_within

CLASS_KEY = "tests/classroom-matrix/key.toml"

READ = {
    "W^T @ d": "Wᵀ @ d",
    "W^{T} @ d": "Wᵀ @ d",
    "W^{ T } @ d": "Wᵀ @ d",
    "W^\\top @ d": "Wᵀ @ d",
    "W^{\\top} @ d": "Wᵀ @ d",
    "W^{\\mathsf{T}} @ d": "Wᵀ @ d",
    "W^\\intercal @ d": "Wᵀ @ d",
    "W⊤ @ d": "Wᵀ @ d",
    "(W @ x)^T": "(W @ x)ᵀ",
    "d − x": "d - x",
    "d – x": "d - x",
    "d ∘ x": "d ⊙ x",
    "d \\odot x": "d ⊙ x",
    "d \\circ x": "d ⊙ x",
    "W₂ @ d": "W2 @ d",
    "\\left(d - x\\right)": "(d - x)",
    "$W^T @ d$": "Wᵀ @ d",
    "[[−0.5, 1], [2, −3]]": "[[-0.5, 1], [2, -3]]",
}

UNCHANGED = [
    "W @ d",  # @ is the matrix product
    "Wᵀ @ d",  # ᵀ the transpose
    "d ⊙ x",  # ⊙ the entrywise product
    "W.T @ d",
    "2 W",  # implicit multiplication: a product or a scaling? (not guessed)
    "W d",
    "W·d",  # · is the matrix product in matrix notation, * (scaling) in the scalar reading
    "W × d",
    "W^2",  # a matrix power, or NumPy's entrywise square
    "W²",
    "x^Tx",  # not a lone T
    "W^{TT}",
    "[[0,5, 1]]",  # the comma separates entries: no decimal comma here
]


@pytest.mark.parametrize(("text", "read"), READ.items())
def test_unambiguous_spellings_are_read(text: str, read: str) -> None:
    assert normalise_matrix(text) == read


@pytest.mark.parametrize("text", UNCHANGED)
def test_ambiguous_and_strict_spellings_are_left_as_written(text: str) -> None:
    assert normalise_matrix(text) == text.strip()


def names() -> dict[str, st.MatrixNode]:
    t = st.Trace()
    t.input("W", shape=(3, 3)), t.input("W2", shape=(3, 3)), t.input("d", shape=(3, 1))
    t.input("x", shape=(3, 1))
    return {s.name: s for s in t.nodes}


@pytest.mark.parametrize(("text", "read"), [(k, v) for k, v in READ.items() if "[" not in k])
def test_a_reading_means_what_the_strict_syntax_says(text: str, read: str) -> None:
    strict = read.replace("ᵀ", ".T")
    known = names()  # one trace: its nodes are equal only to themselves
    assert parse_matrix_expression(normalise_matrix(text), known) == parse_matrix_expression(
        strict, known
    )


def test_a_node_named_t_keeps_its_caret() -> None:
    assert normalise_matrix("a^T", {"a", "T"}) == "a^T"
    assert normalise_matrix("W^T", {"W"}) == "Wᵀ"


@pytest.mark.parametrize(("text", "message"), HOSTILE)
def test_the_reading_never_makes_hostile_text_readable(text: str, message: str) -> None:
    t = st.Trace()
    t.input("A", shape=(2, 2)), t.input("x", shape=(3, 1)), t.input("a", 1.0)
    known = {s.name: s for s in t.nodes}
    with pytest.raises(ParseError):
        finishes_within(HANG_TIMEOUT, parse_matrix_expression, normalise_matrix(text), known)


@pytest.mark.parametrize(
    "text",
    [
        "A^T.real",  # the transpose read, the attribute still refused
        "A^T^T^T" * 2000,  # long: returned unchanged past the answer limit, or refused
        "^T",
        "A^{\\top" * 3000,
        "\\left(" * 5000 + "A",
        "A ∘ ∘ A",
        "A^T @ @ A",
        "A^2 @ A",  # ^ is refused in a matrix expression, with the hint
    ],
)
def test_hostile_text_through_the_reading_is_refused_without_hanging(text: str) -> None:
    t = st.Trace()
    t.input("A", shape=(2, 2))
    known = {s.name: s for s in t.nodes}
    read = finishes_within(HANG_TIMEOUT, normalise_matrix, text, set(known))
    with pytest.raises(ParseError):
        finishes_within(HANG_TIMEOUT, parse_matrix_expression, read, known)


def test_a_caret_left_over_says_how_to_write_a_transpose_or_a_power() -> None:
    with pytest.raises(ParseError, match=r"'\^' is not an operator.*Aᵀ or A.T.*A @ A"):
        parse_matrix_expression("W^2 @ d", names())


def graded(answer: str, *, lenient: bool = True) -> tuple[str, str | None, str]:
    sub = loads_submission(f'student = "q"\n[answers]\n"dL/dx" = \'{answer}\'\n')
    (line,) = [
        x for x in grade(load_key(CLASS_KEY), sub, lenient=lenient).lines if x.key == "dL/dx"
    ]
    return line.verdict, line.read_as, line.explanation


def test_grade_reads_a_matrix_formula_and_says_how() -> None:
    verdict, read_as, explanation = graded("W^T @ (z − y)")
    assert (verdict, read_as) == ("correct", "Wᵀ @ (z - y)")
    assert explanation.startswith("(read as Wᵀ @ (z - y)) correct: dL/dx = Wᵀ · dL/dz")
    assert graded("W^{\\top} @ r")[:2] == ("correct", "Wᵀ @ r")
    assert graded("W.T @ r")[:2] == ("correct", None)  # nothing rewritten, nothing said
    verdict, read_as, explanation = graded("W @ (z − y)")  # read, then graded as usual
    assert (verdict, read_as) == ("wrong", "W @ (z - y)")
    assert "missing transpose" in explanation


def test_strict_grading_reads_matrix_formulas_as_written() -> None:
    verdict, read_as, explanation = graded("W^T @ (z − y)", lenient=False)
    assert (verdict, read_as) == ("unreadable", None)
    assert "'^' is not an operator" in explanation


def test_an_ambiguous_spelling_is_unreadable_with_the_parsers_message_on_the_original() -> None:
    verdict, _, explanation = graded("W^T r")  # juxtaposition: not guessed
    assert verdict == "unreadable" and "'W^T r'" in explanation
    verdict, _, explanation = graded("W^2 @ r")
    assert verdict == "unreadable" and "A @ A for the matrix power" in explanation
