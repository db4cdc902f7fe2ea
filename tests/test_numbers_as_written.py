"""Numbers as written: inputs written ``-0.7`` and ``-0.8`` give ``u = w*x`` written
``0.56`` in every output, not the float product ``0.5599999999999999``.

Exercise inputs are exact decimals; the checker computes in floats, whose last bit
is rounding (``-1.3 + 1`` is ``-0.30000000000000004``).  Text, Markdown and LaTeX round
to 6 significant digits anyway; JSON writes the shortest decimal within 2 units in the
last place (:func:`symtrace.notation.as_written`), so a number with more digits than
that keeps them all.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from symtrace import notation as nt
from symtrace.cli import main
from symtrace.exercise import loads, loads_key, loads_submission
from symtrace.grade import as_json_lines, grade, gradescope_results

EXERCISE = """\
output = "L"
[inputs]
x = -0.7
w = -0.8
z = -1.3
[define]
u = "w*x"
v = "z + 1"
L = "u + x + v"
[answers]
x = -0.7
u = 0.56
v = -0.3
"dL/dx" = 0.2
"dL/dw" = -0.7
"""
WRITTEN = {"x": -0.7, "u": 0.56, "v": -0.3, "dL/dx": 0.2, "dL/dw": -0.7}
NOISE = re.compile(r"\d\.\d*(?:0000000|9999999)\d")


def test_the_float_arithmetic_is_noisy() -> None:
    # What the checker's floats are: the reason for as_written.
    assert -0.8 * -0.7 == 0.5599999999999999 and -1.3 + 1 == -0.30000000000000004


def test_as_written_removes_only_the_rounding() -> None:
    assert nt.as_written(-1.3 + 1) == -0.3 and nt.as_written(-0.8 + 1) == 0.2
    assert nt.as_written(0.1 + 0.2) == 0.3 and nt.as_written(0.8 * 0.7) == 0.56
    for kept in (0.8765329524347759, -7 / 48, 1 / 3, 1e-320, 2.0**-60, 123456789.123):
        assert nt.as_written(kept) == kept  # more digits than rounding explains: kept
    assert math.isnan(nt.as_written(math.nan)) and nt.as_written(0.0) == 0.0
    assert nt.as_written(3) == 3 and nt.as_written([[0.1 + 0.2]]) == [[0.3]]


def test_check_json_writes_numbers_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ex.toml"
    path.write_text(EXERCISE, encoding="utf-8")
    assert main(["check", "--format", "json", str(path)]) == 0
    out = capsys.readouterr().out
    assert not NOISE.search(out), out
    answers = {a["key"]: a for a in json.loads(out)["answers"]}
    assert {k: a["expected"] for k, a in answers.items()} == WRITTEN
    assert {k: a["claimed_value"] for k, a in answers.items()} == WRITTEN


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex"])
def test_text_markdown_and_latex_write_them_too(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ex.toml"
    path.write_text(EXERCISE, encoding="utf-8")
    assert main(["check", "--format", fmt, str(path)]) == 0
    assert main(["explain", "--format", fmt, str(path)]) == 0
    out = capsys.readouterr().out
    assert not NOISE.search(out) and "0.56" in out and "-0.3" in out


def test_grade_json_and_gradescope_write_points_as_written() -> None:
    # Ten answers of 0.1 points: the float sum is 0.9999999999999999.
    lines = [f'n{k} = "x + {k}"' for k in range(10)]
    key = loads_key(
        "[inputs]\nx = -0.3\n[define]\n"
        + "\n".join(lines)
        + '\nL = "n9"\n[answers]\n'
        + "\n".join(f"n{k} = {k - 0.3!r}" for k in range(10))
        + "\n[points]\n"
        + "\n".join(f"n{k} = 0.1" for k in range(10))
        + "\n"
    )
    sub = loads_submission(
        'student = "s"\n[answers]\n' + "\n".join(f"n{k} = {k - 0.3!r}" for k in range(10))
    )
    result = grade(key, sub)
    assert sum([0.1] * 10) != 1 and result.points == sum([0.1] * 10)
    record = json.loads(as_json_lines([result]))
    assert record["points"] == 1 and record["max_points"] == 1
    assert record["answers"][0]["expected"] == -0.3 and record["answers"][1]["expected"] == 0.7
    assert gradescope_results(result)["score"] == 1


def test_an_input_written_minus_point_three_is_minus_point_three() -> None:
    report = loads(EXERCISE).check()
    assert report["x"].expected == -0.7 and report.as_dict()["answers"][2]["expected"] == -0.3
