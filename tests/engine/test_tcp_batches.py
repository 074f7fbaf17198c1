"""The TCP summary runs over batches of whole conversations; batching changes nothing."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from engine import WIRESHARK, extract_flows_from_file
from engine.tcp import summary
from tests.conftest import CAPTURES


@pytest.mark.parametrize("name", ["zeek-nmap-vsn-many-conns.pcap",
                                  "zeek-wikipedia-many-conns.pcap", "zeek-ftp-ipv6.pcap"])
def test_batches_give_the_same_summary(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    with extract_flows_from_file(CAPTURES / name, WIRESHARK) as result:
        args = (result.packets, result.conversations, result.config, result.capture.last_ns)
        whole = summary.summarize(*args)
        monkeypatch.setattr(summary, "BATCH_PACKETS", 5)  # many batches, some of one conversation
        batched = summary.summarize(*args)
    assert whole.rows.size > 5
    for f in fields(summary.TcpSummary):
        assert np.array_equal(getattr(whole, f.name), getattr(batched, f.name)), f.name
