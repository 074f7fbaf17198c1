"""``flowscope-cli index`` and ``flowscope-cli query``: output, formats, exit status."""

from __future__ import annotations

import csv
import importlib
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine import FlowConfig, analyse_file
from engine.cli import main
from engine.cli.progress import ProgressBar
from engine.export.conversations import conversation_records
from tests.conftest import CAPTURES
from tests.engine.index_helpers import copy_captures

GOOD = ["zeek-http-get.pcap", "zeek-dns53.pcap", "zeek-wikipedia-many-conns.pcap"]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    copy_captures(GOOD, tmp_path / "caps")
    code, out, err = _run(capsys, "index", str(tmp_path / "caps"), "-o", str(tmp_path / "ds"))
    assert code == 0 and err == ""
    assert out.startswith("3 captures: 3 indexed;")
    return tmp_path / "ds"


def _tcp_expected(folder: Path) -> list[tuple[str, int, int, int]]:
    rows = []
    for name in GOOD:
        path = folder / name
        with analyse_file(path, FlowConfig()) as result:
            rows += [(str(path.absolute()), r["stream"], r["packets"], r["bytes"])
                     for r in conversation_records(result) if r["protocol"] == "tcp"]
    return sorted(rows)


SQL = ("SELECT capture_path, stream, packets, bytes FROM conversations WHERE protocol = 'tcp' "
       "ORDER BY capture_path, stream")


def test_query_as_json(dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "query", str(dataset), SQL, "--format", "json")
    assert code == 0
    rows = json.loads(out)
    got = [(r["capture_path"], r["stream"], r["packets"], r["bytes"]) for r in rows]
    assert got == _tcp_expected(dataset.parent / "caps") and len(got) == 11
    assert out.count("\n") == len(rows) + 2  # one row per line


def test_query_as_csv(dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "query", str(dataset), SQL, "--format", "csv")
    assert code == 0
    reader = csv.reader(io.StringIO(out))
    assert next(reader) == ["capture_path", "stream", "packets", "bytes"]
    got = [(p, int(s), int(n), int(b)) for p, s, n, b in reader]
    assert got == _tcp_expected(dataset.parent / "caps")


def test_query_as_table(dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "query", str(dataset),
                        "SELECT protocol, count(*) AS n, max(start_time) AS last, "
                        "any_value(command_classes) AS cc FROM conversations "
                        "GROUP BY protocol ORDER BY n DESC")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["protocol", "n", "last", "cc"]
    assert lines[-1] == "(2 rows)"
    counts = {line.split()[0]: int(line.split()[1]) for line in lines[1:-1]}
    expected: dict[str, int] = {}
    for name in GOOD:
        with analyse_file(dataset.parent / "caps" / name, FlowConfig()) as result:
            for r in conversation_records(result):
                expected[r["protocol"]] = expected.get(r["protocol"], 0) + 1
    assert counts == expected
    # numbers are right-aligned under their header, text left-aligned
    header = lines[0]
    assert all(line[:header.index("n") + 1].endswith(line.split()[1]) for line in lines[1:-1])


def test_json_columns_and_timestamps_come_out_as_json(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    sample = Path(__file__).resolve().parents[2] / "resources" / "zwave-sample.pcapng"
    assert main(["index", str(sample), "-o", str(tmp_path)]) == 0
    capsys.readouterr()
    code, out, _ = _run(capsys, "query", str(tmp_path),
                        "SELECT command_classes, start_time, start_ns FROM conversations "
                        "WHERE protocol = 'zwave' AND command_count > 0 ORDER BY id LIMIT 1",
                        "--format", "json")
    assert code == 0
    (row,) = json.loads(out)
    assert isinstance(row["command_classes"], dict) and row["command_classes"]
    assert row["start_time"].startswith("20") and row["start_time"].endswith("+00:00")


def test_query_errors_are_one_sentence(dataset: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "query", str(dataset), "SELECT nonsense FROM conversations")
    assert code == 2 and out == "" and err.startswith("flowscope-cli: The query failed:")
    (tmp_path / "empty").mkdir()
    code, _, err = _run(capsys, "query", str(tmp_path / "empty"), "SELECT 1")
    assert code == 2 and "holds no index files" in err
    code, _, err = _run(capsys, "query", str(tmp_path / "missing"), "SELECT 1")
    assert code == 2 and "is not a dataset folder" in err


def test_index_reports_failures_and_exits_1(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    copy_captures(["zeek-http-get.pcap", "libpcap-pcap-invalid-version-1.pcap",
                   "scapy-bad-rsn-cut-mid-record.pcap"], tmp_path / "caps")
    code, out, err = _run(capsys, "index", str(tmp_path / "caps"), "-o", str(tmp_path / "ds"))
    assert code == 1
    assert out.startswith("3 captures: 2 indexed, 1 failed;")
    lines = err.splitlines()
    assert any(line.startswith("failed: libpcap-pcap-invalid-version-1.pcap: pcap major "
                               "version 1") for line in lines)
    assert any(line.startswith("warning: scapy-bad-rsn-cut-mid-record.pcap") for line in lines)
    assert "\r" not in err  # no progress bar: stderr is not a terminal here
    code, out, err = _run(capsys, "index", str(tmp_path / "caps"), "-o", str(tmp_path / "ds"))
    assert code == 1 and out.startswith("3 captures: 2 unchanged, 1 failed (")


def test_index_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["index", str(CAPTURES), "-o", str(tmp_path), "--workers", "0"])
    with pytest.raises(SystemExit):
        main(["index", str(CAPTURES), "-o", str(tmp_path), "--workers", "2", "--dask", "x"])
    assert "not allowed with" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    code, _, err = _run(capsys, "index", str(CAPTURES / "zeek-http-get.pcap"), "-o",
                        str(tmp_path / "file"))
    assert code == 2 and "is not a folder" in err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal() -> None:
    term = _Terminal()
    bar = ProgressBar(2, stream=term)
    bar.advance(packets=1000)
    bar.advance(failed=True)
    bar.close()
    text = term.getvalue()
    assert text.startswith("\r[") and "2/2 captures" in text and "1 failed" in text
    assert text.endswith("\n")
    pipe = io.StringIO()
    bar = ProgressBar(2, stream=pipe)
    bar.advance()
    bar.close()
    assert pipe.getvalue() == ""


def test_missing_packages_are_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    real = importlib.import_module

    def without_duckdb(name: str, *args: Any) -> Any:
        if name == "duckdb":
            raise ImportError("No module named 'duckdb'")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", without_duckdb)
    code, _, err = _run(capsys, "query", str(tmp_path), "SELECT 1")
    assert code == 2
    assert err == ("flowscope-cli: The index needs the optional package 'duckdb': install it "
                   "with pip install 'flowscope[index]'.\n")


def test_the_other_commands_do_not_load_the_index_packages() -> None:
    code = ("import sys; from engine.cli import main; "
            f"main(['conversations', {str(CAPTURES / 'zeek-http-get.pcap')!r}]); "
            "print(sorted(m for m in ('pyarrow', 'duckdb', 'dask', 'distributed') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2]).stdout
    assert out.splitlines()[-1] == "[]"


def test_follow_takes_its_capture_and_stream_from_the_index(
        dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "query", str(dataset),
                        "SELECT capture_path, stream FROM conversations WHERE b_port = 80 "
                        "AND protocol = 'tcp' ORDER BY bytes DESC LIMIT 1", "--format", "csv")
    assert code == 0
    path, stream = out.splitlines()[1].split(",")
    code, out, _ = _run(capsys, "follow", path, "--stream", stream, "--format", "ascii")
    assert code == 0 and "HTTP/1.1" in out
