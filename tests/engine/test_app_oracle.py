"""The application columns against the truth set: tshark 4.0.17's fields and nDPI's flows.

Flows are matched by stream number and 5-tuple. Where Flowscope and an oracle disagree, the
exception is listed below with the reason it is Flowscope that is right (or why the oracle
cannot be compared); nothing else is skipped.
"""

from __future__ import annotations

import pytest

from engine.app.transactions import AppDetail

from .app_truth import CAPTURES, NDPI_SERVICE, Flow, analysed, tshark

#: (capture, protocol, stream, field) where tshark 4.0 shows no value and Flowscope one
TSHARK_MISSES = {
    # the server's first segment arrived after its second ([TCP Out-Of-Order]): tshark 4.0's
    # TLS desegmentation gives up, Flowscope reads the stream in sequence order
    ("ndpi-android.pcap", "tcp", 7, "ja3s"),
    # SSH on TCP 8000: tshark has no SSH heuristic, so it shows "data"; nDPI says SSH too
    ("ndpi-ssh.pcap", "tcp", 1, "ssh_client"), ("ndpi-ssh.pcap", "tcp", 1, "ssh_server"),
}
#: TLS that tshark decodes inside another protocol's framing, which Flowscope (like nDPI)
#: reports as that protocol without unwrapping it
TLS_INSIDE = {
    ("ndpi-openvpn.pcap", "tcp", 0): "OpenVPN control channel (P_CONTROL packets)",
    ("ndpi-openvpn.pcap", "udp", 4): "OpenVPN control channel (P_CONTROL packets)",
    ("ndpi-rdp2.pcap", "udp", 0): "RDP over UDP (RDPUDP reliable channel)",
}


def _flows(capture: str) -> list[Flow]:
    return analysed(capture)[0]


def _first(values: list[str]) -> str | None:
    return values[0] if values else None


@pytest.mark.parametrize("capture", CAPTURES)
def test_service_is_ndpis_master_protocol(capture: str) -> None:
    checked = 0
    for flow in _flows(capture):
        if flow.ndpi is None or flow.ndpi["confidence"] != "DPI":
            continue
        wanted = NDPI_SERVICE[flow.ndpi["master_protocol"]]
        assert flow.record.get("service") in wanted, (flow.key, flow.ndpi["master_protocol"])
        assert flow.record["service_by"] == "content", flow.key
        checked += 1
    assert checked or capture == "ndpi-dns_ambiguous_names.pcap" or all(
        f.ndpi is None or f.ndpi["confidence"] != "DPI" for f in _flows(capture))


def _tls_value(flow: Flow, name: str) -> object:
    tls = flow.group("tls")
    if name == "sni":
        return tls.get("sni") or flow.group("quic").get("sni")
    return tls.get(name)


@pytest.mark.parametrize("capture", CAPTURES)
def test_tls_fields_equal_tsharks(capture: str) -> None:
    for flow in _flows(capture):
        if flow.tshark is None or flow.key in TLS_INSIDE:
            continue
        dtls = flow.record.get("service") == "dtls"
        expected = {
            "sni": _first(flow.derived("tls_sni") or flow.field("gquic.tag.sni")),
            "alpn_offered": flow.derived("tls_alpn_offered"),
            # tshark 4.0 computes JA3/JA3S for TLS and QUIC but not for DTLS (nDPI: below)
            "ja3": None if dtls else _first(flow.field("tls.handshake.ja3")),
            "ja3s": None if dtls else _first(flow.field("tls.handshake.ja3s")),
        }
        for name, want in expected.items():
            got = _tls_value(flow, name)
            if want is None and ((*flow.key, name) in TSHARK_MISSES or dtls):
                continue
            assert got == want, (flow.key, name)


@pytest.mark.parametrize("capture", CAPTURES)
def test_tls_version_and_certificate_equal_tsharks(capture: str) -> None:
    for flow in _flows(capture):
        if flow.tshark is None or flow.key in TLS_INSIDE:
            continue
        tls = flow.group("tls")
        negotiated = flow.derived("tls_version_negotiated")
        if negotiated and flow.record.get("service") != "quic":  # QUIC: decrypted ServerHello
            assert tls.get("version") == negotiated[0], flow.key
        certs = flow.derived("x509_certificates")
        if certs and tls.get("version") in ("TLSv1", "TLSv1.1", "TLSv1.2", "DTLSv1.0",
                                            "DTLSv1.2"):
            assert tls.get("cert_subject") == certs[0]["subject"], flow.key
            assert tls.get("cert_issuer") == certs[0]["issuer"], flow.key


@pytest.mark.parametrize("capture", CAPTURES)
def test_dtls_fingerprints_equal_ndpis(capture: str) -> None:
    """tshark 4.0 has no JA3 for DTLS; nDPI computes it the same way as for TLS."""
    for flow in _flows(capture):
        if flow.record.get("service") != "dtls" or flow.ndpi is None:
            continue
        tls = flow.group("tls")
        assert tls.get("ja3") == flow.ndpi["ja3c"], flow.key
        if flow.ndpi["ja3s"]:
            assert tls.get("ja3s") == flow.ndpi["ja3s"], flow.key


#: JA4 parts where nDPI at the pinned commit departs from the FoxIO specification, which
#: Flowscope follows (later nDPI releases follow it too):
#: - the SNI letter is always "d" (the spec: "i" when the ClientHello has no SNI);
#: - the ALPN part is the first two characters of the ALPN list with its last character cut
#:   ("http/1.1" → "ht", "h2" alone → "h0"; the spec: first and last character of the first
#:   value, "h1" and "h2");
#: - with no extensions it hashes the empty string (e3b0c44298fc; the spec: 000000000000);
#: - for DTLS it takes the numerically largest supported version, so DTLS 1.3 (0xfefc) loses
#:   to DTLS 1.2 (0xfefd) ("d2"; the spec: the highest version, "d3"), and it names the
#:   pre-standard DTLS 0x0100 "s3" (the spec has no code for it: "00").
#: (ndpi-dtls.pcap's flow is udp.stream 3, as in tshark: the DTLS inside its GTP-U tunnel is 2)
JA4_VERSION_EXCEPTIONS = {("ndpi-dtls.pcap", "udp", 3), ("ndpi-anyconnect-vpn.pcap", "udp", 28)}


@pytest.mark.parametrize("capture", CAPTURES)
def test_ja4_equals_ndpis(capture: str) -> None:
    for flow in _flows(capture):
        if flow.ndpi is None or not flow.ndpi["ja4"]:
            continue
        theirs = flow.ndpi["ja4"]
        ours = flow.group("tls").get("ja4")
        assert ours is not None, flow.key
        if flow.key not in JA4_VERSION_EXCEPTIONS:
            assert ours[:3] == theirs[:3], flow.key  # transport and version
        assert ours[4:8] == theirs[4:8], flow.key  # cipher and extension counts
        assert ours[11:23] == theirs[11:23], flow.key  # cipher hash
        if theirs[24:] != "e3b0c44298fc":
            assert ours[24:] == theirs[24:], flow.key  # extension hash
        # the letters nDPI gets wrong, checked against the spec and tshark's fields
        has_sni = bool(_tls_value(flow, "sni"))
        assert ours[3] == ("d" if has_sni else "i"), flow.key
        offered = flow.derived("tls_alpn_offered") or flow.ndpi["alpn_advertised"]
        alpn = offered[0] if offered else ""
        assert ours[8:10] == (alpn[0] + alpn[-1] if alpn else "00"), flow.key


@pytest.mark.parametrize("capture", CAPTURES)
def test_http_fields_equal_tsharks(capture: str) -> None:
    for flow in _flows(capture):
        if flow.tshark is None:
            continue
        http = flow.group("http")
        want = {"host": flow.field("http.host"), "method": flow.field("http.request.method"),
                "uri": flow.field("http.request.uri"),
                "status": flow.field("http.response.code")}
        if not any(want.values()):
            # tshark decodes SSDP only on port 1900; answers to an M-SEARCH come from other
            # ports, where it shows "data" (nDPI: SSDP, like Flowscope)
            assert not http or flow.record["service"] == "ssdp", flow.key
            continue
        assert http.get("host") == _first(want["host"]), flow.key
        assert http.get("method") == _first(want["method"]), flow.key
        assert http.get("uri") == _first(want["uri"]), flow.key
        status = http.get("status")
        assert (None if status is None else str(status)) == _first(want["status"]), flow.key


def _every(detail: AppDetail, prefix: str) -> list[str]:
    return [line.text for s in detail.sections for line in s.lines
            if line.text.startswith(prefix)]


@pytest.mark.parametrize("capture", CAPTURES)
def test_every_http_request_equals_tsharks(capture: str) -> None:
    """The Application pane's request list: tshark's methods, hosts and URIs, in order."""
    flows, _, details = analysed(capture)
    for flow in flows:
        if flow.record.get("service") != "http" or flow.tshark is None:
            continue
        lines = _every(details[flow.record["id"]], "C: ")
        methods = list(dict.fromkeys(line[3:].split(" ", 1)[0] for line in lines))
        assert methods[:50] == flow.field("http.request.method"), flow.key


@pytest.mark.parametrize("capture", CAPTURES)
def test_dns_names_and_answers_equal_tsharks(capture: str) -> None:
    flows, _, details = analysed(capture)
    for flow in flows:
        if flow.tshark is None or flow.record.get("service") not in ("dns", "mdns", "llmnr"):
            continue
        dns = flow.group("dns")
        assert dns.get("name") == _first(flow.field("dns.qry.name")), flow.key
        detail = details[flow.record["id"]]
        names, answers = [], []
        for line in _every(detail, "query") + _every(detail, "response"):
            # "response 0x1234 NOERROR: A name → A 1.2.3.4 | authority NS … | additional A …"
            _, _, rest = line.partition(": ")
            question, _, records = rest.partition(" → ")
            names += [q.split(" ", 1)[1] for q in question.split(", ") if " " in q]
            for part in records.split(" | "):
                part = part.removeprefix("authority ").removeprefix("additional ")
                answers += [a.split(" ", 1) for a in part.split(", ") if " " in a]
        assert set(names) >= set(flow.field("dns.qry.name")), flow.key
        for kind, field in (("A", "dns.a"), ("AAAA", "dns.aaaa"), ("CNAME", "dns.cname")):
            ours = list(dict.fromkeys(v for k, v in answers if k == kind))
            assert set(ours) >= set(flow.field(field)), (flow.key, kind)
            if len(flow.field(field)) < 50:  # the oracle keeps at most 50 values
                assert set(ours) == set(flow.field(field)), (flow.key, kind)


@pytest.mark.parametrize("capture", CAPTURES)
def test_names_from_dns_equal_the_oracles(capture: str) -> None:
    _, names, _ = analysed(capture)
    assert names == tshark(capture)["dns_names"]


@pytest.mark.parametrize("capture", CAPTURES)
def test_ssh_banners_equal_tsharks(capture: str) -> None:
    for flow in _flows(capture):
        ssh = flow.group("ssh")
        for side in ("client", "server"):
            want = flow.derived(f"ssh_banner_{side}")
            got = ssh.get(side)
            if want is None and (*flow.key, f"ssh_{side}") in TSHARK_MISSES:
                assert got and got.startswith("SSH-")
                continue
            assert got == want, (flow.key, side)


@pytest.mark.parametrize("capture", CAPTURES)
def test_greeting_banners_equal_tsharks(capture: str) -> None:
    for flow in _flows(capture):
        for field in ("ftp_first_response_server", "smtp_first_response_server",
                      "pop_first_response_server", "imap_first_line_server"):
            want = flow.derived(field)
            if want:
                assert flow.record.get("banner") == (want[0] if isinstance(want, list)
                                                     else want), flow.key


def test_ftp_data_connections_link_to_their_control_connection() -> None:
    flows = _flows("ndpi-ftp.pcap")
    by_stream = {f.record["stream"]: f for f in flows if f.record["protocol"] == "tcp"}
    for stream in (1, 2):
        flow = by_stream[stream]
        (control,) = flow.derived("ftp_data_control_streams")
        assert flow.record["service"] == "ftp-data"
        assert flow.record["parent"] == by_stream[control].record["id"]
    assert by_stream[0].group("ftp")["user"] == "anonymous"
