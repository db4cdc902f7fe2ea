"""symtrace new: reproducible from the seed, nice values, solvable, keys pass check."""

from __future__ import annotations

import pytest

from symtrace import ExerciseError
from symtrace.exercise import loads
from symtrace.generate import OPS, generate

OPTION_SETS = [
    {"nodes": 4},
    {"nodes": 6, "fan_out": True},
    {"nodes": 2, "ops": ["mul"], "fan_out": True},
    {"nodes": 5, "ops": ["add", "square", "relu", "max"], "locals": True},
    {"nodes": 5, "ops": list(OPS), "fan_out": True},
    {"nodes": 1, "ops": ["tanh"]},
]


@pytest.mark.parametrize("options", OPTION_SETS)
@pytest.mark.parametrize("seed", range(12))
def test_generated_keys_pass_check_and_sheets_are_blank(seed: int, options: dict) -> None:
    sheet = generate(seed, **options)
    assert sheet == generate(seed, **options)  # identical output for the same seed
    report = sheet.key_report()
    assert report.ok, str(report)
    blank = loads(sheet.exercise).check()
    assert len(blank) == 0 and len(blank.blank) == len(report)
    ex = loads(sheet.exercise)
    t = ex.trace
    assert len(t) - len(t.input_nodes) == options["nodes"]
    assert ex.output.name == "L" and t.nodes[-1].name == "L"
    # every input reaches L (the exercise is connected) and values are small
    g = t.grad(ex.output)
    assert all(g[x] != 0 for x in t.input_nodes)
    assert all(abs(t.value(n)) <= 60 for n in t.nodes)
    if set(options.get("ops", ["add", "mul", "sub"])) <= {"add", "sub", "mul", "square"}:
        assert all(float(t.value(n)).is_integer() for n in t.nodes)
        assert all(float(g.value(n)).is_integer() for n in t.nodes)
    if options.get("fan_out"):
        assert any(len(t.consumers(n)) >= 2 for n in t.nodes)
    if options.get("locals"):
        assert any(k.startswith("∂") for k in report)


def test_different_seeds_differ() -> None:
    assert len({generate(s).exercise for s in range(10)}) > 5


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"ops": ["frob"]}, "unknown operation"),
        ({"nodes": 0}, "between"),
        ({"nodes": 1, "fan_out": True}, "at least 2"),
        ({"ops": []}, "unknown operation"),
    ],
)
def test_bad_options(kwargs: dict, match: str) -> None:
    with pytest.raises(ExerciseError, match=match):
        generate(1, **kwargs)
