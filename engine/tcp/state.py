"""RFC 793 connection states, one per endpoint, driven by what each side sends and receives.

The capture is watched from the middle of the path: a packet counts as sent and received when it
is seen. The two endpoints are the *client* (the first sender of a SYN without ACK; else the
receiver of the first SYN-ACK; else A, marked partial) and the *server*.

The machine is one pure function, :func:`step`, of the pair of states and a small event code.
The same function drives the on-demand timeline (every packet of one conversation) and, compiled
into a lookup table, the vectorised pass over all conversations at load time (see ``automaton``),
so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import IntEnum
from functools import cache, lru_cache
from pathlib import Path

import numpy as np


class TcpState(IntEnum):
    CLOSED = 0
    LISTEN = 1
    SYN_SENT = 2
    SYN_RECEIVED = 3
    ESTABLISHED = 4
    FIN_WAIT_1 = 5
    FIN_WAIT_2 = 6
    CLOSING = 7
    TIME_WAIT = 8
    CLOSE_WAIT = 9
    LAST_ACK = 10


S = TcpState
NSTATES = len(TcpState)
_BY_VALUE = tuple(TcpState)  # (the values are 0, 1, …: a lookup instead of an enum call)
CLIENT, SERVER = 0, 1

# joint states: client * 11 + server, plus three with both endpoints CLOSED for a reason
FRESH = NSTATES * NSTATES  # nothing seen yet
RESET = FRESH + 1  # closed by a RST
REJECTED = FRESH + 2  # the SYN was answered by a RST
NJOINT = FRESH + 3

# event code bits (what one packet means to the machine)
FROM_SERVER = 1
E_SYN = 2
E_ACK = 4
E_FIN = 8
E_RST = 16
ACKS_SYN = 32  # acknowledges the receiver's SYN
ACKS_FIN = 64  # acknowledges the receiver's FIN
NCODES = 128

_OPENING = (S.SYN_SENT, S.SYN_RECEIVED, S.ESTABLISHED)
_SENT_FIN = (S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSING, S.TIME_WAIT, S.LAST_ACK)
_DONE = (S.CLOSED, S.TIME_WAIT)

Change = tuple[int, TcpState]  # (CLIENT or SERVER, new state)


def joint(client: TcpState, server: TcpState) -> int:
    return int(client) * NSTATES + int(server)


def split(state: int) -> tuple[TcpState, TcpState]:
    """The (client, server) states of a joint state (FRESH counts as both CLOSED)."""
    if state >= FRESH:
        return S.CLOSED, S.CLOSED
    c, s = divmod(state, NSTATES)
    return _BY_VALUE[c], _BY_VALUE[s]


def step(state: int, code: int) -> tuple[int, list[Change]]:
    """The joint state after one packet, and the endpoint changes in the order they happen."""
    if state in (RESET, REJECTED):
        return state, []
    sender = SERVER if code & FROM_SERVER else CLIENT
    receiver = 1 - sender
    now = list(split(state))
    changes: list[Change] = []

    def move(who: int, new: TcpState) -> None:
        if now[who] != new:
            now[who] = new
            changes.append((who, new))

    if code & E_RST:
        if state == FRESH:
            return RESET, [(CLIENT, S.CLOSED), (SERVER, S.CLOSED)]
        if now[receiver] == S.SYN_SENT:
            end = REJECTED
        elif now[sender] in _DONE and now[receiver] in _DONE:
            return state, []  # a RST after both sides finished changes nothing
        else:
            end = RESET
        move(CLIENT, S.CLOSED)
        move(SERVER, S.CLOSED)
        return end, changes

    if state == FRESH:
        if code & E_SYN and not code & E_ACK:
            move(sender, S.SYN_SENT)
            move(receiver, S.LISTEN)
        elif code & E_SYN:
            move(sender, S.SYN_RECEIVED)
            move(receiver, S.ESTABLISHED)
        else:  # picked up mid-stream
            move(CLIENT, S.ESTABLISHED)
            move(SERVER, S.ESTABLISHED)
            _after_syn(code, sender, receiver, now, move)
        return _encode(now), changes

    if code & E_SYN and not code & E_ACK:
        if now[sender] in (S.CLOSED, S.LISTEN):
            move(sender, S.SYN_SENT)
            if now[receiver] == S.SYN_SENT:  # simultaneous open: the SYNs crossed
                move(receiver, S.SYN_RECEIVED)
                move(sender, S.SYN_RECEIVED)
        elif now[sender] == S.SYN_SENT and now[receiver] == S.SYN_SENT:
            move(receiver, S.SYN_RECEIVED)
    elif code & E_SYN:
        if now[sender] in (S.CLOSED, S.LISTEN, S.SYN_SENT):
            move(sender, S.SYN_RECEIVED)
        if now[receiver] in (S.SYN_SENT, S.SYN_RECEIVED):
            move(receiver, S.ESTABLISHED)
    _after_syn(code, sender, receiver, now, move)
    return _encode(now), changes


def _after_syn(code: int, sender: int, receiver: int, now: list[TcpState],
               move: Callable[[int, TcpState], None]) -> None:
    """Acknowledgements, then the FIN, of one packet."""
    if code & E_ACK:
        if code & ACKS_SYN and now[receiver] == S.SYN_RECEIVED:
            move(receiver, S.ESTABLISHED)
        if not code & E_SYN and now[sender] == S.SYN_SENT:
            # it acknowledges, so it got a SYN-ACK the capture missed
            move(sender, S.ESTABLISHED)
            if now[receiver] == S.LISTEN:
                move(receiver, S.ESTABLISHED)
        if code & ACKS_FIN:
            if now[receiver] == S.FIN_WAIT_1:
                move(receiver, S.FIN_WAIT_2)
            elif now[receiver] == S.CLOSING:
                move(receiver, S.TIME_WAIT)
            elif now[receiver] == S.LAST_ACK:
                move(receiver, S.CLOSED)
    if code & E_FIN:
        if now[sender] in _OPENING:
            move(sender, S.FIN_WAIT_1)
        elif now[sender] == S.CLOSE_WAIT:
            # a FIN that does not acknowledge the peer's FIN was sent before that FIN arrived:
            # a simultaneous close (FIN_WAIT_1, then CLOSING when the peer's FIN arrives)
            move(sender, S.LAST_ACK if code & ACKS_FIN else S.CLOSING)
        if now[receiver] in (S.ESTABLISHED, S.SYN_RECEIVED):
            move(receiver, S.CLOSE_WAIT)
        elif now[receiver] == S.FIN_WAIT_1:
            move(receiver, S.CLOSING)
        elif now[receiver] == S.FIN_WAIT_2:
            move(receiver, S.TIME_WAIT)


def _encode(now: list[TcpState]) -> int:
    return joint(now[CLIENT], now[SERVER])


def transition_table(codes: Iterable[int] | None = None) -> np.ndarray:
    """``table[state, code]`` = the joint state after ``step`` (int16), for every state a
    connection can reach from FRESH, and every code (or only ``codes``: those a batch of
    packets has); -1 elsewhere, where the automaton never looks. Built when a capture is read,
    from the codes it has: a few hundred steps instead of the whole table's 16,000."""
    if codes is None:
        return _whole_table()
    return _table(tuple(sorted({int(c) for c in codes})))


#: the whole table, built from :func:`step` and stored beside this module by
#: :func:`store_whole_table`: building it takes 16,000 steps, 25 ms of every run on a TCP
#: capture (tests/engine/test_tcp_state.py fails when it is not what :func:`step` gives)
STORED_TABLE = Path(__file__).with_name("transition_table.npy")


@cache
def _whole_table() -> np.ndarray:
    try:
        table = np.load(STORED_TABLE, allow_pickle=False)
    except (OSError, ValueError):  # not installed with the module: build it
        return _table(tuple(range(NCODES)))
    if table.shape != (NJOINT, NCODES) or table.dtype != np.int16:
        return _table(tuple(range(NCODES)))
    table.setflags(write=False)
    return table


def store_whole_table(path: Path = STORED_TABLE) -> None:
    """Write the whole table built from :func:`step` (after a change to the rules above)."""
    np.save(path, _table(tuple(range(NCODES))), allow_pickle=False)


@lru_cache(maxsize=64)
def _table(codes: tuple[int, ...]) -> np.ndarray:
    table = np.full((NJOINT, NCODES), -1, dtype=np.int16)
    todo = [FRESH]
    seen = {FRESH}
    while todo:
        state = todo.pop()
        for code in codes:
            after = step(state, code)[0]
            table[state, code] = after
            if after not in seen:
                seen.add(after)
                todo.append(after)
    table.setflags(write=False)
    return table


# -- status: one word for the whole connection ----------------------------------------------
STATUS_WORDS = ("active", "half-open", "half-closed", "closed", "reset", "rejected", "timed out")


def status_codes(final: np.ndarray) -> np.ndarray:
    """Index into STATUS_WORDS for each final joint state (before any idle timeout).

    In a plain joint state CLOSED can only follow LAST_ACK, so it counts as "sent a FIN".
    """
    out = np.zeros(final.size, dtype=np.int8)
    c, s = np.divmod(np.minimum(final, FRESH - 1), NSTATES)
    finished = (*_SENT_FIN, S.CLOSED)
    fin_sent = np.isin(c, finished).astype(int) + np.isin(s, finished).astype(int)
    opening = (S.LISTEN, S.SYN_SENT, S.SYN_RECEIVED)
    out[np.isin(c, opening) | np.isin(s, opening)] = 1
    out[fin_sent == 1] = 2
    out[fin_sent == 2] = 3
    out[final == RESET] = 4
    out[final == REJECTED] = 5
    out[final == FRESH] = 0
    return out
