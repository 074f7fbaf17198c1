"""The Z-Wave TAP header (LINKTYPE_ZWAVE_TAP, 297), read for many packets at once.

Layout (all little-endian): version u8 (= 1), reserved u8, TLV section length u16 in 32-bit
words (the TLVs only, not these 4 bytes), then TLVs: type u16, length u16, value padded to a
multiple of 4 bytes. Known types: 0 FCS type (u8: 1 = R1/R2 XOR byte, 2 = R3 CRC-16), 1 RSS
(float32, dBm), 2 RF information (region u16, data rate u16, frequency u32 in kHz). Unknown
types are skipped by their length. The MAC frame follows the TLV section.

The TLV walk is a loop over TLV *positions*, each step vectorised over every packet that still
has TLVs left, so a capture costs as many steps as its longest TLV list, not one per packet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..capture.chunk import gather

TLV_FCS, TLV_RSS, TLV_RF_INFO = 0, 1, 2
FCS_R1_R2, FCS_R3 = 1, 2

#: RF information codes, as Silicon Labs' Z-Wave radio API numbers them (the TAP's producer)
DATA_RATES = {0: "9.6 kbit/s", 1: "40 kbit/s", 2: "100 kbit/s", 3: "100 kbit/s LR"}
REGIONS = {0: "EU", 1: "US", 2: "ANZ", 3: "HK", 5: "IN", 6: "IL", 7: "RU", 8: "CN",
           9: "US_LR", 10: "US_LR_BACKUP", 32: "JP", 33: "KR", 48: "US_LR_END_DEVICE"}


def data_rate_name(code: int) -> str:
    """``40 kbit/s`` for 1; ``#7`` for a code without a name."""
    return DATA_RATES.get(code, f"#{code}")


def region_name(code: int) -> str:
    """``EU`` for 0; ``#4`` for a code without a name."""
    return REGIONS.get(code, f"#{code}")


@dataclass
class TapFields:
    """What the TAP headers of ``n`` packets say; ``ok`` is False where the header is damaged."""

    ok: np.ndarray  # bool
    mac_offset: np.ndarray  # int64, where the MAC frame starts in the packet
    fcs_type: np.ndarray  # int16, -1 = no FCS TLV
    rssi: np.ndarray  # float32, NaN = no RSS TLV
    region: np.ndarray  # int32, -1 = no RF information TLV
    data_rate: np.ndarray  # int32, -1 = no RF information TLV
    frequency_khz: np.ndarray  # int64, -1 = no RF information TLV


def parse_tap(buf: np.ndarray, pos: np.ndarray, caplen: np.ndarray,
              origlen: np.ndarray) -> TapFields:
    """TAP fields of the packets starting at ``pos`` (bytes beyond ``caplen`` are never read)."""
    n = pos.size
    cap = caplen.astype(np.int64)
    head = gather(buf, pos, 4)
    words = head[:, 2].astype(np.int64) | (head[:, 3].astype(np.int64) << 8)
    mac_offset = 4 + 4 * words
    ok = (cap >= 4) & (head[:, 0] == 1) & (mac_offset <= cap) & (mac_offset <= origlen)
    fields = TapFields(
        ok=ok, mac_offset=np.where(ok, mac_offset, 0),
        fcs_type=np.full(n, -1, dtype=np.int16), rssi=np.full(n, np.nan, dtype=np.float32),
        region=np.full(n, -1, dtype=np.int32), data_rate=np.full(n, -1, dtype=np.int32),
        frequency_khz=np.full(n, -1, dtype=np.int64))
    cursor = np.full(n, 4, dtype=np.int64)
    live = np.flatnonzero(ok & (cursor < mac_offset))
    while live.size:
        tlv = gather(buf, pos[live] + cursor[live], 16)  # header + the longest known value
        u16 = tlv.view("<u2")
        ttype, tlen = u16[:, 0], u16[:, 1].astype(np.int64)
        end = cursor[live] + 4 + ((tlen + 3) & ~3)
        overrun = end > mac_offset[live]  # a TLV running past the TLV section: damaged
        fields.ok[live[overrun]] = False
        _take_values(fields, live, ~overrun, ttype, tlen, tlv)
        cursor[live] = end
        live = live[~overrun & (end < mac_offset[live])]
    fields.mac_offset[~fields.ok] = 0
    return fields


def _take_values(f: TapFields, live: np.ndarray, good: np.ndarray, ttype: np.ndarray,
                 tlen: np.ndarray, tlv: np.ndarray) -> None:
    """Store the values of known TLVs that are long enough (shorter ones are ignored)."""
    fcs = good & (ttype == TLV_FCS) & (tlen >= 1)
    f.fcs_type[live[fcs]] = tlv[fcs, 4]
    rss = good & (ttype == TLV_RSS) & (tlen >= 4)
    if rss.any():
        value = tlv[:, 4:8].copy().view("<f4")[rss, 0]
        f.rssi[live[rss]] = np.where(np.isfinite(value), value, np.nan)  # no inf/NaN in stats
    rf = good & (ttype == TLV_RF_INFO) & (tlen >= 8)
    if rf.any():
        u16 = tlv.view("<u2")
        f.region[live[rf]] = u16[rf, 2]
        f.data_rate[live[rf]] = u16[rf, 3]
        f.frequency_khz[live[rf]] = tlv[:, 8:12].copy().view("<u4")[rf, 0]
