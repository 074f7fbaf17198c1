"""The captures in this folder, built packet by packet (scapy + the project's capture writer).

Each function returns the records of one capture; ``python -m tests.data.built.make_captures``
writes them all here, and ``/work/shared/tools/make_oracle.py *.pcap --out-dir oracle`` records
what tshark 4.0.17 says about them (tests compare against that, never run tshark). Every record
is deterministic (fixed addresses, MACs, IP ids and times), so the files can be rebuilt
byte for byte; a test checks that they were.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from scapy.layers.inet import IP, TCP, UDP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, fragment6
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from engine.capture import writer

HERE = Path(__file__).parent
MAC_A, MAC_B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
A, B, C = "10.0.0.1", "10.0.0.2", "10.0.0.3"
A6, B6 = "2001:db8::1", "2001:db8::2"

#: one record: the captured bytes and the on-wire length (None: all of it was captured)
Record = tuple[bytes, int | None]


def eth(layer: Packet, pad: bytes = b"\0") -> bytes:
    """An Ethernet frame, padded to the 60-byte minimum as a NIC pads it."""
    data = bytes(Ether(src=MAC_A, dst=MAC_B) / layer)
    return data + pad * max(0, 60 - len(data))


def whole(frames: list[bytes]) -> list[Record]:
    return [(f, None) for f in frames]


def tcp(src: str, sport: int, dst: str, dport: int, flags: str, seq: int, ack: int = 0,
        load: bytes = b"", **tcp_fields: int) -> bytes:
    return eth(IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags, seq=seq,
                                          ack=ack, **tcp_fields) / load)


# -- issue 10 item 1: a SYN after RST (or close) with the same ISN -------------------------
def syn_retry_same_isn() -> list[Record]:
    """Connects retried with the same ISN stay in their tcp.stream; a new ISN starts one.

    Port 1001: SYN, RST-ACK (refused), the same SYN again (Windows retries so), accepted.
    Port 1002: SYN, an RFC 5961 challenge ACK, the client's RST, the same-ISN SYN, accepted.
    Port 1003: a full connection closed by FIN both ways, then a SYN repeating its ISN.
    Port 1004: SYN, RST, a SYN with a new ISN (a new stream), RST, that new ISN again.
    Port 1005: a plain connection after them all: its stream number shows nothing shifted.
    """
    out = []

    def a(port: int, flags: str, seq: int, ack: int = 0, load: bytes = b"") -> None:
        out.append(tcp(A, port, B, 80, flags, seq, ack, load))

    def b(port: int, flags: str, seq: int, ack: int = 0, load: bytes = b"") -> None:
        out.append(tcp(B, 80, A, port, flags, seq, ack, load))

    a(1001, "S", 1000)
    b(1001, "RA", 0, 1001)
    a(1001, "S", 1000)
    b(1001, "SA", 5000, 1001)
    a(1001, "A", 1001, 5001)
    a(1001, "PA", 1001, 5001, b"retry worked\n")
    b(1001, "A", 5001, 1014)
    a(1002, "S", 2000)
    b(1002, "A", 9000, 777)  # a challenge ACK (the server has an old connection on this tuple)
    a(1002, "R", 777)
    a(1002, "S", 2000)
    b(1002, "SA", 6000, 2001)
    a(1002, "A", 2001, 6001)
    a(1003, "S", 3000)
    b(1003, "SA", 7000, 3001)
    a(1003, "A", 3001, 7001)
    a(1003, "FA", 3001, 7001)
    b(1003, "FA", 7001, 3002)
    a(1003, "A", 3002, 7002)
    a(1003, "S", 3000)
    a(1004, "S", 4000)
    b(1004, "RA", 0, 4001)
    a(1004, "S", 4444)
    b(1004, "RA", 0, 4445)
    a(1004, "S", 4444)
    a(1005, "S", 8000)
    b(1005, "SA", 8800, 8001)
    return whole(out)


# -- issue 10 item 2: several SYN-ACKs with different ISNs in one connection ----------------
def several_synacks() -> list[Record]:
    """A server answers one SYN with two SYN-ACKs carrying different ISNs.

    Port 1101: the client acknowledges the second (the last) and the server's data follows it.
    Port 1102: the client acknowledges the first, and the server's data follows that one:
    tshark's Follow, which bases the server's bytes on the last SYN-ACK, loses them.
    Port 1103: the second ISN is lower than the first, the client acknowledges the first.
    Port 1104: no ACK from the client at all; the server's data follows the last SYN-ACK.
    """
    out = []
    cases = ((1101, 900, 5000, 5000), (1102, 900, 5000, 900), (1103, 9000, 5000, 9000),
             (1104, 900, 5000, None))
    for port, first, second, taken in cases:
        out.append(tcp(A, port, B, 80, "S", 100))
        out.append(tcp(B, 80, A, port, "SA", first, 101))
        out.append(tcp(B, 80, A, port, "SA", second, 101))
        request = f"request on {port}\n".encode()
        server = second if taken is None else taken
        if taken is not None:
            out.append(tcp(A, port, B, 80, "A", 101, taken + 1))
            out.append(tcp(A, port, B, 80, "PA", 101, taken + 1, request))
        reply = f"reply on {port}, after the SYN-ACK with ISN {server}\n".encode()
        out.append(tcp(B, 80, A, port, "PA", server + 1, 101 + len(request), reply))
    return whole(out)


# -- issue 10 item 5: TCP and UDP headers Wireshark rejects ---------------------------------
def bad_transport_headers() -> list[Record]:
    """TCP headers tshark numbers but leaves out of its table, and UDP headers it rejects.

    Frames (1-based) and what tshark 4.0.17 does with them:
    1 a good SYN on port 2001 (stream 0);
    2 data offset 16 bytes on port 2002: stream 1, not in the table;
    3 a good SYN on port 2003 (stream 2);
    4 data offset 12 in port 2001's stream: stream 0, not counted there;
    5 a TCP header of which 16 bytes are captured (port 2004): stream 3, not in the table;
    6 15 bytes captured (port 2005): no stream;
    7 options cut by the snap length (port 2006): stream 4, not in the table;
    8 an IP length that leaves 10 bytes for TCP (port 2007): no stream;
    9 a data offset past the IP length (port 2008): stream 5, not in the table;
    10 a malformed SYN with a new ISN in port 2003's stream: starts stream 6 (not in the table)
    11 port 2003 again, data: counted in stream 6 (the malformed SYN started it);
    12 UDP length 4 (port 3001): no udp.stream; 13 UDP length 0 over IPv4: none either;
    14 UDP length 0 over IPv6 (a jumbogram's way): stream 0, counted;
    15 UDP length past the IP payload (port 3003): stream 1, counted;
    16 a good SYN on port 2009: stream 7.
    """
    out: list[Record] = []

    def seg(sport: int, flags: str, seq: int, load: bytes = b"", **fields: int) -> bytes:
        return tcp(A, sport, B, 80, flags, seq, 0, load, **fields)

    def ip_len(frame: bytes, length: int) -> bytes:
        packet = Ether(frame)
        packet[IP].len = length
        del packet[IP].chksum
        return bytes(packet)

    out.append((seg(2001, "S", 1), None))
    out.append((seg(2002, "S", 1, dataofs=4), None))
    out.append((seg(2003, "S", 1), None))
    out.append((seg(2001, "A", 2, dataofs=3), None))
    frame = seg(2004, "S", 1)
    out.append((frame[: 14 + 20 + 16], len(frame)))
    frame = seg(2005, "S", 1)
    out.append((frame[: 14 + 20 + 15], len(frame)))
    frame = seg(2006, "S", 1, options=[("MSS", 1460), ("NOP", None), ("WScale", 7),
                                       ("SAckOK", b""), ("NOP", None), ("NOP", None)])
    out.append((frame[: 14 + 20 + 24], len(frame)))
    out.append((ip_len(seg(2007, "S", 1, b"x" * 20), 20 + 10), None))
    out.append((seg(2008, "S", 1, dataofs=8), None))
    out.append((seg(2003, "S", 99, dataofs=2), None))
    out.append((seg(2003, "PA", 100, b"after the malformed SYN\n"), None))
    out.append((eth(IP(src=A, dst=B) / UDP(sport=3001, dport=9, len=4) / (b"u" * 12)), None))
    out.append((eth(IP(src=A, dst=B) / UDP(sport=3002, dport=9, len=0) / (b"u" * 12)), None))
    out.append((eth(IPv6(src=A6, dst=B6) / UDP(sport=3002, dport=9, len=0) / (b"u" * 12)), None))
    out.append((eth(IP(src=A, dst=B) / UDP(sport=3003, dport=9, len=100) / (b"u" * 12)), None))
    out.append((seg(2009, "S", 1), None))
    return out


# -- issue 10 items 3 and 4: TCP and UDP payload carried in IP fragments ---------------------
REQUEST = b"GET /fragmented HTTP/1.1\r\nHost: example.test\r\n\r\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 120\r\n\r\n" + bytes(range(33, 153))
DATAGRAM = bytes(range(256)) * 2 + b"the end"
DATAGRAM6 = b"IPv6 datagram in three fragments. " * 10


def ip_fragments(datagram: Packet, size: int) -> list[Packet]:
    """``datagram`` cut into fragments carrying ``size`` payload bytes each (the last: less)."""
    return list(fragment(datagram, fragsize=size))


def fragmented_streams() -> list[Record]:
    """TCP and UDP whose datagrams come in IP fragments (IPv4 and IPv6), to be reassembled.

    Port 4001 (IPv4 TCP): a handshake; the request in fragments of 8 bytes, so the first one
    holds only part of the TCP header (the frame is padded to 60 bytes with zeros, which are not
    datagram bytes); the response in three fragments sent last first; then one more segment
    whose fragments overlap (the overlapping bytes differ: in offset order, the earlier
    fragment's bytes count, as Wireshark's reassembly keeps them).
    Port 4002 (IPv6 TCP): a request in three fragments. Port 5001 (IPv4 UDP): a 519-byte
    datagram in three fragments, the middle one last; port 5002 (IPv6 UDP) in three fragments.
    """
    out = []
    out.append(tcp(A, 4001, B, 80, "S", 100))
    out.append(tcp(B, 80, A, 4001, "SA", 700, 101))
    out.append(tcp(A, 4001, B, 80, "A", 101, 701))
    request = IP(src=A, dst=B, id=0x4001) / TCP(sport=4001, dport=80, flags="PA", seq=101,
                                                 ack=701) / REQUEST
    out += [eth(f) for f in ip_fragments(request, 8)]
    response = IP(src=B, dst=A, id=0x4002) / TCP(sport=80, dport=4001, flags="PA", seq=701,
                                                  ack=101 + len(REQUEST)) / RESPONSE
    pieces = ip_fragments(response, 64)
    out += [eth(f) for f in reversed(pieces)]
    tail = b"overlap: the first fragment's bytes win"
    last = IP(src=A, dst=B, id=0x4003) / TCP(sport=4001, dport=80, flags="PA",
                                             seq=101 + len(REQUEST), ack=701 + len(RESPONSE)) / tail
    first, second = ip_fragments(last, 32)
    clash = second.copy()  # starts 8 bytes earlier, inside the first fragment, other bytes
    clash.frag -= 1
    clash.remove_payload()
    clash.add_payload(b"XXXXXXXX" + bytes(second.payload))
    out += [eth(first), eth(clash), eth(second)]
    out.append(tcp(B, 80, A, 4001, "A", 701 + len(RESPONSE), 101 + len(REQUEST) + len(tail)))

    request6 = IPv6(src=A6, dst=B6) / IPv6ExtHdrFragment(id=0x6001) / TCP(
        sport=4002, dport=80, flags="PA", seq=1, ack=1) / (REQUEST * 3)
    out += [eth(f) for f in fragment6(request6, 96)]

    udp4 = ip_fragments(IP(src=A, dst=C, id=0x5001) / UDP(sport=5001, dport=9) / DATAGRAM, 200)
    out += [eth(udp4[0]), eth(udp4[2]), eth(udp4[1])]
    udp6 = IPv6(src=A6, dst=B6) / IPv6ExtHdrFragment(id=0x6002) / UDP(sport=5002, dport=9) \
        / DATAGRAM6
    out += [eth(f) for f in fragment6(udp6, 200)]
    return whole(out)


# -- issue 10 item 5: fragments Wireshark does not reassemble -------------------------------
def fragments_not_whole() -> list[Record]:
    """Fragments not all in the capture: Wireshark leaves them out of reassembly.

    An IPv4 first fragment it cannot add is dissected on its own (its UDP/TCP header read from
    the frame) and counted; the datagram never completes. IPv6 does not do that.
    Port 5101 (UDP): the first fragment claims 40 bytes more than the frame has. Port 5102
    (UDP): the first fragment cut by the snap length. Port 5103 (TCP, a data segment): first
    fragment claims more. Port 5104 (UDP): the middle fragment claims more, so the datagram
    never completes though every fragment is there. Port 5105 (UDP over IPv6): the first
    fragment cut by the snap length; port 5106 the same claiming more: neither is counted.
    Port 5107: a plain UDP datagram, numbered after the streams above.
    """
    out: list[Record] = []

    def claim_more(frame: bytes, extra: int) -> bytes:
        packet = Ether(frame)
        if IP in packet:
            packet[IP].len += extra
            del packet[IP].chksum
        else:
            packet[IPv6].plen += extra
        return bytes(packet)

    def udp4(port: int, ident: int) -> list[bytes]:
        datagram = IP(src=A, dst=B, id=ident) / UDP(sport=port, dport=9) / DATAGRAM
        return [eth(f) for f in ip_fragments(datagram, 200)]

    frames = udp4(5101, 0x5101)
    out += [(claim_more(frames[0], 40), None), *whole(frames[1:])]
    frames = udp4(5102, 0x5102)
    out += [(frames[0][:100], len(frames[0])), *whole(frames[1:])]
    segment = IP(src=A, dst=B, id=0x5103) / TCP(sport=5103, dport=80, flags="PA", seq=1,
                                                 ack=1) / DATAGRAM
    frames = [eth(f) for f in ip_fragments(segment, 200)]
    out += [(claim_more(frames[0], 8), None), *whole(frames[1:])]
    frames = udp4(5104, 0x5104)
    out += [(frames[0], None), (claim_more(frames[1], 16), None), (frames[2], None)]
    for port, cut in ((5105, True), (5106, False)):
        datagram = IPv6(src=A6, dst=B6) / IPv6ExtHdrFragment(id=port) / UDP(sport=port,
                                                                           dport=9) / DATAGRAM
        frames = [eth(f) for f in fragment6(datagram, 300)]
        first = (frames[0][:100], len(frames[0])) if cut else (claim_more(frames[0], 40), None)
        out += [first, *whole(frames[1:])]
    out.append((eth(IP(src=A, dst=B) / UDP(sport=5107, dport=9) / b"plain"), None))
    return out


#: every capture of this folder: file name → builder
CAPTURES: dict[str, Callable[[], list[Record]]] = {
    "syn-retry-same-isn.pcap": syn_retry_same_isn,
    "several-synacks.pcap": several_synacks,
    "bad-transport-headers.pcap": bad_transport_headers,
    "ip-fragments.pcap": fragmented_streams,
    "ip-fragments-not-whole.pcap": fragments_not_whole,
}


def capture_bytes(records: list[Record], linktype: int = 1) -> bytes:
    """A pcap (µs) of ``records``, one second apart from 2024-01-01 00:00:00 UTC."""
    start = 1_704_067_200 * 10**9
    return writer.pcap_header(linktype) + b"".join(
        writer.pcap_record(start + k * 10**9, data, orig)
        for k, (data, orig) in enumerate(records))


def main(names: list[str]) -> None:
    for name, build in CAPTURES.items():
        if not names or name in names:
            (HERE / name).write_bytes(capture_bytes(build()))
            print(name)


if __name__ == "__main__":
    main(sys.argv[1:])
