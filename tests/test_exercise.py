"""Exercise files (TOML): the minimal DESIGN.md format, extensions, and errors with places."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from symtrace import ExerciseError
from symtrace.exercise import MAX_FILE_BYTES, dumps, load, loads

from guards import HANG_TIMEOUT, finishes_within

ROOT = Path(__file__).resolve().parent.parent

MINIMAL = """\
output = "L"

[inputs]          # name = value, in order
a = 2
b = -3
c = 10
f = -2

[define]          # name = "expression", in evaluation order
e = "a*b"
d = "e + c"
L = "d*f"

[answers]         # what the student claims; keys as in Trace.check
"L" = -8
"dL/dd" = -2
"dL/de" = "f"
"dL/da" = 6
"""


def test_minimal_design_format_works() -> None:
    ex = loads(MINIMAL)
    assert [s.name for s in ex.trace.nodes] == ["a", "b", "c", "f", "e", "d", "L"]
    assert ex.output.name == "L" and ex.trace.value("L") == -8.0
    r = ex.check()
    assert r.ok and list(r) == ["L", "dL/dd", "dL/de", "dL/da"]


def test_examples_directory() -> None:
    assert load(ROOT / "examples" / "seed000.toml").check().ok
    r = load(ROOT / "examples" / "seed000-carried.toml").check()
    assert r.first_error == "∂d/∂e"
    assert [a.verdict for a in r.values()].count("carried") == 3


def test_extensions_title_tolerance_floats_and_default_output() -> None:
    text = """\
title = "T"
description = "D"
[inputs]
x = 0.5
k = "1/3"
[define]
y = "x*k"
[answers]
y = 0.17
"dy/dx" = 0.333333
[tolerance]
rel = 1e-3
abs = 0
"""
    ex = loads(text, source="t.toml")
    assert ex.title == "T" and ex.description == "D" and ex.output.name == "y"
    assert ex.rel_tol == 1e-3 and ex.abs_tol == 0.0
    assert ex.trace.value("y", exact=True) == 1 / 6 or str(ex.trace.value("y", exact=True)) == "1/6"
    assert ex.answers["y"] == "0.17"  # TOML floats keep their written text
    r = ex.check()
    assert r.ok and r.source == "t.toml" and r.title == "T"


def test_blank_answers_and_commented_keys() -> None:
    text = MINIMAL.replace('"dL/da" = 6', '"dL/da" = ""\n# "dL/db" = ""')
    r = loads(text).check()
    assert r.blank == ("dL/da",) and not r.ok


def err(text: str) -> str:
    with pytest.raises(ExerciseError) as info:
        loads(text, source="x.toml")
    return str(info.value)


@pytest.mark.parametrize(
    "text, words",
    [
        ('[inputs]\na = 1\n[define]\nL = "a + q"\n', ["x.toml:4:10", "unknown name 'q'"]),
        (
            '[inputs]\na = 1\n[define]\nd = "e + 1"\ne = "d*a"\n',
            ["x.toml:4:6", "'e' is defined later (line 5)", "no cycles"],
        ),
        ('[inputs]\na = 1\n[define]\nd = "a"\nd = "a"\n', ["invalid TOML", "line 5"]),
        ('[inputs]\na = 1\n[define]\na = "2*a"\n', ["x.toml:4:5", "already used"]),
        ('[inputs]\na = "two"\n', ["x.toml:2:6", "input 'a'", "unknown name 'two'"]),
        ("[inputs]\na = true\n", ["x.toml:2:5", "expected a number"]),
        ("[inputs]\na = [[1], [2, 3]]\n", ["x.toml:2:5", "ragged"]),  # [1] is a matrix
        ("[inputs]\na = nan\n", ["x.toml:2:5", "not a number literal"]),
        ('[inputs]\na = 1\n[define]\nL = "a.__class__"\n', ["x.toml:4:6", "attribute"]),
        ('[inputs]\na = 1\n[define]\nL = "log(a - 1)"\n', ["x.toml", "L"]),
        ('[inputs]\na = 1\n[answers]\n"dq/da" = 1\n', ["x.toml:4:11", "no node named 'q'"]),
        ('[inputs]\na = 1\n[answers]\na = "a +"\n', ["x.toml:4:6", "answer 'a'"]),
        ("[inputs]\na = 1\n[answers]\na = [1, 2]\n", ["x.toml:4:5", "expected a number"]),
        ("[inputs]\na = 1\n[tolerance]\nrel = -1\n", ["x.toml:4:7", ">= 0"]),
        ("[inputs]\na = 1\n[tolerance]\nrelative = 1\n", ["unknown tolerance"]),
        ("inputs = 3\n", ["must be a table"]),
        ('[define]\nL = "1"\n', ["missing the [inputs] table"]),
        ("[inputs]\na = 1\n[extra]\n", ["unknown top-level key"]),
        ('output = "zz"\n[inputs]\na = 1\n', ["x.toml:1:10", "output 'zz'"]),
        ("[inputs\n", ["invalid TOML"]),
    ],
)
def test_invalid_files_say_where_and_what(text: str, words: list[str]) -> None:
    message = err(text)
    for w in words:
        assert w in message, (w, message)


def test_load_rejects_unreadable_and_huge_files(tmp_path: Path) -> None:
    with pytest.raises(ExerciseError, match="cannot read"):
        load(tmp_path / "missing.toml")
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * MAX_FILE_BYTES)
    with pytest.raises(ExerciseError, match="larger than"):
        finishes_within(HANG_TIMEOUT, load, big)
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b"title = '\xe9'\n")
    with pytest.raises(ExerciseError, match="not UTF-8"):
        load(latin)


def test_dumps_round_trips() -> None:
    text = dumps(
        {"a": 2, "b": -3},
        {"e": "a*b", "L": "e + 1"},
        {"e": -6, "∂L/∂e": None, "dL/da": "b"},
        output="L",
        title='a "quoted" title',
    )
    ex = loads(text)
    assert ex.title == 'a "quoted" title'
    r = ex.check()
    assert r.blank == ("∂L/∂e",) and r["e"].correct and r["dL/da"].correct
    assert json.loads(text.splitlines()[0].split("=", 1)[1]) == 'a "quoted" title'


def test_matrix_inputs_over_several_lines_and_no_dotted_keys_inside_inline_tables() -> None:
    """Arrays and inline tables are allowed where matrices and shapes live; the prescan
    follows them over several lines and still refuses dotted keys inside them."""
    from symtrace.errors import ExerciseError

    ok = (
        '[inputs]\nW = [[1, 2],\n  [3, 4]]\nx = {shape = [2, 1]}\n[define]\nz = "W @ x"\n'
        'L = "sum(z)"\n'
    )
    assert str(loads(ok).output) == "L"
    for hostile in ("{a.b = 1}", "{" + "a." * 100_000 + "b = 1}"):
        text = f'[inputs]\nx = {hostile}\n[define]\nL = "x"\n'
        with pytest.raises(ExerciseError, match="dotted key in an inline table"):
            finishes_within(HANG_TIMEOUT, loads, text)
