"""Human-readable cell text: sizes, rates, times. Exact numbers stay in the model's arrays.

Units follow Wireshark's Conversations dialog (SI prefixes, bytes and bits per second), so the
figures read the same in both tools.
"""

from __future__ import annotations

import math
from datetime import datetime

_SI = ("", "k", "M", "G", "T", "P")


def _scaled(value: float) -> tuple[float, str]:
    """``value`` divided down to below 1000 with the matching SI prefix."""
    prefix = 0
    while abs(value) >= 999.95 and prefix < len(_SI) - 1:
        value /= 1000.0
        prefix += 1
    return value, _SI[prefix]


def _significant(value: float) -> str:
    """Three significant digits, never scientific notation (``1.23``, ``12.3``, ``123``)."""
    if value >= 99.95:
        return f"{value:.0f}"
    if value >= 9.995:
        return f"{value:.1f}"
    return f"{value:.2f}"


def count(value: int) -> str:
    """A packet or other count with thousands separators."""
    return f"{value:,}"


def size(value: int) -> str:
    """A byte count: ``87 B``, ``12.3 kB``, ``4.56 MB``."""
    if value < 1000:
        return f"{value} B"
    scaled, prefix = _scaled(float(value))
    return f"{_significant(scaled)} {prefix}B"


def bit_rate(value: float) -> str:
    """Bits per second: ``850 bit/s``, ``1.23 Mbit/s``; empty when not defined (NaN)."""
    if math.isnan(value):
        return ""
    if value < 999.95:
        return f"{value:.0f} bit/s"
    scaled, prefix = _scaled(value)
    return f"{_significant(scaled)} {prefix}bit/s"


def seconds(value_ns: int, decimals: int = 6) -> str:
    """Nanoseconds as seconds with a fixed number of decimals (Wireshark's Rel Start, Duration)."""
    return f"{value_ns / 1e9:.{decimals}f}"


def timestamp(value_ns: int) -> str:
    """An absolute time in local time with microseconds (``2011-03-18 14:26:07.096535``)."""
    secs, ns = divmod(value_ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(secs).strftime("%Y-%m-%d %H:%M:%S")
    return f"{stamp}.{ns // 1000:06d}"


def number(value: float) -> str:
    """A float column of an analysis: up to four significant decimals; empty for NaN."""
    if math.isnan(value):
        return ""
    return f"{value:.4g}"


def duration_left(secs: float) -> str:
    """Time left for a load, coarse on purpose: ``< 1 s``, ``12 s``, ``3 min 5 s``."""
    if secs < 1:
        return "< 1 s"
    if secs < 60:
        return f"{secs:.0f} s"
    minutes, rest = divmod(int(secs), 60)
    return f"{minutes} min {rest} s"
