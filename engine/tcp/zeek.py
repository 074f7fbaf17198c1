"""Zeek's view of a TCP connection: its endpoint states and the ``conn_state`` summary.

Zeek tracks each endpoint by what it sends (INACTIVE until its first packet, SYN_SENT,
SYN_ACK_SENT, PARTIAL for a side first seen without a SYN, ESTABLISHED, CLOSED once it sent a
FIN, RESET once it sent a RST) and condenses the pair into one of the conn.log codes (S0, S1, SF,
REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH). The originator is our client.
Like :mod:`.state`, the machine is one pure step function compiled into a lookup table.
"""

from __future__ import annotations

import re
from enum import IntEnum
from functools import cache

import numpy as np


class ZeekState(IntEnum):
    INACTIVE = 0
    SYN_SENT = 1
    SYN_ACK_SENT = 2
    PARTIAL = 3
    ESTABLISHED = 4
    CLOSED = 5
    RESET = 6


Z = ZeekState
NZ = len(ZeekState)
NZJOINT = NZ * NZ  # orig * 7 + resp; 0 = both inactive

Z_FROM_RESP = 1
Z_SYN = 2
Z_ACK = 4
Z_FIN = 8
Z_RST = 16
NZCODES = 32


def zeek_step(state: int, code: int) -> int:
    """The (orig, resp) joint state after one packet."""
    now = list(divmod(state, NZ))
    sender = 1 if code & Z_FROM_RESP else 0
    peer = 1 - sender
    x = now[sender]
    if code & Z_RST:
        now[sender] = Z.RESET
    elif code & Z_SYN and code & Z_FIN:
        if x != Z.RESET:
            now[sender] = Z.CLOSED
    elif code & Z_SYN:
        if x == Z.INACTIVE:
            if sender == 0:
                now[0] = Z.SYN_ACK_SENT if code & Z_ACK else Z.SYN_SENT
            else:  # the responder answers (or opens simultaneously)
                if now[peer] == Z.SYN_SENT:
                    now[peer] = Z.ESTABLISHED
                now[1] = Z.ESTABLISHED
    elif code & Z_FIN:
        if x != Z.RESET:
            now[sender] = Z.CLOSED
    elif x == Z.INACTIVE:
        now[sender] = Z.PARTIAL
    return now[0] * NZ + now[1]


@cache
def zeek_table() -> np.ndarray:
    table = np.empty((NZJOINT, NZCODES), dtype=np.int16)
    for state in range(NZJOINT):
        for code in range(NZCODES):
            table[state, code] = zeek_step(state, code)
    table.setflags(write=False)
    return table


_RSTOS0 = re.compile(r"\^?S[^HAFGIQ]*R")


def conn_states(final: np.ndarray, orig_bytes: np.ndarray, resp_bytes: np.ndarray,
                history: np.ndarray) -> np.ndarray:
    """Zeek's ``conn_state`` for each final joint state (array of strings, ``<U6``)."""
    os_, rs = np.divmod(final.astype(np.int64), NZ)
    o_inactive = (os_ == Z.INACTIVE) | (os_ == Z.PARTIAL)
    r_inactive = (rs == Z.INACTIVE) | (rs == Z.PARTIAL)
    out = np.full(final.size, "OTH", dtype="<U6")
    out[(os_ == Z.ESTABLISHED) & (rs == Z.ESTABLISHED)] = "S1"
    out[(os_ == Z.SYN_SENT) & (rs == Z.INACTIVE)] = "S0"
    rc = rs == Z.CLOSED
    oc = os_ == Z.CLOSED
    out[rc & ~oc] = np.where(o_inactive, "SHR", "S3")[rc & ~oc]
    out[oc & ~rc] = np.where(r_inactive, "SH", "S2")[oc & ~rc]
    out[oc & rc] = "SF"
    o_reset = (os_ == Z.RESET) & (rs != Z.RESET)
    out[o_reset & ~r_inactive] = "RSTO"
    for i in np.flatnonzero(o_reset & r_inactive).tolist():
        out[i] = "RSTOS0" if _RSTOS0.match(str(history[i])) else "OTH"
    r_reset = rs == Z.RESET
    rej = r_reset & ((os_ == Z.SYN_SENT) | (os_ == Z.SYN_ACK_SENT)
                     | ((os_ == Z.RESET) & (orig_bytes == 0) & (resp_bytes == 0)))
    out[r_reset] = np.where(o_inactive, "RSTRH", "RSTR")[r_reset]
    out[rej] = "REJ"
    return out
