"""A reassembled TCP stream in the formats Wireshark's Follow TCP Stream offers.

- ``raw``: the bytes themselves (only bytes that were captured: gaps are left out);
- ``hex``: 16-byte hexdump lines, offsets counted per direction (B→A lines indented with a tab
  when both directions are shown, as tshark does); one block per turn of the conversation;
- ``ascii``: the bytes with non-printable characters (other than tab, CR, LF) as dots;
- ``c-array``: one C array per chunk, ``peer0_N`` for A→B and ``peer1_N`` for B→A;
- ``yaml``: the peers, then one entry per chunk with packet number, peer, index, timestamp and
  base64 data (Wireshark's layout), then the gaps.

In the text formats a gap is written where it occurs as ``[N bytes missing in capture file]``.
Packet numbers are 1-based, like Wireshark's frame numbers.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

import numpy as np

from ..atomic import atomic_write
from ..capture import CancelFn
from ..errors import LoadCancelled

if TYPE_CHECKING:  # annotations only: the formats need no reassembly code to be imported
    from ..follow.model import FollowStream, Gap

DIRECTION_CHOICES = ("both", "a-to-b", "b-to-a")

_PRINTABLE = bytes(c if (32 <= c < 127 or c in (9, 10, 13)) else 46 for c in range(256))
_HEX_ASCII = bytes(c if 32 <= c < 127 else 46 for c in range(256))
_HEXDIGITS = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
_LOWHEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def directions(choice: str) -> tuple[int, ...]:
    if choice not in DIRECTION_CHOICES:
        raise ValueError(f"direction must be one of {', '.join(DIRECTION_CHOICES)}")
    return {"both": (0, 1), "a-to-b": (0,), "b-to-a": (1,)}[choice]


class _Turn(NamedTuple):
    direction: int
    first_chunk: int
    offset: int
    length: int


def _turns(stream: FollowStream, wanted: tuple[int, ...]) -> list[_Turn]:
    """The stream's turns (see :meth:`FollowStream.turns`) in the wanted directions."""
    t = stream.turns()
    keep = np.isin(t.direction, wanted)
    return list(map(_Turn._make, zip(t.direction[keep].tolist(), t.first_chunk[keep].tolist(),
                                     t.offset[keep].tolist(), t.length[keep].tolist(),
                                     strict=True)))


class _Cursor:
    """Reads one direction's bytes front to back, without joining them."""

    def __init__(self, stream: FollowStream, direction: int) -> None:
        self._blocks = stream.stores[direction].blocks()
        self.block: memoryview = memoryview(b"")
        self.pos = 0

    def take(self, length: int) -> Iterator[memoryview]:
        while length > 0:
            if self.pos >= len(self.block):
                try:
                    self.block = memoryview(next(self._blocks))
                except StopIteration:
                    return
                self.pos = 0
            piece = self.block[self.pos : self.pos + length]
            self.pos += len(piece)
            length -= len(piece)
            yield piece


def _gaps_before(stream: FollowStream, wanted: tuple[int, ...]) -> dict[int, list[Gap]]:
    out: dict[int, list[Gap]] = {}
    for g in stream.gaps:
        if g.direction in wanted:
            out.setdefault(g.before_chunk, []).append(g)
    return out


def write_follow(stream: FollowStream, out: BinaryIO, fmt: str = "raw", direction: str = "both",
                 cancel: CancelFn | None = None) -> None:
    """Write ``stream`` to the binary file ``out`` in format ``fmt``."""
    wanted = directions(direction)
    spec = FOLLOW_FORMATS.get(fmt)
    if spec is None:
        raise ValueError(f"format must be one of {', '.join(FOLLOW_FORMATS)}")
    for k, piece in enumerate(spec.write(stream, wanted)):
        out.write(piece)
        if cancel is not None and not k & 0xFF and cancel():
            raise LoadCancelled("The export was cancelled.")


def export_follow(stream: FollowStream, path: str | Path, fmt: str = "raw",
                  direction: str = "both", cancel: CancelFn | None = None) -> None:
    """Write ``stream`` to ``path`` atomically (a failed or cancelled export leaves nothing)."""
    with atomic_write(path) as out:
        write_follow(stream, out, fmt, direction, cancel)


def _marker(gap: Gap) -> bytes:
    return f"[{gap.length} bytes missing in capture file]".encode()


# -- raw and ascii --------------------------------------------------------------------------
def _raw(stream: FollowStream, wanted: tuple[int, ...]) -> Iterator[bytes | memoryview]:
    if len(wanted) == 1:
        yield from stream.stores[wanted[0]].blocks()
        return
    cursors = [_Cursor(stream, 0), _Cursor(stream, 1)]
    for direction, _, _, length in _turns(stream, wanted):
        cursor = cursors[direction]
        pos = cursor.pos
        if pos + length <= len(cursor.block):  # the common case: inside the current block
            cursor.pos = pos + length
            yield cursor.block[pos : pos + length]
        else:
            yield from cursor.take(length)


def _ascii(stream: FollowStream, wanted: tuple[int, ...]) -> Iterator[bytes | memoryview]:
    gaps = _gaps_before(stream, wanted)
    cursors = [_Cursor(stream, 0), _Cursor(stream, 1)]
    for turn in _turns(stream, wanted):
        yield from _markers(gaps.pop(turn.first_chunk, []), b"")
        for piece in cursors[turn.direction].take(turn.length):
            yield bytes(piece).translate(_PRINTABLE)
    for k in sorted(gaps):
        yield from _markers(gaps[k], b"")


def _markers(gaps: list[Gap], indent: bytes) -> Iterator[bytes]:
    for g in gaps:
        yield indent + _marker(g) + b"\n"


# -- hex dump --------------------------------------------------------------------------------
def _hex(stream: FollowStream, wanted: tuple[int, ...]) -> Iterator[bytes]:
    both = len(wanted) == 2
    gaps = _gaps_before(stream, wanted)
    cursors = [_Cursor(stream, 0), _Cursor(stream, 1)]
    for turn in _turns(stream, wanted):
        indent = b"\t" if both and turn.direction == 1 else b""
        yield from _markers(gaps.pop(turn.first_chunk, []), indent)
        data = b"".join(cursors[turn.direction].take(turn.length))
        for start in range(0, len(data), 1 << 20):
            yield hexdump(data[start : start + (1 << 20)], turn.offset + start, indent)
    for k in sorted(gaps):
        yield from _markers(gaps[k], b"\t" if both and gaps[k][0].direction else b"")


def hexdump(data: bytes, offset: int = 0, indent: bytes = b"") -> bytes:
    """tshark's hexdump layout, 16 bytes a line, offsets from ``offset`` (upper-case hex)."""
    full = len(data) // 16
    out = []
    if full:
        out.append(_full_lines(np.frombuffer(data, np.uint8, full * 16).reshape(full, 16),
                               offset, indent))
    rest = data[full * 16 :]
    if rest:
        first, second = rest[:8], rest[8:]
        hexpart = (first.hex(" ") + " " + (" " + second.hex(" ") if second else "")).ljust(49)
        text = first.translate(_HEX_ASCII) + (b" " + second.translate(_HEX_ASCII)
                                              if second else b"")
        out.append(indent + f"{offset + full * 16:08X}  {hexpart} ".encode() + text + b"\n")
    return b"".join(out)


def _full_lines(rows: np.ndarray, offset: int, indent: bytes) -> bytes:
    """Whole 16-byte lines at once: a fixed-width character grid filled with numpy."""
    n = rows.shape[0]
    width = len(indent) + 78
    grid = np.full((n, width), ord(" "), dtype=np.uint8)
    grid[:, -1] = ord("\n")
    if indent:
        grid[:, : len(indent)] = np.frombuffer(indent, np.uint8)
    base = len(indent)
    offs = offset + 16 * np.arange(n, dtype=np.int64)
    for digit in range(8):
        grid[:, base + 7 - digit] = _HEXDIGITS[(offs >> (4 * digit)) & 0xF]
    for i in range(16):
        col = base + 10 + 3 * i + (1 if i >= 8 else 0)
        grid[:, col] = _LOWHEX[rows[:, i] >> 4]
        grid[:, col + 1] = _LOWHEX[rows[:, i] & 0xF]
    table = np.frombuffer(_HEX_ASCII, np.uint8)
    text = base + 60
    grid[:, text : text + 8] = table[rows[:, :8]]
    grid[:, text + 9 : text + 17] = table[rows[:, 8:]]
    return grid.tobytes()


# -- C arrays ---------------------------------------------------------------------------------
_CBYTES = np.array([list(f"0x{b:02x}, ".encode()) for b in range(256)], dtype=np.uint8)


def c_array(name: str, packet: int, data: bytes) -> bytes:
    """``char name[] = { /* Packet N */`` with eight ``0x..`` values a line."""
    head = f"char {name}[] = {{ /* Packet {packet} */\n".encode()
    if not data:
        return head + b"};\n"
    cells = _CBYTES[np.frombuffer(data, np.uint8)]  # (n, 6) "0x47, "
    n = cells.shape[0]
    lines = -(-n // 8)
    padded = np.zeros((lines * 8, 6), dtype=np.uint8)
    padded[:n] = cells
    grid = padded.reshape(lines, 48)
    body = np.concatenate((grid, np.full((lines, 1), ord("\n"), dtype=np.uint8)), axis=1)
    text = body.tobytes()
    # drop the padding of the last line, and end the array after the last value
    keep = (lines - 1) * 49 + ((n - 1) % 8 + 1) * 6
    return head + text[: keep - 2] + b" };\n"


def _c_arrays(stream: FollowStream, wanted: tuple[int, ...]) -> Iterator[bytes]:
    c = stream.chunks
    gaps = _gaps_before(stream, wanted)
    count = [0, 0]
    for k in range(len(c)):
        for g in gaps.pop(k, []):
            yield f"/* {g.length} bytes missing in capture file */\n".encode()
        d = int(c.direction[k])
        if d not in wanted:
            continue
        yield c_array(f"peer{d}_{count[d]}", int(c.packet[k]) + 1, stream.chunk_bytes(k))
        count[d] += 1
    for k in sorted(gaps):
        for g in gaps[k]:
            yield f"/* {g.length} bytes missing in capture file */\n".encode()


# -- YAML ---------------------------------------------------------------------------------------
def _yaml(stream: FollowStream, wanted: tuple[int, ...]) -> Iterator[bytes]:
    c = stream.chunks
    yield b"peers:\n"
    for peer, (host, port) in enumerate((stream.a, stream.b)):
        yield f"  - peer: {peer}\n    host: {host}\n    port: {port}\n".encode()
    yield b"packets:\n" if len(c) else b"packets: []\n"
    count = [0, 0]
    for k in range(len(c)):
        d = int(c.direction[k])
        if d not in wanted:
            continue
        ts = int(c.ts_ns[k])
        data = base64.encodebytes(stream.chunk_bytes(k)).decode()
        body = "".join(f"      {line}\n" for line in data.splitlines())
        yield (f"  - packet: {int(c.packet[k]) + 1}\n    peer: {d}\n    index: {count[d]}\n"
               f"    timestamp: {ts // 1_000_000_000}.{ts % 1_000_000_000:09d}\n"
               f"    data: !!binary |\n{body}").encode()
        count[d] += 1
    gaps = [g for g in stream.gaps if g.direction in wanted]
    if gaps:
        yield b"gaps:\n"
        for g in gaps:
            yield (f"  - peer: {g.direction}\n    offset: {g.offset}\n    missing: {g.length}\n"
                   f"    kind: {g.kind}\n    packet: {g.packet + 1}\n").encode()


# -- the formats, by name (the CLI's --format, the GUI's Export Stream) ------------------------
@dataclass(frozen=True)
class FollowFormat:
    """A way to write a stream: ``write(stream, directions)`` yields the file's pieces."""

    name: str
    title: str  # as a dialog shows it
    suffix: str
    write: Callable[[FollowStream, tuple[int, ...]], Iterator[bytes | memoryview]]


#: every Follow format by name, in the order offered
FOLLOW_FORMATS: dict[str, FollowFormat] = {}


def register_follow_format(fmt: FollowFormat) -> None:
    FOLLOW_FORMATS[fmt.name] = fmt


for _fmt in (
    FollowFormat("raw", "Raw bytes", ".bin", _raw),
    FollowFormat("hex", "Hex dump", ".txt", _hex),
    FollowFormat("ascii", "ASCII", ".txt", _ascii),
    FollowFormat("c-array", "C arrays", ".c", _c_arrays),
    FollowFormat("yaml", "YAML", ".yaml", _yaml),
):
    register_follow_format(_fmt)
