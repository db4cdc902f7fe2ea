"""A hang guard for the denial-of-service tests: a generous timeout, not a speed test.

Speed is measured in ``benchmarks/``; a test only asserts that hostile input cannot make
symtrace hang.  :func:`finishes_within` runs the call in a daemon thread and fails the
test with a clear message if it has not finished after ``seconds`` (default
:data:`HANG_TIMEOUT`, tens of seconds, so a slow or loaded machine never fails it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

HANG_TIMEOUT = 30.0  # seconds; the guarded calls take milliseconds


def finishes_within(seconds: float, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``: its result, or its exception re-raised here.

    Raises AssertionError if the call is still running after ``seconds``: the input made
    it hang.  (The stuck thread is a daemon, so it cannot keep the test run alive.)
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as error:  # handed to the caller below
            outcome["error"] = error

    name = getattr(fn, "__name__", repr(fn))
    thread = threading.Thread(target=target, name=f"finishes_within:{name}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise AssertionError(f"{name} did not finish within {seconds:g} s: it hangs")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]
