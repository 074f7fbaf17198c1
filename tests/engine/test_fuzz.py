"""Bounded fuzzing: a damaged capture gives a result or a FlowError, never anything else.

Every capture in tests/data/captures is mutated (see tests/engine/mutate.py) with a fixed seed;
each case is read with the compiled record walker and with the pure-Python one, which must agree.
A returned result must satisfy the Σ invariant (conversation packets + unassigned = packets read).
``bench/bench_fuzz.py`` runs the same cases by the ten thousand. Memory tests check that what a
header claims is never what gets allocated.
"""

from __future__ import annotations

import gzip
import struct
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from engine import FlowConfig, FlowError, Kind, extract_flows_from_file
from tests.conftest import CAPTURE_FILES
from tests.engine.fuzzing import FUZZ_CONFIG, Outcome, run_case
from tests.engine.mutate import MUTATIONS, mutated_case

SEED = 2
CASES_PER_CAPTURE = 8
SOURCES = [(path.name, path.read_bytes()) for path in CAPTURE_FILES]


def _both_walkers(data: bytes, path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Outcome]:
    outcomes = []
    for pure in (False, True):
        if pure:
            monkeypatch.setenv("FLOWSCOPE_PURE_PYTHON", "1")
        else:
            monkeypatch.delenv("FLOWSCOPE_PURE_PYTHON", raising=False)
        outcomes.append(run_case(data, path))
    return outcomes


@pytest.mark.parametrize("source", range(len(SOURCES)), ids=[name for name, _ in SOURCES])
def test_damaged_capture_gives_result_or_flow_error(source: int, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for k in range(CASES_PER_CAPTURE):
        case = mutated_case(SOURCES, SEED, source + k * len(SOURCES))
        try:
            compiled, pure = _both_walkers(case.data, tmp_path / "case.cap", monkeypatch)
        except Exception as exc:  # anything but a FlowError (or a broken invariant) is a bug
            raise AssertionError(f"{case.describe()}: {type(exc).__name__}: {exc}") from exc
        assert compiled == pure, case.describe()
        if compiled.error:
            assert compiled.message.strip(), case.describe()


def test_mutations_are_reproducible_and_all_used() -> None:
    cases = [mutated_case(SOURCES, SEED, i) for i in range(300)]
    assert cases[17] == mutated_case(SOURCES, SEED, 17)
    assert cases[17] != mutated_case(SOURCES, SEED + 1, 17)
    described = " ".join(" ".join(case.steps) for case in cases)
    for needle in ("bit flips", "overwritten", "truncated", "caplen", "block length", "snaplen",
                   "if_tsresol", "header bytes", "copied", "swapped", "deleted", "inserted",
                   "grown", "as pcapng", "gzip", "past its end", "records shuffled",
                   "records reversed", "empty records at", "gzip damaged at byte", "(trailer)",
                   "(second member)", "gzip bomb", "gzip cut at"):
        assert needle in described, needle
    assert any(case.source.startswith("segment storm") for case in cases)
    assert len(MUTATIONS) >= 16


# -- memory: what a header claims is never allocated -----------------------------------------
def _peak_bytes(read: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        read()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _read_or_error(path: Path, config: FlowConfig = FUZZ_CONFIG) -> int:
    """Packets read, or -1 for a FlowError."""
    try:
        with extract_flows_from_file(path, config) as result:
            return result.capture.packets
    except FlowError:
        return -1


FRAME = bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP() / UDP() / b"hi")


def _pcap(records: list[tuple[int, bytes]], snaplen: int = 262_144) -> bytes:
    """A little-endian pcap; each record is (caplen as written, bytes that follow)."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 1)]
    out += [struct.pack("<IIII", 1, 0, caplen, caplen) + body for caplen, body in records]
    return b"".join(out)


def _pcapng_block(block_type: int, body: bytes, length: int | None = None) -> bytes:
    body += b"\0" * (-len(body) % 4)
    size = len(body) + 12 if length is None else length
    return struct.pack("<II", block_type, size) + body + struct.pack("<I", size)


def _pcapng(*blocks: bytes, idb_options: bytes = b"", linktype: int = 1) -> bytes:
    """One little-endian section with one interface, then ``blocks``."""
    shb = _pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb = _pcapng_block(1, struct.pack("<HHI", linktype, 0, 0) + idb_options)
    return shb + idb + b"".join(blocks)


def _epb(data: bytes, caplen: int | None = None) -> bytes:
    head = struct.pack("<IIIII", 0, 0, 1, len(data) if caplen is None else caplen, len(data))
    return _pcapng_block(6, head + data)


FOUR_GB = 0xFFFFFFF0
CLAIMS_4GB = {
    "pcap caplen": _pcap([(FOUR_GB, FRAME * 20)]),
    "pcap caplen, snaplen 4 GB": _pcap([(FOUR_GB, FRAME * 20)], snaplen=0xFFFFFFFF),
    "pcapng block length": _pcapng(struct.pack("<II", 6, FOUR_GB) + FRAME * 20),
    "pcapng EPB caplen": _pcapng(_epb(FRAME, caplen=FOUR_GB), _epb(FRAME)),
    "gzip pcap caplen": gzip.compress(_pcap([(FOUR_GB, FRAME * 20)], snaplen=0xFFFFFFFF)),
}


def _baseline_peak(tmp_path: Path, config: FlowConfig = FUZZ_CONFIG) -> int:
    """Peak allocation for reading a small sound capture (read buffers, table capacity)."""
    path = tmp_path / "baseline.pcap"
    path.write_bytes(_pcap([(len(FRAME), FRAME)] * 30))
    _read_or_error(path, config)  # first use: imports and caches are not part of the peak
    return _peak_bytes(lambda: _read_or_error(path, config))


@pytest.mark.parametrize("data", CLAIMS_4GB.values(), ids=CLAIMS_4GB.keys())
@pytest.mark.parametrize("config", [FUZZ_CONFIG, FlowConfig()], ids=["64KiB", "default"])
def test_first_record_claiming_4gb_allocates_nothing_like_it(data: bytes, config: FlowConfig,
                                                             tmp_path: Path) -> None:
    baseline = _baseline_peak(tmp_path, config)
    path = tmp_path / "claims-4gb.cap"
    path.write_bytes(data)
    peak = _peak_bytes(lambda: _read_or_error(path, config))
    assert peak < baseline + 2 * config.chunk_bytes + (1 << 20)  # read buffers, not 4 GB


def test_claim_within_limit_is_not_allocated_before_its_bytes_arrive(tmp_path: Path) -> None:
    """snaplen 4 GB lets a 60 MB record through the limit; the file holds only 200 kB of it, so
    the read buffer must grow with the bytes present, not jump to what the header says."""
    path = tmp_path / "claims-60mb.pcap"
    path.write_bytes(_pcap([(len(FRAME), FRAME)] * 30 + [(60_000_000, b"\0" * 200_000)],
                           snaplen=0xFFFFFFFF))
    baseline = _baseline_peak(tmp_path)
    packets: list[int] = []
    peak = _peak_bytes(lambda: packets.append(_read_or_error(path)))
    assert packets == [30]
    assert peak - baseline < 2 << 20, f"{peak / 1e6:.1f} MB allocated to read a 0.2 MB file"


def test_rows_reserved_no_more_than_the_file_can_hold(tmp_path: Path) -> None:
    """A first chunk holding a single empty record must not make the reader reserve a row for
    every byte of the file (a record takes at least 16 bytes)."""
    path = tmp_path / "empty-then-big.pcap"
    path.write_bytes(_pcap([(0, b"")] + [(100_000, b"\1" * 100_000)] * 20))
    baseline = _baseline_peak(tmp_path)
    packets: list[int] = []
    peak = _peak_bytes(lambda: packets.append(_read_or_error(path)))
    assert packets == [21]
    # at most 2 MB / 16 B rows of ~100 B (reserved, mostly never touched) — not 2 M rows
    assert peak - baseline < 24 << 20, f"{peak / 1e6:.1f} MB allocated to read a 2 MB file"


# -- regressions found by fuzzing ----------------------------------------------------------
@pytest.mark.parametrize(("tsresol", "tsoffset"), [
    (0x1C, None), (0x3F, None), (0x7F, None), (0xFF, None), (0x9E, None),
    (0x06, 10**10), (0x06, -(10**10)), (0x06, 2**63 - 1), (0x09, -(2**63)), (0x7F, 2**62),
])
def test_extreme_interface_time_options_give_a_result(tsresol: int, tsoffset: int | None,
                                                      tmp_path: Path) -> None:
    """if_tsresol down to 10^-127 s and if_tsoffset beyond ±292 years are nonsense, but they
    are one damaged block, not a reason for a traceback."""
    options = struct.pack("<HHB3x", 9, 1, tsresol)
    if tsoffset is not None:
        options += struct.pack("<HHq", 14, 8, tsoffset)
    path = tmp_path / "time-options.pcapng"
    path.write_bytes(_pcapng(_epb(FRAME), _epb(FRAME), idb_options=options + b"\0" * 4))
    assert _read_or_error(path) == 2


def test_many_sections_each_with_its_own_link_type(tmp_path: Path) -> None:
    """Thousands of one-packet sections (as the fuzzer's grown pcapng files have): every packet
    is decoded with its own section's link type."""
    raw_ip = FRAME[14:]
    sections = [_pcapng(_epb(FRAME)), _pcapng(_epb(raw_ip), linktype=228),
                _pcapng(_epb(raw_ip), linktype=101)]
    path = tmp_path / "sections.pcapng"
    path.write_bytes(b"".join(sections) * 700)
    with extract_flows_from_file(path, FUZZ_CONFIG) as result:
        assert result.capture.packets == 2100
        assert result.packets.linktype[:3].tolist() == [1, 228, 101]
        assert (result.packets.kind == Kind.UDP).all()
        assert len(result.conversations) == 1
