"""Answer keys written as the views print them: ``dL/dx₁`` and ``∂L/∂x₁`` for ``x1``/``x_1``.

The views print a node ``x1`` or ``x_1`` as ``x₁`` (SymPy's pretty names), so a student
who copies ``dL/dx₁`` from a table writes a key the checker must read, in both spellings
``d`` and ``∂``, in ``Trace.check``, in exercise files and in ``symtrace check`` (strict),
and in ``symtrace grade`` (lenient) through the same lookup.  When two nodes print alike
the key is an error that names both.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from symtrace import ExerciseError, Trace
from symtrace.check import parse_key
from symtrace.check.keys import spellings
from symtrace.check.lenient import normalise
from symtrace.cli import main
from symtrace.exercise import loads


def neuron() -> Trace:
    """``L = (w_1*x1 + w_2*x2)**2``: inputs spelled both ways, as the views print them."""
    t = Trace()
    x1, w_1, x2, w_2 = t.inputs("x1 w_1 x2 w_2", values=(1, 2, 3, -1))
    h_1 = t.define("h_1", w_1 * x1 + w_2 * x2)
    t.define("L", h_1**2)
    return t


def test_the_views_print_the_keys_that_the_checker_reads() -> None:
    t = neuron()
    text = str(t.grad(t["L"]))
    assert "dL/dx₁ = " in text and "dL/dw₁ = " in text and "dL/dh₁ = " in text


@pytest.mark.parametrize("d", ["d", "∂"])
def test_printed_keys_in_trace_check(d: str) -> None:
    t = neuron()  # h_1 = -1, dL/dh_1 = -2, dL/dx1 = -2*w_1 = -4, dL/dw_2 = -2*x2 = -6
    answers = {
        f"{d}L/{d}x₁": -4,
        f"{d}L/{d}w₂": -6,
        f"{d}L/{d}h₁": "2*h_1",
        f"{d}h₁/{d}w₁": "x1",  # a local partial
        "h₁": -1,  # a value
    }
    report = t.check(answers, output=t["L"])
    assert {k: a.verdict for k, a in report.items()} == dict.fromkeys(answers, "correct")
    g = t.graph
    assert parse_key(g, f"{d}L/{d}x₁") == parse_key(g, "dL/dx1")
    assert parse_key(g, f"{d}L/{d}w₁") == parse_key(g, "dL/dw_1")


def test_a_wrong_answer_under_a_printed_key_is_still_wrong() -> None:
    t = neuron()
    assert t.check({"dL/dx₁": 4}, output=t["L"])["dL/dx₁"].verdict == "wrong"


def test_two_nodes_that_print_alike_make_the_key_an_error_naming_both() -> None:
    t = Trace()
    x1, x_1 = t.inputs("x1 x_1", values=(2, 3))
    M = t.define("M", x1 * x_1)
    with pytest.raises(ExerciseError, match=r"x₁ could be node x1 or node x_1"):
        t.check({"dM/dx₁": 3}, output=M)
    # Written as defined, each key names its own node.
    assert t.check({"dM/dx1": 3, "∂M/∂x_1": 2}, output=M).ok


EXERCISE = """\
output = "L"

[inputs]
x1 = 1
w_1 = 2
x2 = 3
w_2 = -1

[define]
h_1 = "w_1*x1 + w_2*x2"
L = "h_1**2"

[answers]
"dL/dx₁" = -4
"∂L/∂w₂" = -6
"∂h₁/∂w₁" = "x1"
"""


def test_printed_keys_in_exercise_files_and_symtrace_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = loads(EXERCISE).check()
    assert report.ok and list(report) == ["dL/dx₁", "∂L/∂w₂", "∂h₁/∂w₁"]
    path = tmp_path / "neuron.toml"
    path.write_text(EXERCISE, encoding="utf-8")
    assert main(["check", str(path)]) == 0
    assert "dL/dx₁" in capsys.readouterr().out
    ambiguous = tmp_path / "ambiguous.toml"
    ambiguous.write_text(
        '[inputs]\nx1 = 1\nx_1 = 2\n[define]\nL = "x1*x_1"\n[answers]\n"dL/dx₁" = 2\n',
        encoding="utf-8",
    )
    assert main(["check", str(ambiguous)]) == 2
    assert "could be node x1 or node x_1" in capsys.readouterr().err


def test_one_subscript_mapping_for_keys_and_the_lenient_reader() -> None:
    assert spellings("x₁") == ("x1", "x_1")
    assert spellings("h₁₂") == ("h12", "h_12")
    assert spellings("x") == spellings("x1") == spellings("₁") == ()
    assert normalise("x₁ + x₂") == "x1 + x2"  # the lenient reader's digits are the keys'
