"""Values as a filter writes them, read by the format of the column they are compared with.

A column's ``format`` (engine.columns.FORMATS) decides how a literal reads, so a column added
later needs no code here:

- counts, bytes, rates and floats: a number with an optional SI prefix, ``30k`` = 30,000,
  ``1.5M``, ``2G``, ``1T`` (powers of 1000, as Wireshark and the table print sizes; the case
  of the prefix does not matter, there being no milli-packets), or an IEC prefix for powers of
  1024: ``64Ki``/``64KiB``, ``1.5MiB``, ``2GiB``. Bytes may end in ``B`` (``30kB``), rates in
  ``bps`` or ``bit/s`` (``2Mbps``); ``0x10`` is hexadecimal.
- durations: ``200ms``, ``2s``, ``1.5us`` (or ``µs``), ``10ns``, ``1m``/``1min`` (a minute),
  ``1h``; a bare number is seconds (``duration>0.2``).
- times (the Start column): a duration is counted from the capture's first packet (as the Rel
  Start column shows it); an ISO date-time (``2013-03-07T21:42:06``, local time unless it
  names an offset such as ``Z`` or ``+01:00``) is absolute.
- ports and stream numbers: whole numbers.
- hex: hexadecimal, with or without ``0x`` (``c4a815cd``).
- addresses: an IPv4/IPv6 address or network (``10.0.0.1``, ``10.0.0.0/8``, ``fe80::/10``) or
  an endpoint of a plug-in's address family (``C4A815CD/6``, parsed by the family itself).
- protocols: a protocol's name or alias (``tcp``, ``z-wave``, ``gre``).
- text: the word or quoted string as written.

Numbers keep their exact integer value where they have one (``1.5us`` is 1500 ns), so
nanosecond timestamps compare without float rounding.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation, Overflow, localcontext

from .. import protocols
from ..protocols import FAMILIES
from .errors import quote

_U64 = (1 << 64) - 1
_INT64_LIMIT = 1 << 63
#: how rows of IP protocols without a name are named (``protocols.protocol_name``)
_IP_PROTO = re.compile(r"^ip-proto-([0-9]{1,3})$")
_NUMBER = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)([a-zA-Zµμ/]*)$")
_SI = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4,
       "ki": 1 << 10, "mi": 1 << 20, "gi": 1 << 30, "ti": 1 << 40}
#: unit names a format accepts after the prefix (lower case)
_UNITS = {"bytes": ("b", "byte", "bytes"), "rate": ("bps", "bit/s", "b/s")}
_DURATION = {"ns": 1, "us": 1000, "µs": 1000, "μs": 1000, "ms": 10**6, "s": 10**9,
             "sec": 10**9, "m": 60 * 10**9, "min": 60 * 10**9, "h": 3600 * 10**9}


class LiteralError(ValueError):
    """A value that does not read as the format asks; the message says what was expected."""


@dataclass(frozen=True)
class AddressValue:
    """An endpoint address or network: a row's endpoint matches when ``family`` is equal and
    ``(hi & mask_hi, lo & mask_lo) == (want_hi, want_lo)``."""

    family: int
    want_hi: int
    want_lo: int
    mask_hi: int
    mask_lo: int
    text: str


@dataclass(frozen=True)
class TimeValue:
    """A Start column value: nanoseconds since the first packet, or since the epoch."""

    ns: int | float
    relative: bool


def as_float(value: int) -> float:
    """An integer beyond int64 as a float for comparisons (±inf when even a float cannot
    hold it)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _scaled(digits: str, scale: int) -> int | float:
    """``digits × scale`` exactly where that is an int64, else as a float (±inf when huge: a
    hostile ``1e99999999`` never becomes a billion-digit integer)."""
    with localcontext() as context:
        context.traps[Overflow] = False
        context.traps[InvalidOperation] = False
        value = Decimal(digits) * scale
    if value.is_finite() and abs(value) < _INT64_LIMIT and value == value.to_integral_value():
        return int(value)
    return float(value)


def number(text: str, fmt: str = "count") -> int | float:
    """A count, byte size, rate or float with an optional SI/IEC prefix (see the module)."""
    word = text.strip()
    if word.lower().startswith(("0x", "-0x", "+0x")):
        try:
            value = int(word, 16)
            return value if abs(value) < _INT64_LIMIT else as_float(value)
        except ValueError:
            raise LiteralError(f"{quote(text)} is not a hexadecimal number") from None
    m = _NUMBER.match(word)
    if m:
        suffix = m.group(2).lower()
        for unit in _UNITS.get(fmt, ()):
            if suffix.endswith(unit) and suffix[:-len(unit)] in _SI:
                suffix = suffix[:-len(unit)]
                break
        if suffix in _SI:
            return _scaled(m.group(1), _SI[suffix])
    example = {"bytes": "1500, 30k or 2MiB", "rate": "1M or 2Mbps"}.get(fmt, "100 or 30k")
    raise LiteralError(f"{quote(text)} is not a number (expected a number such as {example})")


def duration_ns(text: str) -> int | float:
    """A duration in nanoseconds: ``200ms``, ``2s``, ``1.5us``, ``1m``; a bare number is seconds."""
    m = _NUMBER.match(text.strip())
    unit = m.group(2).lower() if m else ""
    if m and (unit == "" or unit in _DURATION):
        return _scaled(m.group(1), _DURATION[unit or "s"])
    raise LiteralError(f"{quote(text)} is not a duration (expected a time such as 2s, 200ms, 1.5us "
                       "or 1m)")


def time_value(text: str) -> TimeValue:
    """A Start time: a duration since the first packet, or an ISO date-time."""
    try:
        return TimeValue(duration_ns(text), relative=True)
    except LiteralError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip())
        # microseconds since the epoch fit a double exactly; a date-time has no finer digits
        return TimeValue(round(moment.timestamp() * 10**6) * 1000, relative=False)
    except (ValueError, OverflowError, OSError):  # not a date, or one no clock can place
        raise LiteralError(f"{quote(text)} is not a time (expected a time since the first packet "
                           "such as 10s, or a date-time such as 2013-03-07T21:42:06)") from None


def whole(text: str, what: str, maximum: int | None = None) -> int:
    """A non-negative whole number (a port, a stream number)."""
    word = text.strip()
    if word.isdigit() and word.isascii() and len(word) <= 18:
        value = int(word)
        if maximum is None or value <= maximum:
            return value
        raise LiteralError(f"{quote(text)} is not a {what} (at most {maximum})")
    raise LiteralError(f"{quote(text)} is not a {what} (expected a whole number)")


def hex_int(text: str) -> int | float:
    word = text.strip()
    digits = word[2:] if word.lower().startswith("0x") else word
    if digits and all(c in "0123456789abcdefABCDEF" for c in digits):
        value = int(digits, 16)
        return value if value < 1 << 64 else as_float(value)  # beyond any column or network id
    raise LiteralError(f"{quote(text)} is not a hexadecimal number (expected hex digits such as "
                       "c4a815cd)")


def addresses(text: str) -> tuple[AddressValue, ...]:
    """The endpoints or networks ``text`` names: IP addresses and networks, or an endpoint of
    every registered family whose parser accepts it; () when none does."""
    word = text.strip()
    if "/" in word or ":" in word or "." in word:
        try:
            net = ipaddress.ip_network(word, strict=False)
        except ValueError:
            net = None
        if net is not None:
            bits = net.max_prefixlen
            mask = ((1 << bits) - 1) ^ ((1 << (bits - net.prefixlen)) - 1)
            value = int(net.network_address) & mask
            return (AddressValue(net.version, value >> 64, value & _U64, mask >> 64,
                                 mask & _U64, word),)
    found = []
    for code, family in FAMILIES.items():
        if code in (4, 6) or family.parse is None:
            continue  # IP addresses and networks: above
        parsed = family.parse(word)
        if parsed is not None:
            found.append(AddressValue(code, parsed[0], parsed[1], _U64, _U64, word))
    return tuple(found)


def address(text: str) -> tuple[AddressValue, ...]:
    found = addresses(text)
    if not found:
        raise LiteralError(f"{quote(text)} is not an address (expected an address or network such "
                           "as 10.0.0.1, 10.0.0.0/8 or fe80::/10)")
    return found


def protocol_names(word: str) -> frozenset[str]:
    """The protocol names (as rows carry them) a word means, or an empty set."""
    registered = protocols.lookup(word)
    if registered is not None:
        return frozenset({registered.name})
    word = word.lower()
    if word in protocols.IP_PROTOCOL_NAMES.values() or _IP_PROTO.match(word):
        return frozenset({word})
    return frozenset()


def protocol(text: str) -> frozenset[str]:
    names = protocol_names(text.strip())
    if not names:
        known = ", ".join(sorted(protocols.PROTOCOLS))
        raise LiteralError(f"{quote(text)} is not a protocol (expected one of {known}, or an IP "
                           "protocol such as gre)")
    return names


def parse(text: str, fmt: str) -> object:
    """``text`` as a value of a column of format ``fmt``."""
    if fmt in ("count", "bytes", "rate", "float"):
        return number(text, fmt)
    if fmt == "duration":
        return duration_ns(text)
    if fmt == "time":
        return time_value(text)
    if fmt == "port":
        return whole(text, "port number", 65535)
    if fmt == "stream":
        return whole(text, "stream number")
    if fmt == "hex":
        return hex_int(text)
    if fmt == "address":
        return address(text)
    if fmt == "protocol":
        return protocol(text)
    return text
