"""Independent pieces of the finishing work, shared with a forked copy of this process.

:class:`ForkedCall` runs a function in a forked child (cheap: it shares every page with this
process until one is written) while this process goes on; its value comes back pickled. After
a load, analyses such as the TCP summary work in batches of whole conversations that do not
depend on each other: :func:`map_halves` has a child do the later half of the batches while this
process does the earlier half (per-conversation figures come back: small next to the packets
they summarise); an analysis that runs ahead (:mod:`engine.analyses`) is one call. Anything that
goes wrong in the child (it dies, it raises) makes this process do that work itself, with the
same result. The child polls no cancel callback (its copy would never be set); this process
does, and stops the child when cancelled. A child shares no work further (one level: two cores).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..cancel import cancel_scope, checkpoint
from .pool import POLL, can_fork, worker_count

if TYPE_CHECKING:  # multiprocessing is imported when a process is started
    from multiprocessing.connection import Connection

T = TypeVar("T")
R = TypeVar("R")
#: True in a forked child: its work is not shared again
_IN_CHILD = False
#: children of this process at work now (:class:`ForkedCall` objects not closed; a set, not a
#: count: loads and exports may start and close them from different threads)
_RUNNING: set[ForkedCall] = set()


def map_halves(fn: Callable[[T], R], items: Sequence[T], weights: Sequence[int],
               workers: int) -> list[R]:
    """``[fn(item) for item in items]``, the later items (by ``weights``, about half of the
    total) done in a forked child when ``workers`` allows one (see :mod:`engine.parallel.pool`)
    and the platform can fork."""
    if len(items) < 2 or not may_fork(workers):
        return [fn(item) for item in items]
    split = _split(weights)
    later = items[split:]
    child = ForkedCall(lambda: [fn(item) for item in later])
    try:
        mine = []
        for item in items[:split]:
            checkpoint()
            mine.append(fn(item))
        theirs = child.result()
    finally:
        child.close()
    if theirs is None:  # the child failed: its half is done here
        theirs = [fn(item) for item in later]
    return mine + theirs


def may_fork(workers: int) -> bool:
    """Whether finishing work may go to a forked child: ``workers`` allows one more than are
    running now, the platform can fork, and this process is not itself such a child (one
    level: two cores). A third process on two cores only makes the other two wait: at 5M
    packets, on a machine busy writing back, the finishing work took 1.83–1.97 s with the TCP
    summary in halves beside the application layer ahead and 1.41–1.55 s with the summary here
    (1.04–1.19 s either way on a quiet machine)."""
    return not _IN_CHILD and worker_count(workers) > len(_RUNNING) and can_fork()


class ForkedCall:
    """``fn()`` run by a forked copy of this process from the moment this is made, while this
    process goes on; :meth:`result` waits for its value (pickled back), None when the child
    failed. :meth:`close` stops a child whose value is no longer wanted."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self._receive, send = ctx.Pipe(duplex=False)
        self._child = ctx.Process(target=_child, args=(fn, send), daemon=True,
                                  name="flowscope-finish")
        self._child.start()
        send.close()
        self._collected = False
        _RUNNING.add(self)

    def result(self) -> Any | None:
        """The child's value; None when it failed. Polls the cancel scope while waiting (a
        cancel stops the child)."""
        try:
            value = _collect(self._receive, self._child)
        except BaseException:
            self._child.kill()
            raise
        self._collected = True
        return value

    def close(self) -> None:
        if self not in _RUNNING:
            return
        _RUNNING.discard(self)
        if not self._collected:  # (it may be blocked writing a value nobody will read)
            self._child.kill()
        self._receive.close()
        self._child.join(timeout=5)


def _split(weights: Sequence[int]) -> int:
    """The first item of the later half: the earlier one holds about half the weight, and
    neither half is empty."""
    total = sum(weights)
    running = 0
    for k, w in enumerate(weights):
        if running + w / 2 >= total / 2:
            return min(max(k, 1), len(weights) - 1)
        running += w
    return len(weights) - 1


def _child(fn: Callable[[], Any], send: Connection) -> None:
    global _IN_CHILD
    _IN_CHILD = True
    try:
        with cancel_scope(None, ""):
            result: Any = ("ok", fn())
    except BaseException as exc:  # reported; the parent does this work itself
        result = ("failed", f"{type(exc).__name__}: {exc}")
    try:
        send.send(result)
    finally:
        send.close()
        os._exit(0)  # no atexit handlers, no flushing of buffers the parent owns


def _collect(receive: Connection, child: Any) -> list[Any] | None:
    """The child's results; None when it failed. Polls the cancel scope while waiting."""
    try:
        while not receive.poll(POLL):
            checkpoint()
            if not child.is_alive() and not receive.poll(0):
                return None
        status, value = receive.recv()
    except (EOFError, OSError):
        return None
    return value if status == "ok" else None
