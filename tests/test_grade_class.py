"""A class graded end to end: 22 hand-written submissions against tests/classroom/key.toml.

The expected gradebook (tests/classroom/expected-gradebook.csv) was worked out by hand,
answer by answer (each submission says in a comment what it does); this test compares the
command's CSV with it, and checks the other outputs of the same run.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from symtrace.cli import main
from symtrace.exercise import load_key
from symtrace.grade import grade_all, summary

CLASS = Path(__file__).resolve().parent / "classroom"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def in_class(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(CLASS)
    return CLASS


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_class_has_enough_submissions() -> None:
    assert len(list((CLASS / "submissions").glob("*.toml"))) >= 20


def test_gradebook_matches_the_hand_graded_one(
    capsys: pytest.CaptureFixture[str], in_class: Path
) -> None:
    code, out, err = run(capsys, "grade", "--format", "csv", "key.toml", "submissions")
    assert code == 2  # two files are unusable; they are still in the gradebook
    assert "18-ursula.toml: invalid TOML" in err and "19-victor.toml: no student id" in err
    got = rows(out)
    want = rows((CLASS / "expected-gradebook.csv").read_text(encoding="utf-8"))
    assert [r["file"] for r in got] == [r["file"] for r in want]
    assert list(got[0]) == list(want[0])  # same columns, same order
    for g, w in zip(got, want, strict=True):
        # The reason of an unusable file is the loader's message: the hand-written
        # gradebook gives how it starts.
        assert g["error"].startswith(w["error"]), (g["file"], g["error"])
        assert bool(g["error"]) == bool(w["error"])
        g.pop("error"), w.pop("error")
        assert g == w, g["file"]


def test_every_answer_is_graded_on_its_own(in_class: Path) -> None:
    key = load_key("key.toml")
    results = {r.student: r for r in grade_all(key, ["submissions"])}
    heidi = {line.key: line for line in results["heidi"].lines}
    assert heidi["z"].verdict == "unreadable"
    assert "decimal comma" in heidi["z"].explanation and "0.7" in heidi["z"].explanation
    assert results["heidi"].points == 9
    yolanda = {line.key: line for line in results["yolanda"].lines}
    assert [yolanda[k].verdict for k in ("z", "h", "L")] == ["unreadable"] * 3
    assert "column" in yolanda["z"].explanation
    judy = results["judy"]
    assert not judy.ok and judy.points == 0 and judy.counts["blank"] == 8
    assert any("empty" in flag for flag in judy.flags)


def test_tampered_definitions_are_graded_against_the_key(in_class: Path) -> None:
    key = load_key("key.toml")
    (mallory,) = [r for r in grade_all(key, ["submissions"]) if r.student == "mallory"]
    assert mallory.flags == (
        "[define] L = 'r**2/2' differs from the key (L = r**2); graded against the key",
    )
    assert {line.key: line.verdict for line in mallory.lines}["dL/dr"] == "wrong"


def test_rounded_intermediate_is_carried_and_names_the_claim(in_class: Path) -> None:
    key = load_key("key.toml")
    (erin,) = [r for r in grade_all(key, ["submissions/05-erin.toml"])]
    dw = {line.key: line for line in erin.lines}["dL/dw"]
    assert dw.verdict == "carried" and dw.points == 1
    assert dw.explanation.startswith("carried from your dL/dz = -0.25: ")
    assert "you wrote -0.377, the same to the precision of your rounded" in dw.explanation


def test_lenient_reading_is_echoed(in_class: Path) -> None:
    key = load_key("key.toml")
    (grace,) = grade_all(key, ["submissions/07-grace.toml"])
    lines = {line.key: line for line in grace.lines}
    assert lines["dL/dr"].read_as == "2*r" and "read as 2*r" in lines["dL/dr"].explanation
    assert lines["dL/dh"].read_as == "2*(h - y)"
    assert lines["z"].read_as is None
    (strict,) = grade_all(key, ["submissions/07-grace.toml"], lenient=False)
    assert {line.key: line.verdict for line in strict.lines}["dL/dr"] == "unreadable"


def test_gradescope_and_json_outputs_of_the_class(
    capsys: pytest.CaptureFixture[str], in_class: Path
) -> None:
    code, out, _ = run(capsys, "grade", "--format", "gradescope", "key.toml", "submissions")
    found = [json.loads(line) for line in out.splitlines()]
    assert code == 2 and len(found) == 22
    assert [f["score"] for f in found][:4] == [10.0, 10.0, 6.0, 6.5]
    assert found[17]["tests"] == [] and "could not be graded" in found[17]["output"]
    code, out, _ = run(capsys, "grade", "--format", "json", "key.toml", "submissions")
    data = [json.loads(line) for line in out.splitlines()]
    assert data[0]["schema"] == "symtrace.report/1" and data[0]["student"] == "alice"
    assert data[0]["points"] == 10 and data[0]["max_points"] == 10
    assert data[17]["error"].startswith("submissions/18-ursula.toml: invalid TOML")


def test_summary_of_the_class(in_class: Path) -> None:
    key = load_key("key.toml")
    text = summary(key, grade_all(key, ["submissions"]))
    lines = text.splitlines()
    assert lines[0] == "20 submissions graded, 2 unusable"
    # dL/dz: wrong for dave, niaj, trent (3 of 20); correct for 12; carried for 4
    # (carol, erin, mallory, walter); blank for judy (1).
    dz = next(line for line in lines if line.startswith("dL/dz:"))
    assert dz.startswith(
        "dL/dz: correct 60%, carried 20%, wrong 15%, undecided 0%, blank 5%, unreadable 0%"
    )
    assert "most common mistake: sign" in dz
