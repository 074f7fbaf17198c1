"""The same dataset from this process, a local process pool and a Dask LocalCluster."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from engine.index.dataset import index_files, read_footer
from engine.index.runner import build_index
from tests.conftest import CAPTURES


def _dataset(folder: Path) -> dict[str, tuple[object, object]]:
    """Each file's table and footer, by file name."""
    return {p.name: (pq.read_table(p), read_footer(p)) for p in index_files(folder)}


def _same(a: dict[str, tuple[object, object]], b: dict[str, tuple[object, object]]) -> None:
    assert a.keys() == b.keys() and len(a) > 30
    for name, (table, footer) in a.items():
        other_table, other_footer = b[name]
        assert table.equals(other_table), name  # type: ignore[attr-defined]
        assert footer == other_footer, name


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[object, object]]:
    folder = tmp_path_factory.mktemp("in-process")
    build_index([CAPTURES], folder)
    return _dataset(folder)


def test_a_process_pool_gives_the_same_dataset(tmp_path: Path, in_process: dict) -> None:
    outcomes = build_index([CAPTURES], tmp_path, workers=2)
    assert sum(o.failed for o in outcomes) == 1  # the pcap of an unsupported version
    _same(in_process, _dataset(tmp_path))


def test_a_dask_cluster_gives_the_same_dataset(tmp_path: Path, in_process: dict) -> None:
    distributed = pytest.importorskip("distributed")
    before = set(threading.enumerate())
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None,
                                  local_directory=str(tmp_path / "dask")) as cluster:
        outcomes = build_index([CAPTURES], tmp_path / "ds", dask=cluster.scheduler_address)
        # a Client given instead of an address is used as is (and left open)
        with distributed.Client(cluster, set_as_default=False) as client:
            again = build_index([CAPTURES], tmp_path / "ds", dask=client)
            assert client.status == "running"
    failed = [o for o in outcomes if o.failed]
    assert len(failed) == 1 and "version" in failed[0].error
    assert {o.status for o in again} == {"unchanged", "failed"}
    _same(in_process, _dataset(tmp_path / "ds"))
    # distributed keeps one process-wide offload thread for its own use; nothing else is left
    left = [t for t in set(threading.enumerate()) - before if t.is_alive()
            and not t.name.startswith("Dask-Offload")]
    assert left == []
