"""Names are NFKC-normalised at every entry point, as Python's identifiers are (STYLE
trap 18): a look-alike can neither shadow nor miss a node (issue 16)."""

from __future__ import annotations

import pytest

from symtrace import DuplicateNameError, ExerciseError, Trace
from symtrace.exercise import loads

FULLWIDTH_X = "\uff58"  # ｘ
FULLWIDTH_B = "\uff42"  # ｂ


def test_trace_names_are_normalised_and_look_alikes_are_duplicates() -> None:
    t = Trace()
    x = t.input(FULLWIDTH_X, 1)
    assert x.name == "x" and t[FULLWIDTH_X] is x and t["x"] is x
    with pytest.raises(DuplicateNameError, match="which Python reads as 'x'"):
        t.define(FULLWIDTH_X, "2")
    with pytest.raises(DuplicateNameError):
        t.input("x", 2)
    assert len(t) == 1


def test_inputs_reject_look_alikes_before_adding_any() -> None:
    t = Trace()
    with pytest.raises(DuplicateNameError):
        t.inputs([FULLWIDTH_X, "x"])
    assert len(t) == 0


def test_parser_and_keys_read_look_alikes_as_the_node() -> None:
    t = Trace()
    t.input("x", 2)
    y = t.define("y", f"3*{FULLWIDTH_X}")
    assert t.value(y) == 6.0
    r = t.check({f"dy/d{FULLWIDTH_X}": 3, FULLWIDTH_X: 2, "dy/dx": f"{FULLWIDTH_X}*0 + 3"})
    assert r.ok, str(r)


def test_exercise_keys_are_normalised() -> None:
    ex = loads(
        f'[inputs]\n"{FULLWIDTH_B}" = 3\na = 2\n[define]\nL = "a*{FULLWIDTH_B}"\n'
        f'[answers]\n"dL/d{FULLWIDTH_B}" = 2\n"{FULLWIDTH_B}" = 3\n"dL/da" = "{FULLWIDTH_B}"\n'
    )
    assert ex.check().ok
    with pytest.raises(ExerciseError, match="already used"):
        loads(f'[inputs]\n"{FULLWIDTH_X}" = 3\nx = 2\n[define]\nL = "x"\n')


def test_a_huge_name_is_quoted_as_an_excerpt() -> None:
    t = Trace()
    t.input("a" * 5000)
    with pytest.raises(DuplicateNameError) as info:
        t.input("a" * 5000)
    assert len(str(info.value)) < 300
