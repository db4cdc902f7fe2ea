"""Every ``>>>`` example in README.md and docs/*.md runs, so the docs cannot rot.

Fenced code blocks (```python / ```pycon / ```{code-block} python) that contain ``>>>``
are joined, per file, into one doctest: later blocks see the names earlier ones made.
"""

from __future__ import annotations

import doctest
import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
FENCE = re.compile(r"^(`{3,}|~{3,})[^\n]*\n(.*?)^\1[ \t]*$", re.M | re.S)
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


class UnicodeChecker(doctest.OutputChecker):
    """Compare in NFC: an editor may store ``ẋ`` precomposed, SymPy prints x + U+0307."""

    def check_output(self, want: str, got: str, optionflags: int) -> bool:
        nfc = unicodedata.normalize
        return super().check_output(nfc("NFC", want), nfc("NFC", got), optionflags)


def examples(path: Path) -> str:
    blocks = [m.group(2) for m in FENCE.finditer(path.read_text(encoding="utf-8"))]
    return "\n\n".join(b for b in blocks if ">>>" in b)


def test_there_are_documents_with_examples() -> None:
    assert (ROOT / "README.md").exists()
    assert sum(bool(examples(p)) for p in FILES) >= 2


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_markdown_examples_run(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # examples refer to files such as examples/seed000.toml
    text = examples(path)
    if not text:
        pytest.skip("no >>> examples in this file")
    test = doctest.DocTestParser().get_doctest(text, {}, path.name, str(path), 0)
    runner = doctest.DocTestRunner(checker=UnicodeChecker(), optionflags=FLAGS)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {path}"
