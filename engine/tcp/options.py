"""TCP options of SYN packets (MSS, window scale), read back from the capture on demand.

The packet columns keep only the fixed TCP header; the few SYNs of a conversation a view opens
are parsed here from their bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..packets import PacketTable
from ..result import FlowResult

MSS, WSCALE, EOL, NOP = 2, 3, 0, 1


@dataclass(frozen=True)
class SynOptions:
    mss: int | None = None
    wscale: int | None = None


def parse_options(raw: bytes) -> SynOptions:
    """MSS and window scale from the option bytes of a TCP header (malformed tails ignored)."""
    mss = wscale = None
    i = 0
    while i < len(raw):
        kind = raw[i]
        if kind == EOL:
            break
        if kind == NOP:
            i += 1
            continue
        if i + 1 >= len(raw):
            break
        size = raw[i + 1]
        if size < 2 or i + size > len(raw):
            break
        if kind == MSS and size == 4:
            mss = int.from_bytes(raw[i + 2 : i + 4], "big")
        elif kind == WSCALE and size == 3:
            wscale = raw[i + 2]
        i += size
    return SynOptions(mss, wscale)


def syn_options(result: FlowResult, packets: np.ndarray, p: PacketTable | None = None
                ) -> SynOptions:
    """The options of the first of ``packets`` (SYN packets of one side) that were captured;
    ``p``: the packet columns to read (``FlowResult.packet_view``)."""
    p = result.packets if p is None else p
    for i in packets.tolist():
        hlen = int(p.tcp_hlen[i])
        start = int(p.payload_off[i]) - hlen
        if start < 0 or hlen <= 20:
            continue
        raw = result.source.read(int(p.offset[i]) + start + 20,
                                 min(hlen - 20, max(int(p.caplen[i]) - start - 20, 0)))
        return parse_options(raw)
    return SynOptions()
