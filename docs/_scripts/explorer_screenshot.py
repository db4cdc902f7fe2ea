"""Regenerate docs/_static/explorer-seed000.png, the gallery's picture of the HTML explorer.

Run from the repository root with playwright installed and a Chromium on the machine:

    python docs/_scripts/explorer_screenshot.py [/path/to/chromium]

It writes the explorer of examples/seed000.toml marked with the answers of
examples/seed000-carried.toml, opens it headless, selects node e, steps the reverse sweep
three times and takes the screenshot.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from symtrace.exercise import load
from symtrace.html import to_html

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "_static" / "explorer-seed000.png"


def main() -> None:
    chromium = sys.argv[1] if len(sys.argv) > 1 else shutil.which("chromium")
    ex = load(ROOT / "examples" / "seed000.toml")
    report = ex.check(load(ROOT / "examples" / "seed000-carried.toml").answers)
    page_html = to_html(ex.trace.grad(ex.output), title=ex.title, report=report)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        path = Path(tmp) / "explorer.html"
        path.write_text(page_html, encoding="utf-8")
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1440, "height": 600})
        page.goto(path.as_uri())
        for _ in range(3):
            page.click('[data-action="step-reverse"]')
        page.click('[data-node="e"]')
        page.screenshot(path=str(OUT))
        browser.close()
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
