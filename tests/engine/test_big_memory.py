"""What keeps a big capture's memory bounded changes no result: passes in batches of
conversations, the JSON written a block at a time, a store that spills from the start, pages let
go after a gather."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
import pytest

import engine.app.payload as payload
import engine.export.conversations as export
from engine import WIRESHARK, extract_flows_from_file
from engine.packet_store import PacketStore, take
from engine.packets import PacketTable
from tests.engine.bigger import bigger_capture

SMALL_CHUNKS = WIRESHARK.replace(chunk_bytes=1 << 16)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bigger_capture(tmp_path_factory.mktemp("big") / "big.pcap", copies=4)


def _json(path: Path, config: object) -> str:
    with extract_flows_from_file(path, config) as result:  # type: ignore[arg-type]
        out = io.StringIO()
        export.write_json(result, out)
        return out.getvalue()


def test_application_layer_in_batches_of_conversations(big: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The first payload packets found batch by batch through the packet lists are the ones a
    pass over every packet finds, so every application column is the same."""
    with extract_flows_from_file(big, SMALL_CHUNKS) as whole:
        monkeypatch.setattr(payload, "BATCH_PACKETS", 200)
        with extract_flows_from_file(big, SMALL_CHUNKS) as batched:
            assert len(whole.packets) > 2000  # many batches
            assert set(whole.conversations.extra) == set(batched.conversations.extra)
            for name, column in whole.conversations.extra.items():
                np.testing.assert_array_equal(batched.conversations.extra[name], column,
                                              err_msg=name)
            assert (whole.conversations.extra["service"] != "").any()


def test_json_written_block_by_block_is_one_document(big: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with extract_flows_from_file(big, SMALL_CHUNKS) as result:
        whole = json_document(result)
        monkeypatch.setattr(export, "WRITE_BLOCK", 7)
        out = io.StringIO()
        export.write_json(result, out)
        assert out.getvalue() == whole
        assert len(result.conversations) > 7 * 3


def json_document(result: object) -> str:
    """The document as the dict builder and the standard encoder make it (the reference)."""
    import json

    doc = export.to_json_document(result)  # type: ignore[arg-type]
    convs = doc.pop("conversations")
    head = json.dumps(doc, indent=1)
    encode = json.JSONEncoder(separators=(", ", ": ")).encode
    body = "\n  " + ",\n  ".join(map(encode, convs)) + "\n " if convs else ""
    return head[:-2] + ',\n "conversations": [' + body + "]\n}\n"


def test_a_store_told_of_a_big_capture_spills_from_the_start(tmp_path: Path) -> None:
    store = PacketStore(budget=2000, spill_dir=tmp_path)  # about 20 packets
    store.reserve(10)  # fits: stays in memory
    assert not store.spilled
    store.reserve(1000)  # would not fit: no copy in memory first
    assert store.spilled
    part = store.rows(5)
    part.ts_ns[:] = np.arange(5)
    store.commit(part)
    packets, _ = store.finish()
    np.testing.assert_array_equal(packets.ts_ns, np.arange(5))
    store.close()
    assert list(tmp_path.iterdir()) == []


def test_take_gathers_from_mapped_and_plain_columns(tmp_path: Path) -> None:
    store = PacketStore(budget=0, spill_dir=tmp_path)
    part = store.rows(100)
    part.seq[:] = np.arange(100, 200)
    store.commit(part)
    packets, _ = store.finish()
    assert isinstance(packets.seq, np.memmap)
    index = np.array([99, 0, 50])
    np.testing.assert_array_equal(take(packets.seq, index), [199, 100, 150])
    np.testing.assert_array_equal(take(packets.seq, index), [199, 100, 150])  # mapped again
    np.testing.assert_array_equal(take(PacketTable.empty(3).seq, np.array([2])), [0])
    store.close()


@pytest.mark.parametrize("budget_factor", [0.5, 2.0])
def test_the_capture_pages_are_let_go_only_above_the_packet_budget(
        big: Path, budget_factor: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """The application layer lets go of the capture's mapped pages as it reads only when the
    capture is bigger than the packet columns' memory budget (below it, the refaults cost an
    eighth of the analysis for nothing); the columns are the same either way."""
    size = big.stat().st_size
    config = SMALL_CHUNKS.replace(packet_budget=int(size * budget_factor))
    with extract_flows_from_file(big, config) as result:
        released: list[object] = []
        monkeypatch.setattr(payload, "release_pages",
                            lambda *arrays: released.extend(arrays))
        reader = payload.PayloadReader(result)
        assert reader.array is not None
        reader.release()
        assert any(a is reader.array for a in released) == (budget_factor < 1)
        assert any(a is reader.p for a in released)  # the packet columns: always
        with extract_flows_from_file(big, SMALL_CHUNKS.replace(packet_budget=None)) as kept:
            for name, column in kept.conversations.extra.items():
                np.testing.assert_array_equal(result.conversations.extra[name], column,
                                              err_msg=name)


def test_a_store_in_memory_holds_its_columns_in_one_zeroed_block() -> None:
    """One allocation for every column (big enough for the kernel's large pages); the columns
    are aligned, do not overlap, start zeroed (conv and payload_off at -1 once handed out) and
    survive growth beyond the first reservation."""
    from engine.packets import DTYPES, ROW_BYTES, PacketTableBuilder

    builder = PacketTableBuilder(1000)
    table = builder.append(10)
    bases = {id(getattr(table, name).base) for name in DTYPES}
    spans = sorted((getattr(table, name).__array_interface__["data"][0],
                    getattr(table, name).__array_interface__["data"][0] + 1000
                    * np.dtype(dtype).itemsize, name) for name, dtype in DTYPES.items())
    assert len(bases) == 1
    assert spans[-1][1] - spans[0][0] == 1000 * ROW_BYTES
    for (_, end, _), (start, _, name) in itertools.pairwise(spans):
        assert start >= end, name  # no overlap
    for name, dtype in DTYPES.items():
        column = getattr(table, name)
        assert column.dtype == dtype and column.ctypes.data % column.itemsize == 0, name
        expected = -1 if name in ("conv", "payload_off") else 0
        assert (column == expected).all(), name
        column[:] = 7
    more = builder.append(2000)  # beyond the reservation: the columns move, rows kept
    assert (more.ts_ns == 0).all() and (more.conv == -1).all()
    done = builder.finish()
    assert len(done) == 2010
    for name in DTYPES:
        assert (getattr(done, name)[:10] == 7).all(), name


def _mapped_kb(path: Path) -> int:
    """Resident kB of this process's mappings of ``path`` (Linux smaps)."""
    total, mine = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        if "-" in line.split(" ", 1)[0] and len(line.split()) >= 5:
            mine = line.endswith(str(path))
        elif mine and line.startswith("Rss:"):
            total += int(line.split()[1])
    return total


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="needs Linux smaps")
def test_letting_go_of_a_read_stretch_lets_go_of_the_folio_around_it(tmp_path: Path) -> None:
    """A read through a map maps more than the bytes read (the page-cache folio or the
    kernel's fault-around window); letting go of the stretch read leaves none of it mapped."""
    from engine.heap import FOLIO_SPAN, folio_window
    from engine.packet_store import release_range

    path = tmp_path / "capture.bin"
    path.write_bytes(bytes(range(256)) * (32 << 12))  # 8 MB, in the page cache
    data = np.memmap(path, dtype=np.uint8, mode="r")
    for at in (3 << 20, (5 << 20) + 12345):
        assert int(data[at : at + 40].sum()) > 0
        assert _mapped_kb(path) > 0
        release_range(data, at, at + 40)
        assert _mapped_kb(path) == 0
    # the pages let go of: the whole folio-sized stretches around the bytes read (a kernel
    # that maps a smaller folio with page entries keeps the rest mapped otherwise: a pass
    # over a 20M-packet capture's TCP options kept 334 MB of it resident)
    assert folio_window((5 << 20) + 12345, (5 << 20) + 12385, 8 << 20) == (4 << 20, 6 << 20)
    assert folio_window(FOLIO_SPAN - 1, FOLIO_SPAN + 1, 8 << 20) == (0, 2 * FOLIO_SPAN)
    assert folio_window(7 << 20, (7 << 20) + 10, (7 << 20) + 100) == (6 << 20, (7 << 20) + 100)
