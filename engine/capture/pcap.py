"""Classic libpcap files: µs and ns timestamps, either byte order, Kuznetzov's variant."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from ..errors import InvalidCaptureError, TruncatedCaptureError
from .accel import walker
from .chunk import RecordChunk, u32_at, u32_fields
from .input import CaptureInput
from .reader import Buffer, ChunkedReader, Interface, Walk

#: magic (as read little-endian) → (big endian file, nanosecond timestamps, record header size)
MAGICS: dict[int, tuple[bool, bool, int]] = {
    0xA1B2C3D4: (False, False, 16),
    0xD4C3B2A1: (True, False, 16),
    0xA1B23C4D: (False, True, 16),
    0x4D3CB2A1: (True, True, 16),
    0xA1B2CD34: (False, False, 24),  # Alexey Kuznetzov's modified pcap
    0x34CDB2A1: (True, False, 24),
}


def is_pcap(head: bytes) -> bool:
    return len(head) >= 4 and struct.unpack("<I", head[:4])[0] in MAGICS


class PcapReader(ChunkedReader):
    format_name = "pcap"

    def __init__(self, capture_input: CaptureInput, path: Path, chunk_bytes: int,
                 max_packet_bytes: int) -> None:
        super().__init__(capture_input, path, chunk_bytes, max_packet_bytes)
        head = bytes(self._buf[:24])
        if len(head) < 4 or self._end < 4:
            raise TruncatedCaptureError(f"{path.name} is too short to be a capture file.")
        self.big_endian, self.nanoseconds, self.record_header = MAGICS[
            struct.unpack("<I", head[:4])[0]]
        if self._end < 24:
            raise TruncatedCaptureError(
                f"{path.name} ends inside its pcap file header ({self._end} of 24 bytes).")
        e = ">" if self.big_endian else "<"
        major, minor, _zone, _sigfigs, snaplen, network = struct.unpack(e + "HHiIII", head[4:24])
        if major != 2:
            raise InvalidCaptureError(
                f"{path.name}: pcap major version {major} is not supported (only version 2 is; "
                f"the file header says {major}.{minor}), so the file cannot be read.")
        self.format_name = "pcap-ns" if self.nanoseconds else "pcap"
        self.snaplen = snaplen
        self.limit = self.limit_for(snaplen)
        self.interfaces.append(Interface(linktype=network & 0xFFFF, snaplen=snaplen,
                                         ts_exponent=9 if self.nanoseconds else 6))
        self._caplen_at = struct.Struct(e + "I").unpack_from
        self._pos = 24
        self._walker = walker()
        self._out = np.empty(0, dtype=np.int64)
        self._heads = np.empty((0, 4), dtype=np.uint32)

    def walk(self, buf: Buffer, pos: int, end: int) -> Walk:
        hdr = self.record_header
        heads = None
        if self._walker is not None:
            room = (end - pos) // hdr + 1
            if self._out.size < room:
                self._out = np.empty(room, dtype=np.int64)
                self._heads = np.empty((room, 4), dtype=np.uint32)
            count, stop = self._walker.walk_pcap(buf, pos, end, hdr, self.big_endian, self._out,
                                                 self._heads)
            starts: list[int] | np.ndarray = self._out[:count].copy()
            heads = self._heads[:count].copy()
            pos = stop
        else:
            starts = self._walk_python(buf, pos, end)
            pos = self._stop
        need = hdr if pos < end else 0
        if end - pos >= hdr:
            need = hdr + self._caplen_at(buf, pos + 8)[0]
        walk = Walk(starts, None, pos, need, heads)
        self._check_lengths(buf, walk)
        return walk

    def _walk_python(self, buf: Buffer, pos: int, end: int) -> list[int]:
        """The loop the compiled walker replaces: every record header gives the next one."""
        hdr = self.record_header
        caplen_at = self._caplen_at
        starts: list[int] = []
        add = starts.append
        last = end - hdr
        while pos <= last:
            nxt = pos + hdr + caplen_at(buf, pos + 8)[0]
            if nxt > end:
                break
            add(pos)
            pos = nxt
        self._stop = pos
        return starts

    def _check_lengths(self, buf: Buffer, walk: Walk) -> None:
        """Stop at the first record longer than the limit (in the chunk or still pending)."""
        if len(walk.positions):
            caplen = (walk.heads[:, 2] if walk.heads is not None else
                      u32_at(np.frombuffer(buf, dtype=np.uint8),
                             np.asarray(walk.positions, dtype=np.int64) + 8, self.big_endian))
            bad = np.flatnonzero(caplen > self.limit)
            if bad.size:
                first = int(bad[0])
                walk.positions = walk.positions[:first]
                if walk.heads is not None:
                    walk.heads = walk.heads[:first]
                self.too_big(self.packets + first + 1, int(caplen[first]), self.limit)
                return
        if walk.need - self.record_header > self.limit:
            self.too_big(self.packets + len(walk.positions) + 1, walk.need - self.record_header,
                         self.limit)

    def records(self, arr: np.ndarray, walk: Walk) -> RecordChunk | None:
        pos = np.asarray(walk.positions, dtype=np.int64)
        head = walk.heads if walk.heads is not None else u32_fields(arr, pos, 4, self.big_endian)
        sec = head[:, 0].astype(np.int64)
        frac = head[:, 1].astype(np.int64)
        scale = 1 if self.nanoseconds else 1000
        return RecordChunk(
            buf=arr, base=0, data_off=pos + self.record_header, caplen=head[:, 2].copy(),
            origlen=head[:, 3].copy(), ts_ns=sec * 1_000_000_000 + frac * scale,
            iface=np.zeros(pos.size, dtype=np.uint16))
