"""Independent pieces of the finishing work, shared with a forked copy of this process.

After a load, analyses such as the TCP summary work in batches of whole conversations that do
not depend on each other. :func:`map_halves` forks a child (cheap: it shares every page with
this process until one is written) that does the later half of the batches while this process
does the earlier half; the child's results come back pickled (per-conversation figures: small
next to the packets they summarise). Anything that goes wrong in the child (it dies, it raises)
makes this process do its half too, with the same result. The child polls no cancel callback
(its copy would never be set); this process does, and stops the child when cancelled.
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


def map_halves(fn: Callable[[T], R], items: Sequence[T], weights: Sequence[int],
               workers: int) -> list[R]:
    """``[fn(item) for item in items]``, the later items (by ``weights``, about half of the
    total) done in a forked child when ``workers`` allows one (see :mod:`engine.parallel.pool`)
    and the platform can fork."""
    if len(items) < 2 or worker_count(workers) < 1 or not can_fork():
        return [fn(item) for item in items]
    split = _split(weights)
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(fn, items[split:], send), daemon=True,
                        name="flowscope-finish")
    child.start()
    send.close()
    try:
        mine = []
        for item in items[:split]:
            checkpoint()
            mine.append(fn(item))
        theirs = _collect(receive, child)
    except BaseException:
        child.kill()
        raise
    finally:
        receive.close()
        child.join(timeout=5)
    if theirs is None:  # the child failed: its half is done here
        theirs = [fn(item) for item in items[split:]]
    return mine + theirs


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


def _child(fn: Callable[[Any], Any], items: Sequence[Any], send: Connection) -> None:
    try:
        with cancel_scope(None, ""):
            result: Any = ("ok", [fn(item) for item in items])
    except BaseException as exc:  # reported; the parent does this half itself
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
