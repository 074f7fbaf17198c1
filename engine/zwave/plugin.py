"""The Z-Wave link-layer plug-in: decodes link types 261/262/297 and builds their conversations.

Registered with :mod:`engine.hooks` on import (``engine.plugins`` imports this module). The
per-frame columns (:class:`~engine.zwave.frames.ZWaveFrames`) outlive the plug-in: the result
keeps them in ``plugin_data["zwave"]``, where :func:`frames_of` finds them.
"""

from __future__ import annotations

import numpy as np

from ..capture import RecordChunk
from ..capture import linktypes as lt
from ..config import FlowConfig
from ..hooks import register_link_plugin
from ..packets import Kind, PacketTable
from ..result import FlowResult
from ..table import ConversationTable
from . import fields  # noqa: F401  (declares the Z-Wave columns)
from .conversations import zwave_conversations, zwave_table
from .frames import ZWaveFrames, decode_frames
from .protocol import DAMAGED, FAMILY_ZWAVE, ZWAVE


class ZWavePlugin:
    """One instance per analysis (see :class:`engine.pipeline.LinkPlugin`)."""

    name = "zwave"
    linktypes = frozenset({lt.ZWAVE_R1_R2, lt.ZWAVE_R3, lt.ZWAVE_TAP})

    def __init__(self) -> None:
        self._parts: list[ZWaveFrames] = []
        self.frames = ZWaveFrames.empty(0)
        # frame length and time of every frame so far, for snapshots while loading
        self._wire: list[np.ndarray] = []
        self._ts: list[np.ndarray] = []

    def decode(self, chunk: RecordChunk, rows: np.ndarray, part: PacketTable,
               first_index: int) -> None:
        f = decode_frames(chunk.buf, chunk.data_off[rows], chunk.caplen[rows],
                          chunk.origlen[rows], part.linktype[rows], first_index + rows)
        self._parts.append(f)
        self._wire.append(chunk.origlen[rows])
        self._ts.append(chunk.ts_ns[rows])
        ok = f.keyed
        mine = rows[ok]
        part.kind[mine] = ZWAVE.kind
        part.family[mine] = FAMILY_ZWAVE
        part.src_hi[mine] = f.home_id[ok]
        part.dst_hi[mine] = f.home_id[ok]
        part.src_lo[mine] = f.src[ok]
        part.dst_lo[mine] = f.dst[ok]
        part.payload_off[mine] = f.payload_offset[ok]
        part.payload_len[mine] = f.payload_length[ok]
        part.seq[mine] = f.sequence[ok]
        damaged = rows[~ok]
        part.kind[damaged] = Kind.UNASSIGNED
        part.reason[damaged] = DAMAGED

    def conversations(self, packets: PacketTable, config: FlowConfig
                      ) -> ConversationTable | None:
        self.frames = ZWaveFrames.concat(self._parts)
        self._parts = [self.frames]
        self._wire, self._ts = [], []
        if not self.frames.keyed.any():
            return None
        return zwave_conversations(packets, self.frames)


    def snapshot(self) -> ConversationTable | None:
        """The conversations of the frames decoded so far (for a viewer while loading)."""
        frames = ZWaveFrames.concat(self._parts)
        wire, ts = np.concatenate(self._wire or [_NONE]), np.concatenate(self._ts or [_NONE])
        self._parts, self._wire, self._ts = [frames], [wire], [ts]  # the next one adds to these
        keyed = frames.keyed
        if not keyed.any():
            return None
        return zwave_table(frames, wire[keyed], ts[keyed])[0]

    def finish(self) -> ZWaveFrames:
        return self.frames


_NONE = np.zeros(0, dtype=np.int64)


def frames_of(result: FlowResult) -> ZWaveFrames:
    """The Z-Wave frame columns of an analysis (empty when it had no Z-Wave packets)."""
    frames = result.plugin_data.get(ZWavePlugin.name)
    return ZWaveFrames.empty(0) if frames is None else frames


register_link_plugin(ZWavePlugin)
