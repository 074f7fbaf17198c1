"""Every length field of the pcap and pcapng readers set to what a damaged or hostile file holds:
a warning or a one-line FlowError, the packets before it kept, and both record walkers agreeing."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from engine import WIRESHARK, FlowError, TruncatedCaptureError, extract_flows_from_file
from engine.capture import open_capture
from tests.conftest import DATA

from .fuzzing import FUZZ_CONFIG, Outcome, run_case
from .tcpgen import ACK, A, B, tcp_frame

HOSTILE = DATA / "hostile"
FRAMES = [tcp_frame(A, B, 40000, 80, 1 + 10 * k, 1, ACK, b"0123456789") for k in range(5)]
SHB, IDB, PB, SPB, EPB = 0x0A0D0D0A, 1, 2, 3, 6


def _block(e: str, btype: int, body: bytes, length: int | None = None,
           trailer: int | None = None) -> bytes:
    body += b"\0" * (-len(body) % 4)
    size = len(body) + 12
    return (struct.pack(e + "II", btype, size if length is None else length) + body
            + struct.pack(e + "I", size if trailer is None else trailer))


def _shb(e: str, options: bytes = b"") -> bytes:
    return _block(e, SHB, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1) + options)


def _idb(e: str, options: bytes = b"") -> bytes:
    return _block(e, IDB, struct.pack(e + "HHI", 1, 0, 262144) + options)


def _epb(e: str, data: bytes, k: int = 0) -> bytes:
    return _block(e, EPB, struct.pack(e + "IIIII", 0, 0, k, len(data), len(data)) + data)


def _option(e: str, code: int, value: bytes) -> bytes:
    return struct.pack(e + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def _pcapng(e: str, options: bytes = b"") -> bytes:
    return _shb(e) + _idb(e, options) + b"".join(_epb(e, f, k) for k, f in enumerate(FRAMES))


def _both(data: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Outcome:
    """Read with the compiled walker and the pure-Python one; they must agree."""
    outcomes = []
    for pure in (False, True):
        if pure:
            monkeypatch.setenv("FLOWSCOPE_PURE_PYTHON", "1")
        else:
            monkeypatch.delenv("FLOWSCOPE_PURE_PYTHON", raising=False)
        outcomes.append(run_case(data, tmp_path / "case.pcapng"))
    assert outcomes[0] == outcomes[1]
    return outcomes[0]


@pytest.mark.parametrize("e", ["<", ">"], ids=["little", "big"])
@pytest.mark.parametrize(("code", "name"), [(9, "if_tsresol"), (14, "if_tsoffset"),
                                            (2, "if_name"), (0x8001, "option 32769")])
@pytest.mark.parametrize(("present", "claimed"), [(0, 1), (0, 8), (4, 8), (4, 0xFFFF)])
def test_interface_option_running_past_its_block(e: str, code: int, name: str, present: int,
                                                 claimed: int, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """if_tsoffset/if_tsresol lengths past the block end raised struct.error / IndexError."""
    options = _option(e, 9, b"\x06") + struct.pack(e + "HH", code, claimed) + b"\7" * present
    out = _both(_pcapng(e, options), tmp_path, monkeypatch)
    assert out.error is None and out.packets == 5
    (warning,) = out.warnings
    assert f"interface 0's {name}" in warning
    assert f"claims {claimed} bytes but only {present} are left in its block" in warning


def test_short_time_options_are_ignored_with_a_warning(tmp_path: Path) -> None:
    options = _option("<", 14, b"\1\0\0\0") + _option("<", 9, b"") + _option("<", 0, b"")
    path = tmp_path / "short-options.pcapng"
    path.write_bytes(_pcapng("<", options))
    with extract_flows_from_file(path) as result:
        assert result.capture.packets == 5
        assert result.packets.ts_ns[:2].tolist() == [0, 1000]  # no offset, µs units
        warnings = " ".join(result.capture.warnings)
    assert "if_tsoffset option has 4 bytes instead of 8" in warnings
    assert "if_tsresol option has 0 bytes instead of 1" in warnings


def test_damaged_options_are_reported_once(tmp_path: Path) -> None:
    """A file repeating the damage in every interface gets one warning, not thousands."""
    bad = struct.pack("<HH", 14, 8)
    data = b"".join(_shb("<") + _idb("<", bad) + _epb("<", FRAMES[0]) for _ in range(200))
    path = tmp_path / "many.pcapng"
    path.write_bytes(data)
    with extract_flows_from_file(path) as result:
        assert result.capture.packets == 200
        assert len(result.capture.warnings) == 1


@pytest.mark.parametrize("e", ["<", ">"], ids=["little", "big"])
@pytest.mark.parametrize(("where", "packets_before"), [("section", 0), ("interface", 0),
                                                       ("packet 3", 2), ("custom block", 4)])
def test_block_length_copies_must_agree(e: str, where: str, packets_before: int,
                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A block's length is repeated at its end; tshark stops where they differ, so do we."""
    shb, idb = _shb(e), _idb(e)
    epbs = [_epb(e, f, k) for k, f in enumerate(FRAMES)]
    custom = _block(e, 0x00000BAD, b"custom body")

    def broken(block: bytes) -> bytes:
        return block[:-4] + struct.pack(e + "I", len(block) + 8)

    if where == "section":
        shb = broken(shb)
    elif where == "interface":
        idb = broken(idb)
    elif where == "packet 3":
        epbs[2] = broken(epbs[2])
    else:
        epbs.insert(4, broken(custom))
    out = _both(shb + idb + b"".join(epbs), tmp_path, monkeypatch)
    assert out.error is None and out.packets == packets_before
    (warning,) = out.warnings
    assert f"after packet {packets_before} says it is" in warning
    assert "at its start but" in warning and "bytes long" in warning


def test_trailer_mismatch_matches_tshark(tmp_path: Path) -> None:
    """tests/data/hostile/epb-trailer-mismatch.pcapng: tshark 4.0 reads the two packets before
    the block whose lengths disagree (its oracle beside it)."""
    path = HOSTILE / "epb-trailer-mismatch.pcapng"
    expected = json.loads((HOSTILE / f"{path.name}.json").read_text())
    with extract_flows_from_file(path, WIRESHARK) as result:
        assert result.capture.packets == expected["packets"] == 2
        (tcp,) = expected["tcp"]
        conv = result[0]
        assert (conv.packets_ab, conv.bytes_ab) == (tcp["packets_a_to_b"], tcp["bytes_a_to_b"])
        assert "block lengths" not in result.capture.warnings[0]  # our own sentence
        assert "96 bytes long at its start but 100 at its end" in result.capture.warnings[0]


@pytest.mark.parametrize(("btype", "length"), [(EPB, 12), (EPB, 16), (EPB, 28), (PB, 20),
                                               (PB, 28), (SPB, 12)])
def test_packet_block_too_short_for_its_fields(btype: int, length: int, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    short = _block("<", btype, b"\0" * (length - 12))
    data = _shb("<") + _idb("<") + _epb("<", FRAMES[0]) + _epb("<", FRAMES[1]) + short + \
        _epb("<", FRAMES[2])
    out = _both(data, tmp_path, monkeypatch)
    assert out.error is None and out.packets == 2
    (warning,) = out.warnings
    assert "packet 3 is" in warning and f"Packet Block of only {length} bytes" in warning


def test_later_section_without_byte_order_mark(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    second = bytearray(_pcapng(">"))
    second[8:12] = b"\xde\xad\xbe\xef"
    out = _both(_pcapng("<") + bytes(second), tmp_path, monkeypatch)
    assert out.error is None and out.packets == 5
    (warning,) = out.warnings
    assert "section header after packet 5 has no valid byte-order mark" in warning


@pytest.mark.parametrize("size", [12, 13, 16, 27])
def test_file_cut_inside_its_section_header(size: int, tmp_path: Path) -> None:
    path = tmp_path / "cut.pcapng"
    path.write_bytes(_pcapng("<")[:size])
    with pytest.raises(TruncatedCaptureError, match=f"section header \\({size} of 28 bytes\\)"):
        extract_flows_from_file(path)


# -- every length field, every hostile value ------------------------------------------------
VALUES = (0, 1, 3, 4, 11, 12, 16, 28, 31, 0xFFFF, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF)


def _records(data: bytes, path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, ...]:
    """Only the reader (the analysis has its own fuzz test): record offsets and warnings, or
    the error, with both walkers, which must agree."""
    path.write_bytes(data)
    seen = []
    for pure in (False, True):
        if pure:
            monkeypatch.setenv("FLOWSCOPE_PURE_PYTHON", "1")
        else:
            monkeypatch.delenv("FLOWSCOPE_PURE_PYTHON", raising=False)
        try:
            with open_capture(path, FUZZ_CONFIG) as reader:
                offsets = [(chunk.base + chunk.data_off).tolist() for chunk in reader.chunks()]
                seen.append((offsets, tuple(reader.warnings)))
        except FlowError as exc:
            seen.append((type(exc).__name__, str(exc)))
    assert seen[0] == seen[1]
    return seen[0]


def _length_fields_pcapng() -> tuple[bytes, list[tuple[int, int, str]]]:
    """A pcapng with every block kind, and where each of its length fields is (offset, size,
    byte order)."""
    fields: list[tuple[int, int, str]] = []
    out = b""
    for e in ("<", ">"):
        shb = _shb(e, _option(e, 1, b"comment") + _option(e, 0, b""))
        fields += [(len(out) + 4, 4, e), (len(out) + len(shb) - 4, 4, e),
                   (len(out) + 16, 8, e), (len(out) + 30, 2, e)]
        out += shb
        idb = _idb(e, _option(e, 9, b"\x09") + _option(e, 14, bytes(8)) + _option(e, 0, b""))
        fields += [(len(out) + 4, 4, e), (len(out) + len(idb) - 4, 4, e), (len(out) + 18, 2, e),
                   (len(out) + 26, 2, e), (len(out) + 12, 4, e)]
        out += idb
        epb = _epb(e, FRAMES[0])
        fields += [(len(out) + 4, 4, e), (len(out) + len(epb) - 4, 4, e),
                   (len(out) + 20, 4, e), (len(out) + 24, 4, e), (len(out) + 8, 4, e)]
        out += epb
        spb = _block(e, SPB, struct.pack(e + "I", len(FRAMES[1])) + FRAMES[1])
        fields += [(len(out) + 4, 4, e), (len(out) + 8, 4, e)]
        out += spb
        pb = _block(e, PB, struct.pack(e + "HHIIII", 0, 0, 0, 0, len(FRAMES[2]),
                                       len(FRAMES[2])) + FRAMES[2])
        fields += [(len(out) + 4, 4, e), (len(out) + 8, 2, e), (len(out) + 20, 4, e),
                   (len(out) + 24, 4, e)]
        out += pb
        custom = _block(e, 0x00000BAD, b"xyz")
        fields += [(len(out) + 4, 4, e)]
        out += custom + _epb(e, FRAMES[3])
    return out, fields


def _length_fields_pcap() -> tuple[bytes, list[tuple[int, int, str]]]:
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
    fields = [(16, 4, "<")]  # snaplen
    for frame in FRAMES:
        fields += [(len(out) + 8, 4, "<"), (len(out) + 12, 4, "<")]
        out += struct.pack("<IIII", 1, 0, len(frame), len(frame)) + frame
    return out, fields


@pytest.mark.parametrize("kind", ["pcapng", "pcap"])
def test_every_length_field_gives_a_result_or_a_sentence(kind: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    data, fields = _length_fields_pcapng() if kind == "pcapng" else _length_fields_pcap()
    path = tmp_path / "case.cap"
    clean = _records(data, path, monkeypatch)
    assert clean[1] == () and sum(map(len, clean[0])) == clean_count(kind)
    for at, size, e in fields:
        for value in VALUES:
            damaged = bytearray(data)
            struct.pack_into(e + {2: "H", 4: "I", 8: "Q"}[size], damaged, at,
                             value & ((1 << (8 * size)) - 1))
            try:
                _, said = _records(bytes(damaged), path, monkeypatch)
            except Exception as exc:  # anything but a sentence is a bug
                raise AssertionError(f"field at {at} = {value:#x}: {exc!r}") from exc
            for sentence in [said] if isinstance(said, str) else said:
                assert "\n" not in sentence and sentence.endswith("."), sentence


def clean_count(kind: str) -> int:
    return 8 if kind == "pcapng" else len(FRAMES)  # 4 packet blocks a section
