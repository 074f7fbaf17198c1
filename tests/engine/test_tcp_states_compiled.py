"""The compiled state machines and history (``engine/tcp/_states.c``) equal the numpy reference
(``summary.numpy_final_states``, ``history.numpy_history_strings``) in every output: on every
test capture, random captures, the scenario captures, arbitrary columns, long histories, many
retransmissions and zero windows, SYN/FIN/RST combinations and sequence numbers wrapping; bad
arguments are refused, not read past."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import WIRESHARK, extract_flows, extract_flows_from_file
from engine.errors import FlowError
from engine.packets import ACK, FIN, PSH, RST, SYN
from engine.tcp import history, summary
from engine.tcp import state as rfc
from engine.tcp import zeek as zk
from engine.tcp.segments import TcpPackets
from engine.tcp.seqstats import sequence_stats
from engine.tcp.states_compiled import COMPILED, compiled_final_states, compiled_history_letters
from tests.engine.capwriter import pcap_bytes
from tests.engine.tcp_expert_gen import random_capture, tcp_frame
from tests.engine.test_seqstats_compiled import (
    Conversation,
    _test_captures,
    columns,
    conversations_of,
    tcp_of,
)
from tests.engine.test_tcp_scenarios import SCENARIOS, Flow, handshake

pytestmark = pytest.mark.skipif(COMPILED is None,
                                reason="the compiled state machines are not built")


def assert_same(t: TcpPackets) -> np.ndarray:
    """Compiled == numpy for the roles, both final states and the history; the history."""
    assert COMPILED is not None
    r, rfc_final, zeek_final = summary.numpy_final_states(t)
    cr, crfc, czeek = compiled_final_states(COMPILED, t)
    for name, a, b in (("client_lane", cr.client_lane, r.client_lane),
                       ("partial", cr.partial, r.partial),
                       ("from_server", cr.from_server, r.from_server),
                       ("rfc", crfc, rfc_final), ("zeek", czeek, zeek_final)):
        assert a.dtype == b.dtype and a.shape == b.shape, name
        assert np.array_equal(a, b), (name, np.flatnonzero(a != b)[:10])
    s = sequence_stats(t)
    want = history.numpy_history_strings(t, r.client_lane, s.retransmitted, s.missing_side)
    grid, counts = compiled_history_letters(COMPILED, t, r.client_lane, s.retransmitted,
                                            s.missing_side)
    got = history._fixed_width(grid, counts)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want), [(a, b) for a, b in zip(got, want, strict=True)
                                       if a != b][:5]
    return got


def assert_same_on(path: Path) -> np.ndarray:
    with extract_flows_from_file(path, WIRESHARK) as result:
        return assert_same(tcp_of(result))


@pytest.mark.parametrize("path", _test_captures(), ids=lambda p: str(p.relative_to(p.parents[1])))
def test_every_test_capture(path: Path) -> None:
    try:
        assert_same_on(path)
    except FlowError as e:  # the damaged ones that do not load
        pytest.skip(f"does not load: {e}")


@pytest.mark.parametrize("seed", range(30))
def test_random_captures(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "r.pcap"
    path.write_bytes(pcap_bytes(random_capture(1300 + seed, 12)))
    assert_same_on(path)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenarios(name: str) -> None:
    build, _ = SCENARIOS[name]
    assert_same(tcp_of(extract_flows(build().packets, WIRESHARK)))


def _one_way(path: Path, packets: list[tuple[int, int, int, int, bytes]]) -> np.ndarray:
    """A capture of one connection: (lane, flags, seq, ack, payload) per packet, raw numbers."""
    a, b = 0x0A000001, 0x0A000002
    recs = []
    for k, (lane, flags, seq, ack, load) in enumerate(packets):
        src, dst, sport, dport = (a, b, 5, 80) if lane == 0 else (b, a, 80, 5)
        win = 0 if load == b"w" else 65535
        recs.append((tcp_frame(src, dst, sport, dport, seq % (1 << 32), ack % (1 << 32), flags,
                               win, b"" if load == b"w" else load), 10**9 + k * 1000))
    path.write_bytes(pcap_bytes(recs))
    return assert_same_on(path)


def test_long_history_ends_with_an_ellipsis(tmp_path: Path) -> None:
    """FINs with new sequence numbers from both sides: far more than 32 letters."""
    packets = [(0, SYN, 0, 0, b""), (1, SYN | ACK, 0, 1, b"")]
    packets += [(k % 2, FIN | ACK, 1000 * k, 5, b"") for k in range(120)]
    h = _one_way(tmp_path / "long.pcap", packets)
    assert len(h[0]) == history.MAX_HISTORY and h[0].endswith("…")


@pytest.mark.parametrize("copies", [9, 10, 11, 99, 100, 101, 1000])
def test_retransmissions_and_zero_windows_at_powers_of_ten(tmp_path: Path, copies: int) -> None:
    packets = [(0, SYN, 100, 0, b""), (1, SYN | ACK, 500, 101, b""), (0, ACK, 101, 501, b"")]
    packets += [(0, ACK | PSH, 101, 501, b"hello")] * copies
    packets += [(1, ACK, 501, 106, b"w")] * copies
    h = _one_way(tmp_path / "t.pcap", packets)
    powers = (1, 10, 100, 1000)
    assert h[0].count("T") == sum(p < copies for p in powers)  # the 2nd, 11th, 101st… copy
    assert h[0].count("w") == sum(p <= copies for p in powers)


@pytest.mark.parametrize("flags", [SYN | FIN, SYN | RST, FIN | RST, SYN | FIN | RST,
                                   SYN | FIN | ACK, FIN | RST | ACK, RST | ACK, FIN, RST, SYN])
def test_control_combinations(tmp_path: Path, flags: int) -> None:
    packets = [(0, SYN, 100, 0, b""), (1, flags, 500, 101, b""), (0, flags, 101, 501, b"ab"),
               (1, flags, 501, 103, b""), (0, ACK, 103, 502, b""), (1, flags, 900, 103, b"")]
    _one_way(tmp_path / "c.pcap", packets)


def test_sequence_numbers_wrapping_while_closing(tmp_path: Path) -> None:
    """The FIN and its acknowledgement straddle 2^32."""
    isn_a, isn_b = (1 << 32) - 3, (1 << 32) - 1
    packets = [(0, SYN, isn_a, 0, b""), (1, SYN | ACK, isn_b, isn_a + 1, b""),
               (0, ACK, isn_a + 1, isn_b + 1, b""), (0, ACK | PSH, isn_a + 1, isn_b + 1, b"abcd"),
               (0, FIN | ACK, isn_a + 5, isn_b + 1, b""), (1, ACK, isn_b + 1, isn_a + 6, b""),
               (1, FIN | ACK, isn_b + 1, isn_a + 6, b""), (0, ACK, isn_a + 6, isn_b + 2, b"")]
    _one_way(tmp_path / "wrap.pcap", packets)
    with extract_flows_from_file(tmp_path / "wrap.pcap", WIRESHARK) as result:
        conv = result[0]
        assert (conv.client_state, conv.server_state) == ("TIME_WAIT", "CLOSED")


def test_a_side_that_never_sent_a_syn(tmp_path: Path) -> None:
    f = handshake(Flow())
    f.c("PA", 1, 1, b"x" * 10).s("A", 1, 11).c("FA", 11, 1).s("FA", 1, 12).c("A", 12, 2)
    assert_same(tcp_of(extract_flows(f.packets[2:], WIRESHARK)))  # picked up mid-stream


# arbitrary columns, no loader in between (the lane 0 or 1: the C pass refuses others)
_conversation = conversations_of((ACK, ACK | PSH, ACK | FIN, SYN, SYN | ACK, RST, RST | ACK, FIN,
                                  ACK | SYN | FIN, SYN | RST, FIN | RST, 0), lanes=(0, 1))


@settings(max_examples=400, deadline=None)
@given(st.lists(_conversation, max_size=5))
def test_arbitrary_columns(conversations: list[Conversation]) -> None:
    assert_same(columns(conversations))


def test_bench_like_random_batch() -> None:
    """Many random conversations of every flag in one batch, packets retransmitted."""
    rng = random.Random(3)
    convs: list[Conversation] = []
    flags = (ACK, ACK | PSH, ACK | FIN, SYN, SYN | ACK, RST, RST | ACK, FIN, SYN | FIN)
    for _ in range(300):
        packets = [(rng.randrange(2), rng.choice(flags), rng.randrange(0, 5000, 100),
                    rng.choice((0, 100)), 100, rng.choice((0, 65535)), rng.randrange(0, 5000))
                   for _ in range(rng.randrange(0, 60))]
        convs.append((packets, (0, 0)))
    assert_same(columns(convs))


def test_no_conversations() -> None:
    assert_same(columns([]))
    assert_same(columns([([], (-1, -1)), ([], (-1, -1))]))


def _arguments(t: TcpPackets) -> tuple[list[np.ndarray], list[np.ndarray]]:
    n, nc = len(t), t.nconv
    t = TcpPackets(**{f: np.ascontiguousarray(getattr(t, f)) for f in t.__dataclass_fields__})
    states = [t.lane, t.flags, t.rel, t.plen, t.ack_rel, t.bounds,
              np.ascontiguousarray(rfc.transition_table()), np.ascontiguousarray(zk.zeek_table()),
              rfc.FRESH, np.empty(nc, np.uint8), np.empty(nc, bool), np.empty(n, bool),
              np.empty(nc, np.int64), np.empty(nc, np.int64)]
    letters = [t.lane, t.flags, t.rel, t.plen, t.win, np.zeros(n, bool),
               np.zeros((nc, 2), np.int64), np.zeros(nc, np.uint8), t.bounds,
               np.empty((nc, 32), np.uint32), np.empty(nc, np.int64)]
    return states, letters


@pytest.mark.parametrize("which", ["final_states", "history_letters"])
def test_bad_arguments_are_refused(which: str) -> None:
    assert COMPILED is not None
    t = columns([([(0, SYN, 0, 0, 0, 65535, 0), (1, SYN | ACK, 0, 0, 0, 65535, 1)], (0, 0)),
                 ([(0, ACK, 5, 0, 0, 65535, 0)], (0, 0))])
    call = getattr(COMPILED, which)
    states, letters = _arguments(t)
    args = states if which == "final_states" else letters
    call(*args)  # the good ones pass
    bounds_at = 5 if which == "final_states" else 8
    for k, arg in enumerate(args):
        if not isinstance(arg, np.ndarray):
            continue
        for bad in (arg[:-1] if arg.ndim == 1 and arg.size else np.zeros(1, np.float64),
                    arg.astype(np.float32), np.repeat(arg, 2)[::2] if arg.ndim == 1 else arg.T):
            if bad.shape == arg.shape and bad.dtype == arg.dtype and bad.flags.c_contiguous:
                continue
            wrong = list(args)
            wrong[k] = bad
            with pytest.raises(ValueError):
                call(*wrong)
    for bounds in ([0, 2], [0, 3, 2], [1, 2, 3], [0, 2, 3, 3]):
        wrong = list(args)
        wrong[bounds_at] = np.array(bounds, dtype=np.int64)
        with pytest.raises(ValueError):
            call(*wrong)
    wrong = list(args)
    wrong[0] = np.array([0, 2, 1], dtype=np.uint8)
    with pytest.raises(ValueError, match="lane"):
        call(*wrong)
    if which == "final_states":
        wrong = list(args)
        wrong[6] = np.full_like(args[6], -1)  # a table with no cells
        with pytest.raises(ValueError, match="no cell"):
            call(*wrong)
        wrong = list(args)
        wrong[8] = 10_000
        with pytest.raises(ValueError, match="rfc_initial"):
            call(*wrong)
