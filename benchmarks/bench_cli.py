"""How long ``symtrace --help`` and ``--version`` take: the launcher, without SymPy.

Each command runs in a fresh interpreter, as a user's shell runs it, so the time
includes Python's own start-up; the peers in the same run are an empty interpreter
(the floor) and one that only imports SymPy (what ``--help`` cost before the launcher
answered it).  The target: under 0.3 s.  ``tests/test_launcher.py`` checks that these
commands import neither SymPy nor the package; this file only times them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from common import best_time, ms, ratio, table

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.3


def command_time(*argv: str, repeats: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return best_time(
        lambda: subprocess.run(
            [sys.executable, *argv], check=True, capture_output=True, env=env, cwd=ROOT
        ),
        repeats=repeats,
    )


def run(quick: bool = False) -> tuple[str, list[str]]:
    repeats = 3 if quick else 10
    empty = command_time("-c", "pass", repeats=repeats)
    cases = [
        ("`python -c pass` (start-up alone)", empty),
        ("`python -c 'import sympy'`", command_time("-c", "import sympy", repeats=repeats)),
        ("`symtrace --help`", command_time("symtrace_launcher.py", "--help", repeats=repeats)),
        (
            "`symtrace --version`",
            command_time("symtrace_launcher.py", "--version", repeats=repeats),
        ),
        (
            "`symtrace check -h`",
            command_time("symtrace_launcher.py", "check", "-h", repeats=repeats),
        ),
        (
            "`python -m symtrace --help` (imports the package)",
            command_time("-m", "symtrace", "--help", repeats=repeats),
        ),
    ]
    rows = [[name, ms(t), ratio(t, empty)] for name, t in cases]
    slowest = max(t for name, t in cases if name.startswith("`symtrace"))
    notes = [
        f"`symtrace --help`, `--version` and `check -h` take at most {ms(slowest)} "
        f"(target: under {TARGET} s{', met' if slowest < TARGET else ', NOT met'})."
    ]
    return table(["command (fresh interpreter)", "time", "× start-up"], rows), notes


if __name__ == "__main__":
    text, notes = run("--quick" in sys.argv)
    print(text)
    print("\n".join(notes))
