"""The TCP options the analysis needs (window scale, SACK blocks), for many packets at once.

The packet columns keep only the fixed TCP header. The options of every packet that has any are
gathered here from the capture bytes into one matrix (one row per packet, 40 bytes) and walked
as TLVs column by column, the way Wireshark walks them: EOL ends the list, NOP is one byte, an
option whose length is below 2 or runs past the header ends it too. Bytes that were not captured
count as the end of the list.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..capture.source import ByteSource, source_array
from ..packet_store import MAPPED_PIECE, release_range
from ..packets import PacketTable

OPTION_ROOM = 40  # a TCP header has at most 40 bytes of options
WSCALE, SACK = 3, 5
MAX_SHIFT = 14  # RFC 7323: a larger shift is used as 14 (Wireshark does the same)
SACK_BLOCKS_KEPT = 3  # Wireshark's bytes-in-flight uses the first three SACK blocks


@dataclass
class TcpOptions:
    """Per packet of ``index``: the window-scale shift (-1 without the option), how many SACK
    blocks it carries and the bytes the first three cover (a 32-bit sum, as Wireshark adds)."""

    index: np.ndarray  # int64 packet indices
    wscale: np.ndarray  # int8
    sack_count: np.ndarray  # uint8
    sack_bytes: np.ndarray  # uint32


def option_bytes(p: PacketTable, source: ByteSource, index: np.ndarray) -> np.ndarray:
    """The option bytes of packets ``index`` as a (n, 40) uint8 matrix, zero (EOL) past each
    header's options or past what was captured."""
    n = index.size
    out = np.zeros((n, OPTION_ROOM), dtype=np.uint8)
    if not n:
        return out
    hlen = p.tcp_hlen[index].astype(np.int64)
    start = p.payload_off[index].astype(np.int64) - hlen + 20
    have = np.clip(np.minimum(hlen - 20, p.caplen[index].astype(np.int64) - start), 0,
                   OPTION_ROOM)
    where = p.offset[index] + start
    data = source_array(source)
    if data is None:
        for k in range(n):
            raw = source.read(int(where[k]), int(have[k]))
            out[k, : len(raw)] = np.frombuffer(raw, dtype=np.uint8)
        return out
    cols = np.arange(OPTION_ROOM, dtype=np.int64)
    # in file order, a piece at a time, letting go of the pages each piece mapped: every read
    # maps the page-cache folio around it (64 KiB to megabytes), so one gather over a big
    # capture's packets kept hundreds of MB of it resident at once
    order = np.argsort(where, kind="stable")
    last = data.size - 1
    for a in range(0, n, MAPPED_PIECE):
        piece = order[a : a + MAPPED_PIECE]
        at = where[piece]
        out[piece] = data[np.minimum(at[:, None] + cols, last)]
        release_range(data, int(at[0]), int(at[-1]) + OPTION_ROOM)
    out[cols[None, :] >= have[:, None]] = 0
    return out


def scan_options(p: PacketTable, source: ByteSource, index: np.ndarray) -> TcpOptions:
    """Window scale and SACK blocks of the packets ``index`` (those with options)."""
    opts = option_bytes(p, source, index)
    n = index.size
    limit = (p.tcp_hlen[index].astype(np.int64) - 20).clip(0, OPTION_ROOM)
    wscale = np.full(n, -1, dtype=np.int8)
    sack_count = np.zeros(n, dtype=np.uint8)
    sack_bytes = np.zeros(n, dtype=np.uint32)
    padded = np.zeros((n, OPTION_ROOM + 2), dtype=np.uint8)
    padded[:, :OPTION_ROOM] = opts
    pos = np.zeros(n, dtype=np.int64)
    live = limit > 0
    rows = np.arange(n)
    while live.any():
        r = rows[live]
        at = pos[r]
        kind = padded[r, at]
        end = kind == 0
        nop = kind == 1
        size = padded[r, np.minimum(at + 1, OPTION_ROOM + 1)].astype(np.int64)
        bad = ~end & ~nop & ((at + 1 >= limit[r]) | (size < 2) | (at + size > limit[r]))
        stop = end | bad
        step = np.where(nop, 1, size)
        ws = ~stop & ~nop & (kind == WSCALE) & (size == 3)
        if ws.any():
            wscale[r[ws]] = np.minimum(padded[r[ws], at[ws] + 2], MAX_SHIFT)
        sk = ~stop & ~nop & (kind == SACK)
        if sk.any():
            _sack(padded, r[sk], at[sk], size[sk], sack_count, sack_bytes)
        pos[r] = at + step
        live[r] = ~stop & (pos[r] < limit[r])
    return TcpOptions(index, wscale, sack_count, sack_bytes)


def _sack(padded: np.ndarray, rows: np.ndarray, at: np.ndarray, size: np.ndarray,
          sack_count: np.ndarray, sack_bytes: np.ndarray) -> None:
    """One SACK option per row: its whole blocks (a trailing partial block is malformed)."""
    blocks = (size - 2) // 8
    sack_count[rows] = np.minimum(blocks, 255)
    total = np.zeros(rows.size, dtype=np.uint64)
    for b in range(SACK_BLOCKS_KEPT):
        has = blocks > b
        if not has.any():
            break
        base = at[has] + 2 + 8 * b
        sub = rows[has]
        left = _u32(padded, sub, base)
        right = _u32(padded, sub, base + 4)
        total[has] += (right - left) & 0xFFFFFFFF
    sack_bytes[rows] = (total & 0xFFFFFFFF).astype(np.uint32)


def _u32(m: np.ndarray, rows: np.ndarray, col: np.ndarray) -> np.ndarray:
    out = np.zeros(rows.size, dtype=np.uint64)
    for k in range(4):
        out = (out << 8) | m[rows, np.minimum(col + k, m.shape[1] - 1)]
    return out


def sack_blocks(p: PacketTable, source: ByteSource, index: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every SACK block of the packets ``index``: (packet index, left edge, right edge), raw
    32-bit sequence numbers, in packet order."""
    index = index[p.tcp_hlen[index] > 20]
    opts = option_bytes(p, source, index)
    n = index.size
    limit = (p.tcp_hlen[index].astype(np.int64) - 20).clip(0, OPTION_ROOM)
    padded = np.zeros((n, OPTION_ROOM + 2), dtype=np.uint8)
    padded[:, :OPTION_ROOM] = opts
    pos = np.zeros(n, dtype=np.int64)
    live = limit > 0
    rows = np.arange(n)
    who: list[np.ndarray] = []
    lefts: list[np.ndarray] = []
    rights: list[np.ndarray] = []
    while live.any():
        r = rows[live]
        at = pos[r]
        kind = padded[r, at]
        nop = kind == 1
        size = padded[r, np.minimum(at + 1, OPTION_ROOM + 1)].astype(np.int64)
        stop = (kind == 0) | (~nop & ((at + 1 >= limit[r]) | (size < 2) |
                                      (at + size > limit[r])))
        sk = ~stop & ~nop & (kind == SACK)
        for block in range(4):
            has = sk & ((size - 2) // 8 > block)
            if has.any():
                base = at[has] + 2 + 8 * block
                who.append(index[r[has]])
                lefts.append(_u32(padded, r[has], base).astype(np.int64))
                rights.append(_u32(padded, r[has], base + 4).astype(np.int64))
        pos[r] = at + np.where(nop, 1, size)
        live[r] = ~stop & (pos[r] < limit[r])
    if not who:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    i, a, b = np.concatenate(who), np.concatenate(lefts), np.concatenate(rights)
    order = np.argsort(i, kind="stable")
    return i[order], a[order], b[order]
