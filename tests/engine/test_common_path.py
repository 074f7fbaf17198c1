"""The compiled common path of the decoder writes exactly what the numpy stages write, and
leaves every packet it does not take to them: each capture, and damaged headers of every
shape it takes, decoded with and without it give the same columns and side findings."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6, IPv6ExtHdrHopByHop
from scapy.layers.l2 import Dot1AD, Dot1Q, Ether
from scapy.packet import Raw

from engine import FlowConfig
from engine.capture import open_capture
from engine.decode import common_path
from engine.decode import fast as fast_decoder
from engine.packets import PacketTable

from ..conftest import CAPTURE_FILES, DATA
from .capwriter import pcap_bytes

pytestmark = pytest.mark.skipif(
    common_path.compiled_module("engine.decode._common") is None,
    reason="the compiled common path is not built here")

APP_CAPTURES = sorted(p for p in (DATA / "app").iterdir() if p.suffix in (".pcap", ".pcapng"))


def _decoded(path: Path, monkeypatch: pytest.MonkeyPatch, compiled: bool) -> tuple:
    """Every chunk's columns and side findings, and how many packets the common path took."""
    taken = [0]
    real = common_path.decode_common

    def counted(*args: object) -> np.ndarray | None:
        done = real(*args)  # type: ignore[arg-type]
        taken[0] += int(done.sum()) if done is not None else 0
        return done

    monkeypatch.setattr(fast_decoder, "decode_common",
                        counted if compiled else (lambda *args: None))
    columns, side = [], []
    try:
        with open_capture(path, FlowConfig(chunk_bytes=1 << 16)) as reader:
            linktypes = np.array([i.linktype for i in reader.interfaces], dtype=np.uint16)
            index = 0
            for chunk in reader.chunks():
                if linktypes.size < len(reader.interfaces):
                    linktypes = np.array([i.linktype for i in reader.interfaces],
                                         dtype=np.uint16)
                t, found = fast_decoder.decode_chunk(chunk, linktypes, index)
                columns.append({f.name: getattr(t, f.name).copy() for f in fields(PacketTable)})
                side.append(repr((found.fragments, found.quoted, found.inner,
                                  found.inner_quoted)))
                index += len(chunk)
    except Exception as exc:  # an unreadable capture: the same either way
        return (type(exc).__name__, str(exc)), taken[0]
    joined = {name: np.concatenate([c[name] for c in columns]) if columns else None
              for name in (f.name for f in fields(PacketTable))}
    return (joined, side), taken[0]


def _assert_same(path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    (with_c, taken), (without, _) = (_decoded(path, monkeypatch, True),
                                     _decoded(path, monkeypatch, False))
    if isinstance(with_c[0], dict):
        for name, values in with_c[0].items():
            np.testing.assert_array_equal(values, without[0][name], err_msg=f"{path.name} {name}")
        assert with_c[1] == without[1], path.name
    else:
        assert with_c == without
    return taken


def test_every_capture_decodes_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = {path.name: _assert_same(path, monkeypatch)
             for path in [*CAPTURE_FILES, *APP_CAPTURES]}
    assert sum(taken.values()) > 5_000  # the common path did take the common packets
    assert taken["zeek-http-vlan.pcap"] > 0  # tagged frames too


def _frames() -> list[bytes]:
    """The shapes the common path takes, and their neighbours it must leave alone."""
    payload = Raw(b"x" * 40)
    v4 = IP(src="10.0.0.1", dst="10.0.0.2")
    v6 = IPv6(src="2001:db8::1", dst="2001:db8::2")
    shapes = [
        Ether() / v4 / TCP(sport=1234, dport=80, flags="PA", seq=7, ack=9) / payload,
        Ether() / v4 / UDP(sport=53, dport=5353) / payload,
        Ether() / v4 / ICMP(type=8, id=3, seq=4) / payload,
        Ether() / v4 / ICMP(type=3, code=1) / IP(src="10.0.0.2", dst="10.0.0.1") / UDP(),
        Ether() / v6 / TCP(sport=1, dport=2, flags="S") / payload,
        Ether() / v6 / UDP(sport=4789, dport=4789) / Ether() / v4 / TCP() / payload,
        Ether() / v6 / ICMPv6EchoRequest(id=5, seq=6) / payload,
        Ether() / v6 / IPv6ExtHdrHopByHop() / UDP() / payload,
        Ether() / Dot1Q(vlan=5) / v4 / TCP(options=[("MSS", 1460)]) / payload,
        Ether() / Dot1AD(vlan=1) / Dot1Q(vlan=2) / Dot1Q(vlan=3) / v6 / UDP() / payload,
        Ether() / Dot1Q() / Dot1Q() / Dot1Q() / Dot1Q() / v4 / UDP() / payload,
        Ether() / IP(src="10.0.0.1", dst="10.0.0.2", options=b"\x01" * 8) / UDP() / payload,
        Ether() / IP(src="10.0.0.1", dst="10.0.0.2", flags="MF") / UDP() / payload,
        Ether() / IP(src="10.0.0.1", dst="10.0.0.2", proto=47) / payload,
        Ether() / IP(src="10.0.0.1", dst="10.0.0.2", proto=132) / payload,
    ]
    for ip in (v4, v6):  # UDP lengths: none (jumbo on IPv6, malformed on IPv4), short, long
        shapes += [Ether() / ip / UDP(len=size) / payload for size in (0, 5, 8, 2000)]
    return [bytes(p) for p in shapes]


def test_damaged_and_cut_headers_decode_the_same(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Each shape cut at every length through its headers, and with random header bytes
    changed (lengths, versions, IHL, data offset, protocol, ICMP type, VLAN types), the UDP
    length zero and past the datagram."""
    rng = np.random.default_rng(5)
    frames = []
    for data in _frames():
        head = min(len(data), 96)
        frames += [data[:cut] for cut in range(head + 1)]
        for _ in range(150):
            b = bytearray(data)
            for at in rng.integers(0, head, int(rng.integers(1, 4))):
                b[at] = int(rng.integers(0, 256)) if rng.random() < 0.7 else b[at] ^ 0xFF
            frames.append(bytes(b[: int(rng.integers(10, len(b) + 1))] if rng.random() < 0.2
                                else b))
    path = tmp_path / "damaged.pcap"
    path.write_bytes(pcap_bytes([(f, 10**18 + k) for k, f in enumerate(frames)]))
    taken = _assert_same(path, monkeypatch)
    assert 0 < taken < len(frames)


def test_bad_arguments_are_refused() -> None:
    """A column of the wrong type or length is a ValueError before anything is written."""
    from engine.decode.fast import ICMP4_ERR, ICMP6_ERR, IPV6_EXT, TUNNELS, VLAN

    compiled = common_path.compiled_module("engine.decode._common")
    t = PacketTable.empty(2)
    buf = np.zeros(256, dtype=np.uint8)
    tables = (VLAN, IPV6_EXT, TUNNELS, ICMP4_ERR, ICMP6_ERR,
              common_path._link_geometry(frozenset()))

    def call(columns: tuple, done: np.ndarray) -> object:
        return compiled.decode(buf, np.array([0, 64], dtype=np.int64),
                               np.array([60, 60], dtype=np.uint32), t.linktype, columns, done,
                               *tables)

    good = tuple(getattr(t, name) for name in common_path.COLUMNS)
    assert call(good, np.zeros(2, dtype=bool)) == 0  # zero bytes: nothing of the common shapes
    for k in (0, 4, 10):
        wrong = list(good)
        wrong[k] = wrong[k].astype(np.float64)
        with pytest.raises(ValueError):
            call(tuple(wrong), np.zeros(2, dtype=bool))
    with pytest.raises(ValueError):
        call(good[:-1], np.zeros(2, dtype=bool))
    with pytest.raises(ValueError):
        call(good, np.zeros(3, dtype=bool))
