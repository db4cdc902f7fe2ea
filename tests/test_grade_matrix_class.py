"""A class of matrix submissions graded end to end, per-student matrix variants, sheets.

tests/classroom-matrix/key.toml is a linear layer with numbers small enough to work out
by hand (its comments do); each submission says in a comment what it does and what it
earns, and tests/classroom-matrix/expected-gradebook.csv was written from those notes.
"""

from __future__ import annotations

import json
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies
from latex import pdflatex
from test_grade_class import rows, run
from test_html import embedded

from symtrace.errors import ExerciseError
from symtrace.exercise import load_key, loads_key, loads_submission
from symtrace.grade import (
    Graded,
    Line,
    feedback_latex,
    feedback_markdown,
    grade,
    grade_all,
    summary,
)
from symtrace.variants import expected_answers, sheet, variant_key, variant_values

CLASS = Path(__file__).resolve().parent / "classroom-matrix"


@pytest.fixture
def in_class(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(CLASS)
    return CLASS


def graded() -> dict[str | None, Graded]:
    key = load_key(CLASS / "key.toml")
    return {r.student: r for r in grade_all(key, [str(CLASS / "submissions")])}


def lines_of(student: str) -> dict[str, Line]:
    return {line.key: line for line in graded()[student].lines}


def test_gradebook_matches_the_hand_graded_one(
    capsys: pytest.CaptureFixture[str], in_class: Path
) -> None:
    code, out, err = run(capsys, "grade", "--format", "csv", "key.toml", "submissions")
    assert code == 2  # one file is unusable; it is still in the gradebook
    assert "10-jon.toml: no student id" in err
    got = rows(out)
    want = rows((CLASS / "expected-gradebook.csv").read_text(encoding="utf-8"))
    assert list(got[0]) == list(want[0])
    assert [r["file"] for r in got] == [r["file"] for r in want]
    for g, w in zip(got, want, strict=True):
        assert g.pop("error").startswith(w.pop("error")), g["file"]
        assert g == w, g["file"]


def test_named_mistakes_and_partial_credit() -> None:
    dan, eve, fay, gus = (lines_of(s) for s in ("dan", "eve", "fay", "gus"))
    assert dan["dL/dW"].mistake == "transposed" and dan["dL/dW"].points == 1
    assert "2 of 4 entries wrong" in dan["dL/dW"].explanation
    assert eve["dL/dx"].mistake == "missing-transpose" and eve["dL/dx"].points == 0
    assert fay["dL/dW"].mistake == "wrong-order"
    assert "wrong shape: yours is 1×1" in fay["dL/dW"].explanation
    assert fay["dL/db"].mistake == "transposed" and fay["dL/db"].points == 0
    assert gus["dL/dW"].mistake is None and gus["dL/dW"].points == 1.5
    assert "[[0.25, 1], [-0.5, 2 ✗]]" in gus["dL/dW"].explanation


def test_per_entry_credit_can_be_turned_off() -> None:
    text = (CLASS / "key.toml").read_text(encoding="utf-8")
    key = loads_key(text.replace("carried = 0.5", "carried = 0.5\nentries = 0"))
    got = {
        r.student: r.points for r in grade_all(key, [str(CLASS / "submissions" / "07-gus.toml")])
    }
    assert got == {"gus": 6}  # the 3-of-4 dL/dW earns nothing
    with pytest.raises(ExerciseError, match="entries"):
        loads_key(text.replace("carried = 0.5", "carried = 0.5\nentries = 2"))


def test_carried_errors_name_the_first_error() -> None:
    cat, hal = lines_of("cat"), lines_of("hal")
    assert cat["dL/dr"].verdict == "wrong"
    for k in ("dL/dz", "dL/dW", "dL/db", "dL/dx"):
        assert cat[k].verdict == "carried"
        assert "first error: dL/dr" in cat[k].explanation
    # hal: the carried credit (0.5) and the share of right entries (0.5) agree
    assert [hal[k].points for k in ("dL/dz", "dL/dW", "dL/db", "dL/dx")] == [0.5, 1, 0.5, 1]
    assert graded()["hal"].first_error == "dL/dz"


def test_unreadable_and_blank_matrix_answers() -> None:
    ivy = lines_of("ivy")
    assert ivy["dL/dW"].verdict == "unreadable"
    assert "unknown name 'delta'" in ivy["dL/dW"].explanation
    assert "this exercise defines W, x, b, y, z, r, L" in ivy["dL/dW"].explanation
    assert ivy["dL/db"].verdict == "unreadable" and "ragged" in ivy["dL/db"].explanation
    assert ivy["dL/dx"].verdict == "blank"
    sub = loads_submission('student = "q"\n[answers]\n"dL/dW" = []\nz = [[], []]\n')
    result = grade(load_key(CLASS / "key.toml"), sub)
    assert {line.key: line.verdict for line in result.lines}["dL/dW"] == "blank"
    assert {line.key: line.verdict for line in result.lines}["z"] == "blank"


def test_a_copied_matrix_input_that_differs_is_flagged() -> None:
    assert graded()["lee"].flags == (
        "[inputs] W = [[1, 2], [0, 1]] differs from the key ([[1, 2], [0, -1]]); "
        "graded against the key",
    )
    same = loads_submission(
        'student = "q"\n[inputs]\nW = [[1, 2.0], [0, -1]]\n[define]\nz = "b + W @ x"\n'
        "[answers]\nz = [[4.5], [-1]]\n"
    )
    assert grade(load_key(CLASS / "key.toml"), same).flags == ()


def test_gradescope_json_and_summary(capsys: pytest.CaptureFixture[str], in_class: Path) -> None:
    code, out, _ = run(capsys, "grade", "--format", "gradescope", "key.toml", "submissions")
    found = [json.loads(line) for line in out.splitlines()]
    assert code == 2 and [f["score"] for f in found] == [8, 8, 4, 7, 6, 5, 7.5, 5, 3, 0, 8, 4]
    dan = {t["name"]: t for t in found[3]["tests"]}
    assert dan["dL/dW"]["status"] == "failed" and dan["dL/dW"]["max_score"] == 2
    assert "transposed result" in dan["dL/dW"]["output"]
    assert dan["dL/dx"]["output"] == "correct: dL/dx = Wᵀ · dL/dz"
    code, out, _ = run(capsys, "grade", "--format", "json", "key.toml", "submissions")
    data = [json.loads(line) for line in out.splitlines()]
    assert data[0]["schema"] == "symtrace.matrix-report/1" and data[0]["student"] == "ann"
    hal = {a["key"]: a for a in data[7]["answers"]}
    assert hal["dL/dW"]["verdict"] == "carried" and hal["dL/dW"]["points"] == 1
    assert hal["dL/dW"]["claimed"] == [["0.25", 1], ["0.5", 2]]  # as written
    assert hal["dL/dW"]["entries"] == [[True, True], [False, False]]
    assert data[8]["counts"]["unreadable"] == 2 and data[8]["points"] == 3
    text = summary(load_key("key.toml"), grade_all(load_key("key.toml"), ["submissions"]))
    lines = text.splitlines()
    assert lines[:2] == [
        "11 submissions graded, 1 unusable",
        "most common first error: dL/dW (3 of 11)",
    ]
    dw = next(line for line in lines if line.startswith("dL/dW:"))
    assert dw.startswith("dL/dW: correct 36%, carried 27%, wrong 27%")


def test_feedback_markdown_shows_the_matrices() -> None:
    key = load_key(CLASS / "key.toml")
    md = feedback_markdown(key, graded()["hal"])
    assert "**5 of 8 points**" in md
    assert "- ✓ `z` = `[[4.5], [-1]]`: **correct** (1/1). z = W @ x + b" in md
    assert "  ```text\n    step: dL/dW = dL/dz · xᵀ\n          (2×2) = (2×1) · (1×2)" in md
    assert "    yours:    [[0.25, 1], [0.5 ✗, 2 ✗]]\n  ```" in md


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_feedback_latex_of_the_class_compiles(tmp_path: Path) -> None:
    key = load_key(CLASS / "key.toml")
    results = graded()
    doc = feedback_latex(key, results["hal"])
    assert "\\begin{bmatrix}0.25 & 1 \\\\ {\\color{red}0.5} & {\\color{red}2}\\end{bmatrix}" in doc
    assert "x$^{\\mathsf{T}}$" in doc and "U+" not in doc
    for student, result in results.items():
        proc = pdflatex(tmp_path, f"{student or 'none'}.tex", feedback_latex(key, result))
        assert proc.returncode == 0, (student, proc.stdout[-2000:])


def test_the_key_itself_is_checked() -> None:
    text = (CLASS / "key.toml").read_text(encoding="utf-8")
    bad = loads_key(text.replace('"dL/dx" = "W.T @ (z - y)"', '"dL/dx" = "W @ (z - y)"'))
    with pytest.raises(ExerciseError, match=r"the key's own answer dL/dx = W @ \(z - y\) is wrong"):
        grade_all(bad, [str(CLASS / "submissions" / "01-ann.toml")])


# ------------------------------------------------------------------ variants

VARIANT_KEY = """
title = "A tanh layer"
assignment = "hw-tanh"
seed = 3
output = "L"
[inputs]
W = {shape = [2, 2], min = -1, max = 1, step = 0.25}
x = [[0.5], [-1]]
y = [[1], [0]]
[variants]
x = [-1, -0.5, 0.5, 1]
saturation = 0.8
[define]
z = "W @ x"
h = "tanh(z)"
L = "sum(square(h - y)) / 2"
[answers]
h = ""
"dL/dz" = ""
"dL/dW" = ""
"dL/dx" = ""
"""
STUDENTS = [f"s{k:02d}" for k in range(30)]


def test_matrix_variants_draw_every_entry_deterministically() -> None:
    key = loads_key(VARIANT_KEY)
    assert key.shapes == {"W": (2, 2), "x": (2, 1)}
    first = {s: variant_values(key, s) for s in STUDENTS}
    assert first == {s: variant_values(loads_key(VARIANT_KEY), s) for s in STUDENTS}
    steps = {Fraction(k, 4) for k in range(-4, 5)}
    for values in first.values():
        assert np.shape(values["W"]) == (2, 2) and np.shape(values["x"]) == (2, 1)
        assert {v for row in values["W"] for v in row} <= steps
        assert {v for row in values["x"] for v in row} <= {
            Fraction(v) for v in ("-1", "-.5", ".5", "1")
        }
    distinct = {json.dumps([[str(v) for v in r] for r in vals["W"]]) for vals in first.values()}
    assert len(distinct) > 20
    for s in STUDENTS:  # no saturated tanh: |z| <= 0.8 in every entry
        t = variant_key(key, s).exercise.trace
        assert np.all(np.abs(t.value(t["z"])) <= 0.8)


def test_a_student_answering_their_own_variant_gets_every_point() -> None:
    key = loads_key(VARIANT_KEY)
    for s in STUDENTS[:5]:
        expected = expected_answers(variant_key(key, s))
        answers = {k: [[f"{v:.6g}" for v in row] for row in value] for k, value in expected.items()}
        text = f'student = "{s}"\n[answers]\n' + "".join(
            f'"{k}" = {json.dumps(v)}\n' for k, v in answers.items()
        )
        result = grade(key, loads_submission(text))
        assert result.ok and result.points == 4, (s, result.lines)
        other = grade(key, loads_submission(text.replace(f'"{s}"', '"someone-else"')))
        assert not other.ok  # the numbers of another student's variant


def test_variants_cli_writes_matrix_exercises(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "key.toml").write_text(VARIANT_KEY, encoding="utf-8")
    (tmp_path / "roster.csv").write_text("student,name\nada,Ada\nbob,Bob\n", encoding="utf-8")
    code, _, err = run(
        capsys, "variants", str(tmp_path / "key.toml"), "--roster", str(tmp_path / "roster.csv"),
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert code == 0 and "wrote 4 files for 2 students" in err
    mine = (tmp_path / "out" / "ada.toml").read_text(encoding="utf-8")
    ada = variant_values(loads_key(VARIANT_KEY), "ada")
    w = "[" + ", ".join("[" + ", ".join(_num(v) for v in row) + "]" for row in ada["W"]) + "]"
    assert f"W = {w}\n" in mine and '"dL/dW" = ""' in mine
    answer_key = load_key(tmp_path / "out" / "ada.key.toml")
    assert answer_key.exercise.check().ok
    sub = (tmp_path / "out" / "ada.key.toml").read_text(encoding="utf-8")
    answers = sub.split("[answers]\n", 1)[1]
    result = grade(
        loads_key(VARIANT_KEY), loads_submission('student = "ada"\n[answers]\n' + answers)
    )
    assert result.ok


def _num(v: Fraction) -> str:
    return str(int(v)) if v.denominator == 1 else repr(float(v))


def test_matrix_range_errors_say_how_to_write_one() -> None:
    bad = VARIANT_KEY.replace("step = 0.25}", "step = 0.25, mean = 0}")
    with pytest.raises(ExerciseError, match=r"\{shape = \[rows, cols\], min = \.\., max"):
        loads_key(bad)
    with pytest.raises(ExerciseError, match="the shape is the input's own"):
        loads_key(
            VARIANT_KEY.replace("x = [-1, -0.5, 0.5, 1]", "x = {shape = [2, 1], choices = [-1, 1]}")
        )
    symbolic = VARIANT_KEY.replace(
        "W = {shape = [2, 2], min = -1, max = 1, step = 0.25}", "W = {shape = [2, 2]}"
    )
    symbolic = symbolic.replace("x = [-1, -0.5, 0.5, 1]\n", "").replace('h = ""\n', "")
    with pytest.raises(ExerciseError, match="has a shape and no value"):
        sheet(loads_key(symbolic.replace("[variants]\n", "")))


# ------------------------------------------------------------------ sheets


def test_matrix_sheet_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sheet", str(CLASS / "key.toml"))
    assert code == 0
    assert "- `W = [[1, 2], [0, -1]]`" in out and "- `z = W @ x + b`" in out
    assert "4. `dL/dW` (2×2) = ________" in out
    assert "4. `dL/dW` = [[0.25, 1], [-0.5, -2]]" in out


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_matrix_sheet_latex_compiles(tmp_path: Path) -> None:
    key = variant_key(loads_key(VARIANT_KEY), "ada")
    doc = sheet(key, "latex")
    assert "$W = \\begin{bmatrix}" in doc and "\\item \\texttt{dL/dW} ($2 \\times 2$)" in doc
    assert "z &= W x" in doc and "U+" not in doc
    proc = pdflatex(tmp_path, "sheet.tex", doc)
    assert proc.returncode == 0, proc.stdout[-2000:]


def test_the_explorer_marks_matrix_answers(
    capsys: pytest.CaptureFixture[str], in_class: Path
) -> None:
    """`symtrace html KEY --answers SUBMISSION` on a matrix key: each answer on its node,
    with the verdict `symtrace grade` gives, the wrong entries marked and the step under
    it."""
    code, page, _ = run(capsys, "html", "key.toml", "--answers", "submissions/08-hal.toml")
    assert code == 0
    data = embedded(page)
    marked = {a["key"]: (n["name"], a) for n in data["nodes"] for a in n["answers"]}
    graded = grade(
        load_key("key.toml"),
        loads_submission((in_class / "submissions" / "08-hal.toml").read_text(encoding="utf-8")),
    ).report
    assert {k: a["verdict"] for k, (_, a) in marked.items()} == {
        k: a.verdict for k, a in graded.items()
    }
    assert marked["dL/dz"][0] == "z" and marked["z"][0] == "z" and marked["dL/dW"][0] == "W"
    dz = marked["dL/dz"][1]
    assert dz["verdict"] == "wrong" and dz["claimed"] == "[[0.5], [1 ✗]]"
    assert dz["expected"] == "[[0.5], [-1]]"
    assert "step: dL/dz" in dz["details"] and "\n" not in dz["explanation"]
    assert marked["dL/dW"][1]["verdict"] == "carried"
    assert data["report"]["counts"]["carried"] == 3
    code, page, _ = run(capsys, "html", "key.toml")
    assert code == 0 and "<html" in page.lower()


# ------------------------------------------------------------------ template keys


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=strategies.integers(0, 10**6))
@pytest.mark.parametrize("template", ["linear", "mlp", "softmax"])
def test_template_keys_grade_their_own_answers_as_correct(template: str, seed: int) -> None:
    """`symtrace new --template linear|mlp|softmax`: the answer key is a grading key, and
    a student who hands in its answers gets every point."""
    from symtrace.grade import check_key
    from symtrace.templates import matrix_exercise

    sheet = matrix_exercise(template, seed)
    key = loads_key(sheet.key, source="template.key.toml")
    check_key(key)  # the key's own answers are right
    answers = sheet.key.split("[answers]\n", 1)[1]
    result = grade(key, loads_submission(f'student = "s{seed}"\n[answers]\n' + answers))
    assert result.ok and result.points == result.max_points == len(key.exercise.answers)
    handed_out = sheet.exercise.split("[answers]\n", 1)[1]  # every answer ""
    blank = grade(key, loads_submission('student = "x"\n[answers]\n' + handed_out))
    assert blank.points == 0 and blank.counts["blank"] == len(key.exercise.answers)


def test_a_template_key_grades_a_class_on_the_command_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "mlp.toml"
    assert run(capsys, "new", "--template", "mlp", "--seed", "4", "-o", str(target))[0] == 0
    key = (tmp_path / "mlp.key.toml").read_text(encoding="utf-8")
    assert key.startswith("# Answer key: symtrace new --template mlp --seed 4\n")
    (tmp_path / "ada.toml").write_text(
        'student = "ada"\n[answers]\n' + key.split("[answers]\n", 1)[1], encoding="utf-8"
    )
    code, out, _ = run(capsys, "grade", str(tmp_path / "mlp.key.toml"), str(tmp_path / "ada.toml"))
    assert code == 0 and out.startswith("ada (") and " 7/7 " in out


def test_a_wrong_forward_value_carries_through_the_class_key() -> None:
    kim = lines_of("kim")
    assert kim["z"].verdict == "wrong" and kim["z"].points == 0.5
    for k in ("dL/dr", "dL/dz", "dL/dW", "dL/db", "dL/dx"):
        assert kim[k].verdict == "carried", k
        assert kim[k].explanation.startswith("carried: with your z, "), k
    assert graded()["kim"].first_error == "z" and graded()["kim"].points == 4


SYMBOLIC_KEY = """
[inputs]
W = {shape = [2, 2]}
x = {shape = [2, 1]}
[define]           # no numbers: the answers are formulas
h = "tanh(W @ x)"
L = "sum(h)"
[answers]          # dL/dh = 1, so the tanh step gives 1 − h ⊙ h
"dL/dW" = "(1 - h ⊙ h) @ x.T"
"dL/dx" = "Wᵀ @ (1 - h ⊙ h)"
"""


def test_a_symbolic_key_grades_formulas_without_entry_credit() -> None:
    key = loads_key(SYMBOLIC_KEY)
    sub = loads_submission(
        'student = "q"\n[inputs]\nW = [[1, 2], [3, 4]]\n'  # nothing to differ from: no flag
        '[answers]\n"dL/dW" = "x @ (1 - h ⊙ h).T"\n"dL/dx" = "W.T @ (1 - h ⊙ h)"\n'
    )
    result = grade(key, sub)
    lines = {line.key: line for line in result.lines}
    assert lines["dL/dW"].verdict == "wrong" and lines["dL/dW"].mistake == "transposed"
    assert lines["dL/dW"].points == 0 and lines["dL/dW"].answer.entries is None  # type: ignore[union-attr]
    assert "at random matrices of the inputs' shapes" in lines["dL/dW"].explanation
    assert lines["dL/dx"].verdict == "correct" and result.points == 1 and result.flags == ()


@pytest.mark.parametrize(
    ("answer", "verdict", "says"),
    [
        ("{a = 1}", "unreadable", "expected a matrix (a list of rows), a formula or a number"),
        ("[[true]]", "unreadable", "a matrix entry is a number"),
        ("[[[1]]]", "unreadable", "a matrix entry is a number, got list"),
        ('"[[1e999]]"', "unreadable", "entries must be finite"),
        ('[["1e999"], [1]]', "unreadable", "entries must be finite"),
        ('"W @ W @ W @ W"', "wrong", "yours is 2×2, but dL/db is 2×1"),  # a power: graded
        ('"W ** 2"', "unreadable", "'**' of a matrix is ambiguous"),
        ('"x.shape"', "unreadable", "attribute access .shape is not allowed"),
        ('"W * x"', "unreadable", "'*' between two matrices is ambiguous"),
        ('"exp(1000 * z)"', "wrong", "2 of 2 entries wrong"),
        ("[[]]", "blank", "no answer given"),
    ],
)
def test_hostile_matrix_answers_are_graded_one_by_one(answer: str, verdict: str, says: str) -> None:
    key = load_key(CLASS / "key.toml")
    sub = loads_submission(f'student = "q"\n[answers]\nz = [[4.5], [-1]]\n"dL/db" = {answer}\n')
    result = grade(key, sub)
    lines = {line.key: line for line in result.lines}
    assert lines["z"].verdict == "correct"  # the rest of the file is graded all the same
    assert lines["dL/db"].verdict == verdict and says in lines["dL/db"].explanation
    json.dumps(result.as_dict(), allow_nan=False)  # valid JSON: no NaN, no Infinity
    feedback_latex(key, result)
