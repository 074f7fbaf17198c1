"""The sample capture shipped in resources/, the public API and the registered columns."""

from __future__ import annotations

from pathlib import Path

import engine
from engine import extract_flows_from_file, extract_zwave_flows
from engine.columns import COLUMNS as EXTRA_COLUMNS
from engine.protocols import format_address
from engine.zwave import frames_of
from engine.zwave.protocol import FAMILY_ZWAVE
from engine.zwave.synth import generate

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "zwave-sample.pcapng"


def test_sample_is_what_the_generator_makes() -> None:
    """resources/zwave-sample.pcapng = ``synth --linktype 297 --frames 300 --seed 7
    --bad-checksums 2 --damaged 1`` (regenerate it with that command if the generator changes)."""
    frames = list(generate(297, 300, seed=7, bad_checksums=2, damaged=1))
    with extract_zwave_flows(extract_flows_from_file(SAMPLE)) as z:
        result = z.result
        assert result.capture.packets == 300 and result.capture.link_types == [297]
        assert result.packets.ts_ns.tolist() == [f.ts_ns for f in frames]
        homes = {c.home_id for c in z}
        assert homes == {f.home for f in frames} and len(homes) == 3
        casts = {c.cast for c in z}
        assert casts == {"unicast", "broadcast", "multicast"}
        assert sum(c.ack_count for c in z) == sum(f.is_ack for f in frames if not f.bad_length)
        assert sum(c.bad_checksum for c in z) == 2
        assert z.damaged == {"impossible length field": 1}
        assert result.unassigned.total == 1
        assert all(c.rssi_min <= c.rssi_mean <= c.rssi_max for c in z)
        assert {c.data_rate for c in z} == {"40 kbit/s", "100 kbit/s", "9.6 kbit/s"}
        assert len(frames_of(result)) == 300


def test_public_api_and_columns() -> None:
    assert "extract_zwave_flows" in engine.__all__
    assert engine.extract_zwave_flows is extract_zwave_flows
    for name in ("home_id", "node_a", "node_b", "ack_count", "command_count", "bad_checksum",
                 "rssi_min", "rssi_mean", "rssi_max", "data_rate", "region",
                 "command_classes"):
        assert EXTRA_COLUMNS[name].protocols == ("zwave",)
    assert EXTRA_COLUMNS["home_id"].title == "Home ID"
    assert format_address(FAMILY_ZWAVE, 0xC4A815CD, 6) == "C4A815CD/6"
    assert format_address(FAMILY_ZWAVE, 0x00A815CD, 0xFF) == "00A815CD/broadcast"
    assert format_address(FAMILY_ZWAVE, 1, 0x100) == "00000001/multicast"


def test_ip_only_results_have_no_zwave_fields() -> None:
    from engine.export.conversations import conversation_records
    from tests.conftest import CAPTURES

    with extract_flows_from_file(CAPTURES / "zeek-http-get.pcap") as result:
        assert len(frames_of(result)) == 0
        for rec in conversation_records(result):
            assert "home_id" not in rec and "rssi" not in rec
