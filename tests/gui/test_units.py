"""Cell text: sizes, rates and times read like Wireshark's Conversations dialog."""

from __future__ import annotations

import math

import pytest

from gui import units


@pytest.mark.parametrize(("value", "text"), [
    (0, "0 B"), (87, "87 B"), (999, "999 B"), (1000, "1.00 kB"), (1235, "1.24 kB"),
    (12_345, "12.3 kB"), (999_949, "1000 kB"), (999_950, "1.00 MB"), (528_974_068, "529 MB"),
    (3 * 10**12, "3.00 TB"),
])
def test_sizes(value: int, text: str) -> None:
    assert units.size(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (math.nan, ""), (0.0, "0 bit/s"), (850.4, "850 bit/s"), (1234.0, "1.23 kbit/s"),
    (45_600_000.0, "45.6 Mbit/s"),
])
def test_bit_rates(value: float, text: str) -> None:
    assert units.bit_rate(value) == text


def test_counts_times_and_numbers() -> None:
    assert units.count(1234567) == "1,234,567"
    assert units.seconds(1_555_468_000) == "1.555468"
    assert units.seconds(61_300_000, 4) == "0.0613"
    assert units.number(math.nan) == "" and units.number(-71.25) == "-71.25"
    assert units.duration_left(0.4) == "< 1 s" and units.duration_left(125) == "2 min 5 s"


def test_timestamps_are_local_time_with_microseconds(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert units.timestamp(1_300_475_167_096_535_123) == "2011-03-18 19:06:07.096535"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
