"""The package's structure: floors, no import cycles, no reads of another module's privates.

The floor table lives in ``symtrace/__init__.py``'s docstring (DESIGN.md, "Layers").
Every import counts, wherever it is written (module level, inside a function, under
``TYPE_CHECKING``): a module imports only from its own floor or below.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "symtrace"
LAUNCHER = PACKAGE.parent / "symtrace_launcher.py"
DOCSTRING = ast.get_docstring(ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8")))

#: The only import of symtrace's own code inside a function: results below the printing
#: layer render through it (DESIGN.md; as SymPy's ``_print_helpers.py`` does).
LAZY_IMPORTS = {("display", "printing")}

#: Private names of other code that symtrace may use, each with its reason.
ALLOWED_PRIVATE = {
    "_print": "SymPy's documented printer API: printer._print(sub-expression)",
    "_sanitize": "SymPy's Symbol.__new__ protocol (nodes.py subclasses Symbol)",
    "_assumptions_orig": "SymPy's Symbol pickling protocol (nodes.py subclasses Symbol)",
    "_hashable_content": "SymPy's Basic protocol for equality (nodes.py overrides it)",
    "_repr_html_": "Jupyter's display protocol",
    "_repr_latex_": "Jupyter's display protocol",
    "_repr_markdown_": "Jupyter's display protocol",
    "_repr_mimebundle_": "Jupyter's display protocol",
    "_latex": "SymPy's printer hook protocol (obj._latex(printer))",
    "_sympystr": "SymPy's printer hook protocol",
    "_mpf_": "SymPy's Float-to-mpmath interchange field (how SymPy itself converts)",
    "_replace": "namedtuple's documented copy-with-changes method",
}


def floors() -> dict[str, int]:
    """Module (first component under symtrace) -> floor, from the package docstring."""
    table = {}
    for m in re.finditer(r"^\s*floor (\d)\s+(.+)$", DOCSTRING or "", re.M):
        for name in m.group(2).split():
            table[name] = int(m.group(1))
    return table


FLOORS = floors()


def modules() -> Iterator[tuple[str, Path]]:
    """(dotted name under symtrace, path) of every module of the package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        if parts:
            yield ".".join(parts), path


def unit(dotted: str) -> str:
    """The floor-table entry of a module: its first component (``check.grader`` -> check)."""
    return dotted.split(".")[0]


def own_imports(tree: ast.Module, dotted: str, is_package: bool) -> Iterator[tuple[str, bool]]:
    """(imported symtrace module under symtrace, whether inside a function) for each import."""
    in_function: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_function.update(ast.walk(node))
    here = dotted.split(".") if is_package else dotted.split(".")[:-1]
    for node in ast.walk(tree):
        lazy = node in in_function
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)] if node.level > 1 else here
                target = ".".join([*base, node.module] if node.module else base)
                if not target:  # "from . import x"
                    for alias in node.names:
                        yield alias.name, lazy
                    continue
                yield target, lazy
            elif node.module and node.module.split(".")[0] == "symtrace":
                rest = node.module.split(".")[1:]
                if rest:
                    yield ".".join(rest), lazy
                else:
                    for alias in node.names:
                        yield alias.name, lazy
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("symtrace."):
                    yield alias.name.split(".", 1)[1], lazy


PARSED = {
    dotted: (path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
    for dotted, path in modules()
}


def test_every_module_has_a_floor() -> None:
    missing = sorted({unit(d) for d in PARSED} - set(FLOORS))
    assert not missing, f"add these modules to the floor table in symtrace/__init__.py: {missing}"


def test_modules_import_only_from_their_floor_or_below() -> None:
    problems = []
    for dotted, (path, tree) in PARSED.items():
        mine = FLOORS.get(unit(dotted), 99)
        for target, _ in own_imports(tree, dotted, path.name == "__init__.py"):
            theirs = FLOORS.get(unit(target))
            if (unit(dotted), unit(target)) in LAZY_IMPORTS:
                continue  # the documented exception, checked below
            if theirs is not None and theirs > mine and unit(target) != unit(dotted):
                problems.append(f"{dotted} (floor {mine}) imports {target} (floor {theirs})")
    assert not problems, "\n".join(problems)


def test_no_import_cycles() -> None:
    # The documented lazy import is the one edge that may close a loop: it runs only
    # when a result is rendered, long after every module is loaded.
    edges: dict[str, set[str]] = {}
    for dotted, (path, tree) in PARSED.items():
        for target, _ in own_imports(tree, dotted, path.name == "__init__.py"):
            lazy = (unit(dotted), unit(target)) in LAZY_IMPORTS
            if target != dotted and not dotted.startswith(target + ".") and not lazy:
                edges.setdefault(dotted, set()).add(target)
    # Iterative depth-first search for a back edge.
    state: dict[str, int] = {}
    for start in sorted(edges):
        if state.get(start):
            continue
        stack = [(start, iter(sorted(edges.get(start, ()))))]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                cycle = [n for n, _ in stack][[n for n, _ in stack].index(child) :]
                pytest.fail("import cycle: " + " -> ".join([*cycle, child]))
            elif not state.get(child):
                state[child] = 1
                stack.append((child, iter(sorted(edges.get(child, ())))))


def test_at_most_the_documented_lazy_import() -> None:
    lazy = set()
    for dotted, (path, tree) in PARSED.items():
        for target, inside in own_imports(tree, dotted, path.name == "__init__.py"):
            if inside:
                lazy.add((unit(dotted), unit(target)))
    assert lazy <= LAZY_IMPORTS, f"undocumented lazy imports: {sorted(lazy - LAZY_IMPORTS)}"


def defined_names(tree: ast.Module) -> set[str]:
    """Every name a module defines or assigns (functions, classes, attributes, variables)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            out.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            out.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, ast.arg):
            out.add(node.arg)
        elif isinstance(node, ast.alias):
            out.add(node.asname or node.name)
    return out


def test_no_module_reads_another_modules_private_names() -> None:
    problems = []
    for path, tree in PARSED.values():
        mine = defined_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if _private(alias.name) and alias.name not in ALLOWED_PRIVATE:
                        problems.append(f"{path.name}:{node.lineno} imports {alias.name}")
            if not isinstance(node, ast.Attribute) or not _private(node.attr):
                continue
            if node.attr in ALLOWED_PRIVATE or node.attr in mine:
                continue
            problems.append(f"{path.name}:{node.lineno} reads .{node.attr}")
    assert not problems, "\n".join(problems)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_the_floor_table_matches_the_design() -> None:
    # The facade sits above every interpreter and view, the graph at the bottom.
    assert FLOORS["graph"] == 0 and FLOORS["trace"] == 4
    assert FLOORS["evaluation"] == FLOORS["derivatives"] == 1
    assert FLOORS["printing"] == FLOORS["check"] == 2


def test_the_launcher_imports_the_standard_library_and_then_the_cli() -> None:
    # The console script sits outside the package so that --help and --version need no
    # SymPy (the floor table's last paragraph): at module level the standard library only;
    # inside a function one import, symtrace.cli, for a command that does work.
    assert "symtrace_launcher" in (DOCSTRING or "")
    tree = ast.parse(LAUNCHER.read_text(encoding="utf-8"))
    in_function: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_function.update(ast.walk(node))
    top, inside = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        else:
            assert not isinstance(node, ast.ImportFrom), "the launcher is not in a package"
            continue
        (inside if node in in_function else top).update(names)
    assert {n.split(".")[0] for n in top} <= sys.stdlib_module_names, top
    assert inside == {"symtrace.cli"}
