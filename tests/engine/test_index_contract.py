"""The index holds exactly the JSON contract: every capture, every row, every column.

Every capture of tests/data/captures (the copies of ../shared/captures) and
../shared/captures-app is indexed once; each file is read back with pyarrow and the whole
dataset with DuckDB, and each conversation must equal ``conversation_records`` of the same
capture — the function behind ``flowscope-cli conversations --format json``.
"""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from engine import FlowConfig, FlowError, analyse_file
from engine.columns import COLUMNS
from engine.export.conversations import conversation_records
from engine.index.dataset import index_files, parquet_name, read_footer
from engine.index.query import connect
from engine.index.runner import build_index
from engine.index.schema import CONTRACT_COLUMNS, IndexColumn, index_columns
from tests.conftest import CAPTURE_FILES
from tests.engine.index_helpers import (
    app_capture_files,
    expected_value,
    record_paths,
    stored_value,
)

#: the bundled samples: a browsing session and Z-Wave radio traffic (its columns and groups)
SAMPLES = sorted((Path(__file__).resolve().parents[2] / "resources").glob("*.pcap*"))


def _expected(path: Path) -> list[dict[str, Any]] | None:
    """The JSON records of a capture (None when the engine cannot read it)."""
    try:
        with analyse_file(path, FlowConfig()) as result:
            return conversation_records(result)
    except FlowError:
        return None


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], list[Any]]:
    captures = [*CAPTURE_FILES, *app_capture_files(), *SAMPLES]
    dataset = tmp_path_factory.mktemp("dataset")
    outcomes = build_index(captures, dataset)
    return dataset, captures, outcomes


def _us(moment: datetime.datetime) -> int:
    """Microseconds since the epoch, exactly (no float)."""
    return (moment - EPOCH) // datetime.timedelta(microseconds=1)


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _check_rows(rows: list[dict[str, Any]], records: list[dict[str, Any]],
                columns: list[IndexColumn], where: str) -> None:
    assert len(rows) == len(records), where
    placed = {c.path for c in columns if c.path}
    for row, record in zip(rows, records, strict=True):
        # every field of the record has a column; every column holds the record's value
        assert record_paths(record) <= placed, (where, record_paths(record) - placed)
        for column in columns:
            if column.path:
                got = stored_value(row[column.name], column)
                assert got == expected_value(record, column.path), (where, record["id"],
                                                                     column.name)


def test_every_capture_round_trips_through_pyarrow(indexed: Any) -> None:
    dataset, captures, outcomes = indexed
    columns = index_columns()
    by_capture = {o.capture: o for o in outcomes}
    checked = 0
    protocols: set[str] = set()
    for capture in captures:
        outcome = by_capture[str(capture.absolute())]
        records = _expected(capture)
        if records is None:  # unreadable: reported, no file
            assert outcome.status == "failed" and outcome.error
            assert not (dataset / parquet_name(str(capture.absolute()))).exists()
            continue
        assert outcome.status == "indexed", outcome.error
        assert outcome.conversations == len(records)
        table = pq.read_table(dataset / parquet_name(str(capture.absolute())))
        assert table.column_names == [c.name for c in columns]
        rows = table.to_pylist()
        _check_rows(rows, records, columns, capture.name)
        data = capture.read_bytes()
        for row in rows:
            assert row["capture_path"] == str(capture.absolute())
            assert row["capture_size"] == len(data)
            assert row["capture_sha256"] == hashlib.sha256(data).hexdigest()
            assert _us(row["capture_mtime"]) == capture.stat().st_mtime_ns // 1000
            assert _us(row["start_time"]) == row["start_ns"] // 1000
            assert _us(row["end_time"]) == row["end_ns"] // 1000
        checked += len(rows)
        protocols.update(row["protocol"] for row in rows)
    assert checked > 500
    assert {"tcp", "udp", "icmp", "icmpv6", "zwave"} <= protocols


def test_every_capture_round_trips_through_duckdb(indexed: Any) -> None:
    dataset, captures, _ = indexed
    columns = [c for c in index_columns() if c.path]
    con = connect(dataset)
    try:
        for capture in captures:
            records = _expected(capture)
            if records is None:
                continue
            cur = con.execute("SELECT * FROM conversations WHERE capture_path = ? ORDER BY id",
                              [str(capture.absolute())])
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
            _check_rows(rows, records, columns, capture.name)
        (bad,) = con.execute("SELECT count(*) FROM conversations WHERE epoch_us(start_time) "
                             "!= start_ns // 1000 OR epoch_us(end_time) != end_ns // 1000"
                             ).fetchone()
        assert bad == 0
    finally:
        con.close()


def test_the_footer_says_what_was_indexed(indexed: Any) -> None:
    dataset, _, outcomes = indexed
    files = index_files(dataset)
    assert len(files) == sum(o.status == "indexed" for o in outcomes)
    for path in files:
        footer = read_footer(path)
        assert footer is not None
        capture = Path(footer["capture"]["path"])
        assert path.name == parquet_name(str(capture))
        assert footer["summary"]["conversations"] == pq.read_metadata(path).num_rows
        assert footer["options"] == {"udp_timeout": 120.0, "icmp_timeout": 120.0,
                                     "tcp_timeout": 3600.0}


def test_schema_comes_from_the_registry_and_the_contract() -> None:
    columns = {c.name: c for c in index_columns()}
    for spec in COLUMNS.values():
        if spec.core:
            continue
        name = spec.key.replace(".", "_")
        assert name in columns, name
    assert columns["partial"].kind == "bool"  # to_json=bool
    assert columns["home_id"].kind == "text"  # to_json formats the hex digits
    assert columns["command_classes"].kind == "json"  # to_json gives {name: count}
    assert columns["rssi_mean"].kind == "float"  # json_key="rssi.mean"
    assert columns["retransmissions"].kind == "int"
    assert [c.name for c in CONTRACT_COLUMNS][:7] == [
        "id", "protocol", "stream", "a_address", "a_port", "b_address", "b_port"]
    assert columns["start_time"].kind == columns["capture_mtime"].kind == "time"
