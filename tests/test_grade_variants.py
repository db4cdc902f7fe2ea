"""Per-student variants: deterministic from (student, assignment, seed), sensible, regraded."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from latex import pdflatex

from symtrace.cli import main
from symtrace.errors import ExerciseError
from symtrace.exercise import loads_key, loads_submission
from symtrace.grade import grade
from symtrace.variants import expected_answers, sheet, variant_key, variant_values

KEY = """
title = "A neuron"
assignment = "hw2"
seed = 7
output = "L"
[inputs]
x = {min = -2, max = 2, step = 0.5}
w = [0.5, 1, 1.5]
b = {min = -1, max = 1}
[define]
z = "w*x + b"
h = "tanh(z)"
u = "relu(h)"
L = "(u - 1)**2"
[answers]
z = ""
h = ""
"dL/dh" = ""
"dL/dw" = ""
[credit]
carried = 0.5
"""
STUDENTS = [f"s{k:02d}" for k in range(40)]


def test_variants_are_deterministic_and_differ() -> None:
    key = loads_key(KEY)
    first = {s: variant_values(key, s) for s in STUDENTS}
    assert first == {s: variant_values(loads_key(KEY), s) for s in STUDENTS}
    assert len({tuple(sorted(v.items())) for v in first.values()}) > 10
    other = loads_key(KEY.replace('assignment = "hw2"', 'assignment = "hw3"'))
    assert [variant_values(other, s) for s in STUDENTS] != list(first.values())


def test_variants_are_the_same_in_other_processes_and_hash_seeds(tmp_path: Path) -> None:
    (tmp_path / "key.toml").write_text(KEY, encoding="utf-8")
    code = (
        "import json, sys; from symtrace.exercise import load_key; "
        "from symtrace.variants import variant_values; k = load_key(sys.argv[1]); "
        f"print(json.dumps({{s: {{n: str(v) for n, v in variant_values(k, s).items()}} "
        f"for s in {STUDENTS!r}}}))"
    )
    outputs = []
    for hashseed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=hashseed)
        proc = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / "key.toml")],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=True,
        )
        outputs.append(json.loads(proc.stdout))
    here = {s: {n: str(v) for n, v in variant_values(loads_key(KEY), s).items()} for s in STUDENTS}
    assert outputs[0] == outputs[1] == outputs[2] == here


def test_no_kink_and_no_saturation() -> None:
    key = loads_key(
        "[inputs]\nx = {min = -10, max = 10}\ny = [-1, 0, 1]\n"
        '[define]\nh = "tanh(x)"\nr = "relu(y)"\nL = "h + r"\n[answers]\n"dL/dx" = ""\n'
    )
    for s in STUDENTS:
        v = variant_values(key, s)
        assert abs(v["x"]) <= 3 and v["y"] != 0
    stuck = loads_key('[inputs]\nx = [0]\n[define]\nL = "relu(x)"\n[answers]\n"dL/dx" = ""\n')
    with pytest.raises(ExerciseError, match="no sensible variant"):
        variant_values(stuck, "ada")


def test_grade_recomputes_the_students_variant() -> None:
    key = loads_key(KEY)
    mine = variant_key(key, "ada")
    right = expected_answers(mine)
    lines = "\n".join(f'"{k}" = "{v:.6g}"' for k, v in right.items())
    result = grade(key, loads_submission(f'student = "ada"\n[answers]\n{lines}\n'))
    assert result.ok and result.points == 4
    # Bob hands in Ada's answers: they are not right for his variant.
    assert variant_values(key, "bob") != variant_values(key, "ada")
    copied = grade(key, loads_submission(f'student = "bob"\n[answers]\n{lines}\n'))
    assert not copied.ok


def test_variants_command_writes_sheets_that_grade(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "key.toml").write_text(KEY, encoding="utf-8")
    (tmp_path / "roster.csv").write_text("name,student\nAda,ada\nBob,bob\n", encoding="utf-8")
    argv = ["variants", str(tmp_path / "key.toml"), "--roster", str(tmp_path / "roster.csv")]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    assert main([*argv, "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["ada.key.toml", "ada.toml", "bob.key.toml", "bob.toml"]
    for name in names:  # running it twice gives the same files
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()
    assert main(["check", str(tmp_path / "a" / "ada.key.toml")]) == 0
    # Ada fills in her sheet with her key's answers: graded correct against the class key.
    answers = (tmp_path / "a" / "ada.key.toml").read_text().split("[answers]")[1]
    sheet_text = (tmp_path / "a" / "ada.toml").read_text().split("[answers]")[0]
    (tmp_path / "ada-done.toml").write_text(sheet_text + "[answers]" + answers)
    capsys.readouterr()
    code = main(["grade", str(tmp_path / "key.toml"), str(tmp_path / "ada-done.toml")])
    out, _ = capsys.readouterr()
    assert code == 0 and "ada" in out and "4/4" in out


def test_sheet_markdown_and_latex(tmp_path: Path) -> None:
    key = variant_key(loads_key(KEY), "ada")
    md = sheet(key, "markdown")
    assert "## Questions" in md and "## Answer key" in md and "`dL/dw` = ________" in md
    tex = sheet(key, "latex")
    assert tex.startswith("\\documentclass") and "Answer key" in tex
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")
    proc = pdflatex(tmp_path, "sheet.tex", tex)
    assert proc.returncode == 0, proc.stdout[-3000:]
