"""Capture sets for the merge tests: records read with scapy, split into files, and the merge
``mergecap`` would write, computed here from its rule (independently of the engine).

mergecap's rule (wiretap/merge.c, ``merge_read_packet``): of the next record of every file, take
the earliest; on equal times the file named later wins (its comparison is "earlier or equal").
"""

from __future__ import annotations

import random
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scapy.utils import RawPcapNgReader, RawPcapReader

from engine.capture import writer as w

from .tcpgen import tcp_frame

PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"


@dataclass(frozen=True)
class Record:
    ts_ns: int
    linktype: int
    data: bytes
    origlen: int


def records_of(path: Path) -> list[Record]:
    """Every record of a pcap or pcapng file, as scapy reads it."""
    with open(path, "rb") as f:
        ng = f.read(4) == PCAPNG_MAGIC
    out = []
    if ng:
        with RawPcapNgReader(str(path)) as reader:
            for data, m in reader:
                units = (m.tshigh << 32) | m.tslow
                out.append(Record(units * 1_000_000_000 // m.tsresol, m.linktype, data,
                                  m.wirelen))
    else:
        with RawPcapReader(str(path)) as classic:
            scale = 1 if classic.nano else 1000
            for data, m in classic:
                out.append(Record(m.sec * 1_000_000_000 + m.usec * scale, classic.linktype,
                                  data, m.wirelen))
    return out


def mergecap(files: Sequence[Sequence[Record]]) -> list[Record]:
    """The records in the order mergecap writes them (the plain greedy loop)."""
    at = [0] * len(files)
    out = []
    while True:
        best = -1
        for i, records in enumerate(files):
            if at[i] < len(records) and (
                    best < 0 or records[at[i]].ts_ns <= files[best][at[best]].ts_ns):
                best = i
        if best < 0:
            return out
        out.append(files[best][at[best]])
        at[best] += 1


def write(path: Path, records: Sequence[Record], fmt: str = "auto", linktype: int = 1) -> Path:
    """``records`` as a nanosecond pcap (one link type) or pcapng (one interface per link
    type); ``auto`` picks pcap when it can. No records: a file of ``linktype``."""
    kinds = list(dict.fromkeys(r.linktype for r in records)) or [linktype]
    if fmt == "auto":
        fmt = "pcap" if len(kinds) == 1 else "pcapng"
    with open(path, "wb") as out:
        if fmt == "pcap":
            assert len(kinds) == 1
            out.write(w.pcap_header(kinds[0], nano=True))
            out.write(b"".join(w.pcap_record(r.ts_ns, r.data, r.origlen, nano=True)
                               for r in records))
        else:
            out.write(w.pcapng_section())
            out.write(b"".join(w.pcapng_interface(k, tsresol=w.TSRESOL_NS) for k in kinds))
            index = {k: i for i, k in enumerate(kinds)}
            out.write(b"".join(w.pcapng_packet(index[r.linktype], r.ts_ns, r.data, r.origlen)
                               for r in records))
    return path


def split(records: Sequence[Record], how: str, parts: int, seed: int = 1
          ) -> list[list[Record]]:
    """``ring``: consecutive slices (a ring buffer); ``alternate``: record k to file k % parts
    (two interfaces seeing the same traffic); ``random``: each record to a random file;
    ``linktype``: one file per link type."""
    if how == "linktype":
        kinds = list(dict.fromkeys(r.linktype for r in records))
        return [[r for r in records if r.linktype == k] for k in kinds]
    out: list[list[Record]] = [[] for _ in range(parts)]
    rng = random.Random(seed)
    n = len(records)
    for k, record in enumerate(records):
        if how == "ring":
            out[k * parts // max(n, 1)].append(record)
        elif how == "alternate":
            out[k % parts].append(record)
        else:
            out[rng.randrange(parts)].append(record)
    return out


def write_set(folder: Path, files: Sequence[Sequence[Record]], stem: str = "part",
              fmts: Sequence[str] | None = None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    linktype = next((part[0].linktype for part in files if part), 1)
    for k, records in enumerate(files):
        fmt = fmts[k % len(fmts)] if fmts else "auto"
        suffix = ".pcapng" if fmt == "pcapng" or (
            fmt == "auto" and len({r.linktype for r in records}) > 1) else ".pcap"
        paths.append(write(folder / f"{stem}{k:02d}{suffix}", records, fmt, linktype))
    return paths


_UDP = struct.Struct("!HHHH")
_IP = struct.Struct("!BBHHHBBH4s4s")
_ETH = bytes.fromhex("020000000002" "020000000001" "0800")


def udp_frame(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    ip = _IP.pack(0x45, 0, 28 + len(payload), 0, 0, 64, 17, 0, src, dst)
    return _ETH + ip + _UDP.pack(sport, dport, 8 + len(payload), 0) + payload


def traffic(rng: random.Random, conversations: int, packets: int, start_ns: int = 10**18,
            step_ns: int = 1000, jitter: int = 0) -> list[Record]:
    """``packets`` Ethernet records over ``conversations`` TCP and UDP conversations (TCP ones
    open with a handshake and carry numbered payload both ways), one every ``step_ns`` plus up
    to ``jitter`` ns either way — so with jitter the times go back now and then, and equal
    times happen."""
    convs = []
    for c in range(conversations):
        a = bytes([10, 1, c >> 8 & 255, c & 255])
        b = bytes([10, 2, c >> 8 & 255, c & 255])
        convs.append([c % 3 != 2, a, b, 20000 + c, 80 + c % 5, 0, [1000, 9000]])
    out = []
    t = start_ns
    for _ in range(packets):
        conv = convs[rng.randrange(conversations)]
        tcp, a, b, sport, dport, step, seq = conv
        forward = rng.random() < 0.6
        if tcp and step < 3:
            frames = [tcp_frame(a, b, sport, dport, 999, 0, 0x02, b""),
                      tcp_frame(b, a, dport, sport, 8999, 1000, 0x12, b""),
                      tcp_frame(a, b, sport, dport, 1000, 9000, 0x10, b"")]
            frame = frames[step]
            conv[5] += 1
        elif tcp:
            size = rng.randrange(0, 300)
            payload = bytes((k + conv[3]) & 255 for k in range(size))
            d = 0 if forward else 1
            src, dst = (a, b) if forward else (b, a)
            sp, dp = (sport, dport) if forward else (dport, sport)
            frame = tcp_frame(src, dst, sp, dp, seq[d], seq[1 - d], 0x18, payload)
            seq[d] += size
        else:
            payload = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
            src, dst = (a, b) if forward else (b, a)
            sp, dp = (sport, dport) if forward else (dport, sport)
            frame = udp_frame(src, dst, sp, dp, payload)
        ts = t + (rng.randrange(-jitter, jitter + 1) if jitter else 0)
        out.append(Record(ts, 1, frame, len(frame)))
        t += step_ns
    return out
