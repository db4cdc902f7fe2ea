"""The public API is exactly what ``symtrace.__all__`` lists."""

from __future__ import annotations

import symtrace


def test_all_names_exist_and_are_sorted() -> None:
    assert sorted(symtrace.__all__, key=str.lower) == sorted(set(symtrace.__all__), key=str.lower)
    for name in symtrace.__all__:
        assert hasattr(symtrace, name), name


def test_public_names_have_docstrings_with_an_example() -> None:
    for name in symtrace.__all__:
        obj = getattr(symtrace, name)
        if callable(obj):
            assert obj.__doc__ and ">>>" in obj.__doc__, name


def test_no_private_module_leaks() -> None:
    public = {n for n in dir(symtrace) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(symtrace, n)).__name__ == "module"}
    assert public - modules == set(symtrace.__all__) - {"__version__"}
