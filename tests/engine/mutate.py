"""Seeded mutations of capture files, for the fuzz test and ``bench/bench_fuzz.py``.

Case ``index`` of a seed depends only on (seed, index) and the list of source captures, so any case
the bench reports can be rebuilt alone with :func:`mutated_case`. The mutations aim where readers
break: bit flips and byte overwrites, truncation, length fields (pcap record headers, pcapng block
headers) set to huge, zero or odd values, file and interface header fields, options running past
their block's end, duplicated, swapped, deleted and shuffled records, header bytes inside packets,
files grown past a chunk boundary, runs of empty records, and gzip — damaged at any byte, or as a
bomb of empty records. Some cases start from a generated TCP connection whose segments arrive in
a hostile order instead of a real capture.
"""

from __future__ import annotations

import gzip
import random
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .tcpgen import segment_storm

PCAP_MAGICS = {0xA1B2C3D4: 16, 0xA1B23C4D: 16, 0xA1B2CD34: 24}  # as read in the file's order
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BOM = 0x1A2B3C4D
INTERESTING_32 = (0, 1, 2, 3, 7, 0x7F, 0x80, 0xFF, 0xFFFF, 0x10000, 0x40000, 0x4000000,
                  0x7FFFFFFF, 0x80000000, 0xFFFFFFF0, 0xFFFFFFFF)
INTERESTING_16 = (0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF)
INTERESTING_8 = (0, 1, 0x0F, 0x40, 0x45, 0x60, 0x7F, 0x80, 0xF0, 0xFF)
#: link types worth reading every capture as: each decoder (and plug-in) meets foreign bytes
LINK_TYPES = (0, 1, 9, 12, 14, 101, 105, 108, 113, 127, 228, 229, 261, 262, 276, 297)
#: the size the fuzz test reads with (FlowConfig.chunk_bytes's minimum): "grow" crosses it
SMALL_CHUNK = 1 << 16


@dataclass(frozen=True)
class Record:
    """One pcap record or pcapng block: [start, end) in the file, header included."""

    start: int
    end: int
    big: bool  # byte order of its length fields
    block_type: int  # pcapng block type; 0 for a pcap record


@dataclass(frozen=True)
class Layout:
    """Where the records of a capture are (as far as the bytes can be walked)."""

    kind: str  # "pcap", "pcapng" or "other"
    big: bool
    header: int  # bytes before the first record
    record_header: int  # pcap record header size (16, or 24 for the modified format)
    records: list[Record]


@dataclass(frozen=True)
class Case:
    """One mutated capture: which one it came from and what was done to it."""

    index: int
    source: str
    steps: tuple[str, ...]
    data: bytes

    def describe(self) -> str:
        return f"case {self.index}: {self.source} ← {' + '.join(self.steps)} ({len(self.data)} B)"


def layout(data: bytes) -> Layout:
    """Walk the record headers without trusting them further than the file reaches."""
    if len(data) >= 24:
        for big in (False, True):
            magic = struct.unpack_from(">I" if big else "<I", data)[0]
            if magic in PCAP_MAGICS:
                return _pcap_layout(data, big, PCAP_MAGICS[magic])
    if len(data) >= 12 and struct.unpack_from("<I", data)[0] == PCAPNG_SHB:
        return _pcapng_layout(data)
    return Layout("other", False, 0, 0, [])


def _pcap_layout(data: bytes, big: bool, hdr: int) -> Layout:
    e = ">" if big else "<"
    records, pos = [], 24
    while pos + hdr <= len(data):
        end = pos + hdr + struct.unpack_from(e + "I", data, pos + 8)[0]
        if end > len(data):
            break
        records.append(Record(pos, end, big, 0))
        pos = end
    return Layout("pcap", big, 24, hdr, records)


def _pcapng_layout(data: bytes) -> Layout:
    records, pos, big = [], 0, False
    while pos + 12 <= len(data):
        if struct.unpack_from("<I", data, pos)[0] == PCAPNG_SHB:
            big = struct.unpack_from("<I", data, pos + 8)[0] != PCAPNG_BOM
        e = ">" if big else "<"
        btype, blen = struct.unpack_from(e + "II", data, pos)
        if blen < 12 or pos + blen > len(data):
            break
        records.append(Record(pos, pos + blen, big, btype))
        pos += blen
    first_big = records[0].big if records else False
    return Layout("pcapng", first_big, 0, 0, records)


# -- the mutations: each takes (rng, data, layout) and returns (new data, what it did) -------
Mutation = Callable[[random.Random, bytes, Layout], tuple[bytes, str]]


def _put32(data: bytearray, pos: int, value: int, big: bool) -> None:
    if pos + 4 <= len(data):
        struct.pack_into(">I" if big else "<I", data, pos, value & 0xFFFFFFFF)


def _odd_or_interesting(rng: random.Random, current: int) -> int:
    if rng.random() < 0.35:  # near the real value: odd sizes, off by one or three
        return max(current + rng.choice((-3, -1, 1, 3, 5)), 0)
    return rng.choice(INTERESTING_32)


def bit_flips(rng: random.Random, data: bytes, lay: Layout) -> tuple[bytes, str]:
    out = bytearray(data)
    count = rng.randint(1, 16)
    for _ in range(count if out else 0):
        pos = rng.randrange(len(out))
        out[pos] ^= 1 << rng.randrange(8)
    return bytes(out), f"{count} bit flips"


def byte_overwrites(rng: random.Random, data: bytes, lay: Layout) -> tuple[bytes, str]:
    out = bytearray(data)
    count = rng.randint(1, 8)
    for _ in range(count if out else 0):
        out[rng.randrange(len(out))] = rng.choice((*INTERESTING_8, rng.randrange(256)))
    return bytes(out), f"{count} bytes overwritten"


def truncate(rng: random.Random, data: bytes, lay: Layout) -> tuple[bytes, str]:
    if lay.records and rng.random() < 0.5:  # just inside a record header or its data
        rec = rng.choice(lay.records)
        cut = min(rec.start + rng.randint(0, 40), len(data))
    else:
        cut = rng.randint(0, len(data))
    return data[:cut], f"truncated at {cut}"


def length_field(rng: random.Random, data: bytes, lay: Layout) -> tuple[bytes, str]:
    """A record's or block's length field set to a huge, zero or odd value."""
    if not lay.records:
        return byte_overwrites(rng, data, lay)
    out = bytearray(data)
    rec = rng.choice(lay.records[:8] if rng.random() < 0.5 else lay.records)
    e = ">" if rec.big else "<"
    if lay.kind == "pcap":
        field_at = rec.start + rng.choice((8, 12))  # caplen or origlen
        name = "caplen" if field_at == rec.start + 8 else "origlen"
    else:
        fields = [(rec.start + 4, "block length"), (rec.end - 4, "trailing block length")]
        if rec.block_type == 6:
            fields += [(rec.start + 20, "EPB caplen"), (rec.start + 24, "EPB origlen"),
                       (rec.start + 8, "EPB interface")]
        elif rec.block_type == 3:
            fields.append((rec.start + 8, "SPB origlen"))
        field_at, name = rng.choice(fields)
    current = struct.unpack_from(e + "I", out, field_at)[0] if field_at + 4 <= len(out) else 0
    value = _odd_or_interesting(rng, current)
    _put32(out, field_at, value, rec.big)
    return bytes(out), f"{name} of record at {rec.start} = {value:#x}"


def header_field(rng: random.Random, data: bytes, lay: Layout) -> tuple[bytes, str]:
    """File header (pcap) or section/interface block (pcapng) fields."""
    out = bytearray(data)
    e = ">" if lay.big else "<"
    if lay.kind == "pcap":
        at, name, size = rng.choice(((4, "major version", 2), (6, "minor version", 2),
                                     (16, "snaplen", 4), (20, "link type", 4)))
    elif lay.kind == "pcapng" and lay.records:
        specials = [r for r in lay.records if r.block_type in (PCAPNG_SHB, 1)]
        rec = rng.choice(specials or lay.records)
        e = ">" if rec.big else "<"
        if rec.block_type == 1:  # interface: link type, snaplen, first option bytes
            at, name, size = rng.choice(((8, "IDB link type", 2), (12, "IDB snaplen", 4),
                                         (16, "IDB option code", 2), (18, "IDB option length", 2),
                                         (20, "IDB option value", 1)))
        else:
            at, name, size = rng.choice(((8, "byte-order magic", 4), (12, "major version", 2),
                                         (16, "section length", 4)))
        at += rec.start
    else:
        return byte_overwrites(rng, data, lay)
    if at + size > len(out):
        return truncate(rng, data, lay)
    pool = {1: INTERESTING_8, 2: INTERESTING_16, 4: INTERESTING_32}[size]
    if "link type" in name:
        pool = LINK_TYPES
    value = rng.choice((*pool, rng.randrange(1 << (8 * size))))
    struct.pack_into(e + {1: "B", 2: "H", 4: "I"}[size], out, at, value)
    return bytes(out), f"{name} = {value:#x}"


def interface_options(rng: random.Random, data: bytes, lay: Layout) -> tuple[bytes, str]:
    """A pcapng interface block rewritten with extreme if_tsresol / if_tsoffset options."""
    idbs = [r for r in lay.records if r.block_type == 1 and r.end - r.start >= 20]
    if not idbs:
        return header_field(rng, data, lay)
    rec = rng.choice(idbs)
    e = ">" if rec.big else "<"
    tsresol = rng.choice((0x00, 0x09, 0x13, 0x1C, 0x3F, 0x7F, 0x80, 0x9E, 0xA0, 0xBF, 0xFF,
                          rng.randrange(256)))
    tsoffset = rng.choice((0, 1, -1, 10**10, -(10**10), 2**62, -(2**63), 2**63 - 1))
    options = struct.pack(e + "HHB3x", 9, 1, tsresol)
    if rng.random() < 0.5:
        options += struct.pack(e + "HHq", 14, 8, tsoffset)
    body = data[rec.start + 8 : rec.start + 16] + options + struct.pack(e + "HH", 0, 0)
    size = len(body) + 12
    block = struct.pack(e + "II", 1, size) + body + struct.pack(e + "I", size)
    what = f"interface at {rec.start}: if_tsresol {tsresol:#x}, if_tsoffset {tsoffset}"
    return data[: rec.start] + block + data[rec.end :], what


def packet_bytes(rng: random.Random, data: bytes, lay: Layout) -> tuple[bytes, str]:
    """Bytes of a packet's headers (IP lengths, IHL, TCP offset …) set to edge values."""
    kinds = (0,) if lay.kind == "pcap" else (2, 3, 6)
    packets = [r for r in lay.records if r.block_type in kinds]
    if not packets:
        return byte_overwrites(rng, data, lay)
    out = bytearray(data)
    rec = rng.choice(packets)
    first = rec.start + (lay.record_header if lay.kind == "pcap" else
                         {6: 28, 2: 28, 3: 12}[rec.block_type])
    last = min(rec.end, first + 80)
    count = rng.randint(1, 4)
    for _ in range(count if last > first else 0):
        out[rng.randrange(first, last)] = rng.choice((*INTERESTING_8, rng.randrange(256)))
    return bytes(out), f"{count} header bytes of the packet at {rec.start}"


def duplicate(rng: random.Random, data: bytes, lay: Layout) -> tuple[bytes, str]:
    if not lay.records:
        return truncate(rng, data, lay)
    a = rng.randrange(len(lay.records))
    b = min(a + rng.randint(1, 3), len(lay.records))
    piece = data[lay.records[a].start : lay.records[b - 1].end]
    at = rng.choice(lay.records).start
    return data[:at] + piece + data[at:], f"records {a}..{b - 1} copied to {at}"


def swap(rng: random.Random, data: bytes, lay: Layout) -> tuple[bytes, str]:
    if len(lay.records) < 2:
        return duplicate(rng, data, lay)
    i, j = sorted(rng.sample(range(len(lay.records)), 2))
    ri, rj = lay.records[i], lay.records[j]
    out = (data[: ri.start] + data[rj.start : rj.end] + data[ri.end : rj.start]
           + data[ri.start : ri.end] + data[rj.end :])
    return out, f"records {i} and {j} swapped"


def delete(rng: random.Random, data: bytes, lay: Layout) -> tuple[bytes, str]:
    if not lay.records:
        return truncate(rng, data, lay)
    i = rng.randrange(len(lay.records))
    rec = lay.records[i]
    return data[: rec.start] + data[rec.end :], f"record {i} deleted"


def insert(rng: random.Random, data: bytes, lay: Layout) -> tuple[bytes, str]:
    at = rng.randint(0, len(data))
    junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return data[:at] + junk + data[at:], f"{len(junk)} bytes inserted at {at}"


def grow(rng: random.Random, data: bytes, lay: Layout) -> tuple[bytes, str]:
    """Repeat the records until the file crosses a small read chunk, then damage one byte
    past the boundary (records straddling chunks are where buffer handling breaks)."""
    if not lay.records:
        return insert(rng, data, lay)
    body = data[lay.records[0].start : lay.records[-1].end] or b"\0"
    copies = SMALL_CHUNK // len(body) + 2
    out = bytearray(data[: lay.records[0].start] + body * copies)
    out[rng.randrange(SMALL_CHUNK - 64, len(out))] = rng.randrange(256)
    return bytes(out), f"grown to {len(out)} B"


def as_pcapng(rng: random.Random, data: bytes, lay: Layout) -> tuple[bytes, str]:
    """A pcap file rewritten as pcapng (random byte order, EPB/SPB/PB blocks), so the pcapng
    reader meets every capture's packets (``lay`` must be a pcap layout)."""
    src = ">" if lay.big else "<"
    big = rng.random() < 0.5
    e = ">" if big else "<"
    snaplen, linktype = struct.unpack_from(src + "II", data, 16)
    blocks = [_pcapng_block(e, PCAPNG_SHB, struct.pack(e + "IHHq", PCAPNG_BOM, 1, 0, -1)),
              _pcapng_block(e, 1, struct.pack(e + "HHI", linktype & 0xFFFF, 0, snaplen))]
    for rec in lay.records:
        sec, frac, caplen, origlen = struct.unpack_from(src + "IIII", data, rec.start)
        packet = data[rec.start + lay.record_header : rec.end]
        ts = sec * 1_000_000 + frac
        kind = rng.choice((6, 6, 6, 6, 3, 2))
        if kind == 6:
            head = struct.pack(e + "IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, caplen, origlen)
        elif kind == 2:
            head = struct.pack(e + "HHIIII", 0, 0, ts >> 32, ts & 0xFFFFFFFF, caplen, origlen)
        else:
            head = struct.pack(e + "I", origlen)
        blocks.append(_pcapng_block(e, kind, head + packet))
    return b"".join(blocks), f"as pcapng ({'big' if big else 'little'} endian)"


def _pcapng_block(e: str, block_type: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    size = len(body) + 12
    return struct.pack(e + "II", block_type, size) + body + struct.pack(e + "I", size)


def option_past_block_end(rng: random.Random, data: bytes, lay: Layout) -> tuple[bytes, str]:
    """An interface or section block rewritten so its last option claims more bytes than the
    block has left (a pcap file becomes pcapng first: it has no options)."""
    if lay.kind == "pcap":
        data, _ = as_pcapng(rng, data, lay)
        lay = layout(data)
    blocks = [r for r in lay.records if r.block_type in (PCAPNG_SHB, 1)]
    if not blocks:
        return interface_options(rng, data, lay)
    rec = rng.choice(blocks)
    e = ">" if rec.big else "<"
    fixed = data[rec.start + 8 : rec.start + (24 if rec.block_type == PCAPNG_SHB else 16)]
    good = struct.pack(e + "HHB3x", 9, 1, 6) if rng.random() < 0.5 else b""
    code = rng.choice((1, 2, 9, 14, 12, 0x8001, 2988))
    present = rng.choice((0, 1, 3, 4, 7, 8))
    value = bytes(rng.randrange(256) for _ in range(present)) + b"\0" * (-present % 4)
    claimed = min(len(value) + rng.choice((1, 2, 4, 5, 8, 0x100, 0xFFFF)), 0xFFFF)
    body = fixed + good + struct.pack(e + "HH", code, claimed) + value
    size = len(body) + 12
    block = struct.pack(e + "II", rec.block_type, size) + body + struct.pack(e + "I", size)
    what = f"option {code} of the block at {rec.start} claims {claimed} bytes past its end"
    return data[: rec.start] + block + data[rec.end :], what


def shuffled_records(rng: random.Random, data: bytes, lay: Layout) -> tuple[bytes, str]:
    """The packet records in another order (all shuffled, reversed, or shuffled in windows);
    section and interface blocks keep their places."""
    slots = [k for k, r in enumerate(lay.records) if r.block_type in (0, 2, 3, 6)]
    if len(slots) < 2:
        return swap(rng, data, lay)
    order = list(slots)
    mode = rng.choice(("shuffled", "reversed", "shuffled in windows"))
    if mode == "shuffled":
        rng.shuffle(order)
    elif mode == "reversed":
        order.reverse()
    else:
        width = rng.choice((2, 3, 8, 32))
        for start in range(0, len(order), width):
            window = order[start : start + width]
            rng.shuffle(window)
            order[start : start + width] = window
    take = dict(zip(slots, order, strict=True))
    first, last = lay.records[0].start, lay.records[-1].end
    pieces = [data[:first]]
    for k in range(len(lay.records)):
        src = lay.records[take.get(k, k)]
        pieces.append(data[src.start : src.end])
    pieces.append(data[last:])
    return b"".join(pieces), f"records {mode}"


def _empty_run(lay: Layout, count: int) -> bytes:
    """``count`` records with no captured bytes, in the file's own format and byte order."""
    e = ">" if lay.big else "<"
    if lay.kind == "pcapng":
        return struct.pack(e + "IIIIIIII", 6, 32, 0, 0, 1, 0, 0, 32) * count
    return struct.pack(e + "IIII", 1, 0, 0, 0).ljust(lay.record_header or 16, b"\0") * count


def empty_records(rng: random.Random, data: bytes, lay: Layout) -> tuple[bytes, str]:
    """A run of records with no captured bytes, more than the reader lists one by one."""
    if lay.kind == "other" or not lay.records:
        return insert(rng, data, lay)
    count = rng.choice((66_000, 70_000, 100_000))
    at = rng.choice(lay.records).start if rng.random() < 0.7 else lay.records[-1].end
    return data[:at] + _empty_run(lay, count) + data[at:], f"{count} empty records at {at}"


MUTATIONS: tuple[Mutation, ...] = (
    bit_flips, byte_overwrites, truncate, length_field, length_field, header_field,
    interface_options, option_past_block_end, packet_bytes, packet_bytes, duplicate, swap,
    delete, insert, grow, shuffled_records,
)


def gzipped(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """The file gzip-compressed; often with the compressed stream damaged at any byte (header,
    data, CRC and length trailer), trailing bytes, a damaged second member, or a bomb."""
    level = rng.randint(1, 9)
    damage = rng.random()
    if damage < 0.1:  # a bomb: up to 32 MB of empty records from a few kB
        lay = layout(data)
        if lay.kind != "other" and lay.records:
            count = rng.choice((100_000, 300_000, 1_000_000))
            at = lay.records[-1].end
            z = zlib.compressobj(9, zlib.DEFLATED, 31)
            run = _empty_run(lay, 10_000)
            packed = z.compress(data[:at]) + b"".join(z.compress(run)
                                                      for _ in range(count // 10_000))
            return packed + z.compress(data[at:]) + z.flush(), f"gzip bomb of {count} empty records"
    packed = gzip.compress(data, compresslevel=level, mtime=0)
    out = bytearray(packed)
    at = rng.randrange(len(out))
    if damage < 0.3:
        out[at] ^= 1 << rng.randrange(8)
        return bytes(out), f"gzip damaged at byte {at} of {len(out)} (bit flip)"
    if damage < 0.4:
        out[at] = rng.randrange(256)
        return bytes(out), f"gzip damaged at byte {at} of {len(out)} (overwritten)"
    if damage < 0.5:
        at = len(out) - 1 - rng.randrange(8)
        out[at] ^= 0xFF
        return bytes(out), f"gzip damaged at byte {at} of {len(out)} (trailer)"
    if damage < 0.6:
        return packed[:at], f"gzip cut at {at}"
    if damage < 0.65:
        junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        return packed + junk, f"gzip with {len(junk)} trailing bytes"
    if damage < 0.7:
        half = len(data) // 2
        second = bytearray(gzip.compress(data[half:], compresslevel=level, mtime=0))
        second[rng.randrange(10)] ^= 1 << rng.randrange(8)
        first = gzip.compress(data[:half], compresslevel=level, mtime=0)
        return first + bytes(second), f"gzip damaged at byte {len(first)} (second member)"
    return packed, "gzip"


def mutated_case(sources: Sequence[tuple[str, bytes]], seed: int, index: int) -> Case:
    """Case ``index``: source ``index % len(sources)`` with 1–3 mutations (and maybe gzip)."""
    rng = random.Random(f"flowscope-fuzz:{seed}:{index}")
    name, data = sources[index % len(sources)]
    steps = []
    if rng.random() < 0.04:  # a connection whose segments arrive in a hostile order
        segments = rng.choice((200, 2_000, 8_000))
        name, data = f"segment storm ({segments} segments)", segment_storm(rng, segments)
    if rng.random() < 0.25 and layout(data).kind == "pcap":
        data, step = as_pcapng(rng, data, layout(data))
        steps.append(step)
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
        mutation = rng.choice(MUTATIONS)
        data, step = mutation(rng, data, layout(data))
        steps.append(step)
    if rng.random() < 0.06:  # last: a walk over its records would cost more than the read
        data, step = empty_records(rng, data, layout(data))
        steps.append(step)
    if rng.random() < 0.15:
        data, step = gzipped(rng, data)
        steps.append(step)
    return Case(index, name, tuple(steps), data)
