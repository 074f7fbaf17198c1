"""``extract_zwave_flows``: the seed's Z-Wave entry point, over Flowscope's pipeline."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from ..config import FlowConfig
from ..pipeline import analyse_packets
from ..result import FlowResult
from ..table import Conversation
from .conversations import parse_class_counts
from .frames import ZWaveFrames
from .plugin import frames_of
from .protocol import ZWAVE


class ZWaveFlows:
    """The Z-Wave conversations of an analysis, sorted by start time, plus the frame columns.

    Iterating gives :class:`~engine.table.Conversation` views (``home_id``, ``node_a``,
    ``ack_count``, … are attributes). ``result`` is the whole analysis (IP conversations of a
    mixed capture included); close it, or use ``with``, to release the capture.
    """

    def __init__(self, result: FlowResult) -> None:
        self.result = result
        self.rows = np.flatnonzero(result.conversations.kind == ZWAVE.kind)
        self.frames: ZWaveFrames = frames_of(result)

    def __len__(self) -> int:
        return int(self.rows.size)

    def __iter__(self) -> Iterator[Conversation]:
        for row in self.rows.tolist():
            yield self.result.conversations[row]

    def __getitem__(self, i: int) -> Conversation:
        return self.result.conversations[int(self.rows[i])]

    def command_classes(self, i: int) -> dict[str, int]:
        """``{name: count}`` of the command frames of the ``i``-th Z-Wave conversation."""
        return parse_class_counts(self[i].command_classes)

    @property
    def damaged(self) -> dict[str, int]:
        """Frames too damaged to key, by cause (they are unassigned packets of the result)."""
        return self.frames.damage_counts()

    def close(self) -> None:
        self.result.close()

    def __enter__(self) -> ZWaveFlows:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def extract_zwave_flows(packets: Iterable[object] | FlowResult,
                        config: FlowConfig | None = None) -> ZWaveFlows:
    """Z-Wave conversations of packets in memory — ``(bytes, timestamp, linktype)`` tuples or
    :class:`~engine.RawPacket` objects with link type 261, 262 or 297 — or of a finished
    :class:`~engine.FlowResult` (e.g. from ``extract_flows_from_file``)."""
    if isinstance(packets, FlowResult):
        return ZWaveFlows(packets)
    return ZWaveFlows(analyse_packets(packets, config))
