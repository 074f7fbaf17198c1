"""The filter box's terms as a SQL WHERE clause over an index, so DuckDB does the filtering.

The terms are those of the capture table's filter box, combined with spaces as AND::

    10.0.0.1   fe80::1   10.0.0.0/8     either endpoint's address (or network)
    C4A815CD/6                          a Z-Wave endpoint (home id/node)
    port 443   stream 7                 either port; Wireshark's stream number
    tcp  udp  zwave …   ipv4  ipv6      a protocol; the address family
    SF  RSTO  ESTABLISHED               a value of a text column (state, conn_state, …)
    0xc4a815cd                          a value of a hex column (the Z-Wave home id)
    packets>100  conn_state=SF          compare a column (any index column, or its alias)
    capture~ring-07                     a capture whose path contains the text
    !tcp   not 10.0.0.1                 negate the next term

Values go into the SQL as literals built here from parsed numbers and escaped text, never as
raw user text. A term this module does not know raises :class:`FilterSyntaxError` with a hint.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence

from ..columns import COLUMNS, find_column
from ..protocols import known_protocol_names
from .browse import quote

HELP = ("Use an address (10.0.0.1, 10.0.0.0/8), port N, stream N, a protocol (tcp, udp, …), "
        "a state (SF, RSTO, …), a comparison (packets>100, conn_state=SF) or capture~TEXT; "
        "start a term with ! to exclude it.")

_COMPARISON = re.compile(r"^([a-z_][a-z0-9_]*)(<=|>=|!=|==|=|<|>|~)(.+)$", re.IGNORECASE)
_ZWAVE = re.compile(r"^([0-9a-f]{8})/(\d{1,3})$", re.IGNORECASE)
_HEX = re.compile(r"^0x([0-9a-f]{1,16})$", re.IGNORECASE)
#: a bare word that may be a value of a text column (SF, RSTO, ESTABLISHED, half-open)
_WORD = re.compile(r"^[a-z][a-z0-9_-]*$", re.IGNORECASE)

#: names the capture table's filter uses for the core figures → index columns
ALIASES = {"packets_ab": "packets_a_to_b", "packets_ba": "packets_b_to_a",
           "bytes_ab": "bytes_a_to_b", "bytes_ba": "bytes_b_to_a", "port_a": "a_port",
           "port_b": "b_port", "bps_ab": "bits_per_second_a_to_b",
           "bps_ba": "bits_per_second_b_to_a", "capture": "capture_path"}


class FilterSyntaxError(ValueError):
    """A term the index filter does not understand; ``str()`` is the hint."""


def text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _ipv4_value(column: str) -> str:
    """An IPv4 address column as a number (NULL for other addresses), in SQL."""
    c = quote(column)
    parts = [f"TRY_CAST(split_part({c}, '.', {k}) AS BIGINT)" for k in (1, 2, 3, 4)]
    shifted = " + ".join(f"{p} * {1 << (8 * (3 - k))}" for k, p in enumerate(parts))
    return f"(CASE WHEN regexp_full_match({c}, '\\d+\\.\\d+\\.\\d+\\.\\d+') THEN {shifted} END)"


class FilterTranslator:
    """Filter text → SQL for a dataset with the given columns (name → DuckDB type)."""

    def __init__(self, types: dict[str, str]) -> None:
        self.types = types
        self.protocols = known_protocol_names()
        #: text columns whose values a bare word may name (declared columns of format text)
        self.text_columns = [name for name, spec in COLUMNS.items()
                             if not spec.core and spec.format == "text"
                             and types.get(spec.key.replace(".", "_")) == "VARCHAR"]
        self.hex_columns = [spec.key.replace(".", "_") for spec in COLUMNS.values()
                            if spec.format == "hex" and spec.key.replace(".", "_") in types]

    def where(self, text_: str) -> str:
        """The WHERE clause (without the keyword) for a filter text; "" matches everything."""
        tokens = text_.split()
        clauses: list[str] = []
        k = 0
        while k < len(tokens):
            negate = False
            token = tokens[k]
            if token.lower() == "not":
                negate, k = True, k + 1
                if k == len(tokens):
                    raise FilterSyntaxError("'not' needs a term after it. " + HELP)
                token = tokens[k]
            elif token.startswith("!") and len(token) > 1:
                negate, token = True, token[1:]
            clause, used = self._term(token, tokens[k + 1:])
            k += 1 + used
            clauses.append(f"NOT coalesce({clause}, false)" if negate else f"({clause})")
        return " AND ".join(clauses)

    # -- terms ------------------------------------------------------------------------------
    def _term(self, token: str, rest: Sequence[str]) -> tuple[str, int]:
        """SQL for one term, and how many following tokens it used."""
        low = token.lower()
        if low in ("port", "stream"):
            if not rest or not rest[0].isdigit():
                raise FilterSyntaxError(f"'{low}' needs a number after it, like {low} 443.")
            n = int(rest[0])
            if low == "port":
                return f"a_port = {n} OR b_port = {n}", 1
            return f"stream = {n}", 1
        for attempt in (self._address, self._zwave, self._comparison, self._hex, self._word):
            clause = attempt(token)
            if clause is not None:
                return clause, 0
        raise FilterSyntaxError(f"Unknown filter term {token!r}. {HELP}")

    def _address(self, token: str) -> str | None:
        try:
            if "/" in token:
                net = ipaddress.ip_network(token, strict=False)
            else:
                addr = ipaddress.ip_address(token)
                return f"a_address = {text(str(addr))} OR b_address = {text(str(addr))}"
        except ValueError:
            return None
        if net.version == 4:
            lo, hi = int(net.network_address), int(net.broadcast_address)
            return " OR ".join(f"{_ipv4_value(c)} BETWEEN {lo} AND {hi}"
                               for c in ("a_address", "b_address"))
        return (f"flowscope_in_network(a_address, {text(str(net))}) OR "
                f"flowscope_in_network(b_address, {text(str(net))})")

    def _zwave(self, token: str) -> str | None:
        match = _ZWAVE.match(token)
        if not match or "home_id" not in self.types:
            return None
        home, node = match.group(1).upper(), int(match.group(2))
        return f"home_id = {text(home)} AND (node_a = {node} OR node_b = {node})"

    def _hex(self, token: str) -> str | None:
        match = _HEX.match(token)
        if not match or not self.hex_columns:
            return None
        value = int(match.group(1), 16)
        return " OR ".join(
            f"{quote(c)} = {text(f'{value:08X}')}" if self.types[c] == "VARCHAR"
            else f"{quote(c)} = {value}" for c in self.hex_columns)

    def _word(self, token: str) -> str | None:
        low = token.lower()
        if low in ("ipv4", "ipv6"):
            return ("regexp_full_match(a_address, '\\d+\\.\\d+\\.\\d+\\.\\d+')" if low == "ipv4"
                    else "contains(a_address, ':')")
        if low in self.protocols:
            from ..protocols import lookup

            proto = lookup(low)
            name = proto.name if proto is not None else low
            return f"protocol = {text(name)}"
        if self.text_columns and _WORD.match(token):
            return " OR ".join(f"upper({quote(c)}) = {text(token.upper())}"
                               for c in self.text_columns)
        return None

    def _comparison(self, token: str) -> str | None:
        match = _COMPARISON.match(token)
        if not match:
            return None
        name, op, value = match.group(1).lower(), match.group(2), match.group(3)
        column = self._column(name)
        if column is None:
            raise FilterSyntaxError(f"Unknown column {name!r} in {token!r}. {HELP}")
        sql_op = {"==": "=", "~": "~"}.get(op, op)
        kind = self.types[column]
        if sql_op == "~":
            return f"contains(lower(CAST({quote(column)} AS VARCHAR)), {text(value.lower())})"
        if kind in ("BIGINT", "INTEGER", "DOUBLE", "FLOAT") or kind.startswith("DECIMAL"):
            number = _number(value)
            if number is None:
                raise FilterSyntaxError(f"{name} compares with a number, not {value!r}.")
            return f"{quote(column)} {sql_op} {number}"
        if kind == "BOOLEAN":
            truth = {"1": "true", "true": "true", "yes": "true", "0": "false", "false": "false",
                     "no": "false"}.get(value.lower())
            if truth is None:
                raise FilterSyntaxError(f"{name} is true or false, not {value!r}.")
            return f"{quote(column)} {sql_op} {truth}"
        return f"upper(CAST({quote(column)} AS VARCHAR)) {sql_op} {text(value.upper())}"

    def _column(self, name: str) -> str | None:
        name = ALIASES.get(name, name)
        if name in self.types:
            return name
        spec = find_column(name)
        if spec is not None:
            flat = spec.key.replace(".", "_")
            if flat in self.types:
                return flat
            return ALIASES.get(spec.name) if ALIASES.get(spec.name) in self.types else None
        return None


def _number(value: str) -> str | None:
    try:
        return repr(int(value, 0))
    except ValueError:
        pass
    try:
        number = float(value)
    except ValueError:
        return None
    return repr(number) if number == number and abs(number) != float("inf") else None


def in_network(address: str | None, network: str) -> bool:
    """``flowscope_in_network`` for DuckDB (IPv6 networks; IPv4 ones are plain SQL)."""
    if address is None:
        return False
    try:
        return ipaddress.ip_address(address) in _network(network)
    except ValueError:
        return False


_networks: dict[str, ipaddress.IPv4Network | ipaddress.IPv6Network] = {}


def _network(text_: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    net = _networks.get(text_)
    if net is None:
        net = _networks[text_] = ipaddress.ip_network(text_, strict=False)
    return net


def register_functions(con: object, register: Callable[..., object] | None = None) -> None:
    """Make ``flowscope_in_network`` known to a DuckDB connection."""
    fn = register or con.create_function  # type: ignore[attr-defined]
    fn("flowscope_in_network", in_network, ["VARCHAR", "VARCHAR"], "BOOLEAN",
       null_handling="special")
