"""Cooperative cancelling that reaches every phase of a load.

A load opens a scope with the caller's ``cancel`` callback; any long loop, however deep (record
walking, decoding, grouping, the TCP analyses), calls :func:`checkpoint`, which raises
:class:`LoadCancelled` once the callback says so. The callback travels in a context variable, so
the phases' signatures (and the analysis registry) need no extra parameter, and a load on one
thread never sees another thread's scope.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from .errors import LoadCancelled

CancelFn = Callable[[], bool]

_scope: ContextVar[tuple[CancelFn, str] | None] = ContextVar("flowscope_cancel", default=None)


@contextlib.contextmanager
def cancel_scope(cancel: CancelFn | None, message: str) -> Iterator[None]:
    """Make :func:`checkpoint` poll ``cancel`` (and raise ``LoadCancelled(message)``) inside."""
    token = _scope.set((cancel, message) if cancel is not None else None)
    try:
        yield
    finally:
        _scope.reset(token)


def checkpoint() -> None:
    """Raise :class:`LoadCancelled` if the current scope's callback asks to stop (cheap)."""
    scope = _scope.get()
    if scope is not None and scope[0]():
        raise LoadCancelled(scope[1])


def every(items: int, step: int = 1 << 12) -> Iterator[int]:
    """``range(items)`` that polls :func:`checkpoint` every ``step`` items (for Python loops)."""
    for start in range(0, items, step):
        checkpoint()
        yield from range(start, min(start + step, items))
