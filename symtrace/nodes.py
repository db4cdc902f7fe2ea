"""The Symbol type of trace nodes.

Plain SymPy Symbols with the same name and assumptions are equal everywhere, so two
traces that both name a node ``v1`` would silently share it, and a user's own
``Symbol('a', real=True)`` would pass for the trace's ``a``.  A :class:`NodeSymbol`
also carries the token of the trace that created it: it prints, differentiates and
substitutes exactly like a Symbol, but equals only itself.

>>> import sympy
>>> a = NodeSymbol("a", 1)
>>> a == sympy.Symbol("a", real=True), a == NodeSymbol("a", 1), a == NodeSymbol("a", 2)
(False, True, False)
>>> sympy.diff(a**2, a)
2*a
"""

from __future__ import annotations

from typing import Any

import sympy

__all__ = ["NodeSymbol"]


class NodeSymbol(sympy.Symbol):
    """A real Symbol owned by one :class:`~symtrace.Trace` (identified by ``trace_token``).

    Traces create them; users get them from ``input``/``define`` or ``t[name]``.

    >>> from symtrace import Trace
    >>> t1, t2 = Trace(), Trace()
    >>> a1, a2 = t1.input("a"), t2.input("a")
    >>> a1, a2, a1 == a2, a1 == t1["a"]
    (a, a, False, True)
    """

    __slots__ = ("trace_token",)

    trace_token: int

    def __new__(cls, name: str, trace_token: int, **assumptions: Any) -> NodeSymbol:
        assumptions.setdefault("real", True)
        cls._sanitize(assumptions, cls)
        obj: NodeSymbol = sympy.Symbol.__xnew__(cls, name, **assumptions)
        obj.trace_token = trace_token
        return obj

    def __getnewargs_ex__(self) -> tuple[tuple[str, int], dict[str, Any]]:
        return ((self.name, self.trace_token), self._assumptions_orig)

    @classmethod
    def class_key(cls) -> tuple[int, int, str]:
        # Sort (and so print) exactly like a Symbol: pi*x1, not x1*pi.
        key: tuple[int, int, str] = sympy.Symbol.class_key()
        return key

    def _hashable_content(self) -> tuple[Any, ...]:
        return (*sympy.Symbol._hashable_content(self), self.trace_token)
