"""A generator of Z-Wave test captures (link types 261, 262 and 297), deterministic per seed.

No public Z-Wave capture exists, so tests, the sample in ``resources/`` and the benchmark use
frames built here from the G.9959 / TAP facts. Each frame is a :class:`SynthFrame` that knows
what it is meant to be (nodes, ACK or command, checksum damage, RSS), so a test can compute the
expected conversations from the specifications without running the decoder.

Traffic per home network: a controller (node 1) and ``nodes`` end nodes exchange commands with
ACK requests, each usually followed by its ACK; some frames are routed through repeaters (with
a routed ACK back), some are broadcasts (node information) and some multicasts (BASIC SET to a
group). For link type 297 each home uses its own data rate (40 kbit/s EU, 100 kbit/s US,
9.6 kbit/s EU, …) and every frame carries FCS type, RSS and RF information TLVs (some an
unknown TLV too).

    python -m engine.zwave.synth --linktype 297 --frames 300 --out zwave.pcapng
    python -m engine.zwave.synth --linktype 261 --frames 1000000 --out /tmp/zw.pcap
    python -m engine.zwave.synth --linktype 262 --frames 500 --ethernet 40 --out mixed.pcapng
"""

from __future__ import annotations

import argparse
import binascii
import random
import struct
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import reduce
from operator import xor
from pathlib import Path

from ..atomic import atomic_write
from ..capture import linktypes as lt
from ..capture.writer import write_pcap, write_pcapng
from ..errors import FlowError
from .checksum import CRC_INIT, XOR_SEED

#: (command class, command, parameters) of the commands the generator sends
COMMANDS = [
    (0x20, 0x01, b"\xff"), (0x20, 0x02, b""), (0x20, 0x03, b"\x63"), (0x25, 0x01, b"\x00"),
    (0x25, 0x03, b"\xff"), (0x31, 0x05, b"\x01\x22\x00\xe6"),
    (0x71, 0x05, b"\x00\x00\x00\xff\x07\x08\x00"), (0x80, 0x03, b"\x5a"), (0x84, 0x07, b""),
    (0x86, 0x11, b""), (0x32, 0x02, b"\x21\x74\x00\x00\x01\x2c"),
    (0x72, 0x05, b"\x00\x86\x00\x02\x00\x64"), (0x6C, 0x01, b"\x01\x02\x20\x01\xff"),
    (0xD3, 0x01, b"\x01\x02"),  # a class missing from the name table
]
NODE_INFO = (0x01, 0x01, b"\xd3\x9c\x01\x04\x10\x01\x5e\x25\x86")
#: per home (for link type 297): TAP data rate, region, frequency in kHz
RADIO_PLANS = [(1, 0, 868_400), (2, 1, 916_000), (0, 0, 868_420), (1, 1, 908_400)]


@dataclass(frozen=True)
class SynthFrame:
    """One generated frame and what it is meant to be."""

    ts_ns: int
    home: int
    src: int
    dst: int  # 0xFF = broadcast; unused for multicast
    header_type: int  # 1 singlecast, 2 multicast, 3 ACK (routed frames: see ``routed``)
    sequence: int
    r3: bool
    ack_request: bool = False
    speed_modified: bool = False  # R1/R2 only
    routed: bool = False
    route_ack: bool = False
    repeaters: tuple[int, ...] = ()
    members: tuple[int, ...] = ()
    payload: bytes = b""
    bad_checksum: bool = False
    bad_length: bool = False
    rssi: float | None = None
    region: int | None = None
    data_rate: int | None = None
    frequency_khz: int | None = None
    unknown_tlv: bool = False

    @property
    def is_ack(self) -> bool:
        return self.header_type == 3 or self.route_ack

    @property
    def cast(self) -> str:
        if self.header_type == 2:
            return "multicast"
        return "broadcast" if self.dst == 0xFF else "unicast"

    def mac(self) -> bytes:
        """The MAC frame, checksum included."""
        if self.header_type == 2:
            size = (max(self.members) + 7) // 8
            mask = bytearray(size)
            for node in self.members:
                mask[(node - 1) // 8] |= 1 << ((node - 1) % 8)
            address = bytes([size]) + bytes(mask)
        else:
            address = bytes([self.dst])
        routing = b""
        if self.routed:
            status = 0x03 if self.route_ack else 0x00
            routing = bytes([status, len(self.repeaters) << 4, *self.repeaters])
            if self.r3 and not self.route_ack:
                routing += b"\x00"  # destination wake-up
        body = address + routing + self.payload
        if self.r3:
            fc0 = (0x80 if self.ack_request else 0) | (8 if self.routed else self.header_type)
            head = bytes([self.src, fc0, 0])
            size = 9 + len(body) + 2
        else:
            fc0 = ((0x80 if self.routed else 0) | (0x40 if self.ack_request else 0)
                   | (0x10 if self.speed_modified else 0) | self.header_type)
            head = bytes([self.src, fc0, self.sequence & 0x0F])
            size = 8 + len(body) + 1
        length = 5 if self.bad_length else size
        frame = self.home.to_bytes(4, "big") + head + bytes([length])
        if self.r3:
            frame += bytes([self.sequence & 0xFF])
        frame += body
        if self.r3:
            fcs = binascii.crc_hqx(frame, CRC_INIT).to_bytes(2, "big")
        else:
            fcs = bytes([reduce(xor, frame, XOR_SEED)])
        if self.bad_checksum:
            fcs = fcs[:-1] + bytes([fcs[-1] ^ 0x5A])
        return frame + fcs

    def packet(self, linktype: int) -> bytes:
        """The pcap record data: the MAC frame, behind a TAP header for link type 297."""
        mac = self.mac()
        if linktype != lt.ZWAVE_TAP:
            return mac
        tlvs = struct.pack("<HHB3x", 0, 1, 2 if self.r3 else 1)
        if self.rssi is not None:
            tlvs += struct.pack("<HHf", 1, 4, self.rssi)
        if self.region is not None:
            tlvs += struct.pack("<HHHHI", 2, 8, self.region, self.data_rate or 0,
                                self.frequency_khz or 0)
        if self.unknown_tlv:
            tlvs += struct.pack("<HH3sx", 0x7F, 3, b"zzz")
        return struct.pack("<BBH", 1, 0, len(tlvs) // 4) + tlvs + mac


@dataclass
class _Home:
    home_id: int
    r3: bool
    rate: int | None
    region: int | None
    frequency: int | None
    signal: dict[int, float]


def generate(linktype: int, frames: int, seed: int = 1, homes: int = 3, nodes: int = 6,
             bad_checksums: int = 0, damaged: int = 0,
             start_ns: int = 1_700_000_000_000_000_000) -> Iterator[SynthFrame]:
    """``frames`` frames of ``homes`` networks; ``bad_checksums`` of them with a wrong checksum
    and ``damaged`` with an impossible length field (chosen at random positions)."""
    if linktype not in (lt.ZWAVE_R1_R2, lt.ZWAVE_R3, lt.ZWAVE_TAP):
        raise FlowError(f"Link type {linktype} is not a Z-Wave link type (261, 262 or 297).")
    rng = random.Random(seed)
    nets = [_home(rng, linktype, i, nodes) for i in range(max(homes, 1))]
    marked = rng.sample(range(frames), min(frames, bad_checksums + damaged))
    bad_length = set(marked[:damaged])
    bad_sum = set(marked[damaged:])
    sequence: dict[tuple[int, int], int] = {}
    ts = start_ns
    made = 0
    exchange = 0
    while made < frames:
        net = nets[rng.randrange(len(nets))] if exchange > 1 else nets[0]
        kind = rng.random() if exchange > 1 else exchange * 0.07  # broadcast, then multicast
        exchange += 1
        for spec in _exchange(rng, net, nodes, kind, sequence):
            if made == frames:
                break
            ts += rng.randrange(2_000_000, 150_000_000) if spec["first"] else 4_000_000
            yield _frame(rng, net, spec, ts, made, linktype, made in bad_sum, made in bad_length)
            made += 1


def _home(rng: random.Random, linktype: int, i: int, nodes: int) -> _Home:
    home_id = rng.getrandbits(32) | 0x80000000  # real home ids have the top bit set
    signal = {n: rng.uniform(-90.0, -45.0) for n in range(1, nodes + 2)}
    if linktype != lt.ZWAVE_TAP:
        return _Home(home_id, linktype == lt.ZWAVE_R3, None, None, None, signal)
    rate, region, freq = RADIO_PLANS[i % len(RADIO_PLANS)]
    return _Home(home_id, rate == 2, rate, region, freq, signal)


def _next_seq(sequence: dict[tuple[int, int], int], home: int, node: int, r3: bool) -> int:
    value = (sequence.get((home, node), 0) + 1) % (256 if r3 else 16)
    sequence[(home, node)] = value
    return value


def _exchange(rng: random.Random, net: _Home, nodes: int, kind: float,
              sequence: dict[tuple[int, int], int]) -> list[dict]:
    """The frames of one exchange, as keyword specs (first = starts after an idle gap)."""
    controller, node = 1, rng.randrange(2, nodes + 2)
    if kind < 0.06:
        cc, cmd, params = NODE_INFO
        return [dict(first=True, src=node, dst=0xFF, header_type=1,
                     payload=bytes([cc, cmd]) + params,
                     sequence=_next_seq(sequence, net.home_id, node, net.r3))]
    if kind < 0.10:
        group = tuple(sorted(rng.sample(range(2, nodes + 2), min(3, nodes))))
        return [dict(first=True, src=controller, dst=0, header_type=2, members=group,
                     payload=b"\x20\x01\xff",
                     sequence=_next_seq(sequence, net.home_id, controller, net.r3))]
    cc, cmd, params = COMMANDS[rng.randrange(len(COMMANDS))]
    payload = bytes([cc, cmd]) + params
    src, dst = (controller, node) if rng.random() < 0.5 else (node, controller)
    seq = _next_seq(sequence, net.home_id, src, net.r3)
    if kind < 0.18 and nodes >= 3:
        others = [n for n in range(2, nodes + 2) if n not in (src, dst)]
        reps = tuple(rng.sample(others, min(len(others), rng.randrange(1, 3))))
        return [dict(first=True, src=src, dst=dst, header_type=1, routed=True, repeaters=reps,
                     ack_request=True, payload=payload, sequence=seq),
                dict(first=False, src=dst, dst=src, header_type=1, routed=True, route_ack=True,
                     repeaters=reps[::-1], sequence=seq)]
    frames = [dict(first=True, src=src, dst=dst, header_type=1, ack_request=True,
                   payload=payload, sequence=seq)]
    if rng.random() < 0.9:  # the ACK is sometimes lost
        frames.append(dict(first=False, src=dst, dst=src, header_type=3, sequence=seq))
    return frames


def _frame(rng: random.Random, net: _Home, spec: dict, ts: int, made: int, linktype: int,
           bad_sum: bool, bad_length: bool) -> SynthFrame:
    spec = dict(spec)
    spec.pop("first")
    tap = linktype == lt.ZWAVE_TAP
    # half-dB steps: exact in float32, so expected statistics are easy to compute
    rssi = round((net.signal[spec["src"]] + rng.gauss(0.0, 2.0)) * 2) / 2 if tap else None
    return SynthFrame(ts_ns=ts, home=net.home_id, r3=net.r3,
                      bad_checksum=bad_sum, bad_length=bad_length, rssi=rssi, region=net.region,
                      data_rate=net.rate, frequency_khz=net.frequency,
                      unknown_tlv=tap and made % 17 == 5, **spec)


def ethernet_frames(count: int, seed: int, start_ns: int, span_ns: int
                    ) -> list[tuple[int, bytes]]:
    """``count`` Ethernet frames (UDP request/response pairs and one TCP exchange) spread over
    ``span_ns``, built with scapy."""
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.l2 import Ether

    rng = random.Random(seed ^ 0xE7E7)
    server, client, mac = "10.0.0.1", "10.0.0.2", "02:00:00:00:00:01"
    frames: list[bytes] = []
    tcp = [(0, "S", 1000, 0, b""), (1, "SA", 5000, 1001, b""), (0, "A", 1001, 5001, b""),
           (0, "PA", 1001, 5001, b"GET / HTTP/1.0\r\n\r\n"),
           (1, "PA", 5001, 1019, b"HTTP/1.0 200 OK"), (0, "FA", 1019, 5016, b""),
           (1, "FA", 5016, 1020, b""), (0, "A", 1020, 5017, b"")]
    for back, flags, seq, ack, data in tcp[:count]:
        a, b, sport, dport = (server, client, 80, 40000) if back else (client, server, 40000, 80)
        frames.append(bytes(Ether(src=mac, dst=mac) / IP(src=a, dst=b)
                            / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack)
                            / data))
    while len(frames) < count:
        host = f"10.0.0.{rng.randrange(3, 9)}"
        port = rng.randrange(20000, 60000)
        frames.append(bytes(Ether(src=mac, dst=mac) / IP(src=host, dst=server)
                            / UDP(sport=port, dport=53) / b"q"))
        if len(frames) < count:
            frames.append(bytes(Ether(src=mac, dst=mac) / IP(src=server, dst=host)
                                / UDP(sport=53, dport=port) / b"answer"))
    step = max(span_ns // max(count, 1), 1)
    return [(start_ns + i * step + 1, f) for i, f in enumerate(frames)]


def write_capture(path: str | Path, linktype: int, frames: Iterator[SynthFrame],
                  pcapng: bool = False, ethernet: list[tuple[int, bytes]] | None = None
                  ) -> int:
    """Write generated frames (and, in a pcapng, Ethernet frames on interface 0, merged by
    time); returns the number of records written."""
    with atomic_write(path) as out:
        if not pcapng and not ethernet:
            return write_pcap(out, linktype, ((f.ts_ns, f.packet(linktype)) for f in frames))
        zwave = ((f.ts_ns, 1, f.packet(linktype)) for f in frames)
        other = ((ts, 0, data) for ts, data in (ethernet or []))
        merged = _merge_by_time(zwave, other)
        if ethernet:
            return write_pcapng(out, [lt.ETHERNET, linktype], merged)
        return write_pcapng(out, [linktype], ((0, ts, data) for _, ts, data in merged))


def _merge_by_time(a: Iterator[tuple[int, int, bytes]], b: Iterator[tuple[int, int, bytes]]
                   ) -> Iterator[tuple[int, int, bytes]]:
    """Records of two time-ordered streams as ``(interface, ts, data)``, in time order."""
    import heapq

    for ts, iface, data in heapq.merge(a, b, key=lambda r: (r[0], r[1])):
        yield iface, ts, data


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.zwave.synth",
                                     description="Write a synthetic Z-Wave capture.")
    parser.add_argument("--linktype", type=int, choices=(261, 262, 297), required=True)
    parser.add_argument("--frames", type=int, required=True, help="Z-Wave frames to write")
    parser.add_argument("--out", required=True, help="output file (.pcap or .pcapng)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--homes", type=int, default=3, help="home networks (default 3)")
    parser.add_argument("--nodes", type=int, default=6, help="end nodes per home (default 6)")
    parser.add_argument("--bad-checksums", type=int, default=0,
                        help="frames with a wrong checksum")
    parser.add_argument("--damaged", type=int, default=0,
                        help="frames with an impossible length field")
    parser.add_argument("--ethernet", type=int, default=0,
                        help="also write this many Ethernet frames on a second interface "
                             "(pcapng)")
    parser.add_argument("--format", choices=("pcap", "pcapng"), default=None,
                        help="default: from the file name (pcapng when --ethernet is given)")
    args = parser.parse_args(argv)
    pcapng = (args.format == "pcapng" or args.ethernet > 0
              or (args.format is None and str(args.out).endswith(".pcapng")))
    frames = generate(args.linktype, args.frames, args.seed, args.homes, args.nodes,
                      args.bad_checksums, args.damaged)
    ethernet = None
    if args.ethernet:
        start = 1_700_000_000_000_000_000
        ethernet = ethernet_frames(args.ethernet, args.seed, start, args.frames * 80_000_000)
    try:
        count = write_capture(args.out, args.linktype, frames, pcapng, ethernet)
    except FlowError as exc:
        print(f"synth: {exc}", file=sys.stderr)
        return 2
    Path(args.out).chmod(0o644)  # a capture to share, not a private temporary file
    print(f"wrote {count} records to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
