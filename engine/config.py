"""FlowConfig: every knob of the engine in one immutable place.

Defaults follow the seed (``stackforge_core::flow``) where it has one, and Wireshark where the
numbers have to match Wireshark's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class FlowConfig:
    """Options for turning packets into conversations.

    Timeouts are in seconds; ``None`` switches the idle split off (Wireshark never splits UDP).
    """

    #: idle time after which a TCP connection is reported as timed out (not split: Wireshark
    #: keeps one tcp.stream until a new SYN)
    tcp_timeout: float | None = 3600.0
    #: idle gap that splits a UDP pseudo-conversation in two; None = never (Wireshark's udp.stream)
    udp_timeout: float | None = 120.0
    #: idle gap that splits an ICMP / other-IP pseudo-conversation in two; None = never
    icmp_timeout: float | None = 120.0
    #: keep each conversation's packet numbers (CSR arrays); off saves 12 bytes a packet
    store_packet_indices: bool = True
    #: out-of-order segments held per direction before reassembly gives up on the oldest gap
    max_ooo_segments: int = 10_000
    #: largest reassembled stream per direction kept, in bytes (beyond: counted and reported)
    max_reassembly_buffer: int = 1 << 31
    #: bytes of reassembly buffers kept in memory before they spill to ``spill_dir``; None = never
    memory_budget: int | None = None
    #: where spill files and decompressed captures go; None = the system temp directory
    spill_dir: Path | None = None
    #: bytes of per-packet columns (about 110 a packet) kept in memory; beyond it they go to
    #: memory-mapped files in ``spill_dir`` (removed on close); None = always in memory
    packet_budget: int | None = 256 << 20
    #: free bytes a decompressed gzip capture leaves on its disk: decompressing stops with an
    #: error before the free space would fall below this
    spill_free_margin: int = 1 << 30
    #: bytes read per chunk from a capture file (memory use per chunk is about twice this)
    chunk_bytes: int = 16 << 20
    #: processes decoding chunks beside the one that aggregates them (0 = decode in-process;
    #: used on Linux for files of a few chunks or more)
    workers: int = 1
    #: largest packet record accepted when the file's own snap length is smaller or unset
    max_packet_bytes: int = 262_144

    def replace(self, **changes: object) -> FlowConfig:
        """A copy with some fields changed (configs are frozen so results can keep theirs)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def udp_timeout_ns(self) -> int | None:
        return None if self.udp_timeout is None else int(self.udp_timeout * NS_PER_S)

    @property
    def icmp_timeout_ns(self) -> int | None:
        return None if self.icmp_timeout is None else int(self.icmp_timeout * NS_PER_S)

    @property
    def tcp_timeout_ns(self) -> int | None:
        return None if self.tcp_timeout is None else int(self.tcp_timeout * NS_PER_S)


#: What the oracle tests and ``--udp-timeout none`` use: Wireshark's stream semantics exactly.
WIRESHARK = FlowConfig(udp_timeout=None, icmp_timeout=None)
