"""Index runs: skipping, refreshing and re-indexing; failures; atomic files; new columns."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import engine.pipeline
from engine.columns import COLUMNS, ColumnSpec, declare_column
from engine.hooks import ANALYSES, register_analysis
from engine.index.dataset import index_files, parquet_name, read_footer
from engine.index.runner import build_index, plan
from engine.index.task import IndexOutcome
from engine.result import FlowResult
from tests.conftest import CAPTURES
from tests.engine.index_helpers import copy_captures

GOOD = ["zeek-http-get.pcap", "zeek-dns53.pcap", "zeek-icmp-5-pings.pcap"]


def _status(outcomes: list[IndexOutcome]) -> dict[str, str]:
    return {Path(o.capture).name: o.status for o in outcomes}


def _file(dataset: Path, capture: Path) -> Path:
    return dataset / parquet_name(str(capture.absolute()))


def test_rerun_skips_touch_refreshes_change_reindexes(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    captures = copy_captures(GOOD, tmp_path / "caps")
    dataset = tmp_path / "ds"
    first = build_index([tmp_path / "caps"], dataset)
    assert _status(first) == dict.fromkeys(GOOD, "indexed")

    # unchanged: decided from stat and footers, the capture is not even opened
    def no_analysis(*_args: object, **_kw: object) -> None:
        raise AssertionError("an unchanged capture was analysed again")

    monkeypatch.setattr(engine.pipeline, "analyse_file", no_analysis)
    assert _status(build_index([tmp_path / "caps"], dataset)) == dict.fromkeys(GOOD, "unchanged")

    # touched: same bytes (SHA-256), so only the stored mtime changes; no analysis either
    http = captures[0]
    before = pq.read_table(_file(dataset, http))
    os.utime(http, ns=(http.stat().st_atime_ns, http.stat().st_mtime_ns + 5_000_000_000))
    assert _status(build_index([tmp_path / "caps"], dataset)) == {
        "zeek-http-get.pcap": "refreshed", "zeek-dns53.pcap": "unchanged",
        "zeek-icmp-5-pings.pcap": "unchanged"}
    after = pq.read_table(_file(dataset, http))
    assert after.drop_columns(["capture_mtime"]).equals(before.drop_columns(["capture_mtime"]))
    assert after["capture_mtime"][0].value == http.stat().st_mtime_ns // 1000
    footer = read_footer(_file(dataset, http))
    assert footer is not None and footer["capture"]["mtime_ns"] == http.stat().st_mtime_ns
    assert _status(build_index([tmp_path / "caps"], dataset))["zeek-http-get.pcap"] == (
        "unchanged")
    monkeypatch.undo()

    # changed: other bytes under the same name are indexed again
    shutil.copy(CAPTURES / "zeek-wikipedia-many-conns.pcap", http)
    outcomes = build_index([tmp_path / "caps"], dataset)
    assert _status(outcomes)["zeek-http-get.pcap"] == "indexed"
    table = pq.read_table(_file(dataset, http))
    assert table.num_rows == next(o.conversations for o in outcomes
                                  if o.capture == str(http.absolute())) > 1
    # a change of options re-indexes everything (stream splits depend on them)
    from engine import WIRESHARK

    assert set(_status(build_index([tmp_path / "caps"], dataset, WIRESHARK)).values()) == {
        "indexed"}


def test_a_broken_capture_is_reported_and_the_rest_indexed(tmp_path: Path) -> None:
    copy_captures(GOOD, tmp_path / "caps")
    broken = tmp_path / "caps" / "broken.pcap"
    good = (CAPTURES / "zeek-http-get.pcap").read_bytes()
    broken.write_bytes(good[:24] + b"\xff" * 40)  # a pcap header, then a hostile record
    bad_version = copy_captures(["libpcap-pcap-invalid-version-1.pcap"], tmp_path / "caps")[0]
    outcomes = build_index([tmp_path / "caps", tmp_path / "nowhere"], tmp_path / "ds")
    status = _status(outcomes)
    assert status["libpcap-pcap-invalid-version-1.pcap"] == "failed"
    assert status["nowhere"] == "failed"
    assert all(status[name] == "indexed" for name in GOOD)
    failed = {Path(o.capture).name: o.error for o in outcomes if o.failed}
    assert "version" in failed[bad_version.name] and "\n" not in failed[bad_version.name]
    assert "no such file or folder" in failed["nowhere"]
    # a capture whose records are damaged is indexed with what could be read (the engine's
    # rule: warnings, not errors), and the warning is in its footer
    assert status["broken.pcap"] == "indexed"
    footer = read_footer(_file(tmp_path / "ds", broken))
    assert footer is not None and "damaged" in footer["summary"]["warnings"][0]
    assert footer["summary"]["conversations"] == 0
    assert len(index_files(tmp_path / "ds")) == sum(s == "indexed" for s in status.values())


def test_a_capture_that_now_fails_loses_its_stale_file(tmp_path: Path) -> None:
    (capture,) = copy_captures(["zeek-http-get.pcap"], tmp_path / "caps")
    dataset = tmp_path / "ds"
    build_index([capture], dataset)
    assert _file(dataset, capture).exists()
    capture.write_bytes(b"this is not a capture any more")
    (outcome,) = build_index([capture], dataset)
    assert outcome.failed and not _file(dataset, capture).exists()


def test_a_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    captures = copy_captures(GOOD, tmp_path / "caps")

    def half_then_crash(table: object, where: object, **_kw: object) -> None:
        where.write(b"PAR1 half a parquet file")  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", half_then_crash)
    outcomes = build_index(captures, tmp_path / "ds")
    assert all(o.failed and "No space left on device" in o.error for o in outcomes)
    assert list((tmp_path / "ds").iterdir()) == [tmp_path / "ds" / ".flowscope-index.lock"]


KILLED_RUN = textwrap.dedent("""
    import os, signal, sys
    import pyarrow.parquet as pq
    from engine.index.runner import build_index

    real = pq.write_table
    written = []

    def write_then_die(table, where, **kw):
        if written:  # the second file: half of it, then the process is killed
            where.write(b"PAR1 half a parquet file")
            where.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        written.append(1)
        real(table, where, **kw)

    pq.write_table = write_then_die
    build_index(sys.argv[1:-1], sys.argv[-1])
""")


def test_a_killed_run_leaves_only_complete_files(tmp_path: Path) -> None:
    captures = copy_captures(GOOD, tmp_path / "caps")
    dataset = tmp_path / "ds"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", KILLED_RUN, *map(str, captures), str(dataset)],
                          cwd=root, capture_output=True, check=False)
    assert proc.returncode == -signal.SIGKILL
    complete = index_files(dataset)
    assert len(complete) == 1 and pq.read_table(complete[0]).num_rows == 1
    leftovers = [p for p in dataset.iterdir() if p.name.endswith(".part")]
    assert len(leftovers) == 1  # the half-written file, under a hidden temporary name
    from engine.index.query import run_query

    assert run_query(dataset, "SELECT count(*) FROM conversations").rows == [(1,)]
    # the next run sweeps the leftover and finishes the job
    status = _status(build_index(captures, dataset))
    assert sorted(status.values()) == ["indexed", "indexed", "unchanged"]
    assert not [p for p in dataset.iterdir() if p.name.endswith(".part")]
    assert len(index_files(dataset)) == 3


def test_folders_are_searched_by_content(tmp_path: Path) -> None:
    caps = tmp_path / "caps"
    copy_captures(["zeek-http-get.pcap"], caps / "a")
    ring = caps / "b" / "ring.pcap7"  # tcpdump -C names its files like this
    ring.parent.mkdir(parents=True)
    shutil.copy(CAPTURES / "zeek-dns53.pcap", ring)
    import gzip

    (caps / "b" / "old.pcapng.gz").write_bytes(
        gzip.compress((CAPTURES / "zeek-pcapng-multi-interface.pcapng").read_bytes()))
    (caps / "notes.txt").write_text("not a capture")
    (caps / ".hidden.pcap").write_bytes((CAPTURES / "zeek-http-get.pcap").read_bytes())
    result = plan([caps, caps / "a" / "zeek-http-get.pcap"], caps / "dataset")
    names = sorted(Path(t.capture).name for t in result.tasks)
    assert names == ["old.pcapng.gz", "ring.pcap7", "zeek-http-get.pcap"]


@pytest.fixture
def extra_column() -> Iterator[str]:
    """A column declared the way another module would (a list-valued JSON field)."""
    name = "test_words"

    def analysis(result: FlowResult) -> None:
        t = result.conversations
        words = np.array(["syn ack" if p == "tcp" else "" for p in t.protocol_names()])
        result.conversations.extra[name] = words

    declare_column(ColumnSpec(name, "Words", "text", "test column", ("tcp",),
                              to_json=lambda v: v.split()))
    register_analysis(analysis)
    yield name
    COLUMNS.pop(name)
    ANALYSES.remove(analysis)


def test_a_newly_declared_column_is_indexed_and_old_files_are_redone(
        tmp_path: Path, extra_column: str) -> None:
    (capture,) = copy_captures(["zeek-http-get.pcap"], tmp_path / "caps")
    dataset = tmp_path / "ds"
    build_index([capture], dataset)
    table = pq.read_table(_file(dataset, capture))
    assert table.schema.field(extra_column).type.extension_name == "arrow.json"
    assert table[extra_column].to_pylist() == ['["syn","ack"]']
    COLUMNS.pop(extra_column)  # a later version without the column: the schema changed
    try:
        (outcome,) = build_index([capture], dataset)
    finally:
        COLUMNS[extra_column] = ColumnSpec(extra_column, "Words", "text")
    assert outcome.status == "indexed"
    assert extra_column not in pq.read_table(_file(dataset, capture)).column_names


def test_a_file_with_a_foreign_footer_is_indexed_again(tmp_path: Path) -> None:
    (capture,) = copy_captures(["zeek-http-get.pcap"], tmp_path / "caps")
    dataset = tmp_path / "ds"
    dataset.mkdir()
    import pyarrow as pa

    table = pa.table({"x": [1]}).replace_schema_metadata({b"flowscope": b'{"capture": 3}'})
    pq.write_table(table, _file(dataset, capture))
    (task,) = plan([capture], dataset).tasks
    assert task.previous is None
    (outcome,) = build_index([capture], dataset)
    assert outcome.status == "indexed"
    assert pq.read_table(_file(dataset, capture)).num_rows == 1
    assert "protocol" in pq.read_table(_file(dataset, capture)).column_names
