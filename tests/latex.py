"""Compiling the LaTeX documents symtrace writes, as a user would: pdflatex, no prompts."""

from __future__ import annotations

import subprocess
from pathlib import Path


def pdflatex(folder: Path, name: str, text: str) -> subprocess.CompletedProcess[str]:
    """Write ``text`` to ``folder/name`` and run pdflatex on it there (stops at the
    first error instead of asking)."""
    (folder / name).write_text(text, encoding="utf-8")
    return subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", name],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
