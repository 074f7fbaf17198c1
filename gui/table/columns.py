"""The conversation table's columns: what each shows, how it is formatted and sorted.

The built-in columns follow Wireshark's Conversations dialog; columns that engine analyses
declare (``engine.columns.COLUMNS``) are added generically by their ``format``. A column never
computes anything per row beyond indexing an array and formatting one value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from engine.columns import COLUMNS, ColumnSpec
from engine.protocols import format_address
from gui import units
from gui.table.data import ConversationData, protocol_title


def default_hidden() -> frozenset[str]:
    """Columns hidden until the user shows them (View ▸ Columns): the declared columns marked
    ``hidden``, details that would push the Wireshark columns off a normal screen."""
    return frozenset(f"extra:{c.name}" for c in COLUMNS.values() if c.hidden and not c.core)

#: kinds shown right-aligned
NUMERIC_KINDS = frozenset({"count", "bytes", "rate", "port", "stream", "time", "duration",
                           "float"})


@dataclass(frozen=True)
class DisplayOptions:
    """View choices that change cell text but not values (View ▸ Absolute Start Time, View ▸
    Show Names)."""

    absolute_time: bool = False
    #: endpoints by the name the capture's own DNS gave them, where it gave one
    show_names: bool = False


@lru_cache(maxsize=65536)
def _address_text(family: int, hi: int, lo: int) -> str:
    return format_address(family, hi, lo)


def _blank_negative(fmt: Callable[[int], str]) -> Callable[[object], str]:
    def text(value: object) -> str:
        v = int(value)  # type: ignore[call-overload]
        return "" if v < 0 else fmt(v)
    return text


_FORMATS: dict[str, Callable[[object], str]] = {
    "count": _blank_negative(units.count),
    "bytes": _blank_negative(units.size),
    "port": _blank_negative(str),
    "stream": _blank_negative(str),
    "hex": _blank_negative(lambda v: f"{v:08X}"),  # as the engine's JSON and addresses
    "rate": lambda v: units.bit_rate(float(v)),  # type: ignore[arg-type]
    "float": lambda v: units.number(float(v)),  # type: ignore[arg-type]
    "duration": lambda v: units.seconds(int(v), 4),  # type: ignore[call-overload]
    "text": str,
    "protocol": lambda v: protocol_title(str(v)),
}


def _exact(value: object) -> object:
    """A numpy scalar as a plain Python value (int, float or str)."""
    return value.item() if isinstance(value, np.generic) else value


class Column:
    """Base class: a title, a kind (drives alignment and text) and how to sort."""

    def __init__(self, key: str, title: str, kind: str, tooltip: str = "",
                 sample: str = "") -> None:
        self.key = key
        self.title = title
        self.kind = kind
        self.tooltip = tooltip
        self.sample = sample or title

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS

    def sort_keys(self, data: ConversationData) -> tuple[np.ndarray, ...]:
        """Arrays over all conversations, most significant first (np.lexsort order reversed)."""
        raise NotImplementedError

    def exact(self, data: ConversationData, i: int) -> object:
        """The exact value of conversation ``i`` (what sorting and copying see)."""
        raise NotImplementedError

    def text(self, data: ConversationData, i: int, options: DisplayOptions) -> str:
        raise NotImplementedError

    def cell_tooltip(self, data: ConversationData, i: int, options: DisplayOptions) -> str | None:
        return None

    def header(self, options: DisplayOptions) -> str:
        return two_lines(self.title)


def two_lines(title: str) -> str:
    """A long title broken at its middle space, so a narrow column can hold it
    (``Packets A→B`` becomes ``Packets`` over ``A→B``)."""
    directional = title.endswith(("A→B", "B→A"))
    if " " not in title or not (directional or len(title) > 12):
        return title
    middle = len(title) / 2
    cut = min((k for k, c in enumerate(title) if c == " "), key=lambda k: abs(k - middle))
    return f"{title[:cut]}\n{title[cut + 1:]}"


class ArrayColumn(Column):
    """One numpy array per column; the common case."""

    def __init__(self, key: str, title: str, kind: str,
                 values: Callable[[ConversationData], np.ndarray], tooltip: str = "",
                 sample: str = "") -> None:
        super().__init__(key, title, kind, tooltip, sample)
        self.values = values
        self._format = _FORMATS[kind]

    def sort_keys(self, data: ConversationData) -> tuple[np.ndarray, ...]:
        return (self.values(data),)

    def exact(self, data: ConversationData, i: int) -> object:
        return _exact(self.values(data)[i])

    def text(self, data: ConversationData, i: int, options: DisplayOptions) -> str:
        return self._format(self.values(data)[i])

    def cell_tooltip(self, data: ConversationData, i: int, options: DisplayOptions) -> str | None:
        value = self.values(data)[i]
        if self.kind == "bytes" and value >= 0:
            return f"{int(value):,} bytes"
        if self.kind == "rate" and not np.isnan(value):
            return f"{float(value):,.0f} bits/s"
        return None


class AddressColumn(Column):
    """Endpoint A or B: sorted by (family, high half, low half), formatted only when shown."""

    def __init__(self, side: str) -> None:
        name = side.upper()
        super().__init__(f"{side}_address", f"Address {name}", "address",
                         f"Endpoint {name}" + (" (sender of the first packet)" if side == "a"
                                                 else ""),
                         "000.000.000.000")
        self.side = side

    def _parts(self, data: ConversationData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t = data.table
        return t.family, getattr(t, f"{self.side}_hi"), getattr(t, f"{self.side}_lo")

    def sort_keys(self, data: ConversationData) -> tuple[np.ndarray, ...]:
        return self._parts(data)

    def exact(self, data: ConversationData, i: int) -> object:
        return self.text(data, i, DisplayOptions())

    def _address(self, data: ConversationData, i: int) -> str:
        fam, hi, lo = self._parts(data)
        return _address_text(int(fam[i]), int(hi[i]), int(lo[i]))

    def _name(self, data: ConversationData, i: int) -> str:
        names = data.table.extra.get(f"{self.side}_name")  # from the capture's own DNS
        return str(names[i]) if names is not None else ""

    def text(self, data: ConversationData, i: int, options: DisplayOptions) -> str:
        if options.show_names:
            name = self._name(data, i)
            if name:
                return name
        return self._address(data, i)

    def cell_tooltip(self, data: ConversationData, i: int, options: DisplayOptions) -> str | None:
        """The other form: the address under a shown name, the name under an address."""
        name = self._name(data, i)
        if not name:
            return None
        address = self._address(data, i)
        return address if options.show_names else f"{name} (from the capture's DNS)"


class StartColumn(Column):
    """Rel Start (seconds since the first packet) or Abs Start (local time), same order."""

    def __init__(self) -> None:
        super().__init__("start", "Rel Start", "time",
                         "When the conversation started (View ▸ Absolute Start Time switches "
                         "between seconds since the first packet and the time of day)",
                         "0000.000000")

    def sort_keys(self, data: ConversationData) -> tuple[np.ndarray, ...]:
        return (data.table.start_ns,)

    def exact(self, data: ConversationData, i: int) -> object:
        return int(data.table.start_ns[i])

    def header(self, options: DisplayOptions) -> str:
        return "Abs Start" if options.absolute_time else "Rel Start"

    def text(self, data: ConversationData, i: int, options: DisplayOptions) -> str:
        if options.absolute_time:
            return units.timestamp(int(data.table.start_ns[i]))
        return units.seconds(int(data.rel_start_ns[i]))

    def cell_tooltip(self, data: ConversationData, i: int, options: DisplayOptions) -> str | None:
        return (f"{units.timestamp(int(data.table.start_ns[i]))} "
                f"({units.seconds(int(data.rel_start_ns[i]))} s after the first packet)")


def _table(name: str) -> Callable[[ConversationData], np.ndarray]:
    return lambda d: getattr(d.table, name)


def _derived(name: str) -> Callable[[ConversationData], np.ndarray]:
    return lambda d: getattr(d, name)


def _extra(name: str) -> Callable[[ConversationData], np.ndarray]:
    return lambda d: d.table.extra[name]


_EXTRA_SAMPLES = {"count": "000000", "bytes": "000.0 kB", "hex": "00000000", "float": "0.0000",
                  "text": "ESTABLISHED", "duration": "0.000000"}


def extra_column(spec: ColumnSpec) -> Column:
    """A column declared by an engine analysis or plug-in, formatted by its ``format``. Their
    durations (RTTs) show microseconds, as Wireshark shows times, and nothing where unknown."""
    kind = spec.format if spec.format in _FORMATS else "text"
    column = ArrayColumn(f"extra:{spec.name}", spec.title, kind, _extra(spec.name),
                         spec.doc, _EXTRA_SAMPLES.get(kind, ""))
    if kind == "duration":
        column._format = _blank_negative(lambda v: units.seconds(v, 6))
    return column


def builtin_columns() -> list[Column]:
    """Wireshark's Conversations columns, with Protocol first since one table holds them all."""
    return [
        ArrayColumn("protocol", "Protocol", "protocol", _derived("protocol"),
                    "TCP, UDP, ICMP, other IP protocols, Z-Wave", "ICMPv6"),
        AddressColumn("a"),
        ArrayColumn("a_port", "Port A", "port", _table("a_port"), sample="00000"),
        AddressColumn("b"),
        ArrayColumn("b_port", "Port B", "port", _table("b_port"), sample="00000"),
        ArrayColumn("packets", "Packets", "count", _derived("packets"), sample="000,000"),
        ArrayColumn("bytes", "Bytes", "bytes", _derived("bytes"),
                    "Frame bytes on the wire, both directions", "000.0 MB"),
        ArrayColumn("stream", "Stream", "stream", _table("stream"),
                    "Wireshark's tcp.stream / udp.stream number", "00000"),
        ArrayColumn("packets_ab", "Packets A→B", "count", _table("packets_ab"), sample="000,000"),
        ArrayColumn("bytes_ab", "Bytes A→B", "bytes", _table("bytes_ab"), sample="000.0 MB"),
        ArrayColumn("packets_ba", "Packets B→A", "count", _table("packets_ba"), sample="000,000"),
        ArrayColumn("bytes_ba", "Bytes B→A", "bytes", _table("bytes_ba"), sample="000.0 MB"),
        StartColumn(),
        ArrayColumn("duration", "Duration", "duration", _derived("duration_ns"),
                    "Seconds from the first to the last packet", "0000.0000"),
        ArrayColumn("bps_ab", "Bits/s A→B", "rate", _derived("bps_ab"),
                    "Bytes A→B × 8 / duration; empty when the duration is zero",
                    "000 kbit/s"),
        ArrayColumn("bps_ba", "Bits/s B→A", "rate", _derived("bps_ba"),
                    "Bytes B→A × 8 / duration; empty when the duration is zero",
                    "000 kbit/s"),
    ]


def columns_for(data: ConversationData | None) -> list[Column]:
    """Built-in columns plus the registered extra columns present in this capture's table."""
    cols = builtin_columns()
    if data is not None:
        cols += [extra_column(spec) for spec in data.extra_columns]
    return cols
