"""Follow export formats (raw, hex, ascii, C arrays, YAML), directions, gap markers, atomic files,
and the ``follow`` command."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pytest

from engine import WIRESHARK, LoadCancelled, extract_flows_from_file
from engine.cli import main
from engine.export.follow import c_array, export_follow, hexdump, write_follow
from engine.follow import FollowStream, reassemble
from tests.conftest import CAPTURES
from tests.engine.test_tcp_scenarios import analyse, normal_close

HTTP = CAPTURES / "zeek-http-get.pcap"
GAPPY = CAPTURES / "zeek-tcp-reassembly.pcap"

#: tshark 4.0.17 ``-z follow,tcp,hex,0`` on zeek-http-get.pcap, first lines
TSHARK_HEX = """\
00000000  47 45 54 20 2f 64 6f 77  6e 6c 6f 61 64 2f 43 48  GET /dow nload/CH
00000010  41 4e 47 45 53 2e 62 72  6f 2d 61 75 78 2e 74 78  ANGES.br o-aux.tx
00000020  74 20 48 54 54 50 2f 31  2e 31 0d 0a 55 73 65 72  t HTTP/1 .1..User
00000030  2d 41 67 65 6e 74 3a 20  57 67 65 74 2f 31 2e 31  -Agent:  Wget/1.1
00000040  34 20 28 64 61 72 77 69  6e 31 32 2e 32 2e 30 29  4 (darwi n12.2.0)
00000050  0d 0a 41 63 63 65 70 74  3a 20 2a 2f 2a 0d 0a 48  ..Accept : */*..H
00000060  6f 73 74 3a 20 62 72 6f  2e 6f 72 67 0d 0a 43 6f  ost: bro .org..Co
00000070  6e 6e 65 63 74 69 6f 6e  3a 20 4b 65 65 70 2d 41  nnection : Keep-A
00000080  6c 69 76 65 0d 0a 0d 0a                           live....
\t00000000  48 54 54 50 2f 31 2e 31  20 32 30 30 20 4f 4b 0d  HTTP/1.1  200 OK.
\t00000010  0a 44 61 74 65 3a 20 54  68 75 2c 20 30 37 20 4d  .Date: T hu, 07 M
"""


def render(stream: FollowStream, fmt: str, direction: str = "both") -> bytes:
    out = io.BytesIO()
    write_follow(stream, out, fmt, direction)
    return out.getvalue()


@pytest.fixture(scope="module")
def http() -> FollowStream:
    result = extract_flows_from_file(HTTP, WIRESHARK)
    stream = reassemble(result, 0)
    yield stream
    stream.close()
    result.close()


@pytest.fixture(scope="module")
def gappy() -> FollowStream:
    result = extract_flows_from_file(GAPPY, WIRESHARK)
    stream = reassemble(result, 0)
    yield stream
    stream.close()
    result.close()


def test_raw(http: FollowStream) -> None:
    both = render(http, "raw")
    assert both == b"".join(http.chunk_bytes(k) for k in range(len(http.chunks)))
    assert render(http, "raw", "a-to-b") == http.data(0) and len(http.data(0)) == 136
    assert render(http, "raw", "b-to-a") == http.data(1) and len(http.data(1)) == 5007


def test_hex_has_tsharks_layout(http: FollowStream) -> None:
    text = render(http, "hex").decode()
    assert text.startswith(TSHARK_HEX)
    lines = text.splitlines()
    server = [ln for ln in lines if ln.startswith("\t")]
    assert server[-1].startswith(f"\t{5007 // 16 * 16:08X}")  # offsets continue per direction
    assert render(http, "hex", "b-to-a").decode().startswith("00000000  48 54 54 50")


def test_hexdump_partial_lines() -> None:
    assert hexdump(b"edCapabilities", 0x150) == (
        b"00000150  65 64 43 61 70 61 62 69  6c 69 74 69 65 73        edCapabi lities\n")
    assert hexdump(b"\x00\xff", 0xABC, b"\t") == (
        b"\t00000ABC  00 ff" + b" " * 45 + b"..\n")
    assert hexdump(b"") == b""


def test_ascii(http: FollowStream) -> None:
    text = render(http, "ascii", "a-to-b")
    assert text.startswith(b"GET /download/CHANGES.bro-aux.txt HTTP/1.1\r\nUser-Agent")
    assert render(analyse_bytes(b"a\x00b\x7f\tc\r\n"), "ascii") == b"a.b.\tc\r\n"


def analyse_bytes(payload: bytes) -> FollowStream:
    from tests.engine.test_tcp_scenarios import Flow, handshake

    return reassemble(analyse(handshake(Flow()).c("PA", 1, 1, payload)), 0)


def test_gap_markers_in_text_formats(gappy: FollowStream) -> None:
    marker = re.compile(rb"\[(\d+) bytes missing in capture file\]")
    for fmt in ("hex", "ascii"):
        sizes = [int(m) for m in marker.findall(render(gappy, fmt))]
        assert sizes == [8, 8, 32, 728, 708, 81, 1343, 20, 1448], fmt
    assert len(re.findall(rb"/\* \d+ bytes missing in capture file \*/",
                          render(gappy, "c-array"))) == 9
    assert render(gappy, "raw") == gappy.data(0)  # raw: only real bytes


def test_c_arrays(http: FollowStream) -> None:
    text = render(http, "c-array").decode()
    arrays = re.findall(r"char (peer(\d)_(\d+))\[\] = \{ /\* Packet (\d+) \*/\n(.*?)\};\n",
                        text, re.S)
    assert [a[0] for a in arrays] == ["peer0_0", "peer1_0", "peer1_1", "peer1_2", "peer1_3"]
    assert [int(a[3]) for a in arrays] == (http.chunks.packet + 1).tolist()
    for k, (_, _, _, _, body) in enumerate(arrays):
        values = bytes(int(v, 16) for v in re.findall(r"0x([0-9a-f]{2})", body))
        assert values == http.chunk_bytes(k)
        assert all(line.count("0x") <= 8 for line in body.splitlines())
    assert c_array("x", 1, b"\x01\x02") == b"char x[] = { /* Packet 1 */\n0x01, 0x02 };\n"
    assert c_array("x", 1, bytes(8)).endswith(b"0x00, 0x00 };\n")


def parse_yaml(text: str) -> tuple[list[dict], list[dict]]:
    """The peers and packets of our YAML (a small parser for this fixed layout)."""
    peers, packets = [], []
    section = None
    for line in text.splitlines():
        if line in ("peers:", "packets:"):
            section = peers if line == "peers:" else packets
        elif line.startswith("  - "):
            key, value = line[4:].split(": ", 1)
            section.append({key: value, "data": ""})
        elif line.startswith("      "):
            section[-1]["data"] += line.strip()
        elif line.startswith("    "):
            key, value = line[4:].split(": ", 1)
            section[-1][key] = "" if value == "!!binary |" else value
    return peers, packets


def test_yaml(http: FollowStream) -> None:
    text = render(http, "yaml").decode()
    assert text.count("    data: !!binary |\n      ") == 5
    peers, packets = parse_yaml(text)
    assert [(p["peer"], p["host"], p["port"]) for p in peers] == [
        ("0", "141.142.228.5", "59856"), ("1", "192.150.187.43", "80")]
    assert [int(p["packet"]) for p in packets] == (http.chunks.packet + 1).tolist()
    assert [p["index"] for p in packets] == ["0", "0", "1", "2", "3"]
    assert packets[0]["timestamp"] == "1362692526.939527000"
    for k, p in enumerate(packets):
        assert base64.b64decode(p["data"]) == http.chunk_bytes(k)
    _, only_b = parse_yaml(render(http, "yaml", "b-to-a").decode())
    assert [p["peer"] for p in only_b] == ["1"] * 4


def test_bad_choices_are_refused(http: FollowStream) -> None:
    with pytest.raises(ValueError):
        render(http, "pdf")
    with pytest.raises(ValueError):
        render(http, "raw", "sideways")


def test_export_is_atomic(http: FollowStream, tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    export_follow(http, target, "raw")
    assert target.read_bytes() == render(http, "raw")
    target.write_bytes(b"old")
    with pytest.raises(LoadCancelled):
        export_follow(http, target, "hex", cancel=lambda: True)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_cli_follow_to_file_and_stdout(tmp_path: Path,
                                       capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    out = tmp_path / "stream.hex"
    assert main(["follow", str(HTTP), "--stream", "0", "--format", "hex", "-o", str(out)]) == 0
    assert out.read_text().startswith(TSHARK_HEX)
    assert capsysbinary.readouterr().out == b""
    assert main(["follow", str(HTTP), "--stream", "0", "--format", "ascii", "--direction",
                 "b-to-a", "--memory-budget", "1K", "--spill-dir", str(tmp_path)]) == 0
    assert capsysbinary.readouterr().out.startswith(b"HTTP/1.1 200 OK\r\n")
    assert [p.name for p in tmp_path.iterdir()] == ["stream.hex"]


def test_cli_follow_errors(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["follow", str(HTTP), "--stream", "9"]) == 2
    err = capsysbinary.readouterr().err.decode()
    assert "no TCP stream 9" in err and "Traceback" not in err
    assert main(["follow", str(CAPTURES / "zeek-dns53.pcap"), "--stream", "0"]) == 2
    assert "has 0 TCP streams" in capsysbinary.readouterr().err.decode()
    with pytest.raises(SystemExit):
        main(["follow", str(HTTP), "--stream", "0", "--memory-budget", "lots"])


def test_empty_stream_renders_in_every_format() -> None:
    result = analyse(normal_close())
    with reassemble(result, 0) as stream:
        assert render(stream, "raw", "a-to-b") == b"GET / HTTP/1.1\r\n\r\n"
    from tests.engine.test_tcp_scenarios import rejected_syn

    with reassemble(analyse(rejected_syn()), 0) as empty:
        for fmt in ("raw", "hex", "ascii", "c-array"):
            assert render(empty, fmt) == b""
        assert b"packets: []" in render(empty, "yaml")
