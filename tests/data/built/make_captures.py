"""The captures in this folder, built packet by packet (scapy + the project's capture writer).

Each function returns the records of one capture; ``python -m tests.data.built.make_captures``
writes them all here, and ``/work/shared/tools/make_oracle.py *.pcap --out-dir oracle`` records
what tshark 4.0.17 says about them (tests compare against that, never run tshark). Every record
is deterministic (fixed addresses, MACs, IP ids and times), so the files can be rebuilt
byte for byte; a test checks that they were.
"""

from __future__ import annotations

import struct
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

from scapy.contrib.erspan import ERSPAN_II, ERSPAN_III, ERSPAN_PlatformSpecific
from scapy.layers.inet import GRE, IP, TCP, UDP, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, fragment6
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

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


# -- issue 10 item 6: link layers and encapsulations -----------------------------------------
def exchange(ip_a: str, ip_b: str, sport: int, text: str, v6: bool = False) -> list[bytes]:
    """A short TCP connection (handshake, a request, a reply, FIN both ways) as IP packets."""
    net = IPv6 if v6 else IP
    request, reply = f"{text} request\n".encode(), f"{text} reply\n".encode()
    rq, rp = 100 + 1 + len(request), 900 + 1 + len(reply)

    def seg(fwd: bool, flags: str, seq: int, ack: int, load: bytes = b"") -> bytes:
        src, dst = (ip_a, ip_b) if fwd else (ip_b, ip_a)
        ports = (sport, 80) if fwd else (80, sport)
        return bytes(net(src=src, dst=dst) / TCP(sport=ports[0], dport=ports[1], flags=flags,
                                                seq=seq, ack=ack) / load)

    return [seg(True, "S", 100, 0), seg(False, "SA", 900, 101), seg(True, "A", 101, 901),
            seg(True, "PA", 101, 901, request), seg(False, "PA", 901, rq, reply),
            seg(True, "FA", rq, rp), seg(False, "FA", rp, rq + 1), seg(True, "A", rq + 1, rp + 1)]


def _ip_version(packet: bytes) -> int:
    return packet[0] >> 4


def cisco_hdlc(framing_in_ppp: bool = False) -> list[Record]:
    """Cisco HDLC frames (link type 104; or inside the PPP link type, first byte 0x0F/0x8F)
    carrying a TCP connection over IPv4, one over IPv6 and a broadcast UDP datagram."""
    out = []
    packets = exchange(A, B, 1201, "HDLC") + exchange(A6, B6, 1202, "HDLC v6", v6=True)
    for packet in packets:
        etype = 0x0800 if _ip_version(packet) == 4 else 0x86DD
        out.append(struct.pack(">BBH", 0x0F, 0, etype) + packet)
    out.append(struct.pack(">BBH", 0x8F, 0, 0x0800)
               + bytes(IP(src=A, dst="10.0.0.255") / UDP(sport=1203, dport=9) / b"hello all"))
    if framing_in_ppp:  # and a frame in PPP's own framing, to show both are read
        out.append(b"\xff\x03\x00\x21" + bytes(IP(src=A, dst=B) / UDP(sport=1204, dport=9)
                                                  / b"ppp"))
    return whole(out)


def ppi() -> list[Record]:
    """PPI headers (link type 192) over Ethernet and over 802.11 (an unencrypted QoS data frame
    with LLC/SNAP), each carrying a TCP connection."""
    out = []
    ether = Ether(src=MAC_A, dst=MAC_B)
    for packet in exchange(A, B, 1301, "PPI Ethernet"):
        out.append(struct.pack("<BBHI", 0, 0, 8, 1) + bytes(ether / IP(packet)))
    for packet in exchange(A, C, 1302, "PPI 802.11"):
        out.append(struct.pack("<BBHI", 0, 0, 8, 105) + wlan(packet))
    return whole(out)


def wlan(packet: bytes, qos: bool = True) -> bytes:
    """An unencrypted 802.11 data frame to the distribution system carrying ``packet``."""
    fc0 = 0x88 if qos else 0x08
    header = bytes([fc0, 0x01]) + b"\0\0" + bytes.fromhex("020000000001" "02000000000a"
                                                          "02000000000b") + b"\x10\x00"
    header += b"\0\0" if qos else b""
    etype = 0x0800 if _ip_version(packet) == 4 else 0x86DD
    return header + b"\xaa\xaa\x03\x00\x00\x00" + struct.pack(">H", etype) + packet


def radiotap() -> list[Record]:
    """802.11 with radiotap headers (link type 127, a monitor-mode capture).

    Port 1601: a TCP connection in unencrypted data frames whose radiotap Flags say "FCS at
    the end" and that end in one. Port 1602: the same without FCS. Port 1603: the Flags say FCS
    but the frames end with the TCP header: its last 4 bytes are taken for the FCS, so tshark
    numbers those TCP headers but does not count them (only the two with payload count). Then a
    beacon and an encrypted data frame: neither is IP.
    """
    def head(fcs: bool) -> bytes:  # TSFT and Flags present: Flags after the 8-byte TSFT
        return struct.pack("<BBHIQBxxx", 0, 0, 20, 0x3, 0, 0x10 if fcs else 0)

    out = []
    for k, packet in enumerate(exchange(A, B, 1601, "Wi-Fi with FCS")):
        frame = wlan(packet, qos=k % 2 == 1)
        out.append(head(True) + frame + struct.pack("<I", zlib.crc32(frame)))
    out += [head(False) + wlan(packet) for packet in exchange(A, B, 1602, "Wi-Fi")]
    out += [head(True) + wlan(packet) for packet in exchange(A, B, 1603, "Wi-Fi cut")]
    beacon = bytes([0x80, 0]) + b"\0" * 22 + b"\0" * 12
    protected = bytearray(wlan(bytes(IP(src=A, dst=B) / UDP(sport=1, dport=2))))
    protected[1] |= 0x40
    out += [head(False) + beacon, head(False) + bytes(protected)]
    return whole(out)


def encapsulations() -> list[Record]:
    """Over Ethernet: PPPoE with a one-byte (compressed) PPP protocol field; GRE carrying
    ERSPAN type I, II and III (III with its platform-specific subheader) and Aruba's 802.11
    frames (GRE protocol 0x8200, QoS and plain data frames). Each carries one TCP connection."""
    out = []
    ether = bytes(Ether(src=MAC_A, dst=MAC_B, type=0x8864))
    for packet in exchange(A, B, 1401, "PPPoE"):
        out.append(ether + struct.pack(">BBHH", 0x11, 0, 7, len(packet) + 1) + b"\x21" + packet)

    def inner_eth(packet: bytes) -> bytes:
        return bytes(Ether(src=MAC_A, dst=MAC_B) / IP(packet))

    for port in (1402, 1403, 1404, 1405):
        for k, packet in enumerate(exchange(A, B, port, f"GRE {port}")):
            if port == 1402:  # ERSPAN type I: no GRE sequence number, no ERSPAN header
                body = bytes(GRE(proto=0x88BE)) + inner_eth(packet)
            elif port == 1403:
                body = bytes(GRE(proto=0x88BE, seqnum_present=1, sequence_number=k)
                             / ERSPAN_II(session_id=7)) + inner_eth(packet)
            elif port == 1404:
                body = bytes(GRE(proto=0x22EB, seqnum_present=1, sequence_number=k)
                             / ERSPAN_III(session_id=8, o=1) / ERSPAN_PlatformSpecific()) \
                    + inner_eth(packet)
            else:  # Aruba
                body = bytes(GRE(proto=0x8200)) + wlan(packet, qos=k % 2 == 0)
            out.append(eth(IP(src="192.0.2.1", dst="192.0.2.2", proto=47) / Raw(body)))
    return whole(out)


# -- issue 10 item 7: UDP tunnels ------------------------------------------------------------
VTEP_A, VTEP_B, GTP_A, GTP_B = "172.16.0.1", "172.16.0.2", "172.16.5.1", "172.16.5.2"


def vxlan(src: str, dst: str, sport: int, inner: bytes, vni: int = 42) -> bytes:
    return eth(IP(src=src, dst=dst) / UDP(sport=sport, dport=4789)
               / struct.pack(">BBHI", 0x08, 0, 0, vni << 8) / inner)


def geneve(inner: bytes, proto: int, options: bytes = b"") -> bytes:
    head = struct.pack(">BBHI", len(options) // 4, 0, proto, 77 << 8) + options
    return eth(IP(src=VTEP_A, dst="172.16.0.3") / UDP(sport=40000, dport=6081) / head / inner)


def gtp_u(src: str, dst: str, inner: bytes, teid: int, extension: bool = False) -> bytes:
    """A G-PDU; with ``extension``, the optional fields and one PDU session container."""
    if extension:
        ext = bytes([1, 0x00, 0x09, 0x00])  # one 4-byte extension: PDU session container
        head = struct.pack(">BBHIHBB", 0x34, 0xFF, 4 + len(ext) + len(inner), teid, 0, 0, 0x85)
        head += ext
    else:
        head = struct.pack(">BBHI", 0x30, 0xFF, len(inner), teid)
    return eth(IP(src=src, dst=dst) / UDP(sport=2152, dport=2152) / head / inner)


def udp_tunnels() -> list[Record]:
    """VXLAN, Geneve and GTP-U as a data centre or a mobile core carries them.

    A plain DNS query first (udp.stream 0). A TCP connection inside VXLAN: VTEP A sends from
    port 49152, VTEP B answers from 49153, so the two directions are two outer UDP
    conversations and the inner TCP conversation is in both. A plain TCP connection starts in
    between (its tcp.stream comes after the inner one's). A DNS query inside VXLAN (an inner
    UDP conversation, numbered after the outer one its frame opens). Geneve with an option
    carrying Ethernet, and Geneve carrying IPv4 directly. GTP-U carrying a TCP connection (one
    outer conversation: port 2152 both ways), some packets with a PDU session container
    extension header, and an IPv6 DNS query.
    """
    out = []
    out.append(eth(IP(src=A, dst=B) / UDP(sport=5300, dport=53) / b"plain query"))
    ether = Ether(src=MAC_A, dst=MAC_B)
    inner = [bytes(ether / IP(packet)) for packet in exchange("192.168.1.1", "192.168.1.2",
                                                              4444, "inside VXLAN")]
    for k, frame in enumerate(inner):
        client = IP(frame[14:]).src == "192.168.1.1"
        out.append(vxlan(VTEP_A, VTEP_B, 49152, frame) if client else
                   vxlan(VTEP_B, VTEP_A, 49153, frame))
        if k == 1:
            out.append(tcp(A, 1501, B, 80, "S", 10))
    out.append(vxlan(VTEP_A, VTEP_B, 49200, bytes(
        ether / IP(src="192.168.1.1", dst="192.168.1.53") / UDP(sport=5353, dport=53)
        / b"query inside VXLAN")))
    for packet in exchange("192.168.2.1", "192.168.2.2", 5555, "inside Geneve"):
        out.append(geneve(bytes(ether / IP(packet)), 0x6558, options=b"\x01\x02\x03\x04"))
    out.append(geneve(bytes(IP(src="192.168.3.1", dst="192.168.3.2") / UDP(sport=7, dport=7)
                            / b"IPv4 in Geneve"), 0x0800))
    for k, packet in enumerate(exchange("10.45.0.2", "198.51.100.7", 7000, "inside GTP-U")):
        uplink = IP(packet).src == "10.45.0.2"
        src, dst = (GTP_A, GTP_B) if uplink else (GTP_B, GTP_A)
        out.append(gtp_u(src, dst, packet, 0x1000 if uplink else 0x2000, extension=k % 3 == 0))
    out.append(gtp_u(GTP_A, GTP_B, bytes(IPv6(src="2001:db8:45::2", dst="2001:db8::53")
                                         / UDP(sport=6000, dport=53) / b"v6 query"), 0x1000))
    return whole(out)


#: every capture of this folder: file name → builder (and its link type when not Ethernet)
CAPTURES: dict[str, Callable[[], list[Record]]] = {
    "syn-retry-same-isn.pcap": syn_retry_same_isn,
    "several-synacks.pcap": several_synacks,
    "bad-transport-headers.pcap": bad_transport_headers,
    "ip-fragments.pcap": fragmented_streams,
    "ip-fragments-not-whole.pcap": fragments_not_whole,
    "cisco-hdlc.pcap": cisco_hdlc,
    "ppp-cisco-hdlc.pcap": lambda: cisco_hdlc(framing_in_ppp=True),
    "ppi.pcap": ppi,
    "encapsulations.pcap": encapsulations,
    "wlan-radiotap.pcap": radiotap,
    "udp-tunnels.pcap": udp_tunnels,
}
LINKTYPES = {"cisco-hdlc.pcap": 104, "ppp-cisco-hdlc.pcap": 9, "ppi.pcap": 192,
             "wlan-radiotap.pcap": 127}


def capture_bytes(records: list[Record], linktype: int = 1) -> bytes:
    """A pcap (µs) of ``records``, one second apart from 2024-01-01 00:00:00 UTC."""
    start = 1_704_067_200 * 10**9
    return writer.pcap_header(linktype) + b"".join(
        writer.pcap_record(start + k * 10**9, data, orig)
        for k, (data, orig) in enumerate(records))


def main(names: list[str]) -> None:
    for name, build in CAPTURES.items():
        if not names or name in names:
            (HERE / name).write_bytes(capture_bytes(build(), LINKTYPES.get(name, 1)))
            print(name)


if __name__ == "__main__":
    main(sys.argv[1:])
