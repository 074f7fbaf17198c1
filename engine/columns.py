"""The column registry: every conversation column, declared once.

A :class:`ColumnSpec` says what a column is called (its name is also its filter and CSV name),
how views show it (``format``), which protocols it describes, whether the GUI shows it before
the user asks, and how it appears in the JSON/CSV export. The JSON/CSV writers, the GUI's table
model and column chooser, the text table and the filter language all read :data:`COLUMNS`, so
adding a column is one declaration plus the code that computes it.

Core columns are the conversation table's own figures (``values`` computes them from the table);
their JSON fields are the fixed part of the contract (``engine.export.conversations``). Every
other column is an array an analysis or plug-in puts in ``ConversationTable.extra[name]``, one
value per row ("not applicable" as -1, NaN or "" on rows of other protocols).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .table import ConversationTable

#: how a column is shown (GUI formatting, alignment) and converted by default for JSON
FORMATS = frozenset({
    "count",  # integer, -1 = not applicable
    "bytes",  # a byte count, -1 = not applicable
    "text",  # fixed-width unicode, "" = not applicable
    "hex",  # integer shown as 8 hex digits
    "float",  # NaN = not applicable
    "rate",  # bits per second, NaN when the duration is zero
    "duration",  # nanoseconds
    "time",  # nanoseconds since the epoch
    "port", "stream", "address", "protocol",  # the core columns' own formats
})


def _default_to_json(fmt: str) -> Callable[[Any], Any]:
    if fmt in ("count", "bytes", "hex", "port", "stream", "duration", "time"):
        return int
    if fmt in ("float", "rate"):
        return lambda v: None if math.isnan(v) else float(v)
    return str


@dataclass(frozen=True)
class ColumnSpec:
    """One conversation column."""

    name: str
    title: str
    format: str
    doc: str = ""
    #: protocol names the column describes; () = every conversation
    protocols: tuple[str, ...] = ()
    #: listed in the column chooser but not shown until the user asks
    hidden: bool = False
    #: other names the filter accepts for it (Wireshark-style field names, lower case). An
    #: alias several columns declare names them together: the filter matches a row when any
    #: of them does (``port`` is a_port or b_port, ``name`` a server name or an endpoint's
    #: name), so a column joins such a group with one word here
    aliases: tuple[str, ...] = ()
    #: JSON key (default: the name); "group.key" nests it in an object with its siblings,
    #: null when all of them are null
    json_key: str | None = None
    #: one value as JSON (default by format); rows of other protocols leave the key out
    to_json: Callable[[Any], Any] | None = None
    #: title in ``conversations --format table`` (the CLI's text table); None: not shown there
    text_title: str | None = None
    #: core columns: computed from the table; None: ``table.extra[name]``
    values: Callable[[ConversationTable], np.ndarray] | None = None

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"column {self.name!r}: unknown format {self.format!r}")

    @property
    def core(self) -> bool:
        return self.values is not None

    @property
    def key(self) -> str:
        return self.json_key or self.name

    def convert(self, value: Any) -> Any:
        return self.converter()(value)

    def converter(self) -> Callable[[Any], Any]:
        """The function :meth:`convert` applies (to convert many values at once)."""
        return self.to_json or _default_to_json(self.format)

    def column(self, table: ConversationTable) -> np.ndarray | None:
        """The column's values for every row of ``table`` (None when the table lacks it)."""
        if self.values is not None:
            return self.values(table)
        return table.extra.get(self.name)

    def applies(self, protocol: str) -> bool:
        return not self.protocols or protocol in self.protocols


#: every declared column, in display order
COLUMNS: dict[str, ColumnSpec] = {}


def declare_column(spec: ColumnSpec) -> ColumnSpec:
    """Add ``spec`` to the registry (a name is declared once)."""
    if spec.name in COLUMNS:
        raise ValueError(f"column {spec.name!r} is declared twice")
    COLUMNS[spec.name] = spec
    return spec


def declare_columns(*specs: ColumnSpec) -> None:
    for spec in specs:
        declare_column(spec)


def withdraw_column(name: str) -> None:
    """Remove a plug-in's column (when the plug-in is unloaded)."""
    COLUMNS.pop(name, None)


def extra_columns() -> list[ColumnSpec]:
    """The columns analyses and plug-ins declared (everything but the core)."""
    return [c for c in COLUMNS.values() if not c.core]


def find_column(name: str) -> ColumnSpec | None:
    """A column by its name or one of its aliases (any case)."""
    found = find_columns(name)
    return found[0] if found else None


def find_columns(name: str) -> list[ColumnSpec]:
    """Every column a filter word names: the column of that name, else every column that
    declares it as an alias (in declaration order); [] when none does."""
    name = name.lower()
    spec = COLUMNS.get(name)
    if spec is not None:
        return [spec]
    return [spec for spec in COLUMNS.values() if name in spec.aliases]


# -- the core: Wireshark's Conversations columns ----------------------------------------------
def _field(name: str) -> Callable[[ConversationTable], np.ndarray]:
    return lambda t: getattr(t, name)


declare_columns(
    ColumnSpec("protocol", "Protocol", "protocol", "TCP, UDP, ICMP, other IP protocols, plug-ins'",
               values=ConversationTable.protocol_names, aliases=("proto",)),
    ColumnSpec("a_address", "Address A", "address",
               "Endpoint A (sender of the first packet)",
               values=lambda t: t.address_texts("a"), aliases=("src", "addr", "host")),
    ColumnSpec("a_port", "Port A", "port", "Port of endpoint A", values=_field("a_port"),
               aliases=("srcport", "port")),
    ColumnSpec("b_address", "Address B", "address", "Endpoint B",
               values=lambda t: t.address_texts("b"), aliases=("dst", "addr", "host")),
    ColumnSpec("b_port", "Port B", "port", "Port of endpoint B", values=_field("b_port"),
               aliases=("dstport", "port")),
    ColumnSpec("packets", "Packets", "count", "Packets, both directions",
               values=lambda t: t.packets),
    ColumnSpec("bytes", "Bytes", "bytes", "Frame bytes on the wire, both directions",
               values=lambda t: t.bytes),
    ColumnSpec("stream", "Stream", "stream", "Wireshark's tcp.stream / udp.stream number",
               values=_field("stream")),
    ColumnSpec("packets_ab", "Packets A→B", "count", "Packets sent by A",
               values=_field("packets_ab"), aliases=("packets_a_to_b",)),
    ColumnSpec("bytes_ab", "Bytes A→B", "bytes", "Frame bytes sent by A",
               values=_field("bytes_ab"), aliases=("bytes_a_to_b",)),
    ColumnSpec("packets_ba", "Packets B→A", "count", "Packets sent by B",
               values=_field("packets_ba"), aliases=("packets_b_to_a",)),
    ColumnSpec("bytes_ba", "Bytes B→A", "bytes", "Frame bytes sent by B",
               values=_field("bytes_ba"), aliases=("bytes_b_to_a",)),
    ColumnSpec("start", "Rel Start", "time",
               "When the conversation started (View ▸ Absolute Start Time switches between "
               "seconds since the first packet and the time of day)", values=_field("start_ns"),
               aliases=("relative_start",)),
    ColumnSpec("duration", "Duration", "duration", "Seconds from the first to the last packet",
               values=lambda t: t.duration_ns),
    ColumnSpec("bps_ab", "Bits/s A→B", "rate",
               "Bytes A→B × 8 / duration; empty when the duration is zero",
               values=lambda t: t.bits_per_second("ab"), aliases=("bits_per_second_a_to_b",)),
    ColumnSpec("bps_ba", "Bits/s B→A", "rate",
               "Bytes B→A × 8 / duration; empty when the duration is zero",
               values=lambda t: t.bits_per_second("ba"), aliases=("bits_per_second_b_to_a",)),
)
