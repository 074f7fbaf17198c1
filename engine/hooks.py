"""Where analyses and link-layer plug-ins hook into the pipeline.

An *analysis* runs on every finished :class:`~engine.result.FlowResult` (the TCP summary) and may
add columns to ``conversations.extra`` (declared in :mod:`engine.columns`). A *link plug-in*
decodes link types that carry no IP (Z-Wave radio frames) into conversations of its own; what it
keeps for later (its per-frame columns) goes to ``result.plugin_data[plugin.name]``. Plug-in
modules register here on import; :mod:`engine.plugins` imports the built-in ones.
"""

from __future__ import annotations

from collections.abc import Callable
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


def register_link_plugin(factory: Callable[[], LinkPlugin]) -> None:
    LINK_PLUGINS.append(factory)


def register_analysis(analysis: Callable[[FlowResult], None]) -> None:
    ANALYSES.append(analysis)


def unregister_link_plugin(factory: Callable[[], LinkPlugin]) -> None:
    if factory in LINK_PLUGINS:
        LINK_PLUGINS.remove(factory)


def unregister_analysis(analysis: Callable[[FlowResult], None]) -> None:
    if analysis in ANALYSES:
        ANALYSES.remove(analysis)
