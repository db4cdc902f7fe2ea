"""Grading a class, piece by piece: keys, submissions, verdicts, points, exit codes, outputs."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from latex import pdflatex

from symtrace.cli import main
from symtrace.errors import ExerciseError
from symtrace.exercise import loads_key, loads_submission
from symtrace.grade import (
    check_key,
    feedback_latex,
    feedback_markdown,
    grade,
    gradescope_results,
)
from symtrace.trace import Trace

CLASS = Path(__file__).resolve().parent / "classroom"
KEY = """
title = "micrograd"
[inputs]
a = 2
b = -3
c = 10
f = -2
[define]
e = "a*b"
d = "e + c"
L = "d*f"
[answers]
L = -8
"dL/dd" = -2
"∂d/∂e" = 1
"dL/de" = -2
"dL/da" = 6
[points]
"dL/da" = 3
[credit]
carried = 0.5
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def submission(answers: str, student: str = "s1") -> str:
    return f'student = "{student}"\n[answers]\n{answers}\n'


# -- keys and submissions ----------------------------------------------------------


def test_key_points_and_credit_defaults() -> None:
    key = loads_key(KEY)
    assert key.points == {"L": 1, "dL/dd": 1, "∂d/∂e": 1, "dL/de": 1, "dL/da": 3}
    assert key.max_points == 7 and key.credit["carried"] == 0.5 and key.credit["wrong"] == 0
    plain = loads_key(KEY.replace("[credit]\ncarried = 0.5\n", ""))
    assert plain.credit == {"correct": 1.0, "carried": 0.0, "wrong": 0.0}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[points]\n"dL/dq" = 1\n', "not in [answers]"),
        ("[credit]\ncarried = 2\n", "between 0 and 1"),
        ("[credit]\nblank = 0.5\n", "unknown verdict 'blank'"),
        ("homework = 1\n", "unknown top-level key(s) 'homework'"),
        ("assignment = 3\n", "'assignment' must be a string"),
    ],
)
def test_key_errors_name_the_place(extra: str, message: str) -> None:
    text = KEY.replace('[points]\n"dL/da" = 3\n', "").replace("[credit]\ncarried = 0.5\n", "")
    text = text + extra if extra.startswith("[") else extra + text
    with pytest.raises(
        ExerciseError,
        match=message.replace("(", r"\(")
        .replace(")", r"\)")
        .replace("[", r"\[")
        .replace("]", r"\]"),
    ):
        loads_key(text, source="key.toml")


def test_key_needs_answers_and_its_answers_must_be_right() -> None:
    with pytest.raises(ExerciseError, match="no \\[answers\\]"):
        loads_key('[inputs]\na = 1\n[define]\nL = "2*a"\n')
    key = loads_key(KEY.replace('"dL/da" = 6', '"dL/da" = 5'), source="key.toml")
    with pytest.raises(ExerciseError, match=r"key.toml: the key's own answer dL/da = 5 is wrong"):
        check_key(key)


def test_submission_needs_a_student() -> None:
    with pytest.raises(ExerciseError, match="no student id"):
        loads_submission("[answers]\nL = 1\n", source="s.toml")
    with pytest.raises(ExerciseError, match="unknown top-level key"):
        loads_submission('student = "x"\n[answer]\nL = 1\n')
    sub = loads_submission(submission('"dL/da" = 0.50'))
    assert sub.answers == {"dL/da": "0.50"} and sub.inputs is None


# -- verdicts and points ------------------------------------------------------------


def test_each_answer_on_its_own() -> None:
    key = loads_key(KEY)
    sub = loads_submission(
        submission('L = -8\n"dL/dd" = "-2,0"\n"∂d/∂e" = -1\n"dL/de" = 2\n"dL/da" = "2 +"')
    )
    result = grade(key, sub)
    verdicts = {line.key: line.verdict for line in result.lines}
    assert verdicts == {
        "L": "correct",
        "dL/dd": "unreadable",
        "∂d/∂e": "wrong",
        "dL/de": "carried",
        "dL/da": "unreadable",
    }
    assert result.points == 1 + 0.5 and result.max_points == 7 and not result.ok
    assert "line 7" in result.lines[4].explanation  # the parser's position, in the file


def test_absent_and_empty_answers_are_blank_and_not_all_correct() -> None:
    key = loads_key(KEY)
    empty = grade(key, loads_submission('student = "x"\n[answers]\n'))
    assert not empty.ok and empty.counts["blank"] == 5 and empty.points == 0
    missing = grade(key, loads_submission('student = "x"\n'))
    assert not missing.ok and "empty or missing" in missing.flags[0]


def test_points_and_credit_reach_the_report() -> None:
    key = loads_key(KEY)
    sub = loads_submission(submission('"∂d/∂e" = -1\n"dL/de" = 2\n"dL/da" = -6'))
    result = grade(key, sub)
    report = result.report
    assert report is not None
    assert report["dL/da"].points == 1.5 and report["dL/de"].points == 0.5
    assert report.points == 2.0 and report.max_points == 7
    data = report.as_dict()
    assert data["points"] == 2.0 and data["max_points"] == 7
    assert data["answers"][-1]["points"] == 1.5
    assert report.score == pytest.approx(0.0)  # score stays the fraction correct


def test_plain_check_keeps_its_schema() -> None:
    t = Trace()
    a, b = t.inputs("a b", values=(2, -3))
    L = t.define("L", a * b)
    report = t.check({"dL/da": -3}, output=L)
    assert report.points is None and report.max_points is None
    assert "points" not in report.as_dict() and "points" not in report.as_dict()["answers"][0]


def test_follow_rounding_is_off_in_plain_check() -> None:
    t = Trace()
    x, w = t.inputs("x w", values=(3, 0.5))
    t.define("z", w * x)
    t.define("r", "z - 2")
    L = t.define("L", "r**2/2")
    # dL/dr = r = -0.5 exactly; the student writes dL/dz with a slip, rounds it, and
    # multiplies the unrounded value: dL/dz = 0.2345 -> "0.23", dL/dw = 0.2345*3 = "0.704".
    answers = {"dL/dz": "0.23", "dL/dw": "0.704"}
    assert t.check(answers, output=L)["dL/dw"].verdict == "wrong"
    followed = t.check(answers, output=L, follow_rounding=True)["dL/dw"]
    assert followed.verdict == "carried" and followed.carried_from == ("dL/dz = 0.23",)


def test_tampered_inputs_are_flagged() -> None:
    key = loads_key(KEY)
    sub = loads_submission(
        'student = "m"\n[inputs]\na = 2\nb = -4\nc = 10\nf = -2\n[define]\ne = "b*a"\n'
        "[answers]\nL = -8\n"
    )
    result = grade(key, sub)
    assert result.flags == ("[inputs] b = -4 differs from the key (-3); graded against the key",)
    assert result.lines[0].verdict == "correct"


# -- the command --------------------------------------------------------------------


def write(tmp: Path, name: str, text: str) -> str:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_exit_codes_folders_and_stdin(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = write(tmp_path, "key.toml", KEY)
    folder = tmp_path / "class"
    folder.mkdir()
    right = submission('L = -8\n"dL/dd" = -2\n"∂d/∂e" = 1\n"dL/de" = "f"\n"dL/da" = "b*f"')
    write(folder, "b.toml", right.replace("s1", "bea"))
    write(folder, "a.toml", right.replace("s1", "al"))
    write(folder, "notes.txt", "not a submission")
    code, out, _ = run(capsys, "grade", key, str(folder))
    assert code == 0 and out.index("al (") < out.index("bea (")  # sorted, *.toml only
    assert out.count("7/7") == 2
    wrong = write(tmp_path, "w.toml", submission("L = -7"))
    assert run(capsys, "grade", key, str(folder), wrong)[0] == 1
    code, out, err = run(capsys, "grade", key, wrong, str(tmp_path / "missing.toml"))
    assert code == 2 and "cannot read" in err and "Traceback" not in err
    monkeypatch.setattr("sys.stdin", io.StringIO(right))
    code, out, _ = run(capsys, "grade", "--format", "json", key, "-")
    assert code == 0 and json.loads(out)["source"] == "<stdin>"
    bad_key = write(tmp_path, "bad.toml", KEY.replace("L = -8", "L = -9"))
    code, _, err = run(capsys, "grade", bad_key, str(folder))
    assert code == 2 and "the key's own answer L = -9 is wrong" in err


def test_gradescope_results_follow_the_specification() -> None:
    """Gradescope's autograder spec (results.json): top-level ``score`` (float, required
    when tests have no scores) and optional ``output``, ``visibility``; ``tests`` a list
    of objects with ``name``, ``score``, ``max_score``, ``status`` ("passed"/"failed"),
    ``output`` and ``visibility`` ("hidden", "after_due_date", "after_published",
    "visible")."""
    key = loads_key(KEY)
    sub = loads_submission(submission('L = -8\n"∂d/∂e" = -1\n"dL/de" = 2\n"dL/da" = "2a"'))
    data = json.loads(json.dumps(gradescope_results(grade(key, sub))))
    assert set(data) == {"score", "output", "visibility", "tests"}
    assert isinstance(data["score"], float) and data["score"] == 1.5
    assert data["visibility"] == "visible" and data["output"].startswith("1.5 of 7 points")
    assert [t["name"] for t in data["tests"]] == ["L", "dL/dd", "∂d/∂e", "dL/de", "dL/da"]
    for test in data["tests"]:
        assert set(test) == {"name", "score", "max_score", "status", "output", "visibility"}
        assert isinstance(test["score"], float) and isinstance(test["max_score"], float)
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in ("passed", "failed") and test["visibility"] == "visible"
        assert isinstance(test["output"], str) and test["output"]
    scores = [(t["score"], t["max_score"], t["status"]) for t in data["tests"]]
    assert scores == [
        (1.0, 1.0, "passed"),
        (0.0, 1.0, "failed"),
        (0.0, 1.0, "failed"),
        (0.5, 1.0, "failed"),
        (0.0, 3.0, "failed"),
    ]
    assert sum(s for s, _, _ in scores) == data["score"]
    assert data["tests"][1]["output"] == "blank: no answer given"
    assert data["tests"][4]["output"].startswith("wrong: (read as 2*a)")


def test_feedback_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys,
        "grade",
        "--feedback",
        str(tmp_path / "fb"),
        str(CLASS / "key.toml"),
        str(CLASS / "submissions" / "05-erin.toml"),
        str(CLASS / "submissions" / "18-ursula.toml"),
    )
    assert code == 2 and "wrote 4 feedback files" in err
    names = sorted(p.name for p in (tmp_path / "fb").iterdir())
    assert names == ["18-ursula.md", "18-ursula.tex", "erin.md", "erin.tex"]
    md = (tmp_path / "fb" / "erin.md").read_text(encoding="utf-8")
    assert "**6 of 10 points**" in md and "carried from your dL/dz = -0.25" in md


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_feedback_latex_compiles(tmp_path: Path) -> None:
    from symtrace.exercise import load_key
    from symtrace.grade import grade_all

    key = load_key(CLASS / "key.toml")
    results = grade_all(key, [str(CLASS / "submissions")])
    hostile = loads_submission(
        'student = "x₁ 学生 #1 & $50_%"\n[answers]\n'
        "z = '\\input{/etc/passwd} \\def\\x{} ^^5c }{'\n"
        "h = '\\frac{1}{0}'\n"
        'L = "x₁²"\n',
        source="hostile.toml",
    )
    results.append(grade(key, hostile))
    text = "".join(feedback_latex(key, r) for r in results[:1])
    everyone = "\n".join(
        feedback_latex(key, r).split("\\begin{document}")[1].split("\\end{document}")[0]
        for r in results
    )
    doc = (
        text.split("\\begin{document}")[0] + "\\begin{document}\n" + everyone + "\\end{document}\n"
    )
    proc = pdflatex(tmp_path, "all.tex", doc)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (tmp_path / "all.pdf").stat().st_size > 1000
    assert feedback_markdown(key, results[0]).startswith("# One neuron: feedback for alice")


def test_gradebook_cells_are_not_formulas() -> None:
    from symtrace.grade import gradebook_csv

    key = loads_key(KEY)
    result = grade(key, loads_submission(submission("L = -8", student='=HYPERLINK(\\"x\\")')))
    row = list(csv.reader(io.StringIO(gradebook_csv(key, [result]))))[1]
    assert row[0] == '\'=HYPERLINK("x")' and row[2:4] == ["1", "7"]
