"""The captures built for issue 10 (tests/data/built) and tshark 4.0.17's answers for them.

make_oracle.py derives each tcp/udp conversation from the per-frame ``tcp.stream`` /
``udp.stream`` fields and cross-checks it with tshark's own conversation table
(``conv_table_mismatch`` lists the differences). Frames tshark numbers but leaves out of its
table (TCP headers it rejects after finding their stream) make the two differ; :func:`table`
takes them out of the derived conversations and checks that what remains is exactly tshark's
table, so a test compares Flowscope with the table and the stream numbers at once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine import WIRESHARK, extract_flows_from_file
from engine.config import FlowConfig

BUILT = Path(__file__).parent.parent / "data" / "built"


def path(name: str) -> Path:
    return BUILT / name


def oracle(name: str) -> dict[str, Any]:
    return json.loads((BUILT / "oracle" / f"{name}.json").read_text())


def _endpoints(a: list, b: list) -> frozenset:
    return frozenset((tuple(a), tuple(b)))


def table(name: str, uncounted: frozenset[int] = frozenset()) -> dict[tuple[str, int], dict]:
    """tshark's conversation table of capture ``name`` by (protocol, stream): the derived
    conversations without the ``uncounted`` frames (1-based), conversations left with no
    frame dropped. Asserts that this is what tshark's own table lists, row for row."""
    doc = oracle(name)
    out: dict[tuple[str, int], dict] = {}
    for proto in ("tcp", "udp"):
        for conv in doc[proto]:
            frames = [f for f in conv["frame_numbers"] if f not in uncounted]
            if frames:
                out[(proto, conv["stream"])] = {**conv, "frame_numbers": frames}
    _check_against_tshark_table(doc, out, uncounted)
    return out


def _check_against_tshark_table(doc: dict, derived: dict[tuple[str, int], dict],
                                uncounted: frozenset[int]) -> None:
    """The rows of tshark's table are the derived conversations it matched plus the rows it
    listed as unmatched; each must be one of ours with the same frame counts each way."""
    problems = doc.get("conv_table_mismatch", [])
    unmatched = {(p["protocol"], p["stream"]) for p in problems
                 if p["kind"] == "stream_not_in_table"}
    rows = []
    for proto in ("tcp", "udp"):
        for conv in doc[proto]:
            if (proto, conv["stream"]) not in unmatched:
                rows.append((proto, _endpoints([conv["a"]["address"], conv["a"]["port"]],
                                               [conv["b"]["address"], conv["b"]["port"]]),
                             conv["packets_a_to_b"] + conv["packets_b_to_a"]))
    for p in problems:
        if p["kind"] == "table_row_unmatched":
            row = p["row"]
            rows.append((p["protocol"], _endpoints(row["a"], row["b"]), row["frames_total"]))
        else:
            assert p["kind"] == "stream_not_in_table", p
    ours = []
    for (proto, _), conv in derived.items():
        ours.append((proto, _endpoints([conv["a"]["address"], conv["a"]["port"]],
                                       [conv["b"]["address"], conv["b"]["port"]]),
                     len(conv["frame_numbers"])))
    assert sorted(ours, key=repr) == sorted(rows, key=repr), (
        f"frames {sorted(uncounted)} left out do not give tshark's table")
    counts = doc["conv_table_counts"]
    assert sum(1 for proto, _ in derived if proto == "tcp") == counts["tcp"]
    assert sum(1 for proto, _ in derived if proto == "udp") == counts["udp"]


def ours(name: str, config: FlowConfig = WIRESHARK) -> dict[tuple[str, int], dict]:
    """Flowscope's TCP and UDP conversations of capture ``name`` by (protocol, stream)."""
    with extract_flows_from_file(BUILT / name, config) as result:
        out = {}
        for conv in result:
            if conv.protocol not in ("tcp", "udp"):
                continue
            key = (conv.protocol, conv.stream)
            assert key not in out, f"two conversations with {key}"
            out[key] = {
                "a": {"address": conv.a[0], "port": conv.a[1]},
                "b": {"address": conv.b[0], "port": conv.b[1]},
                "packets_a_to_b": conv.packets_ab, "bytes_a_to_b": conv.bytes_ab,
                "packets_b_to_a": conv.packets_ba, "bytes_b_to_a": conv.bytes_ba,
                "start_ns": conv.start_ns, "end_ns": conv.end_ns,
                "frame_numbers": (conv.packet_indices + 1).tolist(),
            }
        return out


FIELDS = ("a", "b", "frame_numbers", "start_ns", "end_ns", "packets_a_to_b", "bytes_a_to_b",
          "packets_b_to_a", "bytes_b_to_a")


def assert_table_equal(name: str, uncounted: frozenset[int] = frozenset()) -> None:
    """Every TCP/UDP conversation of ``name`` equals tshark's: stream numbers and the frames
    counted; endpoints, times, packets and bytes each way too where no frame was left out (the
    derived figures include the left-out frames, tshark's table does not)."""
    theirs = table(name, uncounted)
    mine = ours(name)
    assert sorted(mine) == sorted(theirs)
    for key, conv in theirs.items():
        touched = bool(uncounted & set(oracle_frames(name, key)))
        for field in ("frame_numbers",) if touched else FIELDS:
            assert mine[key][field] == conv[field], (key, field)
        ends = [(c["a"]["address"], c["a"]["port"], c["b"]["address"], c["b"]["port"])
                for c in (mine[key], conv)]
        assert {ends[0][:2], ends[0][2:]} == {ends[1][:2], ends[1][2:]}, key


def oracle_frames(name: str, key: tuple[str, int]) -> list[int]:
    proto, stream = key
    for conv in oracle(name)[proto]:
        if conv["stream"] == stream:
            return list(conv["frame_numbers"])
    return []


def levels(name: str) -> dict[str, Any]:
    """tshark's answers for every TCP/UDP layer of each frame (make_level_oracle.py)."""
    return json.loads((BUILT / "oracle" / f"{name}.levels.json").read_text())


def tshark_streams(name: str) -> dict[tuple[str, int], list[int]]:
    """(protocol, stream) → the frames tshark gives that stream number, all layers."""
    out: dict[tuple[str, int], list[int]] = {}
    for frame in levels(name)["frames"]:
        for layer in frame["layers"]:
            out.setdefault((layer["protocol"], layer["stream"]), []).append(frame["frame"])
    return out


def assert_levels_equal(name: str) -> None:
    """Both levels (conversations in the open and inside tunnels) as tshark has them: the same
    stream numbers for the same frames, and tshark's own table row for row (endpoints, frames
    and bytes each way, A being the sender of the first frame)."""
    theirs = tshark_streams(name)
    with extract_flows_from_file(BUILT / name, WIRESHARK) as result:
        mine: dict[tuple[str, int], list[int]] = {}
        rows = []
        for conv in result:
            if conv.protocol not in ("tcp", "udp"):
                continue
            mine[(conv.protocol, conv.stream)] = (conv.packet_indices + 1).tolist()
            rows.append({"protocol": conv.protocol, "a": list(conv.a), "b": list(conv.b),
                         "frames_a_to_b": conv.packets_ab, "bytes_a_to_b": conv.bytes_ab,
                         "frames_b_to_a": conv.packets_ba, "bytes_b_to_a": conv.bytes_ba})
    assert mine == theirs
    table = levels(name)["table"]
    assert len(rows) == len(table)
    for row in table:
        match = [r for r in rows if r["protocol"] == row["protocol"] and r["a"] == row["a"]
                 and r["b"] == row["b"]]
        assert len(match) == 1, row
        for field in ("frames_a_to_b", "frames_b_to_a", "bytes_a_to_b", "bytes_b_to_a"):
            if row[field] is not None:
                assert match[0][field] == row[field], (row, field)


def assert_follow_equal(name: str) -> int:
    """Every TCP stream follows as tshark follows it (all levels); returns how many."""
    from engine.follow import find_tcp_stream, reassemble

    follow = levels(name)["follow"]
    with extract_flows_from_file(BUILT / name, WIRESHARK) as result:
        for stream, theirs in follow.items():
            with reassemble(result, find_tcp_stream(result, int(stream))) as ours:
                node0 = tuple(theirs["nodes"][0])
                a_first = node0 == ours.a
                assert a_first or node0 == ours.b, (stream, node0)
                sent = [ours.data(0).hex(), ours.data(1).hex()]
                if not a_first:
                    sent.reverse()
                assert sent == [theirs["node0_hex"], theirs["node1_hex"]], stream
    return len(follow)
