"""Application-layer behaviour on traffic built for the purpose: TLS on an odd port, a
ClientHello split over reordered segments, STARTTLS, port guesses, names from DNS."""

from __future__ import annotations

import os

import numpy as np

from engine.app import quic, tls
from engine.app.banners import ftp_channels
from engine.app.fingerprints import ja3, ja4
from engine.export.conversations import conversation_records

from .app_build import (
    Dialogue,
    analyse,
    client_hello,
    dns_answer,
    dns_query,
    records,
    server_hello,
    udp,
)


def _record(result, port: int) -> dict:
    return next(r for r in conversation_records(result) if port in (r["a"]["port"],
                                                                      r["b"]["port"]))


def test_tls_on_an_unusual_port_is_found_by_its_bytes() -> None:
    d = Dialogue(dport=8444).send(0, records(client_hello("odd.example")))
    d.send(1, records(server_hello()))
    rec = _record(analyse(d.packets), 8444)
    assert (rec["service"], rec["service_by"]) == ("tls", "content")
    assert rec["server_name"] == "odd.example"
    assert rec["tls"]["version"] == "TLSv1.3"
    assert rec["tls"]["alpn_offered"] == ["h2", "http/1.1"]
    assert rec["tls"]["cipher"] == "TLS_AES_128_GCM_SHA256"


def test_a_client_hello_over_reordered_segments_is_read_in_stream_order() -> None:
    hello = client_hello("big.example", padding=3500)  # four segments of 1200 bytes
    d = Dialogue()
    segments = d.segments(0, records(hello), 1200)
    # the second segment arrives last, the first one twice
    d.packets += [segments[0], segments[2], segments[0], segments[3], segments[1]]
    d.send(1, records(server_hello()))
    rec = _record(analyse(d.packets), 443)
    whole = tls.parse_client_hello(hello[4:])
    assert rec["tls"]["sni"] == "big.example"
    assert rec["tls"]["ja3"] == ja3(whole)
    assert rec["tls"]["ja4"] == ja4(whole, "t")


def test_starttls_keeps_the_mail_service_and_reads_the_handshake() -> None:
    d = Dialogue(dport=25)
    d.send(1, b"220 mail.example ESMTP ready\r\n").send(0, b"EHLO client.example\r\n")
    d.send(1, b"250-mail.example\r\n250 STARTTLS\r\n").send(0, b"STARTTLS\r\n")
    d.send(1, b"220 2.0.0 Ready to start TLS\r\n")
    d.send(0, records(client_hello("mail.example"))).send(1, records(server_hello()))
    rec = _record(analyse(d.packets), 25)
    assert rec["service"] == "smtp"
    assert rec["banner"] == "220 mail.example ESMTP ready"
    assert rec["tls"]["sni"] == "mail.example"
    assert rec["server_name"] == "mail.example"


def test_no_payload_gets_a_port_guess_and_unknown_bytes_stay_unknown() -> None:
    quiet = Dialogue(dport=443)
    noisy = Dialogue(sport=40001, dport=5555).send(0, os.urandom(300)).send(1, os.urandom(90))
    result = analyse(quiet.packets + noisy.packets)
    guess = _record(result, 443)
    assert (guess["service"], guess["service_by"]) == ("tls", "port")
    assert guess["tls"] is None
    unknown = _record(result, 5555)
    assert unknown["service"] is None and unknown["service_by"] is None


def test_names_from_the_captures_dns_follow_cname_chains_to_the_question() -> None:
    packets = [udp("10.0.0.1", 5000, "10.0.0.53", 53, dns_query("www.example.org"), t=0.1),
               udp("10.0.0.53", 53, "10.0.0.1", 5000,
                   dns_answer("www.example.org", ["edge.cdn.example"], "93.184.216.34"), t=0.2)]
    d = Dialogue(b="93.184.216.34", t=1.0)
    d.send(0, records(client_hello("www.example.org")))
    result = analyse(packets + d.packets)
    names = result.plugin_data["app"].names
    assert names.names_of() == {"93.184.216.34": ["www.example.org"]}
    ((address, name, first, last),) = names.rows()
    assert (address, name) == ("93.184.216.34", "www.example.org") and first == last
    rec = _record(result, 443)
    assert rec["b"]["name"] == "www.example.org" and rec["a"]["name"] is None
    dns = _record(result, 53)
    assert dns["dns"] == {"queries": 1, "name": "www.example.org", "type": "A",
                          "rcode": "NOERROR", "answers": ["edge.cdn.example", "93.184.216.34"]}
    assert dns["server_name"] == "www.example.org"


def test_an_endpoint_named_after_the_conversation_started_still_gets_the_name() -> None:
    d = Dialogue(b="93.184.216.34")
    d.send(0, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    late = udp("10.0.0.53", 53, "10.0.0.1", 5000,
               dns_answer("late.example", [], "93.184.216.34"), t=5.0)
    result = analyse([*d.packets, late])
    assert result.conversations.extra["b_name"][
        np.flatnonzero(result.conversations.b_port == 443)[0]] \
        == "late.example"


def test_ftp_announcements_in_every_form() -> None:
    server = (b"227 Entering Passive Mode (192,0,2,7,19,137).\r\n"
              b"229 Entering Extended Passive Mode (|||6446|)\r\n")
    client = b"PORT 10,0,0,1,200,10\r\nEPRT |2|2001:db8::1|5282|\r\n"
    found = {(c.address, c.port, c.server_side) for c in ftp_channels(client, server,
                                                                       "192.0.2.9")}
    assert found == {("192.0.2.7", 5001, True), ("192.0.2.9", 6446, True),
                     ("10.0.0.1", 51210, False), ("2001:db8::1", 5282, False)}


def test_quic_initial_secrets_are_rfc_9001s_and_rfc_9369s_test_vectors() -> None:
    dcid = bytes.fromhex("8394c8f03e515708")
    assert [x.hex() for x in quic.initial_secrets(quic.V1, dcid, False)] == [
        "1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c",
        "9f50449e04a0e810283a1e9933adedd2"]  # RFC 9001 appendix A.1, client
    assert [x.hex() for x in quic.initial_secrets(quic.V1, dcid, True)] == [
        "cf3a5331653c364c88f0f379b6067e37", "0ac1493ca1905853b0bba03e",
        "c206b8d9b9f0f37644430b490eeaa314"]  # RFC 9001 appendix A.1, server
    assert [x.hex() for x in quic.initial_secrets(quic.V2, dcid, False)] == [
        "8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f",
        "45b95e15235d6f45a6b19cbcb0294ba9"]  # RFC 9369 appendix A.1, client
    assert quic.initial_secrets(0x12345678, dcid, False) is None


def test_dns_over_tcp_reads_the_length_prefixed_messages() -> None:
    query = dns_query("tcp.example")
    answer = dns_answer("tcp.example", [], "192.0.2.80")
    d = Dialogue(dport=53).send(0, len(query).to_bytes(2, "big") + query)
    d.send(1, len(answer).to_bytes(2, "big") + answer)
    result = analyse(d.packets)
    rec = _record(result, 53)
    assert rec["service"] == "dns" and rec["dns"]["name"] == "tcp.example"
    assert rec["dns"]["answers"] == ["192.0.2.80"]
    assert result.plugin_data["app"].names.names_of() == {"192.0.2.80": ["tcp.example"]}


#: (service, transport, port, first bytes from A, first bytes from B): what the signatures and
#: parsers recognise in protocols the truth set has no capture of (or an odd port)
BUILT = [
    ("telnet", "tcp", 23, b"\xff\xfd\x18\xff\xfd\x20", b"\xff\xfb\x18"),
    ("redis", "tcp", 6379, b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n"),
    ("http2", "tcp", 8080, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", b"\x00\x00\x00\x04\x00"),
    ("ssh", "tcp", 2222, b"SSH-2.0-OpenSSH_9.6\r\n", b"SSH-2.0-dropbear_2022.83\r\n"),
    ("http", "tcp", 8000, b"GET /x HTTP/1.1\r\nHost: h.example\r\n\r\n",
     b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
    ("rtsp", "tcp", 8554, b"OPTIONS rtsp://cam/ RTSP/1.0\r\nCSeq: 1\r\n\r\n",
     b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n"),
    ("syslog", "udp", 514, b"<34>Oct 11 22:14:15 host su: failed", b""),
    ("bittorrent", "tcp", 51413, b"\x13BitTorrent protocol" + bytes(48),
     b"\x13BitTorrent protocol" + bytes(48)),
    ("wireguard", "udp", 51820, b"\x01\x00\x00\x00" + bytes(144), b"\x02\x00\x00\x00" + bytes(88)),
    ("pop3", "tcp", 110, b"CAPA\r\n", b"+OK POP3 ready\r\n"),
    ("imap", "tcp", 143, b"a1 CAPABILITY\r\n", b"* OK IMAP4rev1 ready\r\n"),
]


def test_each_service_is_recognised_by_its_bytes() -> None:
    packets = []
    for k, (_, transport, port, ask, answer) in enumerate(BUILT):
        if transport == "tcp":
            d = Dialogue(sport=43000 + k, dport=port)
            greets = port in (110, 143)  # the server speaks first
            if greets:
                d.send(1, answer)
            d.send(0, ask)
            if answer and not greets:
                d.send(1, answer)
            packets += d.packets
        else:
            packets.append(udp("10.0.0.1", 43000 + k, "10.0.0.2", port, ask, t=k))
            if answer:
                packets.append(udp("10.0.0.2", port, "10.0.0.1", 43000 + k, answer, t=k + 0.1))
    result = analyse(packets)
    for service, _, port, _, _ in BUILT:
        rec = _record(result, port)
        assert (rec["service"], rec["service_by"]) == (service, "content"), port
    assert _record(result, 2222)["ssh"] == {"client": "SSH-2.0-OpenSSH_9.6",
                                            "server": "SSH-2.0-dropbear_2022.83"}
    assert _record(result, 8000)["http"]["status"] == 404
    assert _record(result, 110)["banner"] == "+OK POP3 ready"


def test_an_address_answered_under_two_names_takes_the_latest_before_each_conversation() -> None:
    packets = [udp("10.0.0.53", 53, "10.0.0.1", 5000,
                   dns_answer("old.example", [], "93.184.216.34", ident=1), t=1.0),
               udp("10.0.0.53", 53, "10.0.0.1", 5001,
                   dns_answer("new.example", [], "93.184.216.34", ident=2), t=10.0)]
    for k, start in enumerate((5.0, 12.0)):
        d = Dialogue(sport=44000 + k, b="93.184.216.34", t=start)
        d.send(0, records(client_hello("x.example")))
        packets += d.packets
    result = analyse(packets)
    named = {int(result.conversations.a_port[i]): str(result.conversations.extra["b_name"][i])
             for i in np.flatnonzero(result.conversations.b_port == 443)}
    assert named == {44000: "old.example", 44001: "new.example"}
    assert result.plugin_data["app"].names.names_of() == {
        "93.184.216.34": ["new.example", "old.example"]}


def test_every_client_initial_decrypts_across_a_retry_and_a_connection_id_change(
        monkeypatch) -> None:
    """ndpi-quic-29: the client's first Initial, its Initial after the server's Retry (a new
    DCID, new keys), and its next Initial sent to the server's connection id (the keys of the
    Retry's DCID still: RFC 9001 section 5.2) all decrypt, as do the server's Initials."""
    from engine import WIRESHARK, extract_flows_from_file
    from engine.app.payload import PayloadReader

    from .app_truth import APP

    with extract_flows_from_file(APP / "ndpi-quic-29.pcap", WIRESHARK) as result:
        p = result.packets
        reader = PayloadReader(result)
        rows = np.flatnonzero(p.payload_len > 0)
        quic_conv = int(p.conv[rows[0]])
        rows = rows[p.conv[rows] == quic_conv]
        client = [reader.payload(k) for k in rows.tolist() if not p.direction[k]]
        server = [reader.payload(k) for k in rows.tolist() if p.direction[k]]
    tried: list[tuple[bytes, bool, bool]] = []
    decrypt = quic.decrypt

    def counted(datagram, packet, seed, server_side, keys=None):
        out = decrypt(datagram, packet, seed, server_side, keys)
        tried.append((packet.dcid, server_side, out is not None))
        return out

    monkeypatch.setattr(quic, "decrypt", counted)
    initials = quic.read_initials(client, server)
    client_dcids = [dcid for dcid, side, ok in tried if not side and ok]
    assert len(set(client_dcids)) == 3  # the first, the Retry's, the server's connection id
    assert any(side and ok for _, side, ok in tried)
    assert tls.crypto_handshake(initials.client_crypto).first(tls.CLIENT_HELLO) is not None
    assert tls.crypto_handshake(initials.server_crypto).first(tls.SERVER_HELLO) is not None
