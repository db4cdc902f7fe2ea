"""The docs render their math without a CDN (a local MathJax), so they work offline."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_docs_use_a_local_mathjax() -> None:
    conf = (DOCS / "conf.py").read_text(encoding="utf-8")
    assert '"sphinx-mathjax-offline"' in conf
    assert "mathjax_path" not in conf or "http" not in conf.split("mathjax_path", 1)[1][:200]
