"""Run the whole benchmark suite and write its tables into docs/performance.md.

    python benchmarks/run.py [--quick] [--no-write]

Every ratio in the tables is measured in the same run, on this machine.  The results
replace the text between the ``<!-- benchmarks:start -->`` and ``<!-- benchmarks:end -->``
markers of docs/performance.md; the prose around them is kept.  ``--quick`` is a
smoke run (smaller sizes, under two minutes); peers that are not installed are
skipped with a note.
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


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, a smoke run")
    ap.add_argument("--no-write", action="store_true", help="print only; leave the docs alone")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    parts = [
        f"Measured {time.strftime('%Y-%m-%d')} with `python benchmarks/run.py"
        f"{' --quick' if args.quick else ''}` on {cpu_model()} ({os.cpu_count()} cores, "
        f"{platform.system()}); {versions()}.",
    ]
    all_notes: list[str] = []
    for module, title in SECTIONS:
        print(f"{title} ...", flush=True)
        text, notes = importlib.import_module(module).run(quick=args.quick)
        parts.append(f"### {title}\n\n{text}")
        all_notes += notes
    parts.append("### Targets\n\n" + "\n".join(f"* {n}" for n in all_notes))
    parts.append(f"(Suite time: {time.perf_counter() - started:.0f} s.)")
    block = "\n\n".join(parts)
    print(block)
    if args.no_write:
        return
    doc = DOC.read_text(encoding="utf-8") if DOC.exists() else f"{START}\n{END}\n"
    if START not in doc or END not in doc:
        raise SystemExit(f"{DOC} lacks the markers {START} ... {END}")
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{START}\n{block}\n{END}{tail}", encoding="utf-8")
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
