"""Acceptance: every TCP stream of the real captures follows exactly as tshark 4.0.17 does.

For each stream in tests/data/oracle: ``flowscope-cli follow --format raw`` per direction is
byte-identical to tshark's ``follow,tcp,raw`` (gap markers stripped), the gaps tshark marked are
ours (offset in the stripped bytes, size), and the chunks come in tshark's order and sizes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import WIRESHARK, extract_flows_from_file
from engine.cli import main
from engine.follow import FollowStream, find_tcp_stream, reassemble
from engine.follow import tcp_plan as follow_rules
from tests.conftest import CAPTURES, ORACLE, oracle

NAMES = ("a_to_b", "b_to_a")


def _streams() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(ORACLE.glob("*.json")):
        expected = oracle(path.name.removesuffix(".json"))
        if expected.get("readable"):
            for conv in expected["tcp"]:
                yield CAPTURES / expected["capture"], conv


STREAMS = list(_streams())
IDS = [f"{p.name}#{c['stream']}" for p, c in STREAMS]


def test_there_are_streams_to_check() -> None:
    assert len(STREAMS) == 53
    assert sum(len(c.get("gaps_a_to_b", [])) for _, c in STREAMS) == 9


@pytest.mark.parametrize("path,conv", STREAMS, ids=IDS)
@pytest.mark.parametrize("direction", ["a-to-b", "b-to-a"])
def test_cli_follow_raw_equals_tshark(path: Path, conv: dict[str, Any], direction: str,
                                      capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    code = main(["follow", str(path), "--stream", str(conv["stream"]), "--direction",
                 direction, "--format", "raw", "--udp-timeout", "none"])
    out, err = capsysbinary.readouterr()
    assert code == 0, err
    assert out.hex() == conv[f"payload_{direction.replace('-', '_')}_hex"]


def _chunk_list(stream: FollowStream) -> list[list[Any]]:
    """Chunks and tshark-marked gaps in emission order, in the oracle's notation."""
    gaps = sorted((g for g in stream.gaps if g.kind == "missing"),
                  key=lambda g: g.before_chunk)
    out: list[list[Any]] = []
    k = 0
    for g in [*gaps, None]:
        stop = len(stream.chunks) if g is None else g.before_chunk
        for i in range(k, stop):
            out.append([NAMES[int(stream.chunks.direction[i])], int(stream.chunks.length[i])])
        k = stop
        if g is not None:
            out.append([NAMES[g.direction], g.length, "gap"])
    return out


@pytest.mark.parametrize("path,conv", STREAMS, ids=IDS)
def test_gaps_and_chunks_equal_tshark(path: Path, conv: dict[str, Any]) -> None:
    with extract_flows_from_file(path, WIRESHARK) as result, \
            reassemble(result, find_tcp_stream(result, conv["stream"])) as stream:
        for d, name in enumerate(NAMES):
            mine = [(g.offset, g.length) for g in stream.gaps_of(d, "missing")]
            assert mine == [(g["offset"], g["missing"]) for g in conv.get(f"gaps_{name}", [])]
            assert stream.counters[d].bytes == conv[f"payload_{name}_len"]
        assert _chunk_list(stream) == conv["chunks"]


def test_the_nine_gaps_of_the_reassembly_capture() -> None:
    """Two of them look overlapping (15522/728 and 15534/708): tshark marks the bytes up to
    the lowest held segment each time an acknowledgement passes it, and a 12-byte segment fits
    in between."""
    path = CAPTURES / "zeek-tcp-reassembly.pcap"
    with extract_flows_from_file(path, WIRESHARK) as result, reassemble(result, 0) as stream:
        gaps = [(g.offset, g.length) for g in stream.gaps_of(0, "missing")]
        assert gaps == [(1714, 8), (6086, 8), (11894, 32), (15522, 728), (15534, 708),
                        (16193, 81), (16217, 1343), (20535, 20), (27029, 1448)]
        assert sum(size for _, size in gaps) == 4376 == result[0].missing_bytes
        between = [k for k, g in enumerate(stream.gaps) if g.offset in (15522, 15534)]
        first, second = (stream.gaps[k] for k in between)
        assert second.before_chunk == first.before_chunk + 1
        assert int(stream.chunks.length[first.before_chunk]) == 12


def test_headers_only_capture_follows_empty() -> None:
    """Payload never captured (54-byte snap length): nothing to show, no gap marker."""
    path = CAPTURES / "zeek-tcp-retransmit-fast009.pcap"
    with extract_flows_from_file(path, WIRESHARK) as result, reassemble(result, 0) as stream:
        assert stream.data(0) == b"" and stream.data(1) == b"" and not stream.gaps
        assert result[0].missing_bytes == 24257


@pytest.mark.parametrize("path,conv", STREAMS, ids=IDS)
def test_fast_path_equals_the_emulation(path: Path, conv: dict[str, Any],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The numpy fast path changes nothing: the same bytes, chunks and gaps without it."""
    with extract_flows_from_file(path, WIRESHARK) as result:
        row = find_tcp_stream(result, conv["stream"])
        with reassemble(result, row) as fast:
            expected = (fast.data(0), fast.data(1), _chunk_list(fast), fast.gaps,
                        fast.chunks.packet.tolist(), fast.counters)
        monkeypatch.setattr(follow_rules._FastPath, "build",
                            classmethod(lambda cls, *args: None))
        with reassemble(result, row) as slow:
            assert (slow.data(0), slow.data(1), _chunk_list(slow), slow.gaps,
                    slow.chunks.packet.tolist(), slow.counters) == expected
