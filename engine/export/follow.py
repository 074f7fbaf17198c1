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
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..capture import CancelFn
from ..errors import LoadCancelled
from ..tcp.stream import Gap, TcpStream
from .atomic import atomic_write

FORMATS = ("raw", "hex", "ascii", "c-array", "yaml")
DIRECTION_CHOICES = ("both", "a-to-b", "b-to-a")

_PRINTABLE = bytes(c if (32 <= c < 127 or c in (9, 10, 13)) else 46 for c in range(256))
_HEX_ASCII = bytes(c if 32 <= c < 127 else 46 for c in range(256))
_HEXDIGITS = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
_LOWHEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def directions(choice: str) -> tuple[int, ...]:
    if choice not in DIRECTION_CHOICES:
        raise ValueError(f"direction must be one of {', '.join(DIRECTION_CHOICES)}")
    return {"both": (0, 1), "a-to-b": (0,), "b-to-a": (1,)}[choice]


def _turns(stream: TcpStream, wanted: tuple[int, ...]) -> Iterator[tuple[int, int, int, int]]:
    """(direction, first chunk, offset, length) of each run of consecutive chunks of one
    direction (a direction's chunks are contiguous in its bytes)."""
    c = stream.chunks
    d = c.direction.tolist()
    k = 0
    while k < len(d):
        j = k
        while j + 1 < len(d) and d[j + 1] == d[k]:
            j += 1
        if d[k] in wanted:
            off = int(c.offset[k])
            yield d[k], k, off, int(c.offset[j] + c.length[j]) - off
        k = j + 1


def _gaps_before(stream: TcpStream, wanted: tuple[int, ...]) -> dict[int, list[Gap]]:
    out: dict[int, list[Gap]] = {}
    for g in stream.gaps:
        if g.direction in wanted:
            out.setdefault(g.before_chunk, []).append(g)
    return out


def _read(stream: TcpStream, direction: int, offset: int, length: int,
          block: int = 4 << 20) -> Iterator[bytes]:
    store = stream.stores[direction]
    for start in range(offset, offset + length, block):
        yield store.read(start, min(block, offset + length - start))


def write_follow(stream: TcpStream, out: BinaryIO, fmt: str = "raw", direction: str = "both",
                 cancel: CancelFn | None = None) -> None:
    """Write ``stream`` to the binary file ``out`` in format ``fmt``."""
    wanted = directions(direction)
    writer = {"raw": _raw, "hex": _hex, "ascii": _ascii, "c-array": _c_arrays,
              "yaml": _yaml}.get(fmt)
    if writer is None:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    for k, piece in enumerate(writer(stream, wanted)):
        out.write(piece)
        if cancel is not None and not k & 0xFF and cancel():
            raise LoadCancelled("The export was cancelled.")


def export_follow(stream: TcpStream, path: str | Path, fmt: str = "raw",
                  direction: str = "both", cancel: CancelFn | None = None) -> None:
    """Write ``stream`` to ``path`` atomically (a failed or cancelled export leaves nothing)."""
    with atomic_write(path) as out:
        write_follow(stream, out, fmt, direction, cancel)


def _marker(gap: Gap) -> bytes:
    return f"[{gap.length} bytes missing in capture file]".encode()


# -- raw and ascii --------------------------------------------------------------------------
def _raw(stream: TcpStream, wanted: tuple[int, ...]) -> Iterator[bytes]:
    if len(wanted) == 1:
        store = stream.stores[wanted[0]]
        yield from store.blocks()
        return
    for d, _, off, length in _turns(stream, wanted):
        yield from _read(stream, d, off, length)


def _ascii(stream: TcpStream, wanted: tuple[int, ...]) -> Iterator[bytes]:
    gaps = _gaps_before(stream, wanted)
    for d, k, off, length in _turns(stream, wanted):
        yield from _gap_lines(gaps, k, stream, d, b"", b"\n")
        for piece in _read(stream, d, off, length):
            yield piece.translate(_PRINTABLE)
    yield from _trailing_gaps(gaps, stream, b"", b"\n")


def _gap_lines(gaps: dict[int, list[Gap]], first: int, stream: TcpStream, direction: int,
               indent: bytes, end: bytes) -> Iterator[bytes]:
    """Markers of the gaps that come before chunk ``first`` and its turn's other chunks."""
    c = stream.chunks.direction
    k = first
    while True:
        for g in gaps.pop(k, []):
            yield (b"\t" if g.direction and indent else indent) + _marker(g) + end
        k += 1
        if k >= c.size or c[k] != direction:
            break


def _trailing_gaps(gaps: dict[int, list[Gap]], stream: TcpStream, indent: bytes, end: bytes
                   ) -> Iterator[bytes]:
    for k in sorted(gaps):
        for g in gaps[k]:
            yield indent + _marker(g) + end


# -- hex dump --------------------------------------------------------------------------------
def _hex(stream: TcpStream, wanted: tuple[int, ...]) -> Iterator[bytes]:
    both = len(wanted) == 2
    gaps = _gaps_before(stream, wanted)
    for d, k, off, length in _turns(stream, wanted):
        indent = b"\t" if both and d == 1 else b""
        yield from _gap_lines(gaps, k, stream, d, indent, b"\n")
        pos = off
        for piece in _read(stream, d, off, length, block=1 << 20):
            yield hexdump(piece, pos, indent)
            pos += len(piece)
    yield from _trailing_gaps(gaps, stream, b"", b"\n")


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


def _c_arrays(stream: TcpStream, wanted: tuple[int, ...]) -> Iterator[bytes]:
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
def _yaml(stream: TcpStream, wanted: tuple[int, ...]) -> Iterator[bytes]:
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
