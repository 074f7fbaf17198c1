"""Where analyses and link-layer plug-ins hook into the pipeline.

An *analysis* runs on every finished :class:`~engine.result.FlowResult` (the TCP summary) and may
add columns to ``conversations.extra`` (declared in :mod:`engine.columns`). A *link plug-in*
decodes link types that carry no IP (Z-Wave radio frames) into conversations of its own; what it
keeps for later (its per-frame columns) goes to ``result.plugin_data[plugin.name]``. Plug-in
modules register here on import; :mod:`engine.plugins` imports the built-in ones.

An analysis that reads only what the load made (no other analysis' columns) may also say how
to run *ahead* (:class:`Ahead`): its work starts in a forked copy of the process as the
analyses begin, and its findings are kept at its place in the order, so the second core works
on it while the analyses before it run here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .capture import RecordChunk
from .config import FlowConfig
from .packets import PacketTable
from .table import ConversationTable

if TYPE_CHECKING:
    from .result import FlowResult


class LinkPlugin(Protocol):
    """Decodes its link types into conversations of its own. A fresh instance serves one
    analysis:

    - ``decode`` sees every chunk (while its buffer is valid) with the chunk-local rows of its
      link types, and fills those rows of ``part`` (kind, reason, lengths, …);
    - ``conversations`` groups its packets, sets ``packets.conv`` of those packets to ids local
      to the table it returns, and ``packets.direction``;
    - ``finish`` returns what the result keeps for it (``result.plugin_data[name]``);
    - optionally, ``snapshot()`` returns the conversations of the packets decoded so far
      (without touching ``packets``), so a viewer shows them while the capture loads; a plug-in
      without it shows its conversations when the load is done.
    """

    name: str
    linktypes: frozenset[int]

    def decode(self, chunk: RecordChunk, rows: np.ndarray, part: PacketTable,
               first_index: int) -> None: ...

    def conversations(self, packets: PacketTable, config: FlowConfig
                      ) -> ConversationTable | None: ...

    def finish(self) -> Any: ...


#: factories of link-layer plug-ins, one instance per analysis
LINK_PLUGINS: list[Callable[[], LinkPlugin]] = []

#: analyses run on the finished result, in order: each may add extra columns
ANALYSES: list[Callable[[FlowResult], None]] = []


@dataclass(frozen=True)
class Ahead:
    """How an analysis runs ahead: ``analysis(result)`` is ``keep(result, work(result))``;
    ``work`` reads no other analysis' output and returns what it found (picklable: it comes
    back from the forked copy; never None, which stands for a child that failed);
    ``worth(result)`` says whether the result is big enough for a
    process to pay."""

    work: Callable[[FlowResult], Any]
    keep: Callable[[FlowResult, Any], None]
    worth: Callable[[FlowResult], bool]


#: the analyses that can run ahead
AHEAD: dict[Callable[[FlowResult], None], Ahead] = {}


def register_link_plugin(factory: Callable[[], LinkPlugin]) -> None:
    LINK_PLUGINS.append(factory)


def register_analysis(analysis: Callable[[FlowResult], None],
                      ahead: Ahead | None = None) -> None:
    ANALYSES.append(analysis)
    if ahead is not None:
        AHEAD[analysis] = ahead


def unregister_link_plugin(factory: Callable[[], LinkPlugin]) -> None:
    if factory in LINK_PLUGINS:
        LINK_PLUGINS.remove(factory)


def unregister_analysis(analysis: Callable[[FlowResult], None]) -> None:
    if analysis in ANALYSES:
        ANALYSES.remove(analysis)
    AHEAD.pop(analysis, None)
