"""IndexBrowser: the unsorted order read straight from the files, sorted and filtered
arrangements, files from an older Flowscope that lack a column."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from engine.index import DatasetError
from engine.index.browse import IndexBrowser
from engine.index.dataset import index_files
from engine.index.runner import build_index
from tests.conftest import CAPTURES

NAMES = ["zeek-wikipedia-many-conns.pcap", "zeek-nmap-vsn-many-conns.pcap",
         "zeek-http-get.pcap", "zeek-dns53.pcap", "zeek-icmp-5-pings.pcap"]
COLUMNS = ["protocol", "a_address", "bytes", "conn_state"]


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    build_index([CAPTURES / name for name in NAMES], tmp_path)
    return tmp_path


def _file_rows(dataset: Path, columns: list[str]) -> list[tuple[object, ...]]:
    """Every file's rows in file order, files by name: the unsorted order."""
    rows: list[tuple[object, ...]] = []
    for path in index_files(dataset):
        table = pq.read_table(path)
        data = {c: table[c].to_pylist() if c in table.column_names else [None] * len(table)
                for c in columns}
        rows += list(zip(*(data[c] for c in columns), strict=True))
    return rows


def test_the_unsorted_order_pages_straight_from_the_files(dataset: Path) -> None:
    browser = IndexBrowser(dataset)
    try:
        arrangement = browser.arrange(COLUMNS)
        assert arrangement.table == ""  # nothing built
        expected = _file_rows(dataset, list(arrangement.columns))
        assert arrangement.rows == len(expected) > 50
        for size in (1, 7, 1000):  # pages crossing file boundaries, and one page of all
            got = []
            for start in range(0, arrangement.rows, size):
                got += browser.fetch(arrangement, start, size)
            assert got == expected
        assert browser.fetch(arrangement, arrangement.rows, 10) == []
    finally:
        browser.close()


def test_sorted_and_filtered_arrangements(dataset: Path) -> None:
    browser = IndexBrowser(dataset)
    try:
        rows = _file_rows(dataset, ["capture_path", "id", "protocol", "bytes"])
        by_bytes = browser.arrange(COLUMNS, "bytes", True)
        expected = sorted(rows, key=lambda r: (-r[3], r[0], r[1]))
        got = browser.fetch(by_bytes, 0, by_bytes.rows)
        position = by_bytes.columns.index
        assert [(r[position("capture_path")], r[position("id")]) for r in got] == [
            (r[0], r[1]) for r in expected]
        udp = browser.arrange(COLUMNS, None, False, "protocol = 'udp'")
        assert udp.rows == sum(r[2] == "udp" for r in rows) > 0
        assert {r[position("protocol")] for r in browser.fetch(udp, 0, udp.rows)} == {"udp"}
        browser.drop(udp)
        with pytest.raises(DatasetError, match="has no column"):
            browser.arrange(["nosuch"])
        with pytest.raises(DatasetError, match="could not be arranged"):
            browser.arrange(COLUMNS, None, False, "nosuch = 1")
    finally:
        browser.close()
    with pytest.raises(DatasetError, match="closed"):
        browser.fetch(by_bytes, 0, 10)


def test_a_file_without_a_newer_column_reads_as_null(dataset: Path) -> None:
    old = index_files(dataset)[0]
    pq.write_table(pq.read_table(old).drop_columns(["conn_state"]), old)
    browser = IndexBrowser(dataset)
    try:
        arrangement = browser.arrange(COLUMNS)
        got = browser.fetch(arrangement, 0, arrangement.rows)
        assert got == _file_rows(dataset, list(arrangement.columns))
        k = arrangement.columns.index("conn_state")
        first_file = pq.read_metadata(old).num_rows
        assert all(row[k] is None for row in got[:first_file])
        assert any(row[k] is not None for row in got[first_file:])
        sorted_ = browser.arrange(COLUMNS, "conn_state")
        assert sorted_.rows == arrangement.rows
    finally:
        browser.close()
