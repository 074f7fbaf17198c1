"""The running table's compiled per-chunk sums (``engine/aggregate/_sums.c``) add up what the
numpy reduction adds up: every capture, loaded chunk by chunk both ways, gives the same
conversations, packet lists (ranks) and per-packet directions; so do chunks whose TCP headers
Wireshark numbers but does not count (the counted-mask path)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from engine import WIRESHARK, extract_flows_from_file
from engine.aggregate import running
from engine.compiled import compiled_module
from engine.packets import PacketTable, Reason
from engine.table import COLUMN_NAMES

from ..conftest import CAPTURE_FILES, DATA
from .capwriter import pcap_bytes

pytestmark = pytest.mark.skipif(compiled_module("engine.aggregate._sums") is None,
                                reason="the compiled sums are not built here")

ALL = [*CAPTURE_FILES, *sorted(p for folder in ("app", "built") for p in (DATA / folder).iterdir()
                               if p.suffix in (".pcap", ".pcapng"))]
SMALL_CHUNKS = WIRESHARK.replace(chunk_bytes=1 << 12)


def _load(path: Path, monkeypatch: pytest.MonkeyPatch, compiled: bool) -> object:
    calls = []
    real = running.compiled_module

    def choose(name: str) -> object:
        if name == "engine.aggregate._sums":
            calls.append(name)
            return real(name) if compiled else None
        return real(name)

    monkeypatch.setattr(running, "compiled_module", choose)
    try:
        with extract_flows_from_file(path, SMALL_CHUNKS) as r:
            assert calls  # the sums were asked for
            return ({name: getattr(r.conversations, name).copy() for name in COLUMN_NAMES},
                    r.conversations.packet_index.copy(), r.conversations.packet_start.copy(),
                    {f.name: getattr(r.packets, f.name).copy()
                     for f in dataclasses.fields(PacketTable)})
    except Exception as exc:  # an unreadable capture: the same either way
        return (type(exc).__name__, str(exc))


def _assert_same(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = _load(path, monkeypatch, True), _load(path, monkeypatch, False)
    if isinstance(a[0], str):
        assert a == b
        return
    for name in COLUMN_NAMES:
        np.testing.assert_array_equal(a[0][name], b[0][name], err_msg=f"{path.name} {name}")
    np.testing.assert_array_equal(a[1], b[1], err_msg=f"{path.name} packet_index")
    np.testing.assert_array_equal(a[2], b[2], err_msg=f"{path.name} packet_start")
    for name, values in a[3].items():
        np.testing.assert_array_equal(values, b[3][name], err_msg=f"{path.name} {name}")


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_every_capture_sums_the_same(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _assert_same(path, monkeypatch)


def test_uncounted_tcp_headers_sum_the_same(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """TCP headers with a data offset below 20 bytes or past the packet use a tcp.stream but
    count nowhere: the rows are grouped with the rest and masked out of every sum and rank."""
    path = write_uncounted_capture(tmp_path / "uncounted.pcap")
    with extract_flows_from_file(path, SMALL_CHUNKS) as r:
        assert int((r.packets.reason == Reason.TCP_HEADER).sum()) > 50
    _assert_same(path, monkeypatch)


def write_uncounted_capture(path: Path) -> Path:
    """600 packets of a few TCP and UDP tuples, a third of the TCP headers with a data offset
    Wireshark rejects (below 5 words or past the packet)."""
    rng = np.random.default_rng(11)
    frames = []
    for k in range(600):
        client = f"10.0.{k % 7}.{k % 5 + 1}"
        sport = 40000 + int(rng.integers(0, 12))
        if rng.random() < 0.6:
            tcp = TCP(sport=sport, dport=443, flags=str(rng.choice(["S", "A", "PA", "FA", "R"])),
                      seq=int(rng.integers(0, 2**32)))
            payload = Raw(b"x" * int(rng.integers(0, 40)))
            data = bytearray(bytes(Ether() / IP(src=client, dst="10.9.9.9") / tcp / payload))
            if rng.random() < 0.3:  # a data offset Wireshark rejects: below 5 words or too long
                data[14 + 20 + 12] = int(rng.choice([0x10, 0x40, 0xF0]))
            frames.append(bytes(data))
        else:
            frames.append(bytes(Ether() / IP(src=client, dst="10.9.9.9")
                                / UDP(sport=sport, dport=53) / Raw(b"q" * 12)))
    path.write_bytes(pcap_bytes([(f, 10**18 + 1000 * k) for k, f in enumerate(frames)]))
    return path


def test_bad_arguments_are_refused() -> None:
    """Arrays of the wrong type or length, and indices out of range, are a ValueError before
    anything is read or written."""
    sums = compiled_module("engine.aggregate._sums")
    i64, u16 = np.int64, np.uint16

    def args(**change: object) -> list[object]:
        a = dict(seg=np.array([0], i64), prow=np.array([0, 1], i64),
                 direction=np.zeros(2, bool), counted=None, origlen=np.ones(2, np.uint32),
                 payload_len=np.ones(2, np.int32), ts=np.arange(2, dtype=i64),
                 flags=np.zeros(2, u16), ids=np.array([0], i64), rank=None,
                 **{name: np.zeros(3, i64) for name in running._SUM_COLUMNS},
                 flags_ab=np.zeros(3, u16), flags_ba=np.zeros(3, u16),
                 last_row=np.zeros(1, i64))
        a.update(change)
        return list(a.values())

    sums.segment_sums(*args())  # the reference call is fine
    for change in (dict(seg=np.array([0], np.int32)), dict(direction=np.zeros(3, bool)),
                   dict(direction=np.zeros(2, np.uint8)), dict(prow=np.array([0, 2], i64)),
                   dict(ids=np.array([3], i64)), dict(seg=np.array([1], i64)),
                   dict(rank=np.zeros(1, np.uint32)), dict(last_row=np.zeros(1, np.int32)),
                   dict(flags_ab=np.zeros(3, u16)[::-1].copy().astype(np.int16))):
        with pytest.raises(ValueError):
            sums.segment_sums(*args(**change))
