"""The TCP option scan reads the capture's memory map in file-ordered pieces, letting go of each
piece's pages: the options it finds do not depend on the piece size, and the pages are let go."""

from __future__ import annotations

import numpy as np
import pytest

from engine import WIRESHARK, extract_flows_from_file
from engine.tcp import optscan
from tests.engine.tcp_expert_scenarios import OUT

CAPTURES = ("tcpx-sack.pcap", "tcpx-window-full.pcap", "tcpx-random-7.pcap")


@pytest.mark.parametrize("name", CAPTURES)
def test_pieces_read_what_one_gather_reads(name: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with extract_flows_from_file(OUT / name, WIRESHARK) as result:
        p = result.packets
        index = np.flatnonzero(p.tcp_hlen > 20)[::-1].copy()  # (not in file order)
        assert index.size > 3
        whole = optscan.scan_options(p, result.source, index)
        released: list[tuple[int, int]] = []
        monkeypatch.setattr(optscan, "MAPPED_PIECE", 2)
        monkeypatch.setattr(optscan, "release_range",
                            lambda array, a, b: released.append((a, b)))
        pieces = optscan.scan_options(p, result.source, index)
    assert len(released) == -(-index.size // 2)
    assert all(a < b for a, b in released)
    for field in ("wscale", "sack_count", "sack_bytes"):
        assert np.array_equal(getattr(whole, field), getattr(pieces, field)), field
    assert (whole.wscale >= 0).any() or (whole.sack_count > 0).any()
