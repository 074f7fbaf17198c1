"""Z-Wave frame check sequences: R1/R2 XOR byte and R3 CRC-16, for one frame or many at once.

R1/R2 (9.6 and 40 kbit/s): one byte, the XOR of every preceding byte of the frame, seeded with
0xFF. R3 (100 kbit/s): two bytes, CRC-16 with the CCITT polynomial 0x1021, initial value 0x1D0F,
no reflection and no final XOR (the catalogue's CRC-16/AUG-CCITT, check value 0xE5CC for
"123456789"), sent most significant byte first.
"""

from __future__ import annotations

import numpy as np

XOR_SEED = 0xFF
CRC_POLY = 0x1021
CRC_INIT = 0x1D0F


def _crc_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint16)
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ CRC_POLY) if crc & 0x8000 else (crc << 1)
        table[byte] = crc & 0xFFFF
    return table


CRC_TABLE = _crc_table()


def xor_checksum(data: bytes) -> int:
    """The R1/R2 checksum of ``data`` (the frame without its last byte)."""
    value = XOR_SEED
    for byte in data:
        value ^= byte
    return value


def crc16(data: bytes) -> int:
    """The R3 CRC-16 of ``data`` (the frame without its last two bytes)."""
    crc = CRC_INIT
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ int(CRC_TABLE[((crc >> 8) ^ byte) & 0xFF])
    return crc


def xor_many(windows: np.ndarray, count: np.ndarray) -> np.ndarray:
    """XOR checksum of the first ``count[i]`` bytes of each row of ``windows`` (n, w)."""
    cols = np.arange(windows.shape[1])
    masked = np.where(cols[None, :] < count[:, None], windows, 0).astype(np.uint8)
    return np.bitwise_xor.reduce(masked, axis=1) ^ np.uint8(XOR_SEED)


def crc_many(windows: np.ndarray, count: np.ndarray) -> np.ndarray:
    """CRC-16 of the first ``count[i]`` bytes of each row of ``windows`` (n, w).

    Rows are processed longest first, so the step for byte column ``c`` touches only the prefix
    of rows still that long: the work is the number of bytes summed, not rows × widest row.
    """
    n = windows.shape[0]
    out = np.full(n, CRC_INIT, dtype=np.uint16)
    if n == 0:
        return out
    order = np.argsort(-count, kind="stable")
    rows = windows[order]
    length = count[order]
    crc = np.full(n, CRC_INIT, dtype=np.uint16)
    longest = int(length[0]) if n else 0
    # active[c] = how many rows have more than c bytes (a non-increasing prefix length)
    active = np.searchsorted(-length, -np.arange(longest), side="left")
    for c in range(longest):
        k = int(active[c])
        if k == 0:
            break
        head = crc[:k]
        index = ((head >> 8) ^ rows[:k, c]) & 0xFF
        crc[:k] = ((head << 8) & 0xFFFF) ^ CRC_TABLE[index]
    out[order] = crc
    return out
