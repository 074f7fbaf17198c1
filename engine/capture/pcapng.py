"""pcapng files: sections of either byte order, many interfaces, EPB/SPB/PB packet blocks."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InvalidCaptureError, TruncatedCaptureError
from ..sets import distinct
from .accel import walker
from .chunk import RecordChunk, gather
from .input import CaptureInput
from .reader import Buffer, ChunkedReader, Interface, Walk

SHB = 0x0A0D0D0A
IDB = 0x00000001
PB = 0x00000002  # obsolete Packet Block
SPB = 0x00000003
EPB = 0x00000006
BOM = 0x1A2B3C4D
BOM_SWAPPED = 0x4D3C2B1A

OPT_ENDOFOPT = 0
OPT_IF_NAME = 2
OPT_IF_TSRESOL = 9
OPT_IF_TSOFFSET = 14
#: bytes an option's value must have for Flowscope to use it
OPTION_SIZES = {OPT_IF_TSRESOL: 1, OPT_IF_TSOFFSET: 8}
OPTION_NAMES = {1: "opt_comment option", 2: "if_name option", 3: "if_description option",
                4: "if_IPv4addr option", 5: "if_IPv6addr option", 6: "if_MACaddr option",
                7: "if_EUIaddr option", 8: "if_speed option", 9: "if_tsresol option",
                10: "if_tzone option", 11: "if_filter option", 12: "if_os option",
                13: "if_fcslen option", 14: "if_tsoffset option", 15: "if_hardware option"}

#: any block longer than this is damage, not data (a packet block is limited separately)
MAX_BLOCK = 16 << 20
PACKET_BLOCKS = (EPB, SPB, PB)
#: interface numbers are stored in 16 bits; more interfaces than that is a damaged file
MAX_INTERFACES = 0xFFFF
# why a block walk stopped (the compiled walker uses the same codes)
STOP_DATA, STOP_SPECIAL, STOP_BAD, STOP_FULL = 0, 1, 2, 3


@dataclass
class _Segment:
    """Packets of one section inside a walk: from index ``first`` on, in its byte order, with
    the global numbers of its interfaces (the list grows as its IDBs are read)."""

    first: int
    big: bool
    ifaces: list[int]


def _u32(buf: Buffer, pos: int, big: bool) -> int:
    return int(struct.unpack_from(">I" if big else "<I", buf, pos)[0])


def is_pcapng(head: bytes) -> bool:
    return len(head) >= 4 and struct.unpack("<I", head[:4])[0] == SHB


class PcapngReader(ChunkedReader):
    format_name = "pcapng"

    def __init__(self, capture_input: CaptureInput, path: Path, chunk_bytes: int,
                 max_packet_bytes: int) -> None:
        super().__init__(capture_input, path, chunk_bytes, max_packet_bytes)
        if self._end < 12:
            raise TruncatedCaptureError(
                f"{path.name} ends inside its first pcapng block ({self._end} bytes).")
        bom_le = struct.unpack_from("<I", self._buf, 8)[0]
        if bom_le not in (BOM, BOM_SWAPPED):
            raise InvalidCaptureError(
                f"{path.name}: the pcapng section header has no valid byte-order mark, so the "
                "file cannot be read.")
        self.sections = 0
        self._warned: set[str] = set()
        self._big_endian = False
        self._section_ifaces: list[int] = []
        self._set_endian(bom_le != BOM)
        if self._end < 28:
            raise TruncatedCaptureError(
                f"{path.name} ends inside its pcapng section header ({self._end} of 28 bytes).")
        major = struct.unpack_from(self._e + "H", self._buf, 12)[0]
        if major != 1:
            raise InvalidCaptureError(
                f"{path.name}: pcapng version {major} is not supported (only version 1 is), so "
                "the file cannot be read.")
        self.limit = self.limit_for(0)
        self._walker = walker()
        self._out = np.empty(0, dtype=np.int64)

    def _set_endian(self, big: bool) -> None:
        self._big_endian = big
        self._e = ">" if big else "<"
        self._tl = struct.Struct(self._e + "II").unpack_from

    # -- walking --------------------------------------------------------------------------
    def walk(self, buf: Buffer, pos: int, end: int) -> Walk:
        """Packet blocks of any number of sections; each section's byte order and interfaces
        are remembered as a segment of the walk (see :meth:`records`)."""
        found: list[np.ndarray] = []
        total = 0
        self._segments = [self._segment(0)]
        while True:
            count, pos, why = self._walk_blocks(buf, pos, end)
            if count:
                found.append(self._out[:count].copy())
                total += count
            if why == STOP_FULL:
                continue
            if why == STOP_BAD:
                self._bad_block(buf, pos, self._big_endian, total)
                break
            if why == STOP_DATA:
                break
            # a section or interface block: parsed here, in Python
            if struct.unpack_from("<I", buf, pos)[0] == SHB:
                bom = struct.unpack_from("<I", buf, pos + 8)[0]
                if bom not in (BOM, BOM_SWAPPED):
                    self.stop(f"{self.path.name}: the pcapng section header after packet "
                              f"{self.packets + total} has no valid byte-order mark; the file is "
                              "damaged from there on, so reading stopped.")
                    break
                big = bom != BOM
                blen = struct.unpack_from(">I" if big else "<I", buf, pos + 4)[0]
                if not self._block_ok(buf, pos, end, big, blen, 28, total):
                    break
                if pos + blen > end:
                    return Walk(self._joined(found), None, pos, blen)
                if not self._section(buf, pos, big):
                    break
                self._segments.append(self._segment(total))
            else:
                blen = self._tl(buf, pos)[1]
                if not self._block_ok(buf, pos, end, self._big_endian, blen, 20, total):
                    break
                if pos + blen > end:
                    return Walk(self._joined(found), None, pos, blen)
                self._interface(buf, pos, blen)
                if self._stopped:
                    break
            pos += blen
        need = 0
        if not self._stopped and end - pos >= 12:
            need = self._tl(buf, pos)[1]
        elif end > pos:
            need = 12
        return Walk(self._joined(found), None, pos, need)

    def _segment(self, first: int) -> _Segment:
        return _Segment(first, self._big_endian, self._section_ifaces)

    @staticmethod
    def _joined(found: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)

    def _walk_blocks(self, buf: Buffer, pos: int, end: int) -> tuple[int, int, int]:
        """Packet block offsets into ``self._out`` up to the next special/bad/partial block."""
        room = (end - pos) // 12 + 1
        if self._out.size < room:
            self._out = np.empty(room, dtype=np.int64)
        if self._walker is not None:
            count, stop, why = self._walker.walk_pcapng(buf, pos, end, self._big_endian,
                                                        MAX_BLOCK, self._out)
            return int(count), int(stop), int(why)
        return self._walk_python(buf, pos, end)

    def _walk_python(self, buf: Buffer, pos: int, end: int) -> tuple[int, int, int]:
        """The loop the compiled walker replaces (same stops, same results)."""
        tl = self._tl
        out = self._out
        count = 0
        while end - pos >= 12:
            btype, blen = tl(buf, pos)
            if btype in (SHB, IDB):
                return count, pos, STOP_SPECIAL
            if blen < 12 or blen & 3 or blen > MAX_BLOCK:
                return count, pos, STOP_BAD
            if blen > end - pos:
                break
            if tl(buf, pos + blen - 8)[1] != blen:
                return count, pos, STOP_BAD
            if btype in PACKET_BLOCKS:
                out[count] = pos
                count += 1
            pos += blen
        return count, pos, STOP_DATA

    def _block_ok(self, buf: Buffer, pos: int, end: int, big: bool, blen: int,
                  smallest: int, found: int) -> bool:
        """A section or interface block's length is possible and, once the whole block is in
        the buffer, repeated at its end."""
        if (blen < smallest or blen & 3 or blen > MAX_BLOCK
                or (pos + blen <= end and _u32(buf, pos + blen - 4, big) != blen)):
            self._bad_block(buf, pos, big, found, smallest)
            return False
        return True

    def _bad_block(self, buf: Buffer, pos: int, big: bool, found: int,
                   smallest: int = 12) -> None:
        """Stop at a block whose length field cannot be right (``found`` packets of this walk
        came before it)."""
        btype, blen = _u32(buf, pos, big), _u32(buf, pos + 4, big)
        where = f"a pcapng block (type 0x{btype:08X}) after packet {self.packets + found}"
        if blen < smallest or blen & 3 or blen > MAX_BLOCK:
            why = f"has an impossible length ({blen} bytes)"
        else:
            why = (f"says it is {blen} bytes long at its start but "
                   f"{_u32(buf, pos + blen - 4, big)} at its end")
        self.stop(f"{self.path.name}: {where} {why}; the file is damaged from there on, so "
                  "reading stopped.")

    def _section(self, buf: Buffer, pos: int, big: bool) -> bool:
        self._set_endian(big)
        major = struct.unpack_from(self._e + "H", buf, pos + 12)[0]
        if major != 1:
            self.stop(f"{self.path.name}: section {self.sections + 1} is pcapng version {major}, "
                      "which Flowscope cannot read; reading stopped there.")
            return False
        self.sections += 1
        self._section_ifaces = []
        return True

    def _interface(self, buf: Buffer, pos: int, blen: int) -> None:
        if len(self.interfaces) >= MAX_INTERFACES:
            self.stop(f"{self.path.name} describes more than {MAX_INTERFACES} interfaces, which "
                      f"no real capture does; reading stopped after packet {self.packets}.")
            return
        e = self._e
        linktype, _reserved, snaplen = struct.unpack_from(e + "HHI", buf, pos + 8)
        number = len(self.interfaces)
        iface = Interface(linktype=linktype, snaplen=snaplen, section=self.sections - 1)
        opt, end = pos + 16, pos + blen - 4
        while opt + 4 <= end:  # the body is whole 32-bit words, so an option header fits
            code, length = struct.unpack_from(e + "HH", buf, opt)
            if code == OPT_ENDOFOPT:
                break
            name = OPTION_NAMES.get(code, f"option {code}")
            if opt + 4 + length > end:
                self._option_warning(
                    "long", f"interface {number}'s {name} claims {length} bytes but only "
                    f"{end - opt - 4} are left in its block, so it and the options after it "
                    "were ignored")
                break
            value = bytes(buf[opt + 4 : opt + 4 + length])
            wanted = OPTION_SIZES.get(code, 0)
            if length < wanted:
                self._option_warning(
                    f"short {code}", f"interface {number}'s {name} has {length} bytes instead "
                    f"of {wanted}, so it was ignored")
            elif code == OPT_IF_NAME:
                iface.name = value.split(b"\0", 1)[0].decode("utf-8", "replace")
            elif code == OPT_IF_TSRESOL:
                iface.ts_base = 2 if value[0] & 0x80 else 10
                iface.ts_exponent = value[0] & 0x7F
            elif code == OPT_IF_TSOFFSET:
                iface.ts_offset_s = struct.unpack(e + "q", value[:8])[0]
            opt += 4 + ((length + 3) & ~3)
        self._section_ifaces.append(number)
        self.interfaces.append(iface)

    def _option_warning(self, kind: str, text: str) -> None:
        """Warn once per kind of damaged option (a file may repeat it in every interface)."""
        if kind not in self._warned:
            self._warned.add(kind)
            self.warnings.append(f"{self.path.name}: {text} (said once, for the first interface "
                                 "with this damage).")

    # -- columns --------------------------------------------------------------------------
    def records(self, arr: np.ndarray, walk: Walk) -> RecordChunk | None:
        """Columns for the walked packet blocks, whatever sections they came from: byte order,
        interface numbering and time units are looked up per packet, so a file of many small
        sections costs no more than one section."""
        pos = np.asarray(walk.positions, dtype=np.int64)
        n = pos.size
        segs = self._segments
        seg = np.searchsorted(np.array([g.first for g in segs]), np.arange(n), side="right") - 1
        big = np.array([g.big for g in segs], dtype=bool)[seg]
        rows = gather(arr, pos, 28)
        head = np.where(big[:, None], rows.view(">u4"), rows.view("<u4")).astype(np.int64)
        blen, local, caplen, origlen = (head[:, k].copy() for k in (1, 2, 5, 6))
        raw = ((head[:, 3].astype(np.uint64) << np.uint64(32)) | head[:, 4].astype(np.uint64)
               ).astype(np.int64)
        data_off = pos + 28
        room = blen - 32
        has_ts = np.ones(n, dtype=bool)
        rare = np.flatnonzero(head[:, 0] != EPB)
        if rare.size:
            btype = head[rare, 0]
            pb = rare[btype == PB]
            if pb.size:  # obsolete block: 16-bit interface id and drop count
                pair = rows[pb, 8:10]
                local[pb] = np.where(big[pb], pair[:, 0].astype(np.int64) << 8 | pair[:, 1],
                                     pair[:, 1].astype(np.int64) << 8 | pair[:, 0])
            spb = rare[btype == SPB]
            if spb.size:  # simple block: no interface id (the first), no time, origlen at +8
                local[spb] = 0
                origlen[spb] = head[spb, 2]
                data_off[spb] = pos[spb] + 12
                room[spb] = blen[spb] - 16
                snap = np.array([self.interfaces[g.ifaces[0]].snaplen if g.ifaces else 0
                                 for g in segs], dtype=np.int64)[seg[spb]]
                caplen[spb] = np.minimum(np.minimum(origlen[spb], room[spb]),
                                         np.where(snap > 0, snap, 1 << 62))
                has_ts[spb] = False
        count = np.array([len(g.ifaces) for g in segs], dtype=np.int64)[seg]
        bad = (room < 0) | (local >= count) | (caplen > room) | (caplen > self.limit)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            if room[first] < 0:
                self._short_block(first, int(head[first, 0]), int(blen[first]))
            else:
                self._bad_packet(first, int(local[first]), int(count[first]),
                                 int(caplen[first]), int(room[first]))
            n = first
            seg, local, caplen, origlen, data_off, raw, has_ts = (
                seg[:n], local[:n], caplen[:n], origlen[:n], data_off[:n], raw[:n], has_ts[:n])
        if n == 0:
            return None
        base = np.array([g.ifaces[0] if g.ifaces else 0 for g in segs], dtype=np.int64)
        glob = base[seg] + local  # a section's interfaces are numbered consecutively
        ts_ns = _to_ns(raw, glob, self.interfaces)
        if not has_ts.all():
            ts_ns = _carry_previous(ts_ns, has_ts, self._last_ts)
        self._last_ts = int(ts_ns[-1])
        return RecordChunk(buf=arr, base=0, data_off=data_off, caplen=caplen.astype(np.uint32),
                           origlen=origlen.astype(np.uint32), ts_ns=ts_ns,
                           iface=glob.astype(np.uint16))

    _last_ts = 0

    def _short_block(self, index: int, btype: int, blen: int) -> None:
        number = self.packets + index + 1
        kind = {EPB: "an Enhanced", SPB: "a Simple", PB: "an obsolete"}[btype]
        self.stop(f"{self.path.name}: packet {number} is {kind} Packet Block of only {blen} "
                  "bytes, too short for its own fields; the file is damaged from there on, so "
                  f"reading stopped after {number - 1} packets.")

    def _bad_packet(self, index: int, local: int, count: int, caplen: int, room: int) -> None:
        number = self.packets + index + 1
        if local >= count:
            why = f"refers to interface {local}, but its section describes only {count}"
        elif caplen > room:
            why = f"claims {caplen} captured bytes in a block with room for {room}"
        else:
            why = f"claims to be {caplen} bytes long, more than the {self.limit}-byte maximum"
        self.stop(f"{self.path.name}: packet {number} {why}; the file is damaged from there on, "
                  f"so reading stopped after {number - 1} packets.")


def _to_ns(raw: np.ndarray, iface: np.ndarray, interfaces: list[Interface]) -> np.ndarray:
    """Interface timestamp units → int64 nanoseconds since the epoch (per packet's interface)."""
    used = distinct(iface)
    params = {(interfaces[int(g)].ts_base, interfaces[int(g)].ts_exponent) for g in used}
    ns = np.zeros(raw.size, dtype=np.int64)
    base_of = np.array([i.ts_base for i in interfaces], dtype=np.int64)[iface]
    exp_of = np.array([i.ts_exponent for i in interfaces], dtype=np.int64)[iface]
    for base, e in params:  # a handful of distinct resolutions, whatever the interface count
        sel = (base_of == base) & (exp_of == e)
        ns[sel] = _units_to_ns(raw[sel], base, e)
    # an offset beyond ±292 years is damage: clamp it to int64 rather than raise
    offsets = [min(max(i.ts_offset_s * 1_000_000_000, -(1 << 63)), (1 << 63) - 1)
               for i in interfaces]
    return ns + np.array(offsets, dtype=np.int64)[iface]


def _units_to_ns(raw: np.ndarray, base: int, e: int) -> np.ndarray:
    if base == 10:
        if e <= 9:
            return raw * np.int64(10 ** (9 - e))
        if e <= 27:
            return raw // np.int64(10 ** (e - 9))
        return np.zeros_like(raw)  # units below 10^-27 s: any 64-bit count is under 1 ns
    if e <= 30:
        return (raw >> e) * 1_000_000_000 + (((raw & ((1 << e) - 1)) * 1_000_000_000) >> e)
    return np.array([(int(v) * 1_000_000_000) >> e for v in raw], dtype=np.int64)


def _carry_previous(ts: np.ndarray, has_ts: np.ndarray, before: int) -> np.ndarray:
    """Simple Packet Blocks carry no time: give them the time of the packet before them."""
    idx = np.where(has_ts, np.arange(ts.size), -1)
    np.maximum.accumulate(idx, out=idx)
    out = np.where(idx >= 0, ts[np.maximum(idx, 0)], before)
    return out.astype(np.int64)
