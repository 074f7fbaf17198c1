"""Keyed Z-Wave frames → conversations, with per-conversation counts (numpy grouping).

Key rule: a unicast frame belongs to (home id, smaller node, larger node) — both directions and
the ACKs of one node pair share a conversation, as in the seed. A broadcast frame (destination
0xFF) belongs to (home id, source, broadcast) and a multicast frame to (home id, source,
multicast): one-to-many traffic is a conversation of its own per sender, never mixed into a
unicast pair. Routed frames are keyed by the end-to-end source and destination in their MAC
header (each hop a sniffer hears counts as a frame). Z-Wave conversations are never split by
idle time. As for IP, endpoint A is the sender of the conversation's first frame; ``node_a`` /
``node_b`` are the canonical pair (smaller node first; the sender for broadcast/multicast).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..packets import PacketTable
from ..sets import distinct
from ..table import ConversationTable
from .commands import command_class_name
from .frames import BROADCAST_NODE, MULTICAST_NODE, ZWaveFrames
from .protocol import FAMILY_ZWAVE, ZWAVE
from .tap import data_rate_name, region_name

UNICAST, BROADCAST, MULTICAST = 0, 1, 2
CAST_NAMES = ("unicast", "broadcast", "multicast")


def zwave_conversations(p: PacketTable, frames: ZWaveFrames) -> ConversationTable:
    """Group the keyed frames; sets ``p.conv`` (ids local to the returned table) and
    ``p.direction`` of their packets. Rows are sorted by start time."""
    idx = frames.index[frames.keyed]
    table, conv, direction = zwave_table(frames, p.origlen[idx], p.ts_ns[idx])
    p.conv[idx] = conv
    p.direction[idx] = direction
    return table


def zwave_table(frames: ZWaveFrames, origlen: np.ndarray, ts_ns: np.ndarray
                ) -> tuple[ConversationTable, np.ndarray, np.ndarray]:
    """The conversations of the keyed frames (``origlen`` and ``ts_ns`` of each keyed frame),
    sorted by start time, and the conversation and direction of each keyed frame."""
    rows = np.flatnonzero(frames.keyed)
    idx = frames.index[rows]
    home = frames.home_id[rows]
    src = frames.src[rows].astype(np.int32)
    dst = frames.dst[rows].astype(np.int32)
    cast = np.where(dst == BROADCAST_NODE, BROADCAST,
                    np.where(dst == MULTICAST_NODE, MULTICAST, UNICAST)).astype(np.int32)
    unicast = cast == UNICAST
    lo = np.where(unicast, np.minimum(src, dst), src)
    hi = np.where(unicast, np.maximum(src, dst), dst)
    key = home.astype(np.int64) << 20
    key |= cast << 18 | lo << 9 | hi
    conv, first = _group(key)
    del key, unicast
    nconv = first.size
    a_node, b_node = src[first], dst[first]
    direction = (src != a_node[conv]).astype(np.uint8)

    cols = _sums(origlen, ts_ns, idx, conv, direction, nconv, frames.payload_length[rows])
    extra = _extra(frames, rows, conv, nconv, home[first], lo[first], hi[first], cast[first])
    full = np.full(nconv, 0, dtype=np.uint8)
    table = ConversationTable(
        kind=np.full(nconv, ZWAVE.kind, dtype=np.uint8), ip_proto=full.copy(),
        family=np.full(nconv, FAMILY_ZWAVE, dtype=np.uint8),
        stream=np.full(nconv, -1, dtype=np.int64),
        a_hi=home[first].astype(np.uint64), a_lo=a_node.astype(np.uint64),
        a_port=np.full(nconv, -1, dtype=np.int32),
        b_hi=home[first].astype(np.uint64), b_lo=b_node.astype(np.uint64),
        b_port=np.full(nconv, -1, dtype=np.int32),
        first_packet=idx[first].astype(np.int64),
        flags_ab=np.zeros(nconv, dtype=np.uint16), flags_ba=np.zeros(nconv, dtype=np.uint16),
        icmp_type=full.copy(), icmp_code=full.copy(),
        icmp_id=np.full(nconv, -1, dtype=np.int32), quotes=np.full(nconv, -1, dtype=np.int64),
        extra=extra, **cols)
    order = np.lexsort((table.first_packet, table.start_ns))
    new_id = np.empty(nconv, dtype=np.int64)
    new_id[order] = np.arange(nconv)
    return _reorder(table, order), new_id[conv], direction


def _group(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense group ids numbered in order of first appearance, and each group's first row.

    One sort of the distinct keys' values (not of the rows with their indices), a binary search
    per row, and an unbuffered minimum for first rows: conversations are few, frames many.
    """
    values = distinct(key)
    group = np.searchsorted(values, key)
    first = np.full(values.size, key.size, dtype=np.int64)
    np.minimum.at(first, group, np.arange(key.size, dtype=np.int64))
    by_first = np.argsort(first, kind="stable")
    rank = np.empty(values.size, dtype=np.int64)
    rank[by_first] = np.arange(values.size)
    return rank[group], first[by_first]


def _sums(origlen: np.ndarray, ts: np.ndarray, idx: np.ndarray, conv: np.ndarray,
          direction: np.ndarray, nconv: int, payload: np.ndarray) -> dict[str, np.ndarray]:
    """Packets, frame bytes (origlen) and payload bytes per direction; first/last times."""
    slot = conv * 2 + direction
    size = 2 * nconv
    packets = np.bincount(slot, minlength=size).reshape(nconv, 2)
    frame = np.bincount(slot, weights=origlen, minlength=size).reshape(nconv, 2)
    pay = np.bincount(slot, weights=np.maximum(payload, 0), minlength=size).reshape(nconv, 2)
    start = np.full(nconv, np.iinfo(np.int64).max, dtype=np.int64)
    end = np.full(nconv, np.iinfo(np.int64).min, dtype=np.int64)
    last = np.full(nconv, -1, dtype=np.int64)
    np.minimum.at(start, conv, ts)
    np.maximum.at(end, conv, ts)
    np.maximum.at(last, conv, idx)
    return {
        "packets_ab": packets[:, 0].astype(np.int64), "packets_ba": packets[:, 1].astype(np.int64),
        "bytes_ab": frame[:, 0].astype(np.int64), "bytes_ba": frame[:, 1].astype(np.int64),
        "payload_ab": pay[:, 0].astype(np.int64), "payload_ba": pay[:, 1].astype(np.int64),
        "start_ns": start, "end_ns": end, "last_packet": last,
    }


def _extra(f: ZWaveFrames, rows: np.ndarray, conv: np.ndarray, nconv: int, home: np.ndarray,
           lo: np.ndarray, hi: np.ndarray, cast: np.ndarray) -> dict[str, np.ndarray]:
    """The Z-Wave columns: nodes, ACK/command counts, checksum failures, RSS, rate, region."""
    ack = f.is_ack[rows]
    acks = np.bincount(conv, weights=ack, minlength=nconv).astype(np.int64)
    total = np.bincount(conv, minlength=nconv).astype(np.int64)
    bad = np.bincount(conv, weights=f.checksum[rows] == 0, minlength=nconv).astype(np.int64)
    rssi = f.rssi[rows].astype(np.float64)
    has = ~np.isnan(rssi)
    count = np.bincount(conv, weights=has, minlength=nconv)
    total_rssi = np.bincount(conv, weights=np.where(has, rssi, 0.0), minlength=nconv)
    low = np.full(nconv, np.inf)
    high = np.full(nconv, -np.inf)
    np.minimum.at(low, conv[has], rssi[has])
    np.maximum.at(high, conv[has], rssi[has])
    present = count > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(present, total_rssi / np.where(present, count, 1), np.nan)
    return {
        "home_id": home.astype(np.uint32),
        "node_a": lo.astype(np.int16),
        "node_b": np.where(cast == MULTICAST, -1, hi).astype(np.int16),
        "cast": np.array([CAST_NAMES[c] for c in cast.tolist()], dtype="U9"),
        "ack_count": acks,
        "command_count": total - acks,
        "bad_checksum": bad,
        "rssi_min": np.where(present, low, np.nan),
        "rssi_mean": mean,
        "rssi_max": np.where(present, high, np.nan),
        "data_rate": _names_per_conv(conv, f.data_rate[rows], nconv, data_rate_name),
        "region": _names_per_conv(conv, f.region[rows], nconv, region_name),
        "command_classes": _class_counts(conv, f.command_class[rows], ~ack, nconv),
    }


def _names_per_conv(conv: np.ndarray, code: np.ndarray, nconv: int,
                    name_of: Callable[[int], str]) -> np.ndarray:
    """The distinct codes (≥ 0) of each conversation, named, in order of first appearance.

    Usually a conversation has one code: each frame is compared with its conversation's first
    code, and only the frames that differ are looked at further.
    """
    has = np.flatnonzero(code >= 0)
    names: list[list[str]] = [[] for _ in range(nconv)]
    if not has.size:
        return _text_column([""] * nconv)
    first = np.full(nconv, code.size, dtype=np.int64)
    np.minimum.at(first, conv[has], has)
    seen = first < code.size
    first_code = np.where(seen, code[np.minimum(first, code.size - 1)], -1)
    for c in np.flatnonzero(seen).tolist():
        names[c].append(name_of(int(first_code[c])))
    other = has[code[has] != first_code[conv[has]]]
    if other.size:
        pair = conv[other] * (1 << 32) + code[other].astype(np.int64)
        _, at = np.unique(pair, return_index=True)
        for row in np.sort(other[at]).tolist():
            names[int(conv[row])].append(name_of(int(code[row])))
    return _text_column(["+".join(n) for n in names])


def _class_counts(conv: np.ndarray, cc: np.ndarray, command: np.ndarray, nconv: int
                  ) -> np.ndarray:
    """``NAME:count`` words per conversation (most used first), over command frames."""
    use = np.flatnonzero(command & (cc >= 0))
    pair = conv[use] * 256 + cc[use].astype(np.int64)
    if nconv * 256 <= 1 << 22:  # a dense count table is small: one linear pass
        counts = np.bincount(pair, minlength=nconv * 256)
        values = np.flatnonzero(counts)
        counts = counts[values]
    else:
        values, counts = np.unique(pair, return_counts=True)
    words: list[list[tuple[int, str]]] = [[] for _ in range(nconv)]
    for value, n in zip(values.tolist(), counts.tolist(), strict=True):
        words[value >> 8].append((n, command_class_name(value & 0xFF)))
    text = []
    for pairs in words:
        pairs.sort(key=lambda item: (-item[0], item[1]))
        text.append(" ".join(f"{name}:{n}" for n, name in pairs))
    return _text_column(text)


def _text_column(values: list[str]) -> np.ndarray:
    width = max((len(v) for v in values), default=1) or 1
    return np.array(values, dtype=f"U{width}")


def parse_class_counts(text: str) -> dict[str, int]:
    """The ``command_classes`` column of one row as ``{name: count}``."""
    out: dict[str, int] = {}
    for word in text.split():
        name, _, count = word.rpartition(":")
        out[name] = int(count)
    return out


def _reorder(t: ConversationTable, order: np.ndarray) -> ConversationTable:
    cols = {name: getattr(t, name)[order] for name in t.__dataclass_fields__
            if name not in ("packet_index", "packet_start", "extra")}
    return ConversationTable(**cols, extra={n: c[order] for n, c in t.extra.items()})
