"""The public API is exactly what ``symtrace.__all__`` lists."""

from __future__ import annotations

import symtrace


def test_all_names_exist_and_are_sorted() -> None:
    # sorted as written (code-point order: classes, then __version__, then functions)
    assert symtrace.__all__ == sorted(symtrace.__all__)
    assert len(symtrace.__all__) == len(set(symtrace.__all__)), "duplicate names in __all__"
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
