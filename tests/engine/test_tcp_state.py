"""The RFC 793 machine, the Zeek endpoint machine, the timeline, and the vectorised pass.

The load-time summary runs the machines only over the packets that can change a state; the
property test checks on random packet sequences that this gives exactly the states of running
them over every packet.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st_
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from engine import WIRESHARK, extract_flows
from engine.packets import Kind
from engine.tcp import TcpState, tcp_timeline
from engine.tcp import state as st
from engine.tcp import zeek as zk
from engine.tcp.automaton import run_automaton
from engine.tcp.events import acknowledges, rfc_codes, roles, zeek_codes
from engine.tcp.segments import gather_tcp, tcp_conversations
from engine.tcp.summary import final_states
from tests.engine.test_tcp_scenarios import CLIENT, SERVER, Flow, analyse, handshake, normal_close

#: with the compiled state machines and history, then with numpy
pytestmark = pytest.mark.usefixtures("tcp_states_both_ways")

S = TcpState
C, SV = st.CLIENT, st.SERVER
SYN, ACK, FIN, RST = st.E_SYN, st.E_ACK, st.E_FIN, st.E_RST
FROM_S = st.FROM_SERVER


def run(*codes: int, start: int = st.FRESH) -> tuple[TcpState, TcpState, int]:
    state = start
    for code in codes:
        state, _ = st.step(state, code)
    client, server = st.split(state)
    return client, server, state


# -- single transitions, one per RFC 793 arrow ------------------------------------------------
@pytest.mark.parametrize("start,code,client,server", [
    # opening
    ((S.CLOSED, S.CLOSED), None, S.SYN_SENT, S.LISTEN),  # FRESH + SYN
    ((S.SYN_SENT, S.LISTEN), FROM_S | SYN | ACK | st.ACKS_SYN, S.ESTABLISHED, S.SYN_RECEIVED),
    ((S.ESTABLISHED, S.SYN_RECEIVED), ACK | st.ACKS_SYN, S.ESTABLISHED, S.ESTABLISHED),
    ((S.SYN_SENT, S.LISTEN), FROM_S | SYN, S.SYN_RECEIVED, S.SYN_RECEIVED),  # crossing SYNs
    ((S.SYN_RECEIVED, S.SYN_RECEIVED), SYN | ACK | st.ACKS_SYN, S.SYN_RECEIVED, S.ESTABLISHED),
    ((S.SYN_SENT, S.LISTEN), SYN, S.SYN_SENT, S.LISTEN),  # SYN retransmission
    ((S.SYN_SENT, S.LISTEN), ACK, S.ESTABLISHED, S.ESTABLISHED),  # SYN-ACK not captured
    # closing, client first
    ((S.ESTABLISHED, S.ESTABLISHED), FIN | ACK, S.FIN_WAIT_1, S.CLOSE_WAIT),
    ((S.FIN_WAIT_1, S.CLOSE_WAIT), FROM_S | ACK | st.ACKS_FIN, S.FIN_WAIT_2, S.CLOSE_WAIT),
    ((S.FIN_WAIT_2, S.CLOSE_WAIT), FROM_S | FIN | ACK | st.ACKS_FIN, S.TIME_WAIT, S.LAST_ACK),
    ((S.TIME_WAIT, S.LAST_ACK), ACK | st.ACKS_FIN, S.TIME_WAIT, S.CLOSED),
    # the FIN-ACK that acknowledges our FIN goes straight to TIME_WAIT
    ((S.FIN_WAIT_1, S.CLOSE_WAIT), FROM_S | FIN | ACK | st.ACKS_FIN, S.TIME_WAIT, S.LAST_ACK),
    # simultaneous close: both FINs before either was acknowledged
    ((S.FIN_WAIT_1, S.CLOSE_WAIT), FROM_S | FIN | ACK, S.CLOSING, S.CLOSING),
    ((S.CLOSING, S.CLOSING), ACK | st.ACKS_FIN, S.CLOSING, S.TIME_WAIT),
    ((S.CLOSING, S.TIME_WAIT), FROM_S | ACK | st.ACKS_FIN, S.TIME_WAIT, S.TIME_WAIT),
    # server closes first
    ((S.ESTABLISHED, S.ESTABLISHED), FROM_S | FIN | ACK, S.CLOSE_WAIT, S.FIN_WAIT_1),
    # half-close: data keeps flowing the other way without a change
    ((S.FIN_WAIT_2, S.CLOSE_WAIT), FROM_S | ACK | st.ACKS_FIN, S.FIN_WAIT_2, S.CLOSE_WAIT),
])
def test_transition(start: tuple[TcpState, TcpState], code: int | None, client: TcpState,
                    server: TcpState) -> None:
    state = st.FRESH if code is None else st.joint(*start)
    got = run(SYN if code is None else code, start=state)
    assert got[:2] == (client, server)


@pytest.mark.parametrize("start", [
    (S.SYN_SENT, S.LISTEN), (S.ESTABLISHED, S.SYN_RECEIVED), (S.ESTABLISHED, S.ESTABLISHED),
    (S.FIN_WAIT_1, S.CLOSE_WAIT), (S.FIN_WAIT_2, S.CLOSE_WAIT), (S.CLOSING, S.CLOSING),
    (S.FIN_WAIT_2, S.LAST_ACK), (S.SYN_RECEIVED, S.SYN_RECEIVED)])
@pytest.mark.parametrize("sender", ["client", "server"])
def test_rst_in_every_state_closes_both(start: tuple[TcpState, TcpState], sender: str) -> None:
    code = RST | (FROM_S if sender == "server" else 0)
    client, server, state = run(code, start=st.joint(*start))
    assert (client, server) == (S.CLOSED, S.CLOSED)
    rejected = start[0] == S.SYN_SENT and sender == "server"
    assert state == (st.REJECTED if rejected else st.RESET)


def test_rst_after_both_sides_finished_changes_nothing() -> None:
    start = st.joint(S.TIME_WAIT, S.CLOSED)
    assert run(RST, start=start)[2] == start


def test_first_packet_decides_how_a_connection_is_picked_up() -> None:
    assert run(ACK)[:2] == (S.ESTABLISHED, S.ESTABLISHED)  # mid-stream
    assert run(FIN | ACK)[:2] == (S.FIN_WAIT_1, S.CLOSE_WAIT)  # mid-stream, closing
    assert run(FROM_S | SYN | ACK)[:2] == (S.ESTABLISHED, S.SYN_RECEIVED)  # SYN not captured
    assert run(RST)[2] == st.RESET


def test_reset_and_rejected_are_final() -> None:
    for final in (st.RESET, st.REJECTED):
        for code in range(st.NCODES):
            assert st.step(final, code)[0] == final


def test_table_is_step() -> None:
    table = st.transition_table()
    reached = {st.FRESH}
    for state in range(st.NJOINT):
        if table[state, 0] < 0:  # a row of a state no connection reaches from FRESH
            assert (table[state] == -1).all()
            continue
        for code in range(st.NCODES):
            assert table[state, code] == st.step(state, code)[0]
            reached.add(int(table[state, code]))
    # every state a transition leads to has its row: the automaton never reads a -1 row
    assert all(table[state, 0] >= 0 for state in reached)
    assert 10 < len(reached) < st.NJOINT
    ztable = zk.zeek_table()
    for state in range(zk.NZJOINT):
        for code in range(zk.NZCODES):
            assert ztable[state, code] == zk.zeek_step(state, code)


def test_the_stored_table_is_the_one_step_builds() -> None:
    """The whole table is read from a file beside the module; after a change to the rules,
    ``engine.tcp.state.store_whole_table()`` writes it again."""
    stored = np.load(st.STORED_TABLE, allow_pickle=False)
    np.testing.assert_array_equal(stored, st._table(tuple(range(st.NCODES))))
    assert st.transition_table() is st.transition_table()  # read once


def test_without_the_stored_table_it_is_built(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for content in (None, np.zeros((2, 2), dtype=np.int16), b"not a table"):
        path = tmp_path / "table.npy"
        path.unlink(missing_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif content is not None:
            np.save(path, content)
        monkeypatch.setattr(st, "STORED_TABLE", path)
        st._whole_table.cache_clear()
        try:
            np.testing.assert_array_equal(st.transition_table(),
                                          st._table(tuple(range(st.NCODES))))
        finally:
            st._whole_table.cache_clear()


def test_a_table_for_some_codes_agrees_with_the_whole_table_where_it_is_filled() -> None:
    full = st.transition_table()
    codes = [0, st.E_SYN, st.E_SYN | st.E_ACK | st.FROM_SERVER, st.E_ACK, st.E_FIN | st.E_ACK,
             st.E_RST | st.FROM_SERVER]
    part = st.transition_table(np.array(codes))
    filled = part >= 0
    assert filled.any() and not filled[:, [c for c in range(st.NCODES) if c not in codes]].any()
    np.testing.assert_array_equal(part[filled], full[filled])
    # every state those codes lead to from FRESH has its row for those codes
    reached = {int(v) for v in part[filled]} | {st.FRESH}
    assert all((part[state, codes] >= 0).all() for state in reached)


def test_status_words() -> None:
    j = st.joint
    finals = np.array([j(S.ESTABLISHED, S.ESTABLISHED), j(S.SYN_SENT, S.LISTEN),
                       j(S.FIN_WAIT_2, S.CLOSE_WAIT), j(S.TIME_WAIT, S.CLOSED),
                       st.RESET, st.REJECTED, j(S.CLOSING, S.CLOSING)])
    words = [st.STATUS_WORDS[k] for k in st.status_codes(finals)]
    assert words == ["active", "half-open", "half-closed", "closed", "reset", "rejected",
                     "closed"]


# -- Zeek ------------------------------------------------------------------------------------
Z = zk.ZeekState


def zrun(*codes: int) -> tuple[Z, Z]:
    state = 0
    for code in codes:
        state = zk.zeek_step(state, code)
    o, r = divmod(state, zk.NZ)
    return Z(o), Z(r)


def test_zeek_endpoint_states() -> None:
    R = zk.Z_FROM_RESP
    assert zrun(zk.Z_SYN) == (Z.SYN_SENT, Z.INACTIVE)
    assert zrun(zk.Z_SYN, R | zk.Z_SYN | zk.Z_ACK) == (Z.ESTABLISHED, Z.ESTABLISHED)
    assert zrun(zk.Z_ACK) == (Z.PARTIAL, Z.INACTIVE)
    assert zrun(R | zk.Z_SYN | zk.Z_ACK) == (Z.INACTIVE, Z.ESTABLISHED)
    assert zrun(zk.Z_SYN, zk.Z_FIN) == (Z.CLOSED, Z.INACTIVE)
    assert zrun(zk.Z_SYN, R | zk.Z_RST) == (Z.SYN_SENT, Z.RESET)
    assert zrun(zk.Z_SYN | zk.Z_FIN) == (Z.CLOSED, Z.INACTIVE)


@pytest.mark.parametrize("orig,resp,history,expected", [
    (Z.SYN_SENT, Z.INACTIVE, "S", "S0"),
    (Z.ESTABLISHED, Z.ESTABLISHED, "ShAD", "S1"),
    (Z.CLOSED, Z.CLOSED, "ShADFf", "SF"),
    (Z.SYN_SENT, Z.RESET, "Sr", "REJ"),
    (Z.CLOSED, Z.ESTABLISHED, "ShADF", "S2"),
    (Z.ESTABLISHED, Z.CLOSED, "ShADf", "S3"),
    (Z.RESET, Z.ESTABLISHED, "ShADR", "RSTO"),
    (Z.ESTABLISHED, Z.RESET, "ShADr", "RSTR"),
    (Z.RESET, Z.INACTIVE, "SR", "RSTOS0"),
    (Z.RESET, Z.INACTIVE, "SFR", "OTH"),
    (Z.INACTIVE, Z.RESET, "^hr", "RSTRH"),
    (Z.CLOSED, Z.INACTIVE, "SF", "SH"),
    (Z.INACTIVE, Z.CLOSED, "^hf", "SHR"),
    (Z.PARTIAL, Z.PARTIAL, "Dd", "OTH"),
    (Z.RESET, Z.RESET, "SR", "REJ"),
])
def test_conn_state_codes(orig: Z, resp: Z, history: str, expected: str) -> None:
    final = np.array([orig * zk.NZ + resp])
    got = zk.conn_states(final, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64),
                         np.array([history]))
    assert got[0] == expected


# -- the timeline -------------------------------------------------------------------------------
def test_timeline_of_a_normal_connection() -> None:
    result = analyse(normal_close())
    timeline = tcp_timeline(result, 0)
    got = [(c.packet, c.endpoint, c.state.name) for c in timeline.changes]
    assert got == [
        (0, "client", "SYN_SENT"), (0, "server", "LISTEN"),
        (1, "server", "SYN_RECEIVED"), (1, "client", "ESTABLISHED"),
        (2, "server", "ESTABLISHED"),
        (7, "client", "FIN_WAIT_1"), (7, "server", "CLOSE_WAIT"),
        (8, "client", "FIN_WAIT_2"),
        (9, "server", "LAST_ACK"), (9, "client", "TIME_WAIT"),
        (10, "server", "CLOSED")]
    ts = result.packets.ts_ns
    assert all(c.ts_ns == ts[c.packet] for c in timeline.changes)
    assert timeline.client == "A" and not timeline.partial and timeline.status == "closed"
    spans = timeline.spans("client", int(ts[-1]))
    assert [s[0].name for s in spans] == ["SYN_SENT", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2",
                                          "TIME_WAIT"]
    assert spans[0][1] == ts[0] and spans[-1][2] == ts[-1]
    assert all(a[2] == b[1] for a, b in itertools.pairwise(spans))


def test_timeline_endpoints_keep_isn_acks_and_scaled_windows() -> None:
    f = Flow(isn_c=1000, isn_s=5000)
    syn = (Ether() / IP(src=CLIENT[0], dst=SERVER[0])
           / TCP(sport=CLIENT[1], dport=SERVER[1], flags="S", seq=1000, window=65535,
                 options=[("MSS", 1460), ("WScale", 7)]))
    synack = (Ether() / IP(src=SERVER[0], dst=CLIENT[0])
              / TCP(sport=SERVER[1], dport=CLIENT[1], flags="SA", seq=5000, ack=1001,
                    window=29200, options=[("MSS", 1400), ("WScale", 2)]))
    syn.time, synack.time = 1.0, 1.001
    f.packets += [syn, synack]
    f.t = 1.001
    f.c("A", 1, 1, win=100).c("PA", 1, 1, b"x" * 10, win=100).s("A", 1, 11, win=300)
    timeline = tcp_timeline(extract_flows(f.packets, WIRESHARK), 0)
    client, server = timeline.endpoints["client"], timeline.endpoints["server"]
    assert (client.isn, client.mss, client.window_scale) == (1000, 1460, 7)
    assert (server.isn, server.mss, server.window_scale) == (5000, 1400, 2)
    assert client.next_seq == 1011 and server.next_seq == 5001
    assert client.highest_ack == 5001 and server.highest_ack == 1011
    assert client.window == 100 << 7 and server.window == 300 << 2


def test_window_is_not_scaled_unless_both_sides_offer_it() -> None:
    f = Flow()
    syn = (Ether() / IP(src=CLIENT[0], dst=SERVER[0])
           / TCP(sport=CLIENT[1], dport=SERVER[1], flags="S", seq=1000,
                 options=[("WScale", 7)]))
    syn.time = 1.0
    f.packets.append(syn)
    f.t = 1.0
    f.s("SA", 0, 1).c("A", 1, 1, win=100)
    timeline = tcp_timeline(extract_flows(f.packets, WIRESHARK), 0)
    assert timeline.endpoints["client"].window_scale is None
    assert timeline.endpoints["client"].window == 100


def test_timeline_of_a_non_tcp_conversation_is_refused() -> None:
    from engine import ConversationNotFound
    from tests.engine.packets import udp

    result = extract_flows([udp("10.0.0.1", 53, "10.0.0.2", 53)], WIRESHARK)
    with pytest.raises(ConversationNotFound):
        tcp_timeline(result, 0)


# -- the vectorised pass equals the machines over every packet --------------------------------
def scalar_finals(result) -> dict[int, tuple[int, int]]:
    """Final (RFC joint, Zeek joint) per TCP conversation, stepping over every packet; also
    checks that the timeline (which steps over the selected packets only) has every change."""
    out = {}
    table = result.conversations
    for conv in tcp_conversations(table).tolist():
        t = gather_tcp(result.packets, table, np.array([conv]))
        r = roles(t)
        acks_syn, acks_fin = acknowledges(t)
        state = st.FRESH
        changes = []
        for code, packet in zip(rfc_codes(t, r, acks_syn, acks_fin).tolist(), t.index.tolist(),
                                strict=True):
            state, moved = st.step(state, code)
            changes += [(packet, ("client", "server")[who], new) for who, new in moved]
        zstate = 0
        for code in zeek_codes(t, r).tolist():
            zstate = zk.zeek_step(zstate, code)
        out[conv] = (state, zstate)
        timeline = tcp_timeline(result, conv)
        assert [(c.packet, c.endpoint, c.state) for c in timeline.changes
                if c.packet >= 0] == changes
    return out


def vector_finals(result) -> dict[int, tuple[int, int]]:
    rows = tcp_conversations(result.conversations)
    t = gather_tcp(result.packets, result.conversations, rows)
    _, rfc, zeek = final_states(t)
    return {int(c): (int(a), int(b)) for c, a, b in zip(rows, rfc, zeek, strict=True)}


FLAGS = ["S", "SA", "A", "PA", "FA", "F", "R", "RA", "FPA", "SF", "A", "A", "PA"]
packet_spec = st_.tuples(st_.booleans(), st_.sampled_from(FLAGS),
                         st_.sampled_from([0, 1, 2, 11, 21, 1000]),
                         st_.sampled_from([0, 1, 2, 11, 12, 21, 22]),
                         st_.sampled_from([0, 0, 1, 10]), st_.sampled_from([0, 1]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st_.lists(packet_spec, min_size=1, max_size=14))
def test_vectorised_states_equal_stepping_every_packet(specs) -> None:
    f = Flow(isn_c=4_294_967_000, isn_s=12345)
    for from_client, flags, seq, ack, size, isn_shift in specs:
        add = f.c if from_client else f.s
        add(flags, seq + 7919 * isn_shift, ack, b"z" * size)
    result = extract_flows(f.packets, WIRESHARK)
    assert vector_finals(result) == scalar_finals(result)


def test_vectorised_states_on_every_real_capture(capture_path) -> None:
    from engine import extract_flows_from_file

    with extract_flows_from_file(capture_path, WIRESHARK) as result:
        if (result.conversations.kind == Kind.TCP).any():
            assert vector_finals(result) == scalar_finals(result)


def test_automaton_finishes_long_runs_in_python() -> None:
    """One conversation with many events next to many short ones (the Python tail)."""
    rng = np.random.default_rng(7)
    table = (np.arange(11)[:, None] * 3 + np.arange(5)[None, :]) % 11
    sizes = [600, *rng.integers(1, 6, size=200).tolist()]
    local = np.repeat(np.arange(len(sizes)), sizes)
    codes = rng.integers(0, 5, size=local.size)
    got = run_automaton(table, 1, local, codes, len(sizes) + 2)
    want = np.full(len(sizes) + 2, 1)
    for conv, code in zip(local.tolist(), codes.tolist(), strict=True):
        want[conv] = table[want[conv], code]
    assert got.tolist() == want.tolist()


def test_many_control_packets_in_one_conversation() -> None:
    f = handshake(Flow())
    for k in range(150):
        f.c("FA", 1, 1).s("A", 1, 1 + k % 2)
    f.s("RA", 1, 2)
    result = analyse(f)
    assert vector_finals(result) == scalar_finals(result)
    assert result[0].status == "reset"


def test_garbage_ack_field_without_the_ack_flag_is_ignored() -> None:
    """A SYN's acknowledgement field is meaningless; half a sequence space away from the real
    acknowledgements it must not disturb how they are read."""
    isn_s = 700_000
    syn = (Ether() / IP(src=CLIENT[0], dst=SERVER[0])
           / TCP(sport=CLIENT[1], dport=SERVER[1], flags="S", seq=1000,
                 ack=(isn_s + (1 << 31)) % (1 << 32)))
    syn.time = 99.0
    f = Flow(isn_s=isn_s)
    f.packets.append(syn)
    f.s("SA", 0, 1).c("A", 1, 1).c("PA", 1, 1, b"hello").s("A", 1, 6)
    result = extract_flows(f.packets, WIRESHARK)
    conv = result[0]
    assert (conv.client_state, conv.server_state, conv.conn_state) == ("ESTABLISHED",
                                                                       "ESTABLISHED", "S1")
    assert conv.missing_bytes == 0
    assert vector_finals(result) == scalar_finals(result)
