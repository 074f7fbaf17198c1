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
