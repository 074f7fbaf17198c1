"""What the Z-Wave pane draws, as arrays: ACK/command counts per node pair, frames over time,
one conversation's command classes, RSSI over time.

Counts per pair are the engine's columns (``ack_count``, ``command_count``); the time histogram
bins the engine's per-frame columns (:func:`engine.zwave.frames_of`). Qt-free. Times are seconds
since the capture's first packet, as in the conversation table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.result import FlowResult
from engine.zwave import frames_of
from engine.zwave.conversations import parse_class_counts
from engine.zwave.protocol import ZWAVE

#: the time histogram uses 1 s bins unless that would make more than this many bars
MAX_BINS = 1500
#: RSSI points drawn at most, for the capture and for the selection (a stride keeps the shape
#: of a longer series; a scatter of 100k points would take a quarter of a second to set)
MAX_RSSI_POINTS = 20_000
MAX_SELECTED_RSSI_POINTS = 5_000
GROUP_GAP = 1.0  # empty bar slots between home networks


def has_zwave(result: FlowResult | None) -> bool:
    return result is not None and bool((result.conversations.kind == ZWAVE.kind).any())


def pair_label(node_a: int, node_b: int, cast: str) -> str:
    if cast == "broadcast":
        return f"{node_a}→all"
    if cast == "multicast":
        return f"{node_a}→group"
    return f"{node_a}↔{node_b}"


@dataclass
class PairBars:
    """One bar per Z-Wave conversation, grouped by home id (then by node pair)."""

    rows: np.ndarray  # conversation ids in bar order
    x: np.ndarray  # bar centres
    acks: np.ndarray  # int64
    commands: np.ndarray  # int64
    labels: list[str]
    homes: list[tuple[int, float, float]]  # (home id, first x, last x)

    def x_of(self, conversation: int) -> float | None:
        at = np.flatnonzero(self.rows == conversation)
        return float(self.x[at[0]]) if at.size else None


def pair_bars(result: FlowResult) -> PairBars:
    t = result.conversations
    rows = np.flatnonzero(t.kind == ZWAVE.kind)
    home = t.extra["home_id"][rows].astype(np.int64)
    a = t.extra["node_a"][rows].astype(np.int64)
    b = t.extra["node_b"][rows].astype(np.int64)
    order = np.lexsort((b, a, home))
    rows, home, a, b = rows[order], home[order], a[order], b[order]
    group = np.concatenate([[0], np.cumsum(home[1:] != home[:-1])]) if rows.size else home
    x = np.arange(rows.size, dtype=np.float64) + group * GROUP_GAP
    cast = t.extra["cast"][rows]
    labels = [pair_label(int(p), int(q), str(c)) for p, q, c in zip(a, b, cast, strict=True)]
    homes = []
    for g in np.unique(group).tolist():
        at = np.flatnonzero(group == g)
        homes.append((int(home[at[0]]), float(x[at[0]]), float(x[at[-1]])))
    return PairBars(rows=rows, x=x, acks=t.extra["ack_count"][rows].astype(np.int64),
                    commands=t.extra["command_count"][rows].astype(np.int64), labels=labels,
                    homes=homes)


@dataclass
class FrameHistogram:
    """Frames per time bin, ACKs and commands apart; keeps each frame's bin so one
    conversation's frames per bin are a single bincount."""

    start: np.ndarray  # bin left edges, seconds since the capture's first packet
    width: float  # seconds per bin
    acks: np.ndarray
    commands: np.ndarray
    slot: np.ndarray  # bin of each frame
    conversation: np.ndarray  # conversation of each frame

    def of(self, conversation: int) -> np.ndarray:
        """Frames of ``conversation`` per bin."""
        return np.bincount(self.slot[self.conversation == conversation],
                           minlength=self.start.size)


def _frame_times(result: FlowResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(seconds, is ACK, conversation id) of every Z-Wave frame in a conversation."""
    frames = frames_of(result)
    keyed = np.flatnonzero(frames.keyed)
    index = frames.index[keyed]
    first = result.capture.first_ns if result.capture.first_ns is not None else 0
    seconds = (result.packets.ts_ns[index] - first).astype(np.float64) / 1e9
    return seconds, frames.is_ack[keyed], result.packets.conv[index].astype(np.int64)


def bin_width(span: float) -> float:
    """1 s, or the smallest of 2, 5, 10, 20, 50, … s that keeps the bars under MAX_BINS."""
    width, steps = 1.0, (2.0, 2.5, 2.0)  # 1 → 2 → 5 → 10 → 20 → 50 → 100 …
    k = 0
    while span / width > MAX_BINS:
        width *= steps[k % 3]
        k += 1
    return width


def frame_histogram(result: FlowResult) -> FrameHistogram:
    """All Z-Wave frames of the capture per bin."""
    seconds, ack, conv = _frame_times(result)
    span = float(seconds.max()) if seconds.size else 0.0
    width = bin_width(span)
    bins = int(span // width) + 1
    slot = np.minimum((seconds // width).astype(np.int64), bins - 1)
    acks = np.bincount(slot[ack], minlength=bins).astype(np.int64)
    commands = np.bincount(slot[~ack], minlength=bins).astype(np.int64)
    start = np.arange(bins, dtype=np.float64) * width
    return FrameHistogram(start, width, acks, commands, slot, conv)


def command_classes(result: FlowResult, conversation: int) -> list[tuple[str, int]]:
    """``[(name, count), …]`` of a Z-Wave conversation's command frames, most used first."""
    t = result.conversations
    if conversation < 0 or t.kind[conversation] != ZWAVE.kind:
        return []
    counts = parse_class_counts(str(t.extra["command_classes"][conversation]))
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


@dataclass
class RssiSeries:
    seconds: np.ndarray
    rssi: np.ndarray  # dBm
    conversation: np.ndarray
    packet: np.ndarray  # packet index in the capture


def rssi_series(result: FlowResult) -> RssiSeries | None:
    """Frames that carry an RSSI (Z-Wave TAP captures); None when none does."""
    frames = frames_of(result)
    keyed = frames.keyed & ~np.isnan(frames.rssi)
    if not keyed.any():
        return None
    rows = np.flatnonzero(keyed)
    index = frames.index[rows]
    first = result.capture.first_ns if result.capture.first_ns is not None else 0
    return RssiSeries(seconds=(result.packets.ts_ns[index] - first).astype(np.float64) / 1e9,
                      rssi=frames.rssi[rows].astype(np.float64),
                      conversation=result.packets.conv[index].astype(np.int64), packet=index)
