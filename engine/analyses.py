"""Runs the registered analyses (:mod:`engine.hooks`) on a finished result, in order.

Those that can run ahead (:class:`~engine.hooks.Ahead`) and find the result worth it start in a
forked copy of this process before the first analysis runs here; at its place in the order each
one's findings are kept as if it had run here. A child that fails leaves its analysis to run
here; a cancel or an error stops every child.
"""

from __future__ import annotations

from functools import partial

from . import hooks
from .cancel import checkpoint
from .packet_store import release_pages
from .parallel.halves import ForkedCall, may_fork
from .result import FlowResult


def run_analyses(result: FlowResult) -> None:
    analyses = list(hooks.ANALYSES)
    started: dict[int, ForkedCall] = {}
    try:
        worth: dict[int, hooks.Ahead] = {}
        for k, analysis in enumerate(analyses[1:], start=1):  # (the first runs here now)
            ahead = hooks.AHEAD.get(analysis)
            if ahead is not None and ahead.worth(result):
                worth[k] = ahead
        # asked only now: it loads multiprocessing (5 ms of a small capture's run)
        if worth and may_fork(result.config.workers):
            for k, ahead in worth.items():
                started[k] = ForkedCall(partial(ahead.work, result))
        for k, analysis in enumerate(analyses):
            checkpoint()
            child = started.get(k)
            found = child.result() if child is not None else None
            if found is not None:
                hooks.AHEAD[analysis].keep(result, found)
            else:  # not started ahead, or its child failed
                analysis(result)
            release_pages(result.packets, result.conversations.packet_index)
    finally:
        for child in started.values():
            child.close()
