"""Bad input is normal input: random bytes and cut-short handshakes give a clean "unknown"."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.app import banners, dns, http, quic, tls
from engine.app.fingerprints import ja3, ja4
from engine.app.services import SERVICES
from engine.app.wire import text
from engine.app.x509 import certificate_names
from engine.export.conversations import conversation_records

from .app_build import Dialogue, analyse, client_hello, records, server_hello, udp

BYTES = st.binary(max_size=600)


@given(BYTES)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_every_parser_takes_any_bytes(data: bytes) -> None:
    hs = tls.tls_handshake(data)
    for kind, body in hs.messages:
        assert isinstance(kind, int) and isinstance(body, bytes)
    tls.dtls_handshake([data, data[7:]])
    tls.crypto_handshake(data)
    hello = tls.parse_client_hello(data)
    if hello is not None:
        ja3(hello), ja4(hello, "t")
    tls.parse_client_hello(data, dtls=True)
    tls.parse_server_hello(data)
    tls.certificate_list(data)
    certificate_names(data)
    message = dns.parse_message(data)
    if message is not None:
        dns.addresses_to_names(message, multicast=True)
    dns.tcp_messages(data)
    dns.netbios_name(text(data))
    http.parse_head(data)
    list(http.messages(data, limit=50))
    banners.ssh_banner(data)
    banners.ftp_channels(data, data, "192.0.2.1")
    banners.ftp_user(data)
    quic.chlo_tags(data)
    quic.gquic_version(data)
    for packet in quic.long_packets(data):
        quic.decrypt(data, packet, packet.dcid, False)
    quic.read_initials([data], [data])
    quic.crypto_frames(data)
    text(data)


def test_a_client_hello_cut_anywhere_gives_nothing_or_the_whole_hello() -> None:
    whole = records(client_hello("cut.example", padding=700), 400)
    full = tls.parse_client_hello(tls.tls_handshake(whole).first(tls.CLIENT_HELLO) or b"")
    assert full is not None and full.sni == "cut.example"
    for size in range(len(whole)):
        hs = tls.tls_handshake(whole[:size])
        body = hs.first(tls.CLIENT_HELLO)
        assert body is None, size  # an incomplete message is never handed out
        assert hs.wants_more or size == 0, size


@given(st.integers(min_value=0, max_value=2000), st.binary(min_size=1, max_size=64))
@settings(max_examples=200)
def test_a_damaged_client_hello_body_never_raises(cut: int, noise: bytes) -> None:
    body = client_hello("x.example", padding=300)[4:]
    damaged = body[:cut] + noise + body[cut + len(noise):]
    hello = tls.parse_client_hello(damaged)
    if hello is not None:
        ja3(hello), ja4(hello, "q")


PORTS = st.sampled_from([53, 80, 443, 21, 25, 110, 143, 22, 123, 137, 161, 500, 1194, 1900,
                         3389, 4500, 5353, 5355, 51820, 3478, 8080, 40000])


@given(st.lists(st.tuples(PORTS, st.booleans(), BYTES, BYTES), min_size=1, max_size=6))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_payloads_on_well_known_ports_load_cleanly(flows: list) -> None:
    packets = []
    for k, (port, is_tcp, ask, answer) in enumerate(flows):
        if is_tcp:
            d = Dialogue(sport=41000 + k, dport=port)
            if ask:
                d.send(0, ask)
            if answer:
                d.send(1, answer)
            packets += d.packets
        else:
            packets += [udp("10.0.0.1", 42000 + k, "10.0.0.2", port, ask or b"\x00", t=k),
                        udp("10.0.0.2", port, "10.0.0.1", 42000 + k, answer or b"\x00",
                            t=k + 0.5)]
    for rec in conversation_records(analyse(packets)):
        assert rec.get("service") is None or rec["service"] in SERVICES


def test_truncated_handshakes_on_the_wire_give_the_service_without_metadata() -> None:
    hello = records(client_hello("trunc.example", padding=900))
    d = Dialogue().send(0, hello[:700])  # the rest never arrives
    d.send(1, records(server_hello())[:30])
    rec = next(r for r in conversation_records(analyse(d.packets)) if r["protocol"] == "tcp")
    assert rec["service"] == "tls"  # the record header says so; the hello never completes
    assert rec["server_name"] is None and rec["tls"] is None


def _head_line_by_line(data: bytes) -> http.Head | None:
    """parse_head as first written: each name and value stripped and decoded on its own."""
    end = data.find(b"\r\n\r\n", 0, http.MAX_HEAD)
    stop = end + 4 if end >= 0 else min(len(data), http.MAX_HEAD)
    lines = data[:stop].split(b"\r\n")
    head = http._start_line(lines[0].decode("utf-8", "replace"))
    if head is None:
        return None
    for raw in lines[1:]:
        if not raw:
            break
        name, sep, value = raw.partition(b":")
        if sep:
            head.headers.append((name.strip().decode("utf-8", "replace"),
                                 value.strip().decode("utf-8", "replace")))
    head.size, head.complete = stop, end >= 0
    return head


HEAD_PIECES = st.sampled_from([b"GET / HTTP/1.1", b"HTTP/1.1 200 OK", b"\r\n", b":", b" ", b"x",
                               b"\t", b"\x0b", b"Host", b"\xc3\xa9", b"\xc3", b"\xe2\x80",
                               b"\xff", b"\xa0", b"\xc2\xa0", b"\x85", b"\x1c", b"x"])


@given(st.lists(HEAD_PIECES, max_size=40))
@settings(max_examples=500)
def test_a_head_decoded_at_once_reads_as_line_by_line(pieces: list[bytes]) -> None:
    data = b"GET /x HTTP/1.1\r\n" + b"".join(pieces)
    lazy, reference = http.parse_head(data), _head_line_by_line(data)
    assert lazy is not None and reference is not None
    for name in ("host", "HOST", "x", "", "\x0b", "host\t"):  # before the lines are split
        assert lazy.header(name) == reference.header(name)
    assert lazy == reference
    assert http.parse_head(b"".join(pieces)) == _head_line_by_line(b"".join(pieces))


def _time_by_datetime(tag: int, raw: bytes) -> str | None:
    """x509._time as first written: validated and written by datetime."""
    from datetime import UTC, datetime

    if tag == 0x17 and len(raw) == 13 and raw[12:] == b"Z" and raw[:12].isdigit():
        year, digits = int(raw[:2]), raw[2:12]
        year += 1900 if year >= 50 else 2000
    elif tag == 0x18 and len(raw) == 15 and raw[14:] == b"Z" and raw[:14].isdigit():
        year, digits = int(raw[:4]), raw[4:14]
    else:
        return None
    month, day, hour, minute, second = (int(digits[k : k + 2]) for k in range(0, 10, 2))
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"


@given(st.sampled_from([0x17, 0x18]),
       st.sampled_from([0, 5, 999, 1000, 1900, 1999, 2000, 2023, 2024, 2100, 9999])
       | st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32), st.integers(0, 25),
       st.integers(0, 61), st.integers(0, 61))
@settings(max_examples=1000)
def test_certificate_times_read_as_datetime_would(tag: int, year: int, month: int, day: int,
                                                  hour: int, minute: int, second: int) -> None:
    from engine.app import x509

    rest = f"{month:02d}{day:02d}{hour:02d}{minute:02d}{second:02d}Z".encode()
    raw = f"{year % 100:02d}".encode() + rest if tag == 0x17 else f"{year:04d}".encode() + rest
    assert x509._time(tag, raw) == _time_by_datetime(tag, raw)


def _quic_by_cursor(datagram: bytes) -> tuple[list, list, dict]:
    """long_packets, crypto_frames and chlo_tags as first written, through wire.Cursor."""
    from engine.app.wire import Cursor, Short

    packets = []
    pos = 0
    try:
        while pos + 7 <= len(datagram) and datagram[pos] & 0x80:
            c = Cursor(datagram, pos)
            first, version = c.u8(), c.u32()
            if version == 0:
                break
            dcid, scid = c.take(c.u8()), c.take(c.u8())
            if len(dcid) > 20 or len(scid) > 20 or not quic.known_version(version) \
                    or quic._clear_hello(version):
                break
            initial = quic._is_initial(first, version)
            if (first >> 4) & 3 == (0 if version == quic.V2 else 3):
                break
            if initial:
                c.skip(c.varint())
            length = c.varint()
            end = c.pos + length
            if end > len(datagram):
                break
            packets.append(quic.LongPacket(version, dcid, scid, initial, pos, c.pos, end))
            pos = end
    except Short:
        pass
    frames = []
    c = Cursor(datagram)
    try:
        while c.left:
            if datagram[c.pos] == 0:
                c.pos = len(datagram) - len(datagram[c.pos:].lstrip(b"\x00"))
                continue
            kind = c.varint()
            if kind == 0x01:
                continue
            if kind in (0x02, 0x03):
                c.varint(), c.varint()
                ranges = c.varint()
                c.varint()
                for _ in range(min(ranges, 1 << 10)):
                    c.varint(), c.varint()
                if kind == 0x03:
                    c.varint(), c.varint(), c.varint()
            elif kind == 0x06:
                offset = c.varint()
                frames.append((offset, c.take(c.varint())))
            elif kind in (0x1C, 0x1D):
                c.varint()
                if kind == 0x1C:
                    c.varint()
                c.skip(c.varint())
            else:
                break
    except Short:
        pass
    tags: dict = {}
    at = datagram.find(b"CHLO")
    if at >= 0:
        try:
            c = Cursor(datagram, at + 4)
            count = c.u8() | c.u8() << 8
            c.skip(2)
            if count <= 64:
                table = [(c.take(4), int.from_bytes(c.take(4), "little")) for _ in range(count)]
                base, start = c.pos, 0
                for tag, end in table:
                    if end < start or base + end > len(datagram):
                        break
                    tags[tag] = datagram[base + start : base + end]
                    start = end
        except Short:
            tags = {}
    return packets, frames, tags


@st.composite
def _varints(draw: st.DrawFn, value: int | None = None) -> bytes:
    """A QUIC variable-length integer in any of its four sizes (also non-minimal ones)."""
    size = draw(st.sampled_from([1, 2, 4, 8]))
    top = (1 << (8 * size - 2)) - 1
    v = draw(st.integers(0, min(top, 300))) if value is None else max(min(value, top), 0)
    return (v | ({1: 0, 2: 1, 4: 2, 8: 3}[size] << (8 * size - 2))).to_bytes(size, "big")


@st.composite
def _long_packets(draw: st.DrawFn) -> bytes:
    out = b""
    for _ in range(draw(st.integers(1, 3))):
        version = draw(st.sampled_from([quic.V1, quic.V2, 0xFF00001D, 0xFACEB002, 0x51303530,
                                        0x54303531, 0x51303436, 0, 0x12345678]))
        first = draw(st.integers(0x80, 0xFF))
        dcid, scid = draw(st.binary(max_size=22)), draw(st.binary(max_size=22))
        body = draw(st.binary(max_size=40))
        out += bytes([first]) + version.to_bytes(4, "big") + bytes([len(dcid)]) + dcid \
            + bytes([len(scid)]) + scid
        if draw(st.booleans()):
            token = draw(st.binary(max_size=4))
            out += draw(_varints(len(token))) + token
        out += draw(_varints(len(body) + draw(st.integers(-2, 2)))) + body
    return out[: draw(st.integers(0, len(out)))] if draw(st.booleans()) else out


@st.composite
def _frames(draw: st.DrawFn) -> bytes:
    out = b""
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from([0x00, 0x01, 0x02, 0x03, 0x06, 0x08, 0x1C, 0x1D, 0x40, 7]))
        if kind == 0x00:
            out += b"\x00" * draw(st.integers(1, 5))
        elif kind in (0x02, 0x03):
            out += bytes([kind]) + b"".join(draw(st.lists(_varints(), min_size=4, max_size=12)))
        elif kind in (0x06, 0x08):
            data = draw(st.binary(max_size=20))
            out += bytes([kind]) + draw(_varints()) + draw(_varints(len(data))) + data
        elif kind in (0x1C, 0x1D):
            reason = draw(st.binary(max_size=6))
            out += bytes([kind]) + draw(_varints()) + draw(_varints()) \
                + draw(_varints(len(reason))) + reason
        else:
            out += bytes([kind])
    return out[: draw(st.integers(0, len(out)))] if draw(st.booleans()) else out


@st.composite
def _chlo(draw: st.DrawFn) -> bytes:
    values = draw(st.lists(st.binary(max_size=6), max_size=5))
    ends, end = [], 0
    for v in values:
        end += len(v) + draw(st.sampled_from([0, 0, 0, -1, 3]))
        ends.append(max(end, 0))
    count = len(values) + draw(st.sampled_from([0, 0, 1, 70]))
    tags = st.sampled_from([b"SNI\x00", b"UAID", b"VER\x00"])
    table = b"".join(draw(tags) + e.to_bytes(4, "little") for e in ends)
    out = draw(st.binary(max_size=3)) + b"CHLO" + count.to_bytes(2, "little") + b"\x00\x00" \
        + table + b"".join(values)
    return out[: draw(st.integers(0, len(out)))] if draw(st.booleans()) else out


@given(st.one_of(_long_packets(), _frames(), _chlo(), st.binary(max_size=40)))
@settings(max_examples=1500)
def test_quic_walks_read_as_through_a_cursor(data: bytes) -> None:
    assert (quic.long_packets(data), quic.crypto_frames(data), quic.chlo_tags(data)) \
        == _quic_by_cursor(data)


_ADDRESS_TEXTS = st.one_of(
    st.ip_addresses().map(str),
    st.ip_addresses(v=6).map(lambda a: a.exploded.upper()),
    st.text(alphabet="0123456789abcdefABCDEF:.% x\x00", max_size=45),
    st.sampled_from(["fe80::1%eth0", "01.2.3.4", "1.2.3", "::ffff:1.2.3.4", "1::2::3", "",
                     "1:2:3:4:5:6:1.2.3.4", "1.2.3.4 ", "１.2.3.4", "256.1.1.1"]))


@given(_ADDRESS_TEXTS)
@settings(max_examples=2000)
def test_the_name_table_reads_addresses_as_ipaddress_does(address: str) -> None:
    """The fast reading of answered addresses (inet_pton, then ipaddress for what it refuses)
    gives what ipaddress alone gives, for any text."""
    import ipaddress

    from engine.app.names import _address_value

    try:
        ip = ipaddress.ip_address(address)
        expected: tuple[int, int] | None = (ip.version, int(ip))
    except ValueError:
        expected = None
    assert _address_value(address) == expected
