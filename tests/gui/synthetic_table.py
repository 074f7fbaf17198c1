"""A synthetic FlowResult of any size (1M rows for the bench), with extra columns of every kind.

Built straight from numpy so a million conversations take well under a second; the values are
random but plausible (IPv4, IPv6 and Z-Wave endpoints, TCP/UDP ports, ICMP without ports).
"""

from __future__ import annotations

import numpy as np

from engine import WIRESHARK, CaptureInfo, FlowResult, Kind, PacketTable
from engine.capture import MemorySource
from engine.columns import ColumnSpec
from engine.conversations import QuotedLinks
from engine.table import ConversationTable
from engine.zwave.protocol import FAMILY_ZWAVE, ZWAVE

#: extra columns the synthetic table carries, one per formatting kind
SYNTHETIC_EXTRA = (
    ColumnSpec("test_state", "State", "text", "a text column", ("tcp",)),
    ColumnSpec("test_retransmissions", "Retransmissions", "count", "a count column", ("tcp",)),
    ColumnSpec("test_payload", "Payload", "bytes", "a bytes column", ("tcp", "udp")),
    ColumnSpec("test_home_id", "Home ID", "hex", "a hex column", ("zwave",)),
    ColumnSpec("test_score", "Score", "float", "a float column", ("tcp",)),
)
STATES = np.array(["", "ESTABLISHED", "CLOSED", "SF", "RSTO", "S0"])


def synthetic_table(n: int, seed: int = 1) -> ConversationTable:
    rng = np.random.default_rng(seed)
    kind = rng.choice(np.array([Kind.TCP, Kind.UDP, Kind.ICMP, ZWAVE.kind], dtype=np.uint8), n,
                      p=[0.6, 0.3, 0.07, 0.03])
    family = np.where(rng.random(n) < 0.15, 6, 4).astype(np.uint8)
    family[kind == ZWAVE.kind] = FAMILY_ZWAVE
    kind[(family == 6) & (kind == Kind.ICMP)] = Kind.ICMPV6

    def addresses() -> tuple[np.ndarray, np.ndarray]:
        hi = np.where(family == 6, rng.integers(0, 1 << 63, n, dtype=np.uint64)
                      | np.uint64(0xFE80 << 48), np.uint64(0)).astype(np.uint64)
        lo = np.where(family == 4, rng.integers(0x0A000000, 0x0A00FFFF, n, dtype=np.uint64),
                      rng.integers(0, 1 << 63, n, dtype=np.uint64)).astype(np.uint64)
        zwave = family == FAMILY_ZWAVE
        hi[zwave] = np.uint64(0xC4A815CD)
        lo[zwave] = rng.integers(1, 8, int(zwave.sum()), dtype=np.uint64)
        return hi, lo

    a_hi, a_lo = addresses()
    b_hi, b_lo = addresses()
    has_ports = (kind == Kind.TCP) | (kind == Kind.UDP)
    a_port = np.where(has_ports, rng.integers(1024, 65536, n), -1).astype(np.int32)
    b_port = np.where(has_ports, rng.choice([53, 80, 443, 22, 5353], n), -1).astype(np.int32)
    packets_ab = rng.integers(1, 2000, n).astype(np.int64)
    packets_ba = rng.integers(0, 2000, n).astype(np.int64)
    start = np.sort(rng.integers(0, 3600 * 10**9, n)).astype(np.int64) + 1_600_000_000 * 10**9
    duration = np.where(rng.random(n) < 0.1, 0, rng.integers(0, 60 * 10**9, n))
    stream = np.full(n, -1, dtype=np.int64)
    for k in (Kind.TCP, Kind.UDP):
        rows = kind == k
        stream[rows] = np.arange(int(rows.sum()))
    tcp = kind == Kind.TCP
    extra = {
        "test_state": np.where(tcp, STATES[rng.integers(0, STATES.size, n)], ""),
        "test_retransmissions": np.where(tcp, rng.integers(0, 50, n), -1).astype(np.int64),
        "test_payload": np.where(has_ports, rng.integers(0, 10**7, n), -1).astype(np.int64),
        "test_home_id": np.where(family == FAMILY_ZWAVE, 0xC4A815CD, -1).astype(np.int64),
        "test_score": np.where(tcp, rng.random(n), np.nan),
    }
    zeros = np.zeros(n, dtype=np.uint8)
    return ConversationTable(
        kind=kind, ip_proto=zeros, family=family, stream=stream,
        a_hi=a_hi, a_lo=a_lo, a_port=a_port, b_hi=b_hi, b_lo=b_lo, b_port=b_port,
        packets_ab=packets_ab, packets_ba=packets_ba,
        bytes_ab=packets_ab * rng.integers(60, 1500, n), bytes_ba=packets_ba * 400,
        payload_ab=packets_ab * 10, payload_ba=packets_ba * 10,
        start_ns=start, end_ns=start + duration,
        first_packet=np.arange(n, dtype=np.int64), last_packet=np.arange(n, dtype=np.int64),
        flags_ab=np.zeros(n, dtype=np.uint16), flags_ba=np.zeros(n, dtype=np.uint16),
        icmp_type=zeros, icmp_code=zeros, icmp_id=np.full(n, -1, dtype=np.int32),
        quotes=np.full(n, -1, dtype=np.int64), extra=extra)


def synthetic_result(n: int, seed: int = 1) -> FlowResult:
    """A FlowResult around :func:`synthetic_table` (no packets behind it)."""
    table = synthetic_table(n, seed)
    capture = CaptureInfo(path=None, format="memory",
                          packets=int(table.packets.sum()), interfaces=[],
                          first_ns=int(table.start_ns.min()) if n else None,
                          last_ns=int(table.end_ns.max()) if n else None)
    empty = np.zeros(0, dtype=np.int64)
    return FlowResult(capture, PacketTable.empty(0), table, QuotedLinks(empty, empty),
                      MemorySource(b""), WIRESHARK)
