"""Several files read as one capture equal the mergecap of the same files.

Each case splits records (of a real capture, or generated) into files, writes the merge that
mergecap's rule gives as one file (tests/engine/merging.py computes it, the engine's writer
writes it), and compares everything a user sees: the packets in order, their bytes, the
conversations with their stream numbers, Follow in every format and the exported pcap of every
conversation.
"""

from __future__ import annotations

import gzip
import io
import os
import random
from pathlib import Path

import numpy as np
import pytest

from engine import (
    WIRESHARK,
    FlowConfig,
    FlowResult,
    InvalidCaptureError,
    LoadCancelled,
    extract_flows_from_file,
    extract_flows_from_files,
)
from engine.capture import open_captures
from engine.capture.merged import MergedReader
from engine.export.conversations import to_json_document
from engine.export.follow import write_follow
from engine.export.packets import export_conversation
from engine.follow import conversation_stream
from engine.follow.conversation import has_stream

from .merging import Record, mergecap, records_of, split, traffic, write, write_set

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "captures"
#: small chunks, so even small files are read in many chunks and merged across their edges
SMALL = WIRESHARK.replace(chunk_bytes=1 << 16)


def _same_analysis(got: FlowResult, want: FlowResult, tmp: Path) -> None:
    """Everything a user sees of the two results is the same."""
    a, b = got.packets, want.packets
    for name in ("ts_ns", "caplen", "origlen", "linktype", "conv", "kind"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert all(got.packet_bytes(i) == want.packet_bytes(i) for i in range(len(a)))
    doc, ref = to_json_document(got), to_json_document(want)
    assert doc["conversations"] == ref["conversations"]
    assert doc["unassigned"] == ref["unassigned"]
    assert doc["capture"]["packets"] == ref["capture"]["packets"]
    assert doc["capture"]["link_types"] == ref["capture"]["link_types"]
    assert (doc["capture"]["first_ns"], doc["capture"]["last_ns"]) == (
        ref["capture"]["first_ns"], ref["capture"]["last_ns"])
    for conv in range(len(got)):
        if has_stream(got, conv):
            for fmt in ("raw", "yaml"):
                with conversation_stream(got, conv) as s1, conversation_stream(want, conv) as s2:
                    out1, out2 = io.BytesIO(), io.BytesIO()
                    write_follow(s1, out1, fmt)
                    write_follow(s2, out2, fmt)
                    assert out1.getvalue() == out2.getvalue(), (conv, fmt)
        export_conversation(got, conv, tmp / "got.pcap")
        export_conversation(want, conv, tmp / "want.pcap")
        assert (tmp / "got.pcap").read_bytes() == (tmp / "want.pcap").read_bytes(), conv


def _check_set(tmp: Path, files: list[list[Record]], config: FlowConfig = SMALL,
               fmts: list[str] | None = None) -> FlowResult:
    paths = write_set(tmp / "set", files, fmts=fmts)
    merged = write(tmp / "merged.pcapng", mergecap(files), "pcapng")
    got = extract_flows_from_files(paths, config)
    with extract_flows_from_file(merged, config) as want:
        _same_analysis(got, want, tmp)
    return got


REAL = ["zeek-wikipedia-many-conns.pcap", "zeek-nmap-vsn-many-conns.pcap",
        "zeek-tcp-reassembly.pcap", "zeek-ipv4-fragmented-1.pcap",
        "zeek-icmp-destunreach-udp.pcap", "tcpdump-tcp-handshake-nano-sll.pcap",
        "zeek-tcp-retransmit-fast009.pcap", "zeek-ftp-ipv6.pcap"]


@pytest.mark.parametrize("name", REAL)
@pytest.mark.parametrize("how", ["ring", "alternate", "random"])
def test_real_capture_split_and_read_as_one(tmp_path: Path, name: str, how: str) -> None:
    records = records_of(CAPTURES / name)
    with _check_set(tmp_path, split(records, how, 3), SMALL) as got:
        assert got.capture.files == sorted((tmp_path / "set").iterdir())
        assert got.capture.path is None
        assert got.capture.packets == len(records)


def test_files_of_different_link_types_mix_as_in_a_pcapng(tmp_path: Path) -> None:
    """Ethernet, Linux cooked capture, raw IP and a two-interface pcapng in one set."""
    records = (records_of(CAPTURES / "zeek-http-get.pcap")
               + records_of(CAPTURES / "tcpdump-tcp-handshake-nano-sll.pcap")
               + records_of(CAPTURES / "zeek-tcp-payload-syn-rawip.pcap")
               + records_of(CAPTURES / "zeek-pcapng-multi-interface.pcapng"))
    files = split(records, "linktype", 0)
    assert len(files) >= 3
    files.append(records_of(CAPTURES / "zeek-ldap-modify-request-mixed-linktypes.pcapng"))
    with _check_set(tmp_path, files) as got:
        kinds = {r.linktype for r in records} | {
            r.linktype for r in files[-1]}
        assert set(got.capture.link_types) == kinds
        assert len(got.capture.interfaces) >= len(kinds)


@pytest.mark.parametrize("seed", range(6))
def test_generated_sets_with_disorder_and_equal_times(tmp_path: Path, seed: int) -> None:
    """Times that go back inside a file and equal times across files: the order is still
    mergecap's (a record earlier than one before it in its file waits behind that one; on equal
    times the later file goes first)."""
    rng = random.Random(seed)
    records = traffic(rng, conversations=40, packets=3000, step_ns=3, jitter=4)
    parts = split(records, rng.choice(["alternate", "random", "ring"]), rng.randrange(2, 6),
                  seed)
    _check_set(tmp_path, parts, fmts=["pcap", "pcapng"]).close()


def test_a_ring_buffer_is_concatenated_without_copies(tmp_path: Path) -> None:
    records = traffic(random.Random(1), conversations=30, packets=6000)
    paths = write_set(tmp_path, split(records, "ring", 5))
    reader = open_captures(paths, SMALL)
    assert isinstance(reader, MergedReader)
    count = 0
    for chunk in reader.chunks():
        count += len(chunk)
        chunk.done()
    assert count == len(records)
    assert reader.merged_records == 0 and reader.passed_chunks >= 5


def test_overlapping_files_are_merged_record_by_record(tmp_path: Path) -> None:
    records = traffic(random.Random(2), conversations=30, packets=6000)
    paths = write_set(tmp_path, split(records, "alternate", 2))
    reader = open_captures(paths, SMALL)
    assert isinstance(reader, MergedReader)
    ts = np.concatenate([c.ts_ns.copy() for c in reader.chunks()])
    assert np.array_equal(ts, [r.ts_ns for r in records])
    assert reader.merged_records > len(records) * 0.9


def test_every_packet_knows_its_file(tmp_path: Path) -> None:
    records = traffic(random.Random(3), conversations=20, packets=4000)
    files = split(records, "random", 4)
    paths = write_set(tmp_path, files)
    owner = {id(r): k for k, part in enumerate(files) for r in part}
    with extract_flows_from_files(paths, SMALL) as result:
        want = [owner[id(r)] for r in mergecap(files)]
        assert result.packet_files().tolist() == want
        assert result.packet_files(np.array([5, 0])).tolist() == [want[5], want[0]]


def test_a_damaged_file_warns_by_name_and_the_rest_is_read(tmp_path: Path) -> None:
    records = traffic(random.Random(4), conversations=20, packets=3000)
    files = split(records, "alternate", 3)
    paths = write_set(tmp_path / "set", files)
    data = paths[1].read_bytes()
    paths[1].write_bytes(data[: len(data) * 2 // 3])  # cut in the middle of a record
    # scapy hands out the cut record too, shortened: only the complete ones count
    kept = [r for r, whole in zip(records_of(paths[1]), files[1], strict=False) if r == whole]
    assert 0 < len(kept) < len(files[1])
    files[1] = kept
    merged = write(tmp_path / "merged.pcap", mergecap(files))
    with extract_flows_from_files(paths, SMALL) as got, \
            extract_flows_from_file(merged, SMALL) as want:
        _same_analysis(got, want, tmp_path)
        (warning,) = got.capture.warnings
        assert warning.startswith(f"{paths[1].name} is cut short in the middle of packet "
                                  f"{len(kept) + 1}")


def test_a_file_that_is_no_capture_is_left_out(tmp_path: Path) -> None:
    records = traffic(random.Random(5), conversations=10, packets=500)
    paths = write_set(tmp_path, split(records, "ring", 2))
    notes = tmp_path / "notes.pcap"
    notes.write_text("not a capture at all\n")
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    with extract_flows_from_files([paths[0], notes, empty, paths[1]], SMALL) as result:
        assert result.capture.packets == len(records)
        assert result.capture.files == [paths[0], notes, empty, paths[1]]
        first, second = result.capture.warnings
        assert first.startswith("notes.pcap is not a pcap or pcapng capture")
        assert first.endswith("It was left out; the other files were read.")
        assert second.startswith("empty.pcap is too short to be a capture file")


def test_no_readable_file_is_an_error(tmp_path: Path) -> None:
    bad = [tmp_path / "a.pcap", tmp_path / "b.pcap"]
    for path in bad:
        path.write_text("hello")
    with pytest.raises(InvalidCaptureError, match="None of the 2 files could be read"):
        extract_flows_from_files(bad)


def test_a_file_named_twice_is_read_once(tmp_path: Path) -> None:
    records = traffic(random.Random(6), conversations=5, packets=200)
    paths = write_set(tmp_path, split(records, "ring", 2))
    with extract_flows_from_files([paths[0], paths[1], paths[0]], SMALL) as result:
        assert result.capture.packets == len(records)
        assert result.capture.warnings == [
            f"{paths[0].name} was named more than once; it was read once."]


def test_header_only_file_in_a_set_adds_its_interface(tmp_path: Path) -> None:
    records = traffic(random.Random(7), conversations=5, packets=200)
    paths = write_set(tmp_path, [records])
    raw = write(tmp_path / "raw.pcap", [Record(0, 101, b"", 0)][:0], "pcap")
    with extract_flows_from_files([paths[0], raw], SMALL) as result:
        assert result.capture.packets == len(records)
        assert result.capture.warnings == []


def test_a_gzip_file_in_the_set_and_its_copy_removed(tmp_path: Path) -> None:
    records = traffic(random.Random(8), conversations=15, packets=2000)
    files = split(records, "alternate", 2)
    paths = write_set(tmp_path / "set", files)
    gz = paths[0].with_name(paths[0].name + ".gz")
    gz.write_bytes(gzip.compress(paths[0].read_bytes()))
    paths[0].unlink()
    spill = tmp_path / "spill"
    spill.mkdir()
    config = SMALL.replace(spill_dir=spill)
    merged = write(tmp_path / "merged.pcap", mergecap(files))
    with extract_flows_from_files([gz, paths[1]], config) as got, \
            extract_flows_from_file(merged, config) as want:
        assert got.capture.format == "pcap-ns.gz+pcap-ns"
        _same_analysis(got, want, tmp_path)
        assert len(list(spill.iterdir())) == 1  # the decompressed copy, read back by offset
    assert list(spill.iterdir()) == []


def test_cancel_at_any_point_leaves_nothing(tmp_path: Path) -> None:
    """Cancelled at its first, second, … look at the cancel callback (while probing, opening a
    file, reading or merging): LoadCancelled names the set, and no decompressed copy or open file
    is left behind."""
    records = traffic(random.Random(9), conversations=15, packets=3000)
    files = split(records, "alternate", 3)
    paths = write_set(tmp_path / "set", files)
    gz = paths[0].with_name(paths[0].name + ".gz")
    gz.write_bytes(gzip.compress(paths[0].read_bytes()))
    spill = tmp_path / "spill"
    spill.mkdir()
    config = SMALL.replace(spill_dir=spill)
    fds = len(os.listdir("/proc/self/fd"))
    for stop_at in range(1, 500):
        calls = 0

        def cancel() -> bool:
            nonlocal calls
            calls += 1
            return calls >= stop_at  # noqa: B023 (read while this loop turn runs)

        try:
            with extract_flows_from_files([gz, paths[1], paths[2]], config, cancel=cancel):
                break  # finished before the callback said stop
        except LoadCancelled as exc:
            assert str(exc).startswith("Loading 3 files: ")
        assert list(spill.iterdir()) == [], stop_at
        assert len(os.listdir("/proc/self/fd")) == fds, stop_at
    else:
        pytest.fail("the load never finished")
    assert stop_at > 5  # it was cancelled in several places before


def test_a_folder_is_its_captures_in_natural_order(tmp_path: Path) -> None:
    records = traffic(random.Random(10), conversations=10, packets=1200)
    files = split(records, "ring", 11)
    folder = tmp_path / "ring"
    folder.mkdir()
    for k, part in enumerate(files):
        write(folder / f"trace.pcap{k}", part)
    (folder / "README").write_text("a ring buffer\n")
    (folder / ".hidden.pcap").write_bytes((folder / "trace.pcap0").read_bytes())
    (folder / "sub").mkdir()
    with extract_flows_from_file(folder, SMALL) as result:
        assert [p.name for p in result.capture.files] == [f"trace.pcap{k}" for k in range(11)]
        assert result.capture.packets == len(records)
        assert result.capture.title == "11 files: trace.pcap0 … trace.pcap10"


def test_an_empty_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("nothing here")
    with pytest.raises(InvalidCaptureError, match="is a folder with no pcap or pcapng file"):
        extract_flows_from_file(tmp_path)


def test_a_long_ring_buffer_keeps_few_files_open(tmp_path: Path) -> None:
    records = traffic(random.Random(11), conversations=10, packets=3000)
    paths = write_set(tmp_path, split(records, "ring", 40))
    before = len(os.listdir("/proc/self/fd"))
    most = []

    def progress(_done: int, _total: int, _packets: int) -> None:
        most.append(len(os.listdir("/proc/self/fd")))

    with extract_flows_from_files(paths, SMALL, progress=progress) as result:
        assert result.capture.packets == len(records)
        assert max(most) <= before + 4
        # bytes of the first and last file read back through the same source
        first, last = result.packets_of(0)[0], len(result.packets) - 1
        assert result.packet_bytes(int(first)) and result.packet_bytes(int(last))


def test_times_going_back_across_chunk_edges(tmp_path: Path) -> None:
    """Every third record of one file is a microsecond late (stamped earlier than the records
    before it), so many of its chunks start earlier than the latest time before them; mergecap
    reads record by record and knows no chunks, and the merge gives its order."""
    records = traffic(random.Random(12), conversations=20, packets=6000, step_ns=10)
    first = [Record(r.ts_ns - (1000 if k % 3 == 0 else 0), r.linktype, r.data, r.origlen)
             for k, r in enumerate(records[::2])]
    _check_set(tmp_path, [first, records[1::2]]).close()
