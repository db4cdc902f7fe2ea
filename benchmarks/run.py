"""Run the whole benchmark suite and write its tables into docs/performance.md.

    python benchmarks/run.py [--quick] [--no-write] [--only bench_files,bench_check]

Every ratio in the tables is measured in the same run, on this machine.  The results
replace the text between the ``<!-- benchmarks:start -->`` and ``<!-- benchmarks:end -->``
markers of docs/performance.md; the prose around them is kept.  Each section ends with
its targets and findings.  ``--quick`` is a smoke run (smaller sizes, under two
minutes); peers that are not installed are skipped with a note.  ``--only`` re-runs the
named sections alone and replaces just those (a line under the header says which, and
when); the other sections keep the numbers of their own run.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOC = HERE.parent / "docs" / "performance.md"
START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"
sys.path.insert(0, str(HERE))

SECTIONS = [
    ("bench_value", "symtrace.Value against micrograd"),
    ("bench_points", "Value and gradient at many points"),
    ("bench_mlp", "Repeated gradient of a 65,000-node graph"),
    ("bench_symbolic", "Symbolic gradients"),
    ("bench_big", "Big graphs"),
    ("bench_check", "Checking and differentiating 100,000-node graphs"),
    ("bench_parsing", "Parsing long and hostile expressions"),
    ("bench_matrix", "A matrix MLP: 784-128-10, softmax + cross-entropy"),
    ("bench_files", "Exercise files up to the size limits"),
    ("bench_views", "Views of long graphs"),
    ("bench_cli", "Command-line start-up: --help and --version"),
]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions() -> str:
    out = [f"Python {platform.python_version()}"]
    for mod in ("symtrace", "sympy", "numpy", "torch", "jax", "casadi", "micrograd", "dask"):
        try:
            m = importlib.import_module(mod)
        except ImportError:
            out.append(f"{mod} (not installed)")
            continue
        v = getattr(m, "__version__", None)
        if v is None:
            from importlib.metadata import version

            v = version(mod)
        out.append(f"{mod} {v}")
    return ", ".join(out)


def section(module: str, title: str, quick: bool) -> str:
    """One section of the page: its title, its tables, then its targets and findings."""
    print(f"{title} ...", flush=True)
    text, notes = importlib.import_module(module).run(quick=quick)
    found = "\n".join(f"* {n}" for n in notes)
    return f"### {title}\n\n{text}" + (f"\n\nTargets and findings:\n\n{found}" if notes else "")


def replace_sections(block: str, new: dict[str, str]) -> str:
    """``block`` (the text between the markers) with the sections titled as ``new``'s keys
    replaced by its values, or added; the sections in the order of :data:`SECTIONS`."""
    parts = block.split("\n### ")
    head = parts[0]
    sections = {p.split("\n", 1)[0]: "### " + p.rstrip("\n") for p in parts[1:]}
    sections.update(new)
    order = [t for _, t in SECTIONS]
    ranked = sorted(sections, key=lambda t: order.index(t) if t in order else len(order))
    return "\n\n".join([head.rstrip("\n"), *(sections[t] for t in ranked)])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, a smoke run")
    ap.add_argument("--no-write", action="store_true", help="print only; leave the docs alone")
    ap.add_argument("--only", help="comma-separated benchmark modules to re-run alone")
    args = ap.parse_args(argv)
    titles = dict(SECTIONS)
    only = args.only.split(",") if args.only else None
    unknown = [m for m in only or () if m not in titles]
    if unknown:
        ap.error(f"unknown benchmark modules {unknown}; they are: {', '.join(titles)}")
    started = time.perf_counter()
    chosen = [(m, t) for m, t in SECTIONS if only is None or m in only]
    new = {title: section(module, title, args.quick) for module, title in chosen}
    elapsed = f"{time.perf_counter() - started:.0f} s"
    header = (
        f"Measured {time.strftime('%Y-%m-%d')} with `python benchmarks/run.py"
        f"{' --quick' if args.quick else ''}` on {cpu_model()} ({os.cpu_count()} cores, "
        f"{platform.system()}) in {elapsed}; {versions()}."
    )
    doc = DOC.read_text(encoding="utf-8") if DOC.exists() else f"{START}\n{END}\n"
    if START not in doc or END not in doc:
        raise SystemExit(f"{DOC} lacks the markers {START} ... {END}")
    head, rest = doc.split(START, 1)
    old, tail = rest.split(END, 1)
    if only is None:
        block = "\n\n".join([header, *new.values()])
    else:
        names = ", ".join(f"“{t}”" for t in new)
        quick = " with --quick" if args.quick else ""
        again = f"Re-run alone{quick} on {time.strftime('%Y-%m-%d')} ({elapsed}): {names}."
        lines = [line for line in old.strip("\n").split("\n") if line.startswith("Re-run alone")]
        kept = "\n\n".join([*lines[-4:], again])  # the last few re-runs stay listed
        first, body = old.strip("\n").split("\n", 1)
        body = "\n".join(line for line in body.split("\n") if not line.startswith("Re-run alone"))
        block = replace_sections(f"{first}\n\n{kept}\n\n{body.lstrip()}", new)
    print(block)
    if args.no_write:
        return
    DOC.write_text(f"{head}{START}\n{block}\n{END}{tail}", encoding="utf-8")
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
