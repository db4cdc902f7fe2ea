"""Fuzz: random TOML documents, answers and CLI arguments never make ``symtrace`` fail
with an internal error (exit 3) or a traceback: exit 0, 1 or 2 (issue 16)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symtrace.cli import main

from guards import finishes_within

NAMES = st.sampled_from(["a", "b", "c", "L", "e", "x.y", "ｘ", "_q", "if", "a" * 300])
NUMBERS = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(["1e308", "-0.0", "nan", "inf", "9" * 400, "0x10", "1_000", "3.14"]),
)
EXPRS = st.sampled_from(
    [
        "a*b",
        "a + q",
        "log(a - a)",
        "exp(exp(exp(a)))",
        "10**999 + 1",
        "(a+b)**1000",
        "a.__class__",
        "sqrt(-1)",
        "",
        "a +",
        "max(a, b)",
        "relu(a)",
        "b*(1 + 10**-20)",
        "1/0",
        "ｘ",
        "a" * 50,
        "((((a))))",
    ]
)
KEYS = st.sampled_from(["L", "dL/da", "dL/db", "∂e/∂a", "local:e/a", "grad:a", "dq/da", "a"])


@st.composite
def documents(draw: st.DrawFn) -> str:
    lines = []
    if draw(st.booleans()):
        lines.append(f'title = "{draw(st.text(max_size=20)).replace(chr(34), "")!s}"')
    lines.append("[inputs]")
    for _ in range(draw(st.integers(0, 3))):
        lines.append(f"{draw(NAMES)} = {draw(NUMBERS)}")
    if draw(st.booleans()):
        lines.append("[define]")
        lines.append(f'e = "{draw(EXPRS)}"')
        lines.append(f'L = "{draw(EXPRS)}"')
    lines.append("[answers]")
    for _ in range(draw(st.integers(0, 4))):
        claim = draw(st.one_of(NUMBERS, EXPRS.map(lambda s: f'"{s}"')))
        lines.append(f'"{draw(KEYS)}" = {claim}')
    if draw(st.booleans()):
        lines.append(f"[tolerance]\nrel = {draw(NUMBERS)}")
    extra = draw(st.sampled_from(["", "[[x]]", "a = {b = 1}", "a = [1]", "[inputs.x]", "x = "]))
    lines.insert(draw(st.integers(0, len(lines))), extra)
    return "\n".join(lines) + "\n"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    doc=documents(),
    fmt=st.sampled_from(["text", "markdown", "latex", "json"]),
    command=st.sampled_from(["check", "explain"]),
)
def test_random_documents_exit_0_1_or_2(tmp_path: Path, doc: str, fmt: str, command: str) -> None:
    f = tmp_path / "fuzz.toml"
    f.write_text(doc, encoding="utf-8")
    code = finishes_within(60, main, [command, "--format", fmt, str(f)])
    assert code in (0, 1, 2), doc


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.one_of(st.integers(-5, 10**9).map(str), st.sampled_from(["x", "", "1e3"])),
    nodes=st.one_of(st.integers(-1, 14).map(str), st.just("many")),
    ops=st.lists(st.sampled_from(["add", "mul", "exp", "square", "tanh", "frob", ""]), max_size=3),
    flags=st.lists(st.sampled_from(["--locals", "--fan-out"]), unique=True),
)
def test_random_new_arguments_exit_0_or_2(
    seed: str, nodes: str, ops: list[str], flags: list[str]
) -> None:
    argv = ["new", "--seed", seed, "--nodes", nodes, "--ops", ",".join(ops), *flags]
    assert finishes_within(60, main, argv) in (0, 2), argv
