"""The filter box's language: simple terms, combined with spaces as AND, to a boolean mask.

Terms (case-insensitive where it makes sense)::

    10.0.0.1   fe80::1   10.0.0.0/8    either endpoint's address (or network)
    C4A815CD/6                          a Z-Wave endpoint (home id/node, as the table shows it)
    port 443   stream 7                 either port; Wireshark's stream number
    tcp  udp  icmp  icmpv6  zwave  gre  a protocol;  ipv4 / ipv6: the address family
    SF  RSTO  ESTABLISHED               a value of a text column an analysis added (state, …)
    0xc4a815cd                          a Z-Wave home id or a value of a hex column
    packets>100  bytes<=1500  retransmissions>0  conn_state=SF   compare a column
    !tcp   not 10.0.0.1                 negate the next term

An unknown term raises :class:`FilterError` with a hint instead of quietly matching nothing.
"""

from __future__ import annotations

import ipaddress
import operator
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from engine import protocols
from engine.protocols import FAMILIES, known_protocol_names
from gui.table.data import ConversationData

Mask = np.ndarray
_U64 = (1 << 64) - 1
_COMPARISON = re.compile(r"^([a-z_][a-z0-9_]*)(<=|>=|!=|==|=|<|>)(.*)$", re.IGNORECASE)
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq, "==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt,
    "<=": operator.le, ">=": operator.ge}

HELP = ("Use an address (10.0.0.1, 10.0.0.0/8), port N, stream N, a protocol (tcp, udp, icmp, "
        "zwave, …), a state (SF, RSTO, …) or a comparison (packets>100); "
        "start a term with ! to exclude it.")


class FilterError(ValueError):
    """The filter text has a term Flowscope does not understand; ``str()`` is the hint."""


def _numeric_columns(data: ConversationData) -> dict[str, np.ndarray]:
    """Columns a comparison can name: core figures and every extra column of the table."""
    t = data.table
    cols: dict[str, np.ndarray] = {
        "packets": data.packets, "bytes": data.bytes, "stream": t.stream,
        "packets_ab": t.packets_ab, "packets_ba": t.packets_ba, "bytes_ab": t.bytes_ab,
        "bytes_ba": t.bytes_ba, "duration": data.duration_ns / 1e9, "port_a": t.a_port,
        "port_b": t.b_port}
    cols.update(t.extra)
    return cols


class _Parser:
    def __init__(self, data: ConversationData) -> None:
        self.data = data
        self.t = data.table

    # -- terms ------------------------------------------------------------------------------
    def address(self, token: str) -> Mask | None:
        try:
            if "/" in token:
                net = ipaddress.ip_network(token, strict=False)
                return self._network(net.version, int(net.network_address), net.prefixlen)
            addr = ipaddress.ip_address(token)
        except ValueError:
            return None
        bits = 32 if addr.version == 4 else 128
        return self._network(addr.version, int(addr), bits)

    def _network(self, version: int, value: int, prefix: int) -> Mask:
        t = self.t
        bits = 32 if version == 4 else 128
        full = (1 << bits) - 1
        mask = full ^ ((1 << (bits - prefix)) - 1)
        want_hi, want_lo = (value & mask) >> 64, (value & mask) & _U64
        mask_hi, mask_lo = np.uint64(mask >> 64), np.uint64(mask & _U64)

        def side(hi: np.ndarray, lo: np.ndarray) -> Mask:
            return (((hi & mask_hi) == np.uint64(want_hi))
                    & ((lo & mask_lo) == np.uint64(want_lo)))

        return (t.family == version) & (side(t.a_hi, t.a_lo) | side(t.b_hi, t.b_lo))

    def endpoint(self, token: str) -> Mask | None:
        """An endpoint of a plug-in's address family (``C4A815CD/6``: a Z-Wave node)."""
        for code, family in FAMILIES.items():
            if code in (4, 6) or family.parse is None:
                continue  # IP addresses and networks: :meth:`address`
            parsed = family.parse(token)
            if parsed is None:
                continue
            hi, lo = np.uint64(parsed[0]), np.uint64(parsed[1])
            t = self.t
            return (t.family == code) & (((t.a_hi == hi) & (t.a_lo == lo))
                                         | ((t.b_hi == hi) & (t.b_lo == lo)))
        return None

    def hex_value(self, token: str) -> Mask | None:
        if not token.lower().startswith("0x"):
            return None
        try:
            value = int(token, 16)
        except ValueError:
            return None
        t = self.t
        not_ip = (t.family != 4) & (t.family != 6)  # a network id (a Z-Wave home id)
        mask = not_ip & ((t.a_hi == np.uint64(value)) | (t.b_hi == np.uint64(value)))
        for spec in self.data.extra_columns:
            if spec.format == "hex":
                mask = mask | (t.extra[spec.name] == value)
        return mask

    def protocol(self, token: str) -> Mask | None:
        name = token.lower()
        if name in ("ipv4", "ipv6"):
            return self.t.family == int(name[-1])
        registered = protocols.lookup(name)
        if registered is not None:
            name = registered.name
        present = {p.name for p in self.data.protocols}
        if name in known_protocol_names() or name in present:
            return self.data.protocol == name
        return None

    def state(self, token: str) -> Mask | None:
        """A value of a text column an analysis registered (exact case first, then any case)."""
        columns = [self.t.extra[s.name] for s in self.data.extra_columns if s.format == "text"]
        exact = [col == token for col in columns]
        if any(m.any() for m in exact):
            return np.logical_or.reduce(exact)
        lower = token.lower()
        loose = [np.char.lower(col) == lower for col in columns]
        if any(m.any() for m in loose):
            return np.logical_or.reduce(loose)
        return None

    def comparison(self, token: str) -> Mask | None:
        m = _COMPARISON.match(token)
        if not m:
            return None
        name, op, raw = m.group(1).lower(), m.group(2), m.group(3)
        columns = _numeric_columns(self.data)
        if name not in columns:
            raise FilterError(f"“{token}”: there is no column called “{name}”. Columns: "
                              + ", ".join(sorted(columns)) + ".")
        col = columns[name]
        if name in self._hex_columns():
            try:
                return _OPS[op](col, int(raw, 16))
            except ValueError:
                raise FilterError(f"“{token}”: “{raw}” is not a hexadecimal number.") from None
        if col.dtype.kind == "U":
            if op not in ("=", "==", "!="):
                raise FilterError(f"“{token}”: text columns compare with = or != only.")
            return _OPS[op](col, raw)
        try:
            value = float(int(raw, 0)) if raw.lower().startswith("0x") else float(raw)
        except ValueError:
            raise FilterError(f"“{token}”: “{raw}” is not a number.") from None
        return _OPS[op](col, value)

    def _hex_columns(self) -> set[str]:
        return {spec.name for spec in self.data.extra_columns if spec.format == "hex"}

    def keyword(self, word: str, argument: str | None) -> Mask:
        if argument is None or not argument.isdigit():
            raise FilterError(f"“{word}” needs a number after it, as in “{word} 443”.")
        n = int(argument)
        if word == "port":
            return (self.t.a_port == n) | (self.t.b_port == n)
        return self.t.stream == n

    def term(self, token: str) -> Mask:
        for parse in (self.comparison, self.address, self.endpoint, self.hex_value,
                      self.protocol, self.state):
            mask = parse(token)
            if mask is not None:
                return mask
        if token.isdigit():
            raise FilterError(f"“{token}”: a bare number is ambiguous; write “port {token}” "
                              f"or “stream {token}”.")
        raise FilterError(f"Unknown filter term “{token}”. {HELP}")


def filter_mask(text: str, data: ConversationData) -> Mask | None:
    """The conversations matching every term of ``text``; None when the text has no terms."""
    tokens = text.split()
    if not tokens:
        return None
    parser = _Parser(data)
    mask = np.ones(len(data), dtype=bool)
    k = 0
    while k < len(tokens):
        token = tokens[k]
        negate = False
        if token.lower() == "not" or token == "!":
            negate, k = True, k + 1
            if k == len(tokens):
                raise FilterError(f"“{token}” needs a term after it, as in “{token} tcp”.")
            token = tokens[k]
        elif token.startswith("!") and len(token) > 1 and not token.startswith("!="):
            negate, token = True, token[1:]
        if token.lower() in ("port", "stream"):
            argument = tokens[k + 1] if k + 1 < len(tokens) else None
            term = parser.keyword(token.lower(), argument)
            k += 2
        else:
            term = parser.term(token)
            k += 1
        mask &= ~term if negate else term
    return mask
