"""Where every line of a stream view comes from, computed from the engine's chunk list.

A stream of 100 MB is never turned into one string. :class:`StreamDocument` cuts the stream into
*pieces* in emission order — runs of one direction's bytes (a turn, split every ``PIECE`` bytes)
and gap markers — and counts the lines each piece takes in every mode. :class:`StreamLayout` is
one view of a document (mode and direction): line ``L`` is found with ``np.searchsorted`` over
the cumulative line counts, and only the lines on screen are ever formatted. Qt-free.

Modes: ``text`` (lines end at LF and wrap every ``TEXT_WIDTH`` bytes), ``hex`` (a hex dump, 16
bytes a line with the direction's offsets, as ``flowscope-cli follow --format hex`` lays it
out) and ``raw`` (hex digits, ``RAW_BYTES`` a line). Positions (for selection and find) count the
bytes shown, in display order, across both directions.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from engine.errors import LoadCancelled
from engine.follow.model import FollowStream

MODES = ("text", "hex", "raw")
DIRECTIONS = ("both", "a-to-b", "b-to-a")
HEX_BYTES = 16
RAW_BYTES = 32
TEXT_WIDTH = 128
#: the longest run of bytes laid out as a unit (a multiple of HEX_BYTES and RAW_BYTES); a text
#: line running across a piece boundary is broken there
PIECE = 1 << 20
#: bytes scanned for line feeds at once while a document is built
_WINDOW = 8 << 20
LF = 10


def wanted_directions(direction: str) -> tuple[int, ...]:
    return {"both": (0, 1), "a-to-b": (0,), "b-to-a": (1,)}[direction]


def text_line_starts(data: np.ndarray, piece_starts: np.ndarray, width: int = TEXT_WIDTH
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Display line starts (positions in ``data``) and the piece each belongs to, for pieces
    that tile ``data`` and begin at ``piece_starts`` (the first at 0).

    A line begins at each piece start and after each LF; a line longer than ``width`` visible
    bytes (its LF not counted) continues on as many further lines as it needs.
    """
    n = data.size
    if not n:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    after_lf = np.flatnonzero(data[:-1] == LF) + 1
    logical = np.union1d(piece_starts.astype(np.int64), after_lf)
    ends = np.append(logical[1:], n)
    visible = ends - logical - (data[ends - 1] == LF)
    count = np.maximum(1, -(-visible // width))
    total = int(count.sum())
    first = np.cumsum(count) - count
    starts = np.repeat(logical, count) + width * (np.arange(total, dtype=np.int64)
                                                   - np.repeat(first, count))
    owner = np.searchsorted(piece_starts, starts, side="right") - 1
    return starts, owner


@dataclass
class Pieces:
    """The stream in emission order: byte runs (``gap == -1``) and gap markers."""

    gap: np.ndarray  # int64: index into the stream's gaps, -1 for bytes
    direction: np.ndarray  # uint8: 0 = A→B, 1 = B→A
    start: np.ndarray  # int64: offset in the direction's bytes (a gap: where it belongs)
    length: np.ndarray  # int64: bytes (a gap: bytes missing)
    turn_first: np.ndarray  # bool: the first piece of a turn (its line gets a label)
    lines: dict[str, np.ndarray]  # lines per piece, for each mode

    def __len__(self) -> int:
        return int(self.gap.size)


class StreamDocument:
    """A stream cut into pieces, with line counts for every mode. Owns the stream (close it).

    Built on a worker thread (the text line counts scan the bytes once); everything a view
    needs afterwards is a few numpy lookups.
    """

    def __init__(self, stream: FollowStream, cancel: Callable[[], bool] | None = None,
                 complete: bool = True) -> None:
        self.stream = stream
        #: False for a preview of the first packets (the whole stream follows)
        self.complete = complete
        #: a UDP stream: each datagram is shown on lines of its own
        self.datagrams = stream.datagrams
        c = stream.chunks
        self.pieces = self._cut(cancel)
        # chunk lookup per direction: the chunks of one direction are in offset order
        self._chunks_of = [np.flatnonzero(c.direction == d) for d in (0, 1)]
        self._chunk_offsets = [c.offset[k] for k in self._chunks_of]
        self.bytes = (len(stream.stores[0]), len(stream.stores[1]))
        self.packets = (int(self._chunks_of[0].size), int(self._chunks_of[1].size))
        # Wireshark's Follow counts a turn at each change of direction, starting from the
        # client (A): a request and its response are one turn
        if len(c):
            changes = int(np.count_nonzero(c.direction[1:] != c.direction[:-1]))
            self.turns = changes + int(c.direction[0] == 1)
        else:
            self.turns = 0
        self.missing = sum(g.length for g in stream.gaps)

    def close(self) -> None:
        self.stream.close()

    # -- building ------------------------------------------------------------------------------
    def _cut(self, cancel: Callable[[], bool] | None) -> Pieces:
        s = self.stream
        c = s.chunks
        n = len(c)
        # turns: the engine's runs of one direction (datagrams are turns of their own)
        if self.datagrams:
            first, t_dir, t_off, t_len = np.arange(n), c.direction, c.offset, c.length
        else:
            turns = s.turns()
            first, t_dir, t_off, t_len = (turns.first_chunk, turns.direction, turns.offset,
                                          turns.length)
        # split turns into pieces of at most PIECE bytes
        per = np.maximum(1, -(-t_len // PIECE))
        turn = np.repeat(np.arange(first.size), per)
        k = np.arange(int(per.sum()), dtype=np.int64) - np.repeat(np.cumsum(per) - per, per)
        b_start = t_off[turn] + k * PIECE
        b_len = np.minimum(PIECE, t_len[turn] - k * PIECE)
        # gap markers go before the chunk they precede; bytes come after gaps at that chunk
        g = s.gaps
        g_chunk = np.array([x.before_chunk for x in g], dtype=np.int64)
        key_chunk = np.concatenate((first[turn], g_chunk))
        key_sub = np.concatenate((np.ones(turn.size, dtype=np.int64),
                                  np.zeros(len(g), dtype=np.int64)))
        key_seq = np.concatenate((np.arange(turn.size), np.arange(len(g))))
        order = np.lexsort((key_seq, key_sub, key_chunk))
        gap = np.concatenate((np.full(turn.size, -1, dtype=np.int64),
                              np.arange(len(g), dtype=np.int64)))[order]
        direction = np.concatenate((t_dir[turn], np.array([x.direction for x in g],
                                                          dtype=np.uint8)))[order]
        start = np.concatenate((b_start, np.array([x.offset for x in g], dtype=np.int64)))[order]
        length = np.concatenate((b_len, np.array([x.length for x in g], dtype=np.int64)))[order]
        turn_first = np.concatenate((k == 0, np.ones(len(g), dtype=bool)))[order]
        is_gap = gap >= 0
        lines = {
            "hex": np.where(is_gap, 1, -(-length // HEX_BYTES)),
            "raw": np.where(is_gap, 1, -(-length // RAW_BYTES)),
            "text": np.ones(length.size, dtype=np.int64),
        }
        pieces = Pieces(gap=gap, direction=direction.astype(np.uint8), start=start,
                        length=length, turn_first=turn_first, lines=lines)
        self._count_text_lines(pieces, cancel)
        return pieces

    def _count_text_lines(self, pieces: Pieces, cancel: Callable[[], bool] | None) -> None:
        """Text lines per byte piece, scanning each direction's bytes a window at a time."""
        for d in (0, 1):
            rows = np.flatnonzero((pieces.gap < 0) & (pieces.direction == d))
            if not rows.size:
                continue
            starts = pieces.start[rows]
            ends = starts + pieces.length[rows]
            # windows of whole pieces, about _WINDOW bytes each
            edges = np.searchsorted(ends, np.arange(_WINDOW, int(ends[-1]), _WINDOW))
            for group in np.split(np.arange(rows.size), np.unique(edges + 1)):
                if not group.size:
                    continue
                lo, hi = int(starts[group[0]]), int(ends[group[-1]])
                data = np.frombuffer(self.stream.stores[d].read(lo, hi - lo), np.uint8)
                _, owner = text_line_starts(data, starts[group] - lo)
                pieces.lines["text"][rows[group]] = np.bincount(owner, minlength=group.size)
                if cancel is not None and cancel():
                    raise LoadCancelled("Laying out the stream was cancelled.")

    # -- lookups -------------------------------------------------------------------------------
    def chunk_at(self, direction: int, offset: int) -> int:
        """The chunk holding byte ``offset`` of a direction (-1 if none)."""
        offsets = self._chunk_offsets[direction]
        k = int(np.searchsorted(offsets, offset, side="right")) - 1
        return int(self._chunks_of[direction][k]) if k >= 0 else -1

    def packet_at(self, direction: int, offset: int) -> int:
        k = self.chunk_at(direction, offset)
        return int(self.stream.chunks.packet[k]) if k >= 0 else -1

    def read(self, direction: int, offset: int, length: int) -> bytes:
        return self.stream.stores[direction].read(offset, length)


class Line(NamedTuple):
    """One display line: a run of one direction's bytes, or a gap marker."""

    index: int
    piece: int  # index into the layout's pieces
    direction: int
    gap: int  # index into the stream's gaps, -1 for bytes
    start: int  # offset of the first byte in the direction's bytes (a gap: its offset)
    end: int  # one past the last byte (a gap: = start)
    position: int  # display position of the first byte (selection and find)
    label: bool  # the first line of a turn or a gap: the gutter names the direction
    wrapped: bool  # text mode: continues the line above (no LF between them)

    @property
    def is_gap(self) -> bool:
        return self.gap >= 0


class StreamLayout:
    """One view of a document: ``mode`` and ``direction`` choose its pieces and line counts."""

    def __init__(self, document: StreamDocument, mode: str = "text",
                 direction: str = "both") -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        self.document = document
        self.mode = mode
        self.direction = direction
        p = document.pieces
        wanted = wanted_directions(direction)
        self.rows = np.flatnonzero(np.isin(p.direction, wanted))
        self.gap = p.gap[self.rows]
        self.dirs = p.direction[self.rows]
        self.start = p.start[self.rows]
        self.length = p.length[self.rows]
        self.turn_first = p.turn_first[self.rows]
        lines = p.lines[mode][self.rows]
        self.first_line = np.cumsum(lines) - lines
        self.line_count = int(lines.sum())
        shown = np.where(self.gap < 0, self.length, 0)
        self.first_position = np.cumsum(shown) - shown
        self.byte_count = int(shown.sum())
        # per direction: the layout's byte pieces in offset order (for offset -> position)
        self._byte_rows = [np.flatnonzero((self.gap < 0) & (self.dirs == d)) for d in (0, 1)]
        self._byte_pieces = np.flatnonzero(self.gap < 0)
        self._byte_first = self.first_position[self._byte_pieces]
        self._text_cache: OrderedDict[int, np.ndarray] = OrderedDict()

    @property
    def width(self) -> int:
        """Bytes per line (text: before wrapping)."""
        return {"text": TEXT_WIDTH, "hex": HEX_BYTES, "raw": RAW_BYTES}[self.mode]

    def piece_of_line(self, index: int) -> int:
        return int(np.searchsorted(self.first_line, index, side="right")) - 1

    def line(self, index: int) -> Line:
        """Line ``index`` (0 <= index < line_count)."""
        if not 0 <= index < self.line_count:
            raise IndexError(f"line {index} out of range (0..{self.line_count - 1})")
        k = self.piece_of_line(index)
        j = index - int(self.first_line[k])
        d, gap, start = int(self.dirs[k]), int(self.gap[k]), int(self.start[k])
        if gap >= 0:
            return Line(index, k, d, gap, start, start, int(self.first_position[k]), True, False)
        length = int(self.length[k])
        wrapped = False
        if self.mode == "text":
            starts = self._text_starts(k)
            lo = int(starts[j])
            hi = int(starts[j + 1]) if j + 1 < starts.size else length
            if j:
                wrapped = self.document.read(d, start + lo - 1, 1) != b"\n"
        else:
            lo = j * self.width
            hi = min(lo + self.width, length)
        label = bool(self.turn_first[k]) and j == 0
        return Line(index, k, d, -1, start + lo, start + hi, int(self.first_position[k]) + lo,
                    label, wrapped)

    def lines(self, first: int, count: int) -> list[Line]:
        stop = min(first + count, self.line_count)
        return [self.line(i) for i in range(max(first, 0), stop)]

    def line_bytes(self, line: Line) -> bytes:
        return b"" if line.is_gap else self.document.read(line.direction, line.start,
                                                          line.end - line.start)

    def _text_starts(self, k: int) -> np.ndarray:
        """Line starts within text piece ``k`` (a few recent pieces are kept)."""
        cached = self._text_cache.get(k)
        if cached is not None:
            self._text_cache.move_to_end(k)
            return cached
        data = np.frombuffer(self.document.read(int(self.dirs[k]), int(self.start[k]),
                                                int(self.length[k])), np.uint8)
        starts, _ = text_line_starts(data, np.zeros(1, dtype=np.int64))
        self._text_cache[k] = starts
        if len(self._text_cache) > 8:
            self._text_cache.popitem(last=False)
        return starts

    # -- positions ---------------------------------------------------------------------------
    def locate(self, position: int) -> tuple[int, int] | None:
        """(direction, offset) of the byte at display ``position``."""
        if not 0 <= position < self.byte_count:
            return None
        k = self._piece_at_position(position)
        return int(self.dirs[k]), int(self.start[k]) + position - int(self.first_position[k])

    def _piece_at_position(self, position: int) -> int:
        """The byte piece holding display ``position`` (gap markers take no positions)."""
        i = int(np.searchsorted(self._byte_first, position, side="right")) - 1
        return int(self._byte_pieces[max(i, 0)])

    def position_of(self, direction: int, offset: int) -> int | None:
        """Display position of a direction's byte (None if this view does not show it)."""
        rows = self._byte_rows[direction]
        if not rows.size:
            return None
        i = int(np.searchsorted(self.start[rows], offset, side="right")) - 1
        if i < 0:
            return None
        k = int(rows[i])
        if offset >= int(self.start[k]) + int(self.length[k]):
            return None
        return int(self.first_position[k]) + offset - int(self.start[k])

    def line_of_position(self, position: int) -> int:
        """The line showing display ``position`` (the last line for the end)."""
        if self.line_count == 0:
            return 0
        if position >= self.byte_count:
            return self.line_count - 1
        k = self._piece_at_position(position)
        within = position - int(self.first_position[k])
        if self.mode == "text":
            j = int(np.searchsorted(self._text_starts(k), within, side="right")) - 1
        else:
            j = within // self.width
        return int(self.first_line[k]) + j

    def turn_end(self, direction: int, offset: int) -> int:
        """One past the last offset of the turn holding a direction's byte (matches must not
        run from one turn into the next)."""
        rows = self._byte_rows[direction]
        i = int(np.searchsorted(self.start[rows], offset, side="right")) - 1
        k = int(rows[max(i, 0)])
        end = int(self.start[k] + self.length[k])
        # following pieces of the same turn continue it
        while k + 1 < self.gap.size and not self.turn_first[k + 1] and self.gap[k + 1] < 0:
            k += 1
            end = int(self.start[k] + self.length[k])
        return end

    def packet_of_line(self, line: Line, byte: int | None = None) -> int:
        """The packet behind a line (a gap: the packet that revealed it), or behind one of its
        bytes (an offset in the direction's bytes)."""
        if line.is_gap:
            return self.document.stream.gaps[line.gap].packet
        return self.document.packet_at(line.direction, line.start if byte is None else byte)
