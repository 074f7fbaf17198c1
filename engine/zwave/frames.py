"""Z-Wave MAC frames of link types 261, 262 and 297 as columns, decoded for a whole chunk at once.

MAC layout (ITU-T G.9959; offsets in the frame): home id 0-3 (big-endian), source 4, frame
control 5-6, length 7 (the whole frame, checksum included), then
- R1/R2: destination 8, payload, one XOR checksum byte. Frame control: 0x80 routed, 0x40 ACK
  requested, 0x20 low power, 0x10 speed modified, low nibble header type; second byte: 0x80
  multicast follow-up, low nibble sequence number.
- R3: sequence number 8, destination 9, [header extension], payload, CRC-16 (2 bytes). Frame
  control: 0x80 ACK requested, 0x40 low power, 0x20 multicast follow-up, low nibble header type
  (8 = routed); second byte: 0x80 header extension present (one byte whose low 3 bits are the
  extension's length, then the extension).
Multicast frames (header type 2) put a control byte where the destination is (low 5 bits =
mask length) and the node mask after it. ACK vs command comes from the header type (3, or a
routed frame whose route status says routed ACK) — never from the frame's length.

A frame is keyed (``Damage.NONE``) when home id, source and destination are captured and the
length field is possible: at least header + checksum, at most 64 (R1/R2) or 170 (R3) bytes, and
not past the frame's end on the wire. A shorter length than the frame leaves trailing bytes
(flagged). Checksums are verified when the whole frame was captured; a bad checksum is flagged
and counted, the frame stays in its conversation.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import IntEnum, IntFlag

import numpy as np

from ..cancel import checkpoint
from ..capture import linktypes as lt
from ..capture.chunk import gather
from .checksum import crc_many, xor_many
from .commands import (
    ACK,
    EXPLORE,
    MULTICAST,
    ROUTED,
    command_class_name,
    command_name,
    header_type_name,
)
from .routing import routed_payload
from .tap import FCS_R1_R2, FCS_R3, parse_tap

PROFILE_R1_R2, PROFILE_R3 = 1, 3
BROADCAST_NODE = 0xFF
MULTICAST_NODE = 0x100  # ``dst`` of multicast frames (no single destination node)


def node_text(node: int) -> str:
    """A node id as Z-Wave tools show it (``6``, ``broadcast``, ``multicast``)."""
    return {BROADCAST_NODE: "broadcast", MULTICAST_NODE: "multicast"}.get(node, str(node))
MAX_LENGTH = {PROFILE_R1_R2: 64, PROFILE_R3: 170}
DATA_RATE_LONG_RANGE = 3
_BATCH = 1 << 16  # rows per checksum batch: bounds the (rows × frame bytes) windows


class Damage(IntEnum):
    """Why a frame could not be keyed (it is counted as unassigned, ``Reason.ZWAVE_DAMAGED``)."""

    NONE = 0
    TOO_SHORT = 1
    IMPOSSIBLE_LENGTH = 2
    TAP_HEADER = 3
    LONG_RANGE = 4


DAMAGE_TEXT = {
    Damage.TOO_SHORT: "frame ends before its MAC header does",
    Damage.IMPOSSIBLE_LENGTH: "impossible length field",
    Damage.TAP_HEADER: "damaged TAP header or TLVs",
    Damage.LONG_RANGE: "Z-Wave Long Range frame (not decoded)",
}


class FrameFlag(IntFlag):
    """Per-frame facts, one bit each."""

    ROUTED = 0x0001
    ACK_REQUEST = 0x0002
    LOW_POWER = 0x0004
    SPEED_MODIFIED = 0x0008
    HEADER_EXTENDED = 0x0010
    MULTICAST_FOLLOWUP = 0x0020
    ACK = 0x0040  # an acknowledgement (header type 3 or routed ACK)
    BAD_CHECKSUM = 0x0080
    UNVERIFIED = 0x0100  # checksum not captured (snap length)
    TRAILING_BYTES = 0x0200  # bytes after the frame's length
    BROADCAST = 0x0400
    MULTICAST = 0x0800
    ROUTE_ERROR = 0x1000


@dataclass
class ZWaveFrames:
    """One row per packet of a Z-Wave link type (damaged ones included), in file order."""

    index: np.ndarray  # int64, packet index in the capture
    damage: np.ndarray  # uint8, Damage
    profile: np.ndarray  # uint8, PROFILE_R1_R2 / PROFILE_R3 (0 = unknown)
    home_id: np.ndarray  # uint32
    src: np.ndarray  # uint8
    dst: np.ndarray  # uint16, node id; 0xFF broadcast, 0x100 multicast
    header_type: np.ndarray  # uint8
    flags: np.ndarray  # uint16, FrameFlag
    sequence: np.ndarray  # uint8 (4 bits in R1/R2, 8 bits in R3)
    length: np.ndarray  # uint8, the MAC length field
    mac_offset: np.ndarray  # uint16, MAC frame start in the packet (TAP header size)
    payload_offset: np.ndarray  # int16, command class position in the packet; -1 = none
    payload_length: np.ndarray  # int16, payload bytes by the length field
    command_class: np.ndarray  # int16, -1 = none
    command: np.ndarray  # int16, -1 = none
    checksum: np.ndarray  # int8, 1 good, 0 bad, -1 not verifiable
    rssi: np.ndarray  # float32 dBm, NaN = not given
    data_rate: np.ndarray  # int32, TAP data rate code, -1 = not given
    region: np.ndarray  # int32, TAP region code, -1 = not given
    frequency_khz: np.ndarray  # int64, -1 = not given

    def __len__(self) -> int:
        return int(self.index.size)

    @classmethod
    def empty(cls, n: int) -> ZWaveFrames:
        cols: dict[str, np.ndarray] = {f.name: np.zeros(n, dtype=_DTYPES[f.name])
                                       for f in fields(cls)}
        for name in ("payload_offset", "command_class", "command", "checksum", "data_rate",
                     "region", "frequency_khz"):
            cols[name][:] = -1
        cols["rssi"][:] = np.nan
        return cls(**cols)

    @classmethod
    def concat(cls, parts: list[ZWaveFrames]) -> ZWaveFrames:
        if not parts:
            return cls.empty(0)
        if len(parts) == 1:
            return parts[0]
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts])
                      for f in fields(cls)})

    @property
    def keyed(self) -> np.ndarray:
        return self.damage == Damage.NONE

    @property
    def is_ack(self) -> np.ndarray:
        return (self.flags & FrameFlag.ACK) != 0

    def rows_of(self, packets: np.ndarray) -> np.ndarray:
        """Positions in these columns of packet indices ``packets`` (-1 where not Z-Wave)."""
        packets = np.asarray(packets, dtype=np.int64)
        if not len(self):
            return np.full(packets.size, -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.index, packets), len(self) - 1)
        return np.where(self.index[pos] == packets, pos, -1)

    def describe(self, row: int) -> str:
        """One line for a packet list: ``BASIC SET 6 → 1 (seq 1)``, ``ACK 1 → 6 (seq 1)``."""
        damage = Damage(int(self.damage[row]))
        if damage != Damage.NONE:
            return f"damaged: {DAMAGE_TEXT[damage]}"
        dst = int(self.dst[row])
        to = node_text(dst)
        cc, cmd = int(self.command_class[row]), int(self.command[row])
        if self.is_ack[row]:
            what = "ACK"
        elif cc < 0:
            what = header_type_name(int(self.header_type[row]))
        else:
            what = command_class_name(cc) + ("" if cmd < 0 else " " + command_name(cc, cmd))
        notes = [f"seq {int(self.sequence[row])}"]
        if self.checksum[row] == 0:
            notes.append("bad checksum")
        return f"{what} {int(self.src[row])} → {to} ({', '.join(notes)})"

    def damage_counts(self) -> dict[str, int]:
        counts = np.bincount(self.damage, minlength=len(Damage))
        return {DAMAGE_TEXT[Damage(d)]: int(c) for d, c in enumerate(counts) if d and c}


_DTYPES: dict[str, type] = {
    "index": np.int64, "damage": np.uint8, "profile": np.uint8, "home_id": np.uint32,
    "src": np.uint8, "dst": np.uint16, "header_type": np.uint8, "flags": np.uint16,
    "sequence": np.uint8, "length": np.uint8, "mac_offset": np.uint16,
    "payload_offset": np.int16, "payload_length": np.int16, "command_class": np.int16,
    "command": np.int16, "checksum": np.int8, "rssi": np.float32, "data_rate": np.int32,
    "region": np.int32, "frequency_khz": np.int64,
}


def decode_frames(buf: np.ndarray, pos: np.ndarray, caplen: np.ndarray, origlen: np.ndarray,
                  linktype: np.ndarray, index: np.ndarray) -> ZWaveFrames:
    """Decode the packets starting at ``pos`` in ``buf`` (one chunk's buffer)."""
    n = pos.size
    out = ZWaveFrames.empty(n)
    out.index[:] = index
    cap = caplen.astype(np.int64)
    wire = origlen.astype(np.int64)
    profile = np.where(linktype == lt.ZWAVE_R3, PROFILE_R3, PROFILE_R1_R2).astype(np.uint8)
    mac_off = np.zeros(n, dtype=np.int64)
    damage = out.damage
    tap = np.flatnonzero(linktype == lt.ZWAVE_TAP)
    if tap.size:
        _read_tap(buf, pos, caplen, origlen, tap, out, profile, mac_off)
    mac = pos + mac_off
    mcap, mwire = cap - mac_off, wire - mac_off
    raw = gather(buf, mac, 12)
    head = raw.astype(np.int32)
    unknown = np.flatnonzero((profile == 0) & (damage == Damage.NONE))
    if unknown.size:
        profile[unknown] = _guess_profile(buf, mac[unknown], mcap[unknown], head[unknown, 7])
    r3 = profile == PROFILE_R3
    hdr = np.where(r3, 10, 9)
    fcs = np.where(r3, 2, 1)
    damage[(damage == Damage.NONE) & ((mcap < hdr) | (mwire < hdr))] = Damage.TOO_SHORT
    header = damage == Damage.NONE  # header bytes are real (captured)

    fc0, fc1, length = head[:, 5], head[:, 6], head[:, 7]
    htype = fc0 & 0x0F
    dst = np.where(r3, head[:, 9], head[:, 8])
    multicast = htype == MULTICAST
    nmask = np.where(multicast, dst & 0x1F, 0)
    dst = np.where(multicast, MULTICAST_NODE, dst)
    routed = np.where(r3, htype == ROUTED, (fc0 & 0x80) != 0)
    extended = r3 & ((fc1 & 0x80) != 0) & ~routed
    ext_at = hdr + nmask
    ext_byte = gather(buf, mac + np.where(extended, ext_at, 0), 1)[:, 0].astype(np.int64)
    ext_known = ~extended | (ext_at < mcap)
    payload_at = ext_at + np.where(extended, 1 + (ext_byte & 0x07), 0)
    min_length = np.where(ext_known, payload_at, ext_at) + fcs
    max_length = np.where(r3, MAX_LENGTH[PROFILE_R3], MAX_LENGTH[PROFILE_R1_R2])
    bad_length = header & ((length < min_length) | (length > max_length) | (length > mwire))
    damage[bad_length] = Damage.IMPOSSIBLE_LENGTH
    ok = damage == Damage.NONE
    payload_at = np.where(ext_known, payload_at, -1)

    checkpoint()
    flags = _flags(r3, fc0, fc1, routed, multicast, dst, length, mwire)
    route_ack = np.zeros(n, dtype=bool)
    special = np.flatnonzero(ok & (routed | (htype == EXPLORE)))
    if special.size:
        at, route_ack[special], error = routed_payload(
            buf, mac[special], r3[special], (hdr + nmask)[special], htype[special],
            fc1[special], np.minimum(length - fcs, mcap)[special])
        payload_at[special] = at
        flags[special[error]] |= np.uint16(FrameFlag.ROUTE_ERROR)
    is_ack = (htype == ACK) | route_ack
    flags |= is_ack.view(np.uint8) * np.uint16(FrameFlag.ACK)

    payload_end = length - fcs
    has_payload = ok & ~is_ack & (payload_at >= 0) & (payload_at < payload_end)
    safe_at = np.where(has_payload, payload_at, 0)
    two = gather(buf, mac + safe_at, 2).astype(np.int16)
    out.command_class[:] = np.where(has_payload & (safe_at < mcap), two[:, 0], -1)
    out.command[:] = np.where(has_payload & (safe_at + 1 < np.minimum(payload_end, mcap)),
                              two[:, 1], -1)
    out.payload_offset[:] = np.where(has_payload, mac_off + safe_at, -1)
    out.payload_length[:] = np.where(has_payload, payload_end - safe_at, 0)

    checksum = _verify(buf, mac, length, r3, ok & (mcap >= length))
    out.checksum[:] = checksum
    flags |= (ok & (checksum == 0)).view(np.uint8) * np.uint16(FrameFlag.BAD_CHECKSUM)
    flags |= (ok & (checksum < 0)).view(np.uint8) * np.uint16(FrameFlag.UNVERIFIED)

    keep = header | bad_length  # header fields were captured: show them even when not keyed
    out.profile[:] = profile
    out.home_id[:] = np.where(keep, np.ascontiguousarray(raw[:, :4]).view(">u4")[:, 0], 0)
    out.src[:] = np.where(keep, head[:, 4], 0)
    out.dst[:] = np.where(keep, dst, 0)
    out.header_type[:] = np.where(keep, htype, 0)
    out.flags[:] = np.where(keep, flags, 0)
    out.sequence[:] = np.where(keep, np.where(r3, head[:, 8], fc1 & 0x0F), 0)
    out.length[:] = np.where(keep, length, 0)
    out.mac_offset[:] = mac_off
    return out


def _read_tap(buf: np.ndarray, pos: np.ndarray, caplen: np.ndarray, origlen: np.ndarray,
              rows: np.ndarray, out: ZWaveFrames, profile: np.ndarray,
              mac_off: np.ndarray) -> None:
    """TAP header of ``rows``: metadata columns, MAC offset and checksum kind (0 = unknown)."""
    tap = parse_tap(buf, pos[rows], caplen[rows], origlen[rows])
    out.damage[rows[~tap.ok]] = Damage.TAP_HEADER
    out.rssi[rows] = tap.rssi
    out.region[rows] = tap.region
    out.data_rate[rows] = tap.data_rate
    out.frequency_khz[rows] = tap.frequency_khz
    mac_off[rows] = tap.mac_offset
    kind = np.zeros(rows.size, dtype=np.uint8)
    kind[np.isin(tap.data_rate, (0, 1))] = PROFILE_R1_R2
    kind[tap.data_rate == 2] = PROFILE_R3
    kind[tap.fcs_type == FCS_R1_R2] = PROFILE_R1_R2  # the FCS TLV wins over the data rate
    kind[tap.fcs_type == FCS_R3] = PROFILE_R3
    profile[rows] = kind
    long_range = tap.ok & (tap.data_rate == DATA_RATE_LONG_RANGE)
    out.damage[rows[long_range]] = Damage.LONG_RANGE


def _guess_profile(buf: np.ndarray, mac: np.ndarray, mcap: np.ndarray,
                   length: np.ndarray) -> np.ndarray:
    """For TAP frames that say neither FCS type nor data rate: R1/R2 if the XOR byte checks,
    else R3 if the CRC-16 checks, else R1/R2."""
    out = np.full(mac.size, PROFILE_R1_R2, dtype=np.uint8)
    usable = (mcap >= length) & (length >= 10)
    rows = np.flatnonzero(usable)
    if rows.size:
        r12 = _verify(buf, mac[rows], length[rows], np.zeros(rows.size, dtype=bool),
                      np.ones(rows.size, dtype=bool))
        crc = _verify(buf, mac[rows], length[rows], np.ones(rows.size, dtype=bool),
                      length[rows] >= 12)
        out[rows[(r12 != 1) & (crc == 1)]] = PROFILE_R3
    return out


def _flags(r3: np.ndarray, fc0: np.ndarray, fc1: np.ndarray, routed: np.ndarray,
           multicast: np.ndarray, dst: np.ndarray, length: np.ndarray,
           mwire: np.ndarray) -> np.ndarray:
    """Frame control bits (their places differ between R1/R2 and R3) and addressing facts."""
    f = FrameFlag
    old = ~r3
    facts = (  # (flag, frames that have it)
        (f.ACK_REQUEST, np.where(r3, fc0 & 0x80, fc0 & 0x40) != 0),
        (f.LOW_POWER, np.where(r3, fc0 & 0x40, fc0 & 0x20) != 0),
        (f.SPEED_MODIFIED, old & ((fc0 & 0x10) != 0)),
        (f.MULTICAST_FOLLOWUP, np.where(r3, fc0 & 0x20, fc1 & 0x80) != 0),
        (f.HEADER_EXTENDED, r3 & ((fc1 & 0x80) != 0)),
        (f.ROUTED, routed),
        (f.MULTICAST, multicast),
        (f.BROADCAST, dst == BROADCAST_NODE),
        (f.TRAILING_BYTES, length < mwire),
    )
    flags = np.zeros(r3.size, dtype=np.uint16)
    for flag, has in facts:
        flags |= has.view(np.uint8) * np.uint16(flag)
    return flags


def _verify(buf: np.ndarray, mac: np.ndarray, length: np.ndarray, r3: np.ndarray,
            verifiable: np.ndarray) -> np.ndarray:
    """1 where the frame's checksum matches, 0 where it does not, -1 where not verifiable."""
    result = np.full(mac.size, -1, dtype=np.int8)
    for is_r3, width in ((False, MAX_LENGTH[PROFILE_R1_R2]), (True, MAX_LENGTH[PROFILE_R3])):
        rows = np.flatnonzero(verifiable & (r3 == is_r3) & (length <= width))
        for start in range(0, rows.size, _BATCH):
            checkpoint()
            part = rows[start : start + _BATCH]
            size = length[part]
            win = gather(buf, mac[part], int(size.max()))
            at = np.arange(part.size)
            if is_r3:
                got = win[at, size - 2].astype(np.uint16) << 8 | win[at, size - 1]
                want = crc_many(win, size - 2)
            else:
                got = win[at, size - 1]
                want = xor_many(win, size - 1)
            result[part] = (got == want).astype(np.int8)
    return result
