"""The command line: check (exit codes, formats), explain, new, demo; hostile files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_parsing import CORPUS

from symtrace.cli import demo, main

from guards import HANG_TIMEOUT, finishes_within

ROOT = Path(__file__).resolve().parent.parent
GOOD = ROOT / "examples" / "seed000.toml"
CARRIED = ROOT / "examples" / "seed000-carried.toml"
HEADER = '[inputs]\na = 2\nb = -3\n[define]\ne = "a*b"\n'


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_exit_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(capsys, "check", str(GOOD))[0] == 0
    code, out, _ = run(capsys, "check", str(CARRIED))
    assert code == 1 and "first error: ∂d/∂e" in out
    assert run(capsys, "check", "--exit-zero", str(CARRIED))[0] == 0
    missing = tmp_path / "nope.toml"
    code, out, err = run(capsys, "check", str(missing))
    assert code == 2 and "cannot read" in err and "Traceback" not in err
    assert run(capsys, "check", "--exit-zero", str(missing))[0] == 2
    code, out, err = run(capsys, "check", str(GOOD), str(missing), str(CARRIED))
    assert code == 2 and out.count("answers (output L)") == 2
    assert run(capsys, "check")[0] == 2  # usage error
    assert run(capsys, "check", "--format", "pdf", str(GOOD))[0] == 2


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex", "json"])
def test_check_formats(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    code, out, _ = run(capsys, "check", "--format", fmt, str(CARRIED), str(GOOD))
    assert code == 1
    if fmt == "json":
        lines = out.splitlines()
        assert len(lines) == 2
        first, second = (json.loads(line) for line in lines)
        assert first["schema"] == "symtrace.report/1" and first["source"] == str(CARRIED)
        assert first["first_error"] == "∂d/∂e" and second["ok"] is True
    elif fmt == "markdown":
        assert "| answer | claimed | expected | verdict | explanation |" in out
    elif fmt == "latex":
        assert out.count("\\begin{tabular}") == 2
    else:
        assert "carried" in out and "all correct" in out


def test_internal_error_is_exit_3_with_a_hint(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import symtrace.cli

    def boom(path: str) -> None:
        raise RuntimeError("kaput")

    monkeypatch.setattr(symtrace.cli, "load", boom)
    code, _, err = run(capsys, "check", str(GOOD))
    assert code == 3 and "internal error" in err and "report it" in err and "kaput" in err
    assert "Traceback" not in err


def test_explain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "explain", str(GOOD))
    assert code == 0
    assert "micrograd lecture" in out
    assert "L     d*f         -8" in out  # forward primal trace
    assert "dL/da = dL/de · ∂e/∂a = f · b = b*f = (-2) · (-3) = 6" in out  # derivation
    for fmt in ("markdown", "latex"):
        assert run(capsys, "explain", "--format", fmt, str(GOOD))[0] == 0
    assert run(capsys, "explain", "missing.toml")[0] == 2


def test_new_writes_exercise_and_key(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "sheet.toml"
    code, _, err = run(capsys, "new", "--seed", "5", "--fan-out", "-o", str(target))
    assert code == 0 and target.exists()
    key = tmp_path / "sheet.key.toml"
    assert key.exists() and "answer key" in err
    assert run(capsys, "check", str(key))[0] == 0
    code, out, _ = run(capsys, "check", str(target))
    assert code == 1 and "blank" in out  # every answer blank
    code, out1, _ = run(capsys, "new", "--seed", "5", "--fan-out")
    assert out1 == target.read_text()
    assert run(capsys, "new", "--seed", "1", "--ops", "mul,frobnicate")[0] == 2
    assert run(capsys, "new", "--seed", "x")[0] == 2


def test_demo_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "demo")
    assert code == 0 and out == demo()
    assert "dL/da = b*f" in out


def test_readme_shows_the_demo_output_exactly() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert "```text\n" + demo() + "```" in readme


def test_subprocess_python_m_symtrace_check(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "symtrace", "check", "--format", "json", str(CARRIED)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["first_error"] == "∂d/∂e"
    bad = tmp_path / "bad.toml"
    bad.write_text(HEADER + "L = \"__import__('os').system('touch CANARY')\"\n")
    proc = subprocess.run(
        [sys.executable, "-m", "symtrace", "check", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert not (tmp_path / "CANARY").exists()


def toml_string(s: str) -> str:
    return json.dumps(s)


@pytest.mark.parametrize("where", ["define", "answers"])
@pytest.mark.parametrize("payload", CORPUS.values(), ids=CORPUS.keys())
def test_hostile_files_exit_2_and_never_hang(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, payload: str, where: str
) -> None:
    if where == "answers" and not payload.strip():
        pytest.skip("an empty answer is a blank, not an error")
    canary = tmp_path / "canary"
    text = payload.replace("CANARY", str(canary))
    if where == "define":
        body = HEADER + f"L = {toml_string(text)}\n"
    else:
        body = HEADER + f'L = "e + 1"\n[answers]\n"dL/de" = {toml_string(text)}\n'
    path = tmp_path / "hostile.toml"
    path.write_text(body, encoding="utf-8", errors="surrogatepass")
    code = finishes_within(HANG_TIMEOUT, main, ["check", str(path)])
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    assert err.startswith("symtrace check: ") and "Traceback" not in err
    assert len(err) < 2_000
    assert not canary.exists()


@pytest.mark.parametrize(
    "body, words",
    [
        ('[inputs]\na = "2*b"\n', ["input 'a'"]),
        ('[inputs]\na = "sqrt(-1)"\n', ["input 'a'"]),
        (HEADER + 'L = "e + zz"\n', ["unknown name 'zz'"]),
        (HEADER + 'e = "a"\n', ["invalid TOML"]),
        ('[inputs]\na = 1\n[define]\np = "q + 1"\nq = "p*2"\n', ["defined later", "no cycles"]),
        ('[inputs]\na = 0\n[define]\nL = "log(a)"\n', ["log"]),
    ],
)
def test_invalid_exercises_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, body: str, words: list[str]
) -> None:
    path = tmp_path / "x.toml"
    path.write_text(body)
    code, _, err = run(capsys, "check", str(path))
    assert code == 2
    for w in words:
        assert w in err, (w, err)
