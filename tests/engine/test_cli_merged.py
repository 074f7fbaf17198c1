"""``flowscope-cli`` with several FILE arguments (or a folder): one capture merged by time, the
same output as for the mergecap of the files."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from engine.cli import main

from .merging import mergecap, records_of, split, traffic, write, write_set

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "captures"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def capture_set(tmp_path: Path) -> tuple[list[Path], Path]:
    """Three files of a real capture, taken in turns, and their mergecap."""
    records = records_of(CAPTURES / "zeek-wikipedia-many-conns.pcap")
    files = split(records, "alternate", 3)
    return write_set(tmp_path / "set", files), write(tmp_path / "merged.pcap", mergecap(files))


def test_json_of_a_set_names_its_files(capture_set: tuple[list[Path], Path],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    paths, merged = capture_set
    code, out, err = _run(capsys, "conversations", *map(str, paths), "--format", "json")
    assert code == 0 and err == ""
    doc = json.loads(out)
    code, out, _ = _run(capsys, "conversations", str(merged), "--format", "json")
    ref = json.loads(out)
    assert doc["capture"]["path"] is None
    assert doc["capture"]["files"] == [str(p) for p in paths]
    assert ref["capture"]["path"] == str(merged) and ref["capture"]["files"] == [str(merged)]
    assert doc["conversations"] == ref["conversations"]
    assert doc["unassigned"] == ref["unassigned"]
    for key in ("packets", "link_types", "first_ns", "last_ns", "warnings"):
        assert doc["capture"][key] == ref["capture"][key], key


def test_table_header_says_how_many_files(capture_set: tuple[list[Path], Path],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    paths, merged = capture_set
    code, out, _ = _run(capsys, "conversations", str(paths[0].parent))
    assert code == 0
    head, _, rest = out.partition("\n")
    assert head.startswith("3 files: part00.pcap, part01.pcap, part02.pcap: pcap-ns, "
                           "136 packets")
    _, out, _ = _run(capsys, "conversations", str(merged))
    assert rest == out.partition("\n")[2]


@pytest.mark.parametrize("fmt", ["raw", "yaml", "hex"])
def test_follow_a_stream_of_a_set(capture_set: tuple[list[Path], Path], tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    paths, merged = capture_set
    for stream in range(3):
        got, want = tmp_path / f"got-{stream}", tmp_path / f"want-{stream}"
        assert _run(capsys, "follow", *map(str, paths), "--stream", str(stream),
                    "--format", fmt, "-o", str(got))[0] == 0
        assert _run(capsys, "follow", str(merged), "--stream", str(stream), "--format", fmt,
                    "-o", str(want))[0] == 0
        assert got.read_bytes() == want.read_bytes() and got.stat().st_size > 0


def test_export_pcap_of_a_set(capture_set: tuple[list[Path], Path], tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    paths, merged = capture_set
    for stream in range(3):
        got, want = tmp_path / "got.pcap", tmp_path / "want.pcap"
        assert _run(capsys, "export-pcap", *map(str, paths), "--stream", str(stream),
                    "-o", str(got))[0] == 0
        assert _run(capsys, "export-pcap", str(merged), "--stream", str(stream),
                    "-o", str(want))[0] == 0
        assert got.read_bytes() == want.read_bytes()


def test_packets_of_a_stream_of_a_set(capture_set: tuple[list[Path], Path],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    paths, merged = capture_set
    code, got, _ = _run(capsys, "packets", *map(str, paths), "--stream", "1", "--format", "json")
    assert code == 0
    _, want, _ = _run(capsys, "packets", str(merged), "--stream", "1", "--format", "json")
    doc, ref = json.loads(got), json.loads(want)
    assert doc.pop("capture")["files"] == [str(p) for p in paths]
    ref.pop("capture")
    assert doc == ref and doc["packets"]


def test_a_damaged_file_warns_and_the_rest_is_listed(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    records = traffic(random.Random(1), conversations=10, packets=600)
    paths = write_set(tmp_path, split(records, "ring", 3))
    data = paths[1].read_bytes()
    paths[1].write_bytes(data[:-7])
    code, out, err = _run(capsys, "conversations", *map(str, paths), "--format", "json")
    assert code == 0
    assert err.startswith("warning: part01.pcap is cut short in the middle of packet ")
    assert err.count("\n") == 1
    assert json.loads(out)["capture"]["packets"] == len(records) - 1


def test_a_folder_without_captures_is_one_line(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "conversations", str(tmp_path))
    assert code == 2 and out == ""
    assert err == f"flowscope-cli: {tmp_path} is a folder with no pcap or pcapng file in it.\n"
