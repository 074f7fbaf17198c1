"""The compiled sequence statistics (``engine/tcp/_seqstats.c``) equal the numpy statement
(``engine/tcp/seqstats.py``, the reference) in every field, on every test capture, on random
captures (losses, reordering, zero windows and probes, keep-alives, sequence numbers wrapping,
snaplen-cut payload), on hostile segment orders, on the edges of the C pass's list of open holes
and on arbitrary columns; bad arguments are refused, not read past."""

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
from engine.result import FlowResult
from engine.tcp import seqstats
from engine.tcp.segments import TcpPackets, gather_tcp, tcp_conversations
from engine.tcp.seqstats_compiled import COMPILED
from tests.conftest import DATA
from tests.engine.capwriter import pcap_bytes
from tests.engine.tcp_expert_gen import random_capture, tcp_frame
from tests.engine.tcpgen import segment_storm, shuffled_stream
from tests.engine.test_seqstats_holes import _frames, tcp_script

pytestmark = pytest.mark.skipif(COMPILED is None,
                                reason="the compiled sequence statistics are not built")

FIELDS = ("retransmissions", "out_of_order", "missing", "missing_side", "retransmitted",
          "reordered")
SHARED_CAPTURES = Path(__file__).resolve().parents[3] / "shared" / "captures"


def _test_captures() -> list[Path]:
    """Every capture under tests/data, and any in ../shared/captures not copied there."""
    ours = sorted(p for p in DATA.rglob("*") if ".pcap" in p.name and not p.name.endswith(
        (".json", ".out")))
    names = {p.name for p in ours}
    shared = sorted(SHARED_CAPTURES.glob("*.pcap*")) if SHARED_CAPTURES.is_dir() else []
    return ours + [p for p in shared if p.name not in names]


def assert_same(t: TcpPackets) -> None:
    assert COMPILED is not None
    got = seqstats.compiled_sequence_stats(COMPILED, t)
    want = seqstats.numpy_sequence_stats(t)
    for name in FIELDS:
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype and a.shape == b.shape, name
        assert np.array_equal(a, b), (name, np.flatnonzero((a != b).ravel())[:10])


def tcp_of(result: FlowResult) -> TcpPackets:
    """Every TCP conversation of ``result`` as one batch (tunnelled ones included)."""
    table = result.conversations
    return gather_tcp(result.inner_view(), table, tcp_conversations(table))


def assert_same_on(path: Path) -> None:
    with extract_flows_from_file(path, WIRESHARK) as result:
        assert_same(tcp_of(result))


@pytest.mark.parametrize("path", _test_captures(), ids=lambda p: str(p.relative_to(p.parents[1])))
def test_every_test_capture(path: Path) -> None:
    try:
        assert_same_on(path)
    except FlowError as e:  # the damaged ones that do not load
        pytest.skip(f"does not load: {e}")


def test_the_test_captures_have_the_cases() -> None:
    """The real captures hold retransmissions, out-of-order segments and missing bytes."""
    totals = np.zeros(3, dtype=np.int64)
    for path in _test_captures():
        try:
            with extract_flows_from_file(path, WIRESHARK) as result:
                s = seqstats.sequence_stats(tcp_of(result))
        except FlowError:
            continue
        totals += (s.retransmissions.sum(), s.out_of_order.sum(), s.missing.sum())
    assert (totals > 0).all()


@pytest.mark.parametrize("seed", range(30))
def test_random_captures(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "r.pcap"
    path.write_bytes(pcap_bytes(random_capture(700 + seed, 12)))
    assert_same_on(path)


@pytest.mark.parametrize("seed", range(10))
def test_random_captures_cut_by_the_snaplen(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    records, origlens = [], []
    for frame, ts in random_capture(900 + seed, 8):
        origlens.append(len(frame))
        if rng.random() < 0.3:
            frame = frame[: rng.randrange(54, len(frame) + 1)]  # some payload not captured
        records.append((frame, ts))
    path = tmp_path / "cut.pcap"
    path.write_bytes(pcap_bytes(records, snaplen=1500, origlens=origlens))
    assert_same_on(path)


@pytest.mark.parametrize("order", ["shuffle", "reverse", "sorted"])
def test_hostile_orders(tmp_path: Path, order: str) -> None:
    path = tmp_path / "stream.pcap"
    path.write_bytes(shuffled_stream(20_000, seed=5, order=order))
    assert_same_on(path)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_segment_storms(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "storm.pcap"
    path.write_bytes(segment_storm(random.Random(seed), 3000))
    assert_same_on(path)


def test_a_lossy_stream_wrapping_past_zero(tmp_path: Path) -> None:
    """Sequence numbers pass 2^32 while segments are lost, reordered and sent again."""
    rng = random.Random(11)
    a, b, isn = 0x0A000001, 0x0A000002, (1 << 32) - 30_000
    recs = [(tcp_frame(a, b, 5, 80, isn, 0, SYN, 65535), 10**9),
            (tcp_frame(b, a, 80, 5, 77, isn + 1, SYN | ACK, 65535), 10**9 + 1000)]
    chunks = [(isn + 1 + 500 * k, 500) for k in range(200)]
    sent = [c for c in chunks if rng.random() > 0.1]
    for k in range(0, len(sent) - 3, 4):
        if rng.random() < 0.5:
            sent[k : k + 4] = rng.sample(sent[k : k + 4], 4)
    sent += rng.sample(chunks, 40)
    for k, (seq, size) in enumerate(sent):
        recs.append((tcp_frame(a, b, 5, 80, seq, 78, ACK, 65535, b"x" * size),
                     10**9 + (k + 2) * 1000))
    path = tmp_path / "wrap.pcap"
    path.write_bytes(pcap_bytes(recs))
    with extract_flows_from_file(path, WIRESHARK) as result:
        t = tcp_of(result)
        assert t.rel.max() > (1 << 32) - isn  # past the wrap, unwrapped
        assert_same(t)
        s = seqstats.sequence_stats(t)
        assert s.out_of_order.sum() > 0 and s.retransmissions.sum() > 0 and s.missing.sum() > 0


@pytest.mark.parametrize("holes", [30, 31, 32, 33, 34, 64])
@pytest.mark.parametrize("order", ["rising", "falling", "shuffled"])
def test_the_edge_of_the_listed_holes(tmp_path: Path, holes: int, order: str) -> None:
    """The C pass lists up to 32 open holes, then hands the side to its offline pass: around
    that edge, holes opened, narrowed from either end, split in two and filled in any order."""
    rng = random.Random(holes)
    a, b, isn = 0x0A000001, 0x0A000002, 1000
    script = [(k * 10, 4) for k in range(holes + 1)]  # 6-byte holes between 4-byte segments
    fills = []
    for k in range(holes):
        at = k * 10 + 4
        fills += [(at + 2, 1), (at, 2), (at + 4, 2), (at + 3, 1)]  # split, then the rest
    if order == "falling":
        fills.reverse()
    elif order == "shuffled":
        rng.shuffle(fills)
    top = holes * 10 + 4
    # in order, a keep-alive, and bytes sent again with new ones after them
    in_order = [(top, 10), (top + 10, 10), (top + 19, 1), (top + 20, 10), (top + 25, 15)]
    half = len(fills) // 2
    script += in_order[:2] + fills[:half] + in_order[2:] + fills[half:] + rng.sample(script, 5)
    recs = [(tcp_frame(a, b, 5, 80, isn, 0, SYN, 65535), 10**9)]
    for k, (rel, size) in enumerate(script):
        recs.append((tcp_frame(a, b, 5, 80, isn + 1 + rel, 1, ACK, 65535, b"x" * size),
                     10**9 + (k + 1) * 1000))
    path = tmp_path / "holes.pcap"
    path.write_bytes(pcap_bytes(recs))
    assert_same_on(path)


@settings(max_examples=200, deadline=None)
@given(tcp_script)
def test_any_flags_and_order(script: list[tuple[int, int, int, int]]) -> None:
    assert_same(tcp_of(extract_flows(_frames(script), WIRESHARK)))


# arbitrary columns, no loader in between: several conversations a batch, any flags, windows
# and acknowledgements, payload cut anywhere, sequence numbers near and far
_REL = st.one_of(st.integers(-40, 160), st.integers(-(1 << 33), 1 << 33))


#: (lane, flags, rel, plen, cap, win, ack_rel)
Packet = tuple[int, int, int, int, int, int, int]
#: the packets of a conversation and its bases per lane (-1: that side sent nothing)
Conversation = tuple[list[Packet], tuple[int, int]]


def conversations_of(flags: tuple[int, ...], lanes: tuple[int, ...]
                     ) -> st.SearchStrategy[Conversation]:
    """Conversations of packets with these flags and lanes (the compiled passes share the
    columns, not what each accepts)."""

    @st.composite
    def packet(draw: st.DrawFn) -> Packet:
        plen = draw(st.integers(0, 30))
        return (draw(st.sampled_from(lanes)), draw(st.sampled_from(flags)), draw(_REL), plen,
                draw(st.integers(0, plen)), draw(st.sampled_from((0, 1, 65535))), draw(_REL))

    return st.tuples(st.lists(packet(), max_size=40),
                     st.tuples(st.sampled_from((-1, 0, 7)), st.sampled_from((-1, 0, 7))))


_conversation = conversations_of((ACK, ACK | PSH, ACK | FIN, SYN, SYN | ACK, RST, RST | ACK, FIN,
                                  ACK | SYN | FIN, 0), lanes=(0, 0, 1, 1, 2))


def columns(conversations: list[Conversation]) -> TcpPackets:
    """The columns of these conversations, one batch."""
    rows = [p for packets, _ in conversations for p in packets]
    counts = [len(packets) for packets, _ in conversations]
    n, nc = len(rows), len(conversations)
    col = np.array(rows, dtype=np.int64).reshape(n, 7)
    bounds = np.zeros(nc + 1, dtype=np.int64)
    np.cumsum(counts, out=bounds[1:])
    return TcpPackets(
        convs=np.arange(nc, dtype=np.int64), bounds=bounds, index=np.arange(n, dtype=np.int64),
        local=np.repeat(np.arange(nc, dtype=np.int64), counts),
        lane=col[:, 0].astype(np.uint8), flags=col[:, 1].astype(np.uint16),
        seq=col[:, 2].astype(np.uint32), ack=col[:, 6].astype(np.uint32), rel=col[:, 2],
        ack_rel=col[:, 6], plen=col[:, 3], wire=col[:, 3], cap=col[:, 4],
        win=col[:, 5].astype(np.uint16),
        base=np.array([bases for _, bases in conversations], dtype=np.int64).reshape(nc, 2),
        ts_source=np.zeros(n, dtype=np.int64))


@settings(max_examples=400, deadline=None)
@given(st.lists(_conversation, max_size=5))
def test_arbitrary_columns(conversations: list[Conversation]) -> None:
    assert_same(columns(conversations))


def test_many_holes_in_several_conversations() -> None:
    """Sides that go offline next to sides that do not, in one batch."""
    rng = random.Random(5)
    convs: list[Conversation] = []
    for k in range(12):
        size = rng.choice((3, 40, 400))
        order = list(range(size))
        if k % 2:
            rng.shuffle(order)
        packets = [(lane, ACK, 10 * i, 10, 10 - (i % 7 == 0), 65535, 0)
                   for i in order for lane in (0, 1) if rng.random() < 0.9]
        convs.append((packets, (0, 0)))
    assert_same(columns(convs))


def test_zero_window_probes_and_keepalives() -> None:
    """Probes at H and just below it, the data after them, repeated probes, keep-alives."""
    a: list[Packet] = [(1, ACK, 0, 0, 0, 0, 1)]  # the receiver's window is 0
    probes: list[Packet] = [(0, ACK, 0, 100, 100, 65535, 0), (1, ACK, 0, 0, 0, 0, 100),
              (0, ACK, 100, 1, 1, 65535, 0), (0, ACK, 100, 1, 1, 65535, 0),
              (1, ACK, 0, 0, 0, 0, 100), (0, ACK, 100, 1, 1, 65535, 0),
              (0, ACK, 100, 50, 50, 65535, 0), (1, ACK, 0, 0, 0, 65535, 150),
              (0, ACK, 149, 0, 0, 65535, 0), (0, ACK, 149, 1, 1, 65535, 0),
              (0, ACK, 149, 1, 1, 65535, 0), (0, ACK, 100, 49, 49, 65535, 0),
              (0, ACK, 200, 10, 10, 65535, 0), (0, ACK, 209, 1, 1, 65535, 0),
              (0, ACK, 150, 50, 50, 65535, 0)]
    assert_same(columns([(a + probes, (0, 0)), (probes, (0, -1))]))


def test_empty_batches_and_conversations() -> None:
    assert_same(columns([]))
    assert_same(columns([([], (-1, -1)), ([(0, SYN, 0, 0, 0, 1, 0)], (0, -1)), ([], (-1, -1))]))


def _arguments(n: int, nconv: int) -> list[np.ndarray]:
    bounds = np.linspace(0, n, nconv + 1).astype(np.int64)
    return [np.zeros(n, np.uint8), np.zeros(n, np.uint16), np.zeros(n, np.int64),
            np.ones(n, np.int64), np.ones(n, np.int64), np.zeros(n, np.uint16),
            np.zeros(n, np.int64), np.zeros((nconv, 2), np.int64), bounds,
            np.zeros(n, bool), np.zeros(n, bool), np.zeros(nconv, np.int64),
            np.zeros(nconv, np.int64), np.zeros((nconv, 2), np.int64)]


def test_bad_arguments_are_refused() -> None:
    assert COMPILED is not None
    assert COMPILED.sequence_stats(*_arguments(10, 3)) is None
    for k in range(14):
        short = _arguments(10, 3)
        short[k] = short[k][:-1]
        with pytest.raises(ValueError):
            COMPILED.sequence_stats(*short)
        wrong = _arguments(10, 3)
        kind = wrong[k].dtype
        wrong[k] = wrong[k].astype(np.float64 if kind.itemsize == 8 else np.int8)
        with pytest.raises(ValueError):
            COMPILED.sequence_stats(*wrong)
    signed = _arguments(10, 3)
    signed[2] = signed[2].astype(np.uint64)
    with pytest.raises(ValueError, match="rel"):
        COMPILED.sequence_stats(*signed)
    past = _arguments(10, 3)
    past[8][-1] = 11
    with pytest.raises(ValueError, match="bounds"):
        COMPILED.sequence_stats(*past)
    backwards = _arguments(10, 3)
    backwards[8][1:3] = [5, 2]
    with pytest.raises(ValueError, match="bounds"):
        COMPILED.sequence_stats(*backwards)
    readonly = _arguments(10, 3)
    readonly[9].flags.writeable = False
    with pytest.raises(ValueError, match="retransmitted"):
        COMPILED.sequence_stats(*readonly)
    strided = _arguments(10, 3)
    strided[2] = np.zeros(20, np.int64)[::2]
    with pytest.raises(ValueError, match="rel"):
        COMPILED.sequence_stats(*strided)
    no_bounds = _arguments(0, 0)
    no_bounds[8] = np.zeros(0, np.int64)
    with pytest.raises(ValueError, match="bounds"):
        COMPILED.sequence_stats(*no_bounds)
    with pytest.raises(TypeError):
        COMPILED.sequence_stats(*_arguments(10, 3)[:-1])
