"""Z-Wave frames built by the tests themselves (struct, binascii, XOR), independent of the engine.

R1/R2: home(4) src fc0 fc1 length dst payload xor; R3: home(4) src fc0 fc1 length seq dst
payload crc16 (CRC-CCITT, initial value 0x1D0F, big-endian — ``binascii.crc_hqx``).
"""

from __future__ import annotations

import binascii
import struct
from functools import reduce
from operator import xor
from typing import Any

from engine import RawPacket

# the three frames verified against real Z-Wave traffic (DESIGN.md)
BASIC_SET = bytes.fromhex("C4A815CD0651010D012001FFCF")  # BASIC SET 6 → 1
ACK_1_TO_6 = bytes.fromhex("C4A815CD0113010A0654")  # ACK 1 → 6
NOTIFICATION_REPORT = bytes.fromhex("C4A815CD06510213017105000000FF07080088")  # 6 → 1
HOME = 0xC4A815CD


def r12(home: int, src: int, fc0: int, fc1: int, dst_and_rest: bytes, length: int | None = None,
        bad: bool = False) -> bytes:
    """An R1/R2 frame; ``dst_and_rest`` is everything from the destination byte on."""
    size = 8 + len(dst_and_rest) + 1
    frame = struct.pack(">IBBBB", home, src, fc0, fc1, size if length is None else length)
    frame += dst_and_rest
    check = reduce(xor, frame, 0xFF) ^ (0x5A if bad else 0)
    return frame + bytes([check])


def r3(home: int, src: int, fc0: int, fc1: int, seq: int, dst_and_rest: bytes,
       length: int | None = None, bad: bool = False) -> bytes:
    """An R3 frame with its CRC-16 (wrong on purpose when ``bad``)."""
    size = 9 + len(dst_and_rest) + 2
    frame = struct.pack(">IBBBBB", home, src, fc0, fc1, size if length is None else length, seq)
    frame += dst_and_rest
    crc = binascii.crc_hqx(frame, 0x1D0F) ^ (0x0101 if bad else 0)
    return frame + crc.to_bytes(2, "big")


def tlv(kind: int, value: bytes, length: int | None = None) -> bytes:
    body = value + b"\0" * (-len(value) % 4)
    return struct.pack("<HH", kind, len(value) if length is None else length) + body


def tap(mac: bytes, fcs: int | None = 1, rssi: float | None = -60.5,
        rf: tuple[int, int, int] | None = (0, 1, 868_400), extra: bytes = b"",
        version: int = 1, words: int | None = None) -> bytes:
    """A TAP record: header, TLVs (FCS type, RSS, RF information, ``extra``), MAC frame."""
    tlvs = b""
    if fcs is not None:
        tlvs += tlv(0, bytes([fcs]))
    if rssi is not None:
        tlvs += tlv(1, struct.pack("<f", rssi))
    if rf is not None:
        tlvs += tlv(2, struct.pack("<HHI", *rf))
    tlvs += extra
    count = len(tlvs) // 4 if words is None else words
    return struct.pack("<BBH", version, 0, count) + tlvs + mac


def packets(frames: list[bytes], linktype: int, start_s: float = 1.0) -> list[RawPacket]:
    return [RawPacket(f, int((start_s + i) * 1e9), linktype) for i, f in enumerate(frames)]


def decode(frames: list[bytes], linktype: int) -> tuple[Any, Any]:
    """The analysis of ``frames`` and its Z-Wave frame columns."""
    from engine import extract_flows
    from engine.zwave import frames_of

    result = extract_flows(packets(frames, linktype))
    return result, frames_of(result)
