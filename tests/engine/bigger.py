"""A capture of a few megabytes built from the real test captures, for tests that need many
chunks (the decoding process, progressive tables, merged files): the Ethernet captures' packets
repeated with their times shifted, so every rule (SYN splits, ICMP quotes, fragments) recurs."""

from __future__ import annotations

from pathlib import Path

from engine import WIRESHARK
from engine.capture import open_capture
from engine.capture import writer as w
from tests.conftest import CAPTURES

SOURCES = ("zeek-tcp-ssh-dups.pcap", "zeek-wikipedia-many-conns.pcap",
           "zeek-nmap-vsn-many-conns.pcap", "zeek-icmp-destunreach-udp.pcap",
           "zeek-ipv4-fragmented-1.pcap", "zeek-dns53.pcap", "zeek-http-vlan.pcap",
           "zeek-tcp-reassembly.pcap")


def records(name: str) -> list[tuple[int, bytes]]:
    """(timestamp ns, frame bytes) of every record of an Ethernet test capture."""
    out: list[tuple[int, bytes]] = []
    with open_capture(CAPTURES / name, WIRESHARK) as reader:
        for chunk in reader.chunks(prefetch=False):
            buf = chunk.buf
            for off, cap, ts in zip(chunk.data_off.tolist(), chunk.caplen.tolist(),
                                    chunk.ts_ns.tolist(), strict=True):
                out.append((ts, bytes(buf[off : off + cap])))
    return out


def interleaved(copies: int, sources: tuple[str, ...] = SOURCES) -> list[tuple[int, bytes]]:
    """``copies`` rounds of the sources' packets, each round one hour after the previous,
    the sources interleaved by time within a round."""
    base = [(ts - recs[0][0], data) for name in sources
            for recs in [records(name)] for ts, data in recs]
    base.sort(key=lambda r: r[0])
    hour = 3600 * 10**9
    t0 = 1_600_000_000 * 10**9
    return [(t0 + k * hour + ts, data) for k in range(copies) for ts, data in base]


def write(path: Path, recs: list[tuple[int, bytes]]) -> Path:
    with open(path, "wb") as out:
        w.write_pcap(out, 1, recs)
    return path


def bigger_capture(path: Path, copies: int = 12) -> Path:
    """About ``copies`` × 200 KB."""
    return write(path, interleaved(copies))


__all__ = ["bigger_capture", "interleaved", "records", "write"]
