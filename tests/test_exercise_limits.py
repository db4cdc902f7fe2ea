"""Hostile and huge exercise files: rejected at once with a clear error, never a hang,
an internal error or a megabyte message (issue 16)."""

from __future__ import annotations

import os

import pytest

from symtrace import ExerciseError, Trace
from symtrace.cli import main
from symtrace.errors import InvalidValueError
from symtrace.exercise import MAX_ANSWERS, MAX_NODES, load, loads

from guards import finishes_within

BASE = 'output = "L"\n[inputs]\na = 2\nb = 3\n[define]\nL = "a*b"\n[answers]\n"dL/da" = 3\n'


@pytest.mark.parametrize(
    "text, where",
    [
        ('[inputs]\na.b = 1\n[define]\nL = "a"\n', ":2:1: dotted key 'a.b'"),
        ('[inputs]\na = 1\n[define]\nL . x = "a"\n', ":4:1: dotted key 'L . x'"),
        ('[inputs]\na = 1\n[define]\nL = "a"\n[answers]\nx.y = 1\n', ":6:1: dotted key"),
        ("[inputs]\n" + ".".join(["a"] * 3000) + ' = 1\n[define]\nL = "a"\n', ":2:1: dotted"),
        ("x" + ".a" * 100_000 + " = 1\n", ":1:1: dotted key"),
        ("[inputs.x]\na = 1\n", "table '[inputs.x]'"),
        ("[[inputs]]\na = 1\n", ":1:1: unknown top-level key"),
        ("[define]\na = {b = 1}\n", "inline table or an array"),
        ("[tolerance]\nrel = [1, 2]\n", "inline table or an array"),
        ("[inputs]\n" + "k" * 300 + " = 1\n", "the limit is 200"),
    ],
)
def test_bad_key_shapes_are_rejected_before_the_toml_reader(text: str, where: str) -> None:
    with pytest.raises(ExerciseError) as info:
        finishes_within(30, loads, text, source="f.toml")
    message = str(info.value)
    assert message.startswith("f.toml:") and where in message
    assert len(message) < 400


def test_a_dotted_key_inside_a_multiline_string_is_text() -> None:
    text = 'description = """\nnot.a.key = 1\n"""\n' + BASE
    assert loads(text).description == "not.a.key = 1\n"


def test_quoted_keys_with_dots_are_single_keys() -> None:
    with pytest.raises(ExerciseError, match=r"answer key .x\.y. is not understood"):
        loads(BASE + '"x.y" = 1\n')


def test_too_many_answers_and_nodes_are_rejected_with_the_limit() -> None:
    answers = "".join(f'"dL/da" = {i}\n' for i in range(MAX_ANSWERS + 1))
    with pytest.raises(ExerciseError, match="MAX_ANSWERS"):
        finishes_within(30, loads, BASE + answers)
    inputs = "".join(f"x{i} = 1\n" for i in range(MAX_NODES + 1))
    with pytest.raises(ExerciseError, match="MAX_NODES"):
        finishes_within(30, loads, "[inputs]\n" + inputs)


@pytest.mark.parametrize(
    "text, match",
    [
        (BASE + "[tolerance]\nrel = " + "9" * 400 + "\n", "tolerance 'rel'"),
        ('[inputs]\na = 1\n[define]\nL = "10**999 + 1"\n', "L"),
        ("[inputs]\na = " + "9" * 400 + '\n[define]\nL = "a"\n', "finite as a float"),
        ('[inputs]\na = "' + "9" * 400 + '"\n[define]\nL = "a"\n', "400 digits"),
    ],
)
def test_huge_numbers_are_typed_errors(text: str, match: str) -> None:
    with pytest.raises(ExerciseError, match=match) as info:
        loads(text, source="f.toml")
    assert len(str(info.value)) < 600


def test_a_huge_sympy_integer_input_is_refused_not_infinite() -> None:
    import sympy

    with pytest.raises(InvalidValueError, match="finite as a float"):
        Trace().input("a", sympy.Integer(10) ** 400)
    with pytest.raises(InvalidValueError, match="finite as a float"):
        Trace().input("a", 10**400)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_rejected_without_blocking(tmp_path, capsys) -> None:
    fifo = tmp_path / "ex.toml"
    os.mkfifo(fifo)
    with pytest.raises(ExerciseError, match="not a regular file"):
        finishes_within(30, load, fifo)
    for command in ("check", "explain"):
        assert finishes_within(30, main, [command, str(fifo)]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_a_directory_is_rejected(tmp_path) -> None:
    with pytest.raises(ExerciseError, match="a directory"):
        load(tmp_path)


def test_cli_errors_are_short_and_exit_2(tmp_path, capsys) -> None:
    f = tmp_path / "big.toml"
    f.write_text('[inputs]\na = 1\n[define]\nL = "10**999 + 1"\n')
    assert main(["check", str(f)]) == 2
    err = capsys.readouterr().err
    assert "internal error" not in err and len(err) < 600
    assert main(["new", "--seed", "2", "--ops", "exp,mul", "--nodes", "12"]) in (0, 2)


def test_cli_json_is_strict(tmp_path, capsys) -> None:
    import json

    f = tmp_path / "nan.toml"
    f.write_text(BASE.replace('"dL/da" = 3', '"dL/da" = "log(-b)"'))
    assert main(["check", "--format", "json", str(f)]) == 1

    def reject(constant: str) -> None:
        raise ValueError(constant)

    data = json.loads(capsys.readouterr().out, parse_constant=reject)
    assert data["answers"][0]["verdict"] == "wrong"


def test_a_refused_input_value_adds_no_node() -> None:
    t = Trace()
    with pytest.raises(InvalidValueError):
        t.input("a", 10**400)
    assert len(t) == 0 and t.input("a", 1).name == "a"


def _chain(n: int) -> str:
    """``benchmarks/bench_files.py``'s deep file: ``n`` definitions of one shape."""
    lines = ['output = "L"', "[inputs]", "x0 = 0.5", "y = 0.3", "[define]"]
    lines += [
        f'x{i} = "0.5*x{i - 1} + 0.25*sin(x{i - 1} + y) - 0.125*cos(x{i - 1}*y) '
        f'+ 0.0625*tanh(x{i - 1} - y)"'
        for i in range(1, n)
    ]
    return "\n".join([*lines, f'L = "x{n - 1}*2"', "[answers]", '"dL/dx0" = 2']) + "\n"


def test_a_chain_of_one_shape_builds_each_definition_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a generated chain asks SymPy to simplify its one shape of definition once
    (about 5 ms a node otherwise, 96 s for the 1 MB file); the loaded definitions are those
    the parse from scratch gives, argument order included."""
    import symtrace.parsing as parsing

    text = _chain(400)
    calls: list[str] = []
    parse = parsing._Parser.parse
    monkeypatch.setattr(parsing, "_SHAPES", {})
    monkeypatch.setattr(
        parsing._Parser, "parse", lambda self: calls.append(self.text) or parse(self)
    )
    ex = finishes_within(60, loads, text)
    assert len(calls) == 2  # the chain's shape, and L's
    monkeypatch.setattr(parsing, "_shape", lambda *args: None)  # from scratch
    scratch = loads(text)
    rename = dict(zip(scratch.trace.nodes, ex.trace.nodes, strict=True))  # other traces' nodes
    for mine, theirs in zip(ex.trace.graph.equations, scratch.trace.graph.equations, strict=True):
        if theirs.definition is not None:
            assert mine.definition == theirs.definition.xreplace(rename)
            assert mine.definition.args == theirs.definition.xreplace(rename).args
