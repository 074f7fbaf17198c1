"""The compiled parsers (engine/app/_parsers.c) and their Python references agree on everything:
the truth set's real handshakes and DNS messages, those messages damaged at random, random bytes,
and every application column of every truth-set capture loaded both ways."""

from __future__ import annotations

import functools
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import WIRESHARK, FlowResult, analyse_file, extract_flows_from_files
from engine.app import accel, dns, fingerprints, inspect, payload, tls, x509
from engine.app.fields import ORDER
from engine.app.payload import DirectionReader, PayloadReader, openings
from engine.tcp.events import openers

from .app_build import Dialogue, analyse
from .app_truth import APP, CAPTURES
from .merging import mergecap, records_of, split, write, write_set

pytestmark = pytest.mark.skipif(accel.FAST is None, reason="the compiled parsers are not built")

_DNS_PORTS = (53, 5353, 5355, 137)


@functools.cache
def _corpus() -> tuple[list[bytes], list[bytes], list[bytes]]:
    """Every TLS record stream start, handshake message body and DNS message of the truth
    set's packets (first payloads as they are on the wire)."""
    streams: list[bytes] = []
    bodies: list[bytes] = []
    messages: list[bytes] = []
    for name in CAPTURES:
        with analyse_file(APP / name, WIRESHARK) as result:
            p = result.packets
            reader = PayloadReader(result)
            for k in np.flatnonzero(p.payload_len > 0).tolist():
                data = reader.payload(k)
                if data[:1] == b"\x16" and data[1:2] == b"\x03":
                    streams.append(data)
                    bodies += [body for _, body in tls.py_tls_handshake(data).messages]
                elif int(p.sport[k]) in _DNS_PORTS or int(p.dport[k]) in _DNS_PORTS:
                    messages.append(data)
    return streams, bodies, messages


def test_the_corpus_holds_what_the_comparisons_need() -> None:
    streams, bodies, messages = _corpus()
    kinds = {kind for s in streams for kind, _ in tls.py_tls_handshake(s).messages}
    assert {1, 2, 11} <= kinds  # ClientHello, ServerHello, Certificate
    assert len(bodies) > 100 and len(messages) > 300


def _same_hellos(first: bytes, second: bytes) -> None:
    for dtls in (False, True):
        compiled = inspect._hellos((first, second), dtls)
        try:
            accel.FAST, fast = None, accel.FAST
            assert compiled == inspect.py_hellos((first, second), dtls)
        finally:
            accel.FAST = fast


def _same_tls(data: bytes) -> None:
    assert tls.tls_handshake(data) == tls.py_tls_handshake(data)
    assert tls.crypto_handshake(data) == tls.py_crypto_handshake(data)
    for dtls in (False, True):
        assert tls.parse_client_hello(data, dtls) == tls.py_parse_client_hello(data, dtls)
    assert tls.parse_server_hello(data) == tls.py_parse_server_hello(data)
    assert tls.certificate_list(data) == tls.py_certificate_list(data)


def _same_dns(data: bytes) -> None:
    for records in (True, False):
        assert dns.parse_message(data, records) == dns.py_parse_message(data, records)
        assert dns.message_summary(data, records) == dns.py_message_summary(data, records)
    starts, sizes = np.array([0, 0]), np.array([len(data), len(data)])
    multicast = np.array([False, True])
    for responses_only in (False, True):
        assert (dns.answered_names(data, starts, sizes, multicast, responses_only)
                == dns.py_answered_names(data, starts, sizes, multicast,
                                         responses_only=responses_only))
    records = len(data) > 2 and data[2] & 0x80 > 0
    assert dns.message_summaries(data, starts[:1], sizes[:1]) == [
        dns.py_message_summary(data, records) if data else None]


def test_real_handshakes_and_messages_agree() -> None:
    streams, bodies, messages = _corpus()
    for data in streams + bodies:
        _same_tls(data)
    for first, second in zip(streams, [*streams[1:], b""], strict=True):
        _same_hellos(first, second)
        _same_hellos(second, first)
    for data in messages:
        _same_dns(data)


def test_the_first_messages_of_many_conversations_agree(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    _, _, messages = _corpus()
    buffer = b"".join(messages)
    sizes = np.array([len(m) for m in messages] + [0], dtype=np.int64)
    starts = np.cumsum(sizes) - sizes
    compiled = dns.message_summaries(buffer, starts, sizes)
    assert compiled[-1] is None and sum(s is not None for s in compiled) > 300
    monkeypatch.setattr(accel, "FAST", None)
    assert dns.message_summaries(buffer, starts, sizes) == compiled


def test_the_names_pass_over_many_messages_agrees() -> None:
    _, _, messages = _corpus()
    buffer = b"".join(messages)
    sizes = np.array([len(m) for m in messages], dtype=np.int64)
    starts = np.cumsum(sizes) - sizes
    for multicast in (np.zeros(sizes.size, dtype=bool), np.arange(sizes.size) % 2 == 0):
        found = dns.answered_names(buffer, starts, sizes, multicast)
        assert found == dns.py_answered_names(buffer, starts, sizes, multicast)
        assert len(found) > 50
        responses = dns.answered_names(buffer, starts, sizes, multicast, responses_only=True)
        assert responses == dns.py_answered_names(buffer, starts, sizes, multicast,
                                                  responses_only=True)
        assert 0 < len(responses) <= len(found)


def _damage(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """``data`` with (where, how, value) edits: 0 set a byte, 1 cut there, 2 insert a byte."""
    out = bytearray(data)
    for where, how, value in edits:
        if not out:
            break
        at = where % len(out)
        if how == 0:
            out[at] = value
        elif how == 1:
            del out[at:]
        else:
            out.insert(at, value)
    return bytes(out)


EDITS = st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 2), st.integers(0, 255)),
                 min_size=1, max_size=6)


@given(st.data(), EDITS)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_damaged_handshakes_agree(data: st.DataObject, edits: list) -> None:
    streams, bodies, _ = _corpus()
    _same_tls(_damage(data.draw(st.sampled_from(streams + bodies)), edits))


@given(st.data(), EDITS, EDITS)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_damaged_hello_pairs_agree(data: st.DataObject, first: list, second: list) -> None:
    streams = _corpus()[0]
    _same_hellos(_damage(data.draw(st.sampled_from(streams)), first),
                 _damage(data.draw(st.sampled_from(streams)), second))


@given(st.data(), EDITS)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_damaged_dns_messages_agree(data: st.DataObject, edits: list) -> None:
    _same_dns(_damage(data.draw(st.sampled_from(_corpus()[2])), edits))


@given(st.binary(max_size=300))
@settings(max_examples=400, deadline=None)
def test_random_bytes_agree(data: bytes) -> None:
    _same_tls(data)
    _same_dns(data)
    _same_dns(b"\x12\x34\x81\x80" + data)  # a response header before the noise


def _label(name: bytes) -> bytes:
    return b"".join(bytes([len(part)]) + part for part in name.split(b".") if part) + b"\x00"


NAMES = st.sampled_from([b"a.example", b"A.Example", b"b.example", b"cdn.example.net", b"x",
                         b"caf\xc3\xa9.example", b"bad\xff.example", b""])


@st.composite
def dns_answers(draw: st.DrawFn) -> bytes:
    """Responses with CNAME chains, repeated and differently-cased names, compression
    pointers (also looping ones), A/AAAA records in every section."""
    questions = draw(st.lists(st.tuples(NAMES, st.sampled_from([1, 28, 255, 5, 16])),
                              min_size=0, max_size=3))
    sections = [draw(st.lists(st.tuples(NAMES, st.sampled_from([1, 28, 5, 2, 12, 16]), NAMES,
                                        st.binary(min_size=16, max_size=16)), max_size=5))
                for _ in range(3)]
    body = b"".join(_label(n) + struct.pack(">HH", t, 1) for n, t in questions)
    for section in sections:
        for owner, rtype, target, raw in section:
            owner_bytes = _label(owner) if draw(st.booleans()) else b"\xc0\x0c"
            if rtype == 1:
                rdata = raw[:4]
            elif rtype == 28:
                rdata = raw if draw(st.booleans()) else bytes(12) + raw[12:]
            else:
                rdata = _label(target) if draw(st.booleans()) else struct.pack(
                    ">H", 0xC000 | draw(st.integers(0, 80)))
            body += owner_bytes + struct.pack(">HHIH", rtype, 1, 60, len(rdata)) + rdata
    counts = [len(questions)] + [len(s) for s in sections]
    header = struct.pack(">HHHHHH", 7, 0x8180, *counts)
    return header + body


@given(dns_answers())
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_built_dns_answers_agree(message: bytes) -> None:
    _same_dns(message)


def test_many_records_are_left_to_the_python_walk_with_the_same_answers() -> None:
    records = b"".join(b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([10, 0, 0, k])
                       for k in range(100))
    message = struct.pack(">HHHHHH", 1, 0x8180, 1, 100, 0, 0) + _label(b"many.example") \
        + struct.pack(">HH", 1, 1) + records
    _same_dns(message)
    assert len(dns.answered_addresses(message)) == 100


def test_ipv6_text_is_pythons() -> None:
    import ipaddress

    rng = np.random.default_rng(5)
    for _ in range(2000):
        groups = (rng.integers(0, 3, 8) > 0) * rng.integers(0, 65536, 8)  # many zero groups
        raw = struct.pack(">8H", *groups.tolist())
        rr = b"\xc0\x0c" + struct.pack(">HHIH", 28, 1, 60, 16) + raw
        message = struct.pack(">HHHHHH", 1, 0x8180, 1, 1, 0, 0) + _label(b"v6.example") \
            + struct.pack(">HH", 28, 1) + rr
        found = dns.answered_names(message, np.array([0]), np.array([len(message)]),
                                   np.array([False]))
        assert found == [(0, str(ipaddress.IPv6Address(raw)), "v6.example")]


VALUES = st.lists(st.one_of(st.sampled_from([0x0A0A, 0x1A1A, 0xFAFA, 0x0A1A, 0, 16, 0xFFFF]),
                            st.integers(0, 0xFFFF), st.integers(-3, 1 << 40)), max_size=40)


@given(st.integers(-3, 1 << 17), st.integers(-3, 1 << 17), VALUES, VALUES, VALUES, VALUES)
@settings(max_examples=400, deadline=None)
def test_fingerprints_agree(version: int, cipher: int, ciphers: list[int],
                            extensions: list[int], sigs: list[int], points: list[int]) -> None:
    """The compiled JA3 text, JA3 and JA3S equal their Python references (values
    outside 0..0xffff make the compiled side hand back to Python, which must then be asked)."""
    c, e, s = tuple(ciphers), tuple(extensions), tuple(sigs)
    assert (fingerprints._ja3_text(version, ciphers, extensions, sigs, points)
            == fingerprints.py_ja3_text(version, ciphers, extensions, sigs, points))
    assert (fingerprints._ja3.__wrapped__(version, c, e, s, tuple(points))
            == fingerprints.py_ja3(version, c, e, s, points))
    assert (fingerprints._ja3s.__wrapped__(version, cipher, e)
            == fingerprints.py_ja3s(version, cipher, e))
    fast = accel.FAST
    if fast is not None and all(0 <= v <= 0xFFFF for v in
                                [version, cipher, *ciphers, *extensions, *sigs, *points]):
        assert fast.ja3_text(version, ciphers, extensions, sigs, points, True) is not None
        assert fast.ja3s_md5(version, cipher, extensions) is not None


#: supported_versions lists: the TLS and DTLS versions, GREASE, anything else
VERSIONS = st.lists(st.one_of(st.sampled_from([0x0304, 0x0303, 0x0302, 0x0301, 0x0300, 0x0002,
                                               0xFEFF, 0xFEFD, 0xFEFC, 0x0A0A, 0x7F1C]),
                              st.integers(0, 0xFFFF), st.integers(-3, 1 << 40)), max_size=6)


@given(st.sampled_from("tqd"), st.sampled_from([0x0303, 0x0301, 0xFEFD, 0x1234]), VERSIONS,
       st.booleans(), VALUES, VALUES, st.sampled_from(["00", "h2", "h1", "dt", "3c"]), VALUES)
@settings(max_examples=400, deadline=None)
def test_ja4_agrees(transport: str, legacy: int, supported: list[int], sni: bool,
                    ciphers: list[int], extensions: list[int], alpn: str,
                    sigs: list[int]) -> None:
    """The compiled JA4 (version choice, counts capped at 99, hashes) equals the Python
    reference, and it answers whenever every value is a 16-bit one."""
    args = (transport, legacy, tuple(supported), sni, tuple(ciphers), tuple(extensions), alpn,
            tuple(sigs))
    assert fingerprints._ja4.__wrapped__(*args) == fingerprints.py_ja4(*args)
    fast = accel.FAST
    if fast is not None:  # the same lists cut to 16-bit values: the compiled side must answer
        def cut(values: list[int]) -> tuple[int, ...]:
            return tuple(v & 0xFFFF for v in values)

        args = (transport, legacy, cut(supported), sni, cut(ciphers), cut(extensions), alpn,
                cut(sigs))
        assert fast.ja4(*args) == fingerprints.py_ja4(*args)


def test_ja4_counts_stop_at_99() -> None:
    many = tuple(range(1, 150))
    args = ("t", 0x0303, (0x0304,), True, many, many, "h2", ())
    assert fingerprints._ja4.__wrapped__(*args).startswith("t13d9999h2_")
    assert fingerprints._ja4.__wrapped__(*args) == fingerprints.py_ja4(*args)


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_digests_agree(data: bytes) -> None:
    """The compiled MD5 and SHA-256 equal hashlib's (every padding case up to 300 bytes)."""
    if accel.FAST is None:
        pytest.skip("the compiled module is not built")
    assert accel.FAST.digest_hex(data, False) == hashlib.md5(data).hexdigest()
    assert accel.FAST.digest_hex(data, True) == hashlib.sha256(data).hexdigest()


def test_digests_at_block_edges() -> None:
    if accel.FAST is None:
        pytest.skip("the compiled module is not built")
    for n in range(0, 260):
        data = bytes(range(256)) * 2
        data = data[:n]
        assert accel.FAST.digest_hex(data, False) == hashlib.md5(data).hexdigest()
        assert accel.FAST.digest_hex(data, True) == hashlib.sha256(data).hexdigest()


def _fingerprints(hello: tls.ClientHello) -> tuple[str, str]:
    """JA3 and JA4 computed afresh (not from the caches)."""
    h = hello
    return (fingerprints._ja3.__wrapped__(h.version, tuple(h.ciphers), tuple(h.extensions),
                                          tuple(h.groups), tuple(h.point_formats)),
            fingerprints._ja4.__wrapped__("t", h.version, tuple(h.supported_versions),
                                          bool(h.sni), tuple(h.ciphers), tuple(h.extensions),
                                          "h2", tuple(h.signature_algorithms)))


def test_fingerprints_of_real_hellos_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    hellos = [h for h in (tls.py_parse_client_hello(body) for body in _corpus()[1]) if h]
    assert len(hellos) > 50
    compiled = [_fingerprints(h) for h in hellos]
    monkeypatch.setattr(accel, "FAST", None)
    assert compiled == [_fingerprints(h) for h in hellos]


@functools.cache
def _certificates() -> list[bytes]:
    """Every server certificate the truth set's TLS connections show (read while loading)."""
    seen: list[bytes] = []
    real = inspect.certificate_names

    def keep(der: bytes) -> x509.CertificateNames | None:
        seen.append(der)
        return real(der)

    inspect.certificate_names = keep
    try:
        for name in CAPTURES:
            with analyse_file(APP / name, WIRESHARK):
                pass
    finally:
        inspect.certificate_names = real
    return seen


def _same_names(der: bytes) -> None:
    assert x509.certificate_names.__wrapped__(der) == x509.py_certificate_names(der)


def test_certificate_names_agree() -> None:
    certificates = _certificates()
    assert len(set(certificates)) >= 10
    for der in certificates:
        _same_names(der)
        assert x509.py_certificate_names(der) is not None


@given(st.data(), EDITS)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_damaged_certificates_agree(data: st.DataObject, edits: list) -> None:
    _same_names(_damage(data.draw(st.sampled_from(_certificates())), edits))


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + body


OIDS = st.one_of(st.sampled_from([b"\x55\x04\x03", b"\x55\x04\x0a", b"\x2a\x86\x48\x86\xf7\x0d"
                                  b"\x01\x09\x01", b"", b"\x55\x04\x03\x81"]),
                 st.binary(max_size=30))
STRINGS = st.tuples(st.sampled_from([0x0C, 0x13, 0x16, 0x1E, 0x1C, 0x14, 0x04]),
                    st.binary(max_size=12))
TIMES = st.one_of(st.tuples(st.just(0x17), st.from_regex(rb"\A[0-9]{12}Z\Z")),
                  st.tuples(st.just(0x18), st.from_regex(rb"\A[0-9]{14}Z\Z")),
                  st.tuples(st.sampled_from([0x17, 0x18, 0x04]), st.binary(max_size=16)))


@st.composite
def certificates(draw: st.DrawFn) -> bytes:
    """tbsCertificates with any attribute types (long OID arcs too), string kinds and times."""
    def name() -> bytes:
        rdns = draw(st.lists(st.lists(st.tuples(OIDS, STRINGS), min_size=1, max_size=2),
                             max_size=4))
        return _der(0x30, b"".join(_der(0x31, b"".join(
            _der(0x30, _der(0x06, oid) + _der(tag, value)) for oid, (tag, value) in rdn))
            for rdn in rdns))

    (t1, v1), (t2, v2) = draw(TIMES), draw(TIMES)
    tbs = (_der(0xA0, _der(0x02, b"\x02")) + _der(0x02, b"\x01\x02") + _der(0x30, b"")
           + name() + _der(0x30, _der(t1, v1) + _der(t2, v2)) + name())
    return _der(0x30, _der(0x30, tbs) + _der(0x30, b"") + _der(0x03, b"\x00"))


@given(certificates())
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_built_certificates_agree(der: bytes) -> None:
    _same_names(der)
    assert x509.py_certificate_names(der) is not None


def _record_columns(result: FlowResult) -> dict[str, list[str]]:
    extra = result.conversations.extra
    return {name: [str(v) for v in extra[name].tolist()] for name in ORDER}


@given(st.data(), EDITS, st.integers(1, 6), st.integers(1, 6), st.booleans())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_tls_conversations_read_many_at_once_as_one_by_one(
        data: st.DataObject, edits: list, client_cuts: int, server_cuts: int,
        shuffle: bool) -> None:
    """The compiled pass over many TLS conversations (inspect_tls_rows) against the one-by-one
    inspector, on hellos cut into segments (reordered, damaged, cut short)."""
    streams = _corpus()[0]
    hello = data.draw(st.sampled_from(streams))
    answer = data.draw(st.sampled_from(streams))
    if data.draw(st.booleans()):
        hello = _damage(hello, edits)
    opener = data.draw(st.sampled_from([0, 1]))  # which side sends the first stream
    packets = []
    for port in range(4):  # several conversations, so the pass reads many rows
        d = Dialogue(sport=41000 + port)
        if port != 3:  # the last conversation is seen from its server's answer on
            pieces = d.segments(opener, hello, max(1, len(hello) // client_cuts + 1))
            if shuffle:
                pieces = pieces[::-1]
            if port == 1:
                pieces = pieces[: max(1, len(pieces) - 1)]  # the last segment never arrives
            d.packets += pieces
        d.packets += d.segments(1 - opener, answer, max(1, len(answer) // server_cuts + 1))
        packets += d.packets
    result = analyse(packets)
    _tls_verdicts_agree(result)
    compiled = _record_columns(result)
    try:
        accel.FAST, fast = None, accel.FAST
        assert _record_columns(analyse(packets)) == compiled
    finally:
        accel.FAST = fast


def _tls_verdicts_agree(result: FlowResult) -> int:
    """inspect_tls_rows over every TCP conversation equals inspect_tls on each row it answers
    (client side included); how many it answered."""
    o = openings(result)
    t = result.conversations
    ctx = inspect.Context(o, DirectionReader(PayloadReader(result), o),
                          t.a_port[o.rows].astype(np.int64), t.b_port[o.rows].astype(np.int64),
                          openers(result.inner_view(), t)[o.rows])
    rows = [i for i in range(len(o)) if o.tcp[i]]
    answered = 0
    for i, verdict in zip(rows, inspect.inspect_tls_rows(ctx, rows), strict=True):
        if verdict is not inspect.ONE_BY_ONE:
            assert verdict == inspect.inspect_tls(ctx, i), i
            answered += 1
    return answered


def test_tls_rows_of_the_truth_set_read_many_at_once_as_one_by_one() -> None:
    answered = 0
    for name in CAPTURES:
        with analyse_file(APP / name, WIRESHARK) as result:
            answered += _tls_verdicts_agree(result)
    assert answered > 100


def _columns(path: Path) -> tuple[dict[str, list[str]], list[tuple[str, str, int, int]]]:
    with analyse_file(path, WIRESHARK) as result:
        extra = result.conversations.extra
        return ({name: [str(v) for v in extra[name].tolist()] for name in ORDER},
                result.plugin_data["app"].names.rows())


@pytest.mark.parametrize("capture", ["ndpi-chrome.pcap", "ndpi-android.pcap", "ndpi-quic-29.pcap"])
def test_a_capture_of_several_files_has_the_same_columns(tmp_path: Path, capture: str) -> None:
    """No memory map (a capture of several files): the many-rows readers take their bytes
    from the files' blocks, or leave the rows to the one-by-one inspectors."""
    records = records_of(APP / capture)
    files = split(records, "alternate", 2)
    paths = write_set(tmp_path / "set", files)
    merged = write(tmp_path / "merged.pcapng", mergecap(files), "pcapng")
    with analyse_file(merged, WIRESHARK) as one:
        want = _record_columns(one)
    got = extract_flows_from_files(paths, WIRESHARK)
    assert got.source is not None and PayloadReader(got).view is None
    assert _record_columns(got) == want
    assert any(v != "" for v in want["service"])


@pytest.mark.parametrize("capture", CAPTURES)
def test_every_column_is_the_same_without_the_compiled_parsers(
        capture: str, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = _columns(APP / capture)
    monkeypatch.setattr(accel, "FAST", None)
    assert _columns(APP / capture) == compiled


@pytest.mark.parametrize("capture", ["ndpi-chrome.pcap", "ndpi-android.pcap",
                                     "ndpi-443-firefox.pcap", "ndpi-dns_ambiguous_names.pcap"])
def test_a_big_capture_reads_its_passes_without_the_map_and_gets_the_same_columns(
        capture: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond SCATTERED_MAP_LIMIT the passes over many packets (TLS hellos, DNS messages and
    names) read their bytes with pread instead of through the memory map: same columns."""
    mapped = _columns(APP / capture)
    calls = []
    real = payload.read_pieces

    def counted(source: object, starts: object, sizes: object) -> object:
        calls.append(1)
        return real(source, starts, sizes)  # type: ignore[arg-type]

    class Unreadable:
        """The map's view on a big capture: no read may go through it (each maps the folio
        around it, up to megabytes, kept until a release); only the file-ordered head gather
        reads the map, a short piece at a time."""

        def __getitem__(self, _: object) -> bytes:
            raise AssertionError("a read through the memory map of a big capture")

    real_init = payload.PayloadReader.__init__

    def guarded(self: payload.PayloadReader, result: object) -> None:
        real_init(self, result)  # type: ignore[arg-type]
        if self.view is not None:
            self.view = Unreadable()  # type: ignore[assignment]

    monkeypatch.setattr(payload, "SCATTERED_MAP_LIMIT", 0)
    monkeypatch.setattr(payload, "read_pieces", counted)
    monkeypatch.setattr(payload.PayloadReader, "__init__", guarded)
    assert _columns(APP / capture) == mapped
    assert calls  # the passes did read that way
