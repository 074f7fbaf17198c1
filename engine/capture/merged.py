"""Several capture files read as one capture, merged by time exactly as ``mergecap`` merges them.

mergecap repeatedly takes, of the next packets of all files, the earliest (on equal times the
file named later). That greedy choice puts packets in the same order as a stable sort by each
file's *running maximum* of time, then by file (later first), then by place in the file: a packet
that is earlier than one before it in its own file waits behind that one. So each file's chunks
get keys (the running maximum, carried across chunks) and the merge works on whole chunks:

* the *bound* is the smallest of every open file's last key in its current chunk and every
  unopened file's first time — no packet still to come can sort before it;
* every buffered packet up to the bound is handed out, which empties at least the chunk that set
  the bound (or opens the file that set it);
* when everything handed out comes from one file — always, for a ring buffer whose files follow
  one another — its chunk goes out as it is, without a copy; only where files overlap in time
  are the records of several files copied into one merged chunk, in merged order.

Memory stays at about one chunk per file open at once. A file is opened only when the merge
reaches its first packet (each file's first time is read beforehand from its first few
kilobytes), so a ring buffer of a thousand files has one open at a time.

Packet offsets live in a virtual byte space (:mod:`engine.capture.multi_source`): every chunk
handed out takes a fresh stretch of it that maps back to the files, so Follow and exports read
each packet's bytes from the right file.
"""

from __future__ import annotations

import functools
import heapq
import mmap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import FlowConfig
from ..errors import DiskSpaceError, FlowError, InvalidCaptureError, LoadCancelled
from ..sets import distinct
from .chunk import PAD, RecordChunk
from .files import describe_files
from .multi_source import MemberFile, MultiSource, SegmentTable
from .reader import CancelFn, ChunkedReader, Interface, ProgressFn

#: bytes read to learn a file's first packet time before the merge starts
PROBE_BYTES = 1 << 16
#: smallest chunk of a file read while other files are open too
MIN_MEMBER_CHUNK = 1 << 20
#: files read ahead on a thread only while at most this many are open at once
PREFETCH_OPEN = 2
#: bytes counted per record besides its data when cutting merged chunks to size
RECORD_OVERHEAD = 32
#: interface numbers are 16-bit in the packet table
MAX_INTERFACES = 1 << 16
#: buffers kept for reuse: given back by the files read so far, lent to the next ones and to
#: merged chunks (they may be shared memory the load handed out: those are worth keeping)
SPARE_BUFFERS = 16

OpenFn = Callable[[Path, FlowConfig], ChunkedReader]


@dataclass
class _Buffered:
    """A chunk of one file, handed out over one or more steps."""

    chunk: RecordChunk
    keys: np.ndarray  # merge keys: the file's running maximum of time
    at: int = 0  # records before this one are handed out
    virtual: int | None = None  # its virtual start, once passed through
    outstanding: int = 0  # passed-through pieces the consumer has not finished

    @property
    def emptied(self) -> bool:
        return self.at >= len(self.chunk)

    def piece_done(self) -> None:
        self.outstanding -= 1
        self.release()

    def release(self) -> None:
        """Give the chunk's buffer back once nothing refers to its bytes any more."""
        if self.emptied and self.outstanding == 0:
            self.chunk.done()


@dataclass
class _Member:
    """One file of the set."""

    index: int
    path: Path
    size: int
    format_name: str
    first_ns: int | None
    warnings: list[str] = field(default_factory=list)
    reader: ChunkedReader | None = None
    stream: Iterator[RecordChunk] | None = None
    buffered: _Buffered | None = None
    iface_map: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint16))
    running: int = -(1 << 63)
    position: int = 0
    records: int = 0
    done: bool = False
    source: MemberFile | None = None


class SetInput:
    """The input side of a merged reader, as the load loop sees one file's input."""

    def __init__(self, reader: MergedReader) -> None:
        self._reader = reader

    @property
    def total_bytes(self) -> int:
        return self._reader.total_bytes

    def close(self) -> None:
        self._reader.stop_members()

    def discard(self) -> None:
        """The load failed or was cancelled: close everything, remove decompressed copies."""
        self._reader.stop_members(discard=True)
        for member in self._reader.sources:
            if member is not None and member.temporary:
                member.path.unlink(missing_ok=True)

    def source(self) -> MultiSource:
        reader = self._reader
        files = [m if m is not None else MemberFile(reader.files[k])
                 for k, m in enumerate(reader.sources)]
        return MultiSource(files, reader.segments.frozen())


class MergedReader:
    """Reads ``paths`` as one capture (see the module docstring); used like a
    :class:`~engine.capture.reader.ChunkedReader`."""

    def __init__(self, paths: list[Path], config: FlowConfig, open_file: OpenFn,
                 warnings: list[str] | None = None) -> None:
        self.config = config
        self.chunk_bytes = config.chunk_bytes
        self._open_file = open_file
        self.files = list(paths)
        self.name = describe_files(self.files)
        self.interfaces: list[Interface] = []
        self.packets = 0
        self.unlisted_empty = 0
        self.unlisted_span: tuple[int, int] | None = None
        #: makes the buffers of merged chunks (the load may hand out shared memory)
        self.allocate: Callable[[int], Any] = bytearray
        #: whether a buffer given back is worth keeping (a load keeps only its shared ones)
        self.reusable: Callable[[Any], bool] = lambda buf: True
        self.segments = SegmentTable()
        self.sources: list[MemberFile | None] = [None] * len(self.files)
        #: chunks handed out as they were read, and merged ones (with how many records)
        self.passed_chunks = 0
        self.merged_chunks = 0
        self.merged_records = 0
        self._set_warnings = list(warnings or [])
        self._members: list[_Member] = []
        self._active: list[_Member] = []
        self._done_bytes = 0
        self._done_packets = 0
        self._progress: ProgressFn | None = None
        self._cancel: CancelFn | None = None
        self._prefetch = True
        self._spare: list[Any] = []
        self.input = SetInput(self)
        self._sizes = [_file_size(path) for path in self.files]
        self.total_bytes = sum(self._sizes)
        #: the files' formats joined by "+" (known once reading has begun)
        self.format_name = ""
        self._probed = False

    # -- what the load loop reads ---------------------------------------------------------
    @property
    def warnings(self) -> list[str]:
        """Warnings about the set, then each file's (every one names its file)."""
        out = list(self._set_warnings)
        for member in self._members:
            out += member.warnings
        return out

    def chunks(self, progress: ProgressFn | None = None, cancel: CancelFn | None = None,
               prefetch: bool = True) -> Iterator[RecordChunk]:
        """The records of all files in merged order, chunk by chunk."""
        self._progress, self._cancel, self._prefetch = progress, cancel, prefetch
        try:
            if not self._probed:
                self._probe_all()
            yield from self._merge()
        except LoadCancelled:
            raise LoadCancelled(f"Loading {self.name} was cancelled.") from None
        finally:
            self.stop_members()
        if progress is not None:
            progress(self.total_bytes, self.total_bytes, self.packets)

    def map_file(self) -> mmap.mmap | None:
        """Chunks merged from several files are always read (their records come from
        several buffers)."""
        return None

    def unmap(self) -> None:
        return None

    def close(self) -> None:
        self.input.discard()

    def __enter__(self) -> MergedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- before the merge: each file's first packet ---------------------------------------
    def _probe_all(self) -> None:
        """Probe every file (cancel is polled between files: a big set on a slow disk takes a
        while); none readable is an error."""
        self._probed = True
        for index, path in enumerate(self.files):
            self._check()
            self._probe(index, path)
            if self._progress is not None:
                self._progress(0, self.total_bytes, 0)
        if not self._members:
            raise InvalidCaptureError(
                f"None of the {len(self.files)} files could be read: "
                + " ".join(self._set_warnings))
        self.format_name = "+".join(dict.fromkeys(m.format_name for m in self._members))

    def _probe(self, index: int, path: Path) -> None:
        """Learn the file's format and first packet time from its first few kilobytes; a file
        that cannot be read at all is left out with a warning."""
        try:
            reader = self._open_file(path, self.config.replace(chunk_bytes=PROBE_BYTES))
        except DiskSpaceError:
            raise
        except FlowError as exc:
            self._set_warnings.append(f"{exc} It was left out; the other files were read.")
            self._done_bytes += self._sizes[index]
            return
        try:
            stream = reader.chunks(prefetch=False)
            try:
                first = next(stream, None)
            finally:
                _close(stream)
        except (DiskSpaceError, LoadCancelled):
            raise
        except (FlowError, OSError) as exc:
            first = None
            reader.warnings.append(f"{path.name} cannot be read: {_reason(exc)}.")
        finally:
            reader.input.discard()
        member = _Member(index, path, self._sizes[index], reader.format_name,
                         None if first is None else int(first.ts_ns[0]))
        self._members.append(member)
        if first is None:  # no packet: what the probe saw is all there is
            member.warnings = list(reader.warnings)
            member.done = True
            self._add_interfaces(member, reader.interfaces)
            self._done_bytes += member.size

    # -- the merge ----------------------------------------------------------------------------
    def _merge(self) -> Iterator[RecordChunk]:
        waiting = [(m.first_ns, -m.index) for m in self._members if m.first_ns is not None]
        heapq.heapify(waiting)
        by_index = {m.index: m for m in self._members}
        active = self._active
        while True:
            self._check()
            for member in [m for m in active if m.buffered is None]:
                if not self._refill(member):
                    active.remove(member)
            bounds = [(int(m.buffered.keys[-1]), -m.index) for m in active
                      if m.buffered is not None]
            if waiting:
                bounds.append(waiting[0])
            if not bounds:
                return
            bound = min(bounds)
            yield from self._emit(bound)
            member = by_index[-bound[1]]
            if waiting and bound == waiting[0]:
                heapq.heappop(waiting)
                self._activate(member)
            elif member.buffered is not None:  # the chunk that set the bound always empties
                raise RuntimeError(f"merging {self.name} made no progress")

    def _emit(self, bound: tuple[int, int]) -> Iterator[RecordChunk]:
        """Hand out every buffered record that sorts at or before ``bound``."""
        key, neg = bound
        parts: list[tuple[_Member, int, int]] = []
        for member in self._active:
            buf = member.buffered
            if buf is None:
                continue
            # (k, -m) <= (key, neg): later files win ties, so earlier ones stop before `key`
            later = member.index >= -neg
            stop = buf.at + int(np.searchsorted(buf.keys[buf.at :], key,
                                                side="right" if later else "left"))
            if stop > buf.at:
                parts.append((member, buf.at, stop))
        if len(parts) == 1:
            member, a, b = parts[0]
            yield self._pass_through(member, a, b)
        elif parts:
            yield from self._merged(parts)
        for member, _, b in parts:
            buf = member.buffered
            assert buf is not None
            buf.at = b
            if buf.emptied:
                member.buffered = None
                buf.release()

    def _pass_through(self, member: _Member, a: int, b: int) -> RecordChunk:
        """Records ``a:b`` of the member's chunk as they are, in the chunk's own buffer."""
        buf = member.buffered
        assert buf is not None
        c = buf.chunk
        if buf.virtual is None:
            length = int((c.data_off.astype(np.int64) + c.caplen).max())
            buf.virtual = self.segments.add(member.index, c.base, length)
        buf.outstanding += 1
        self.passed_chunks += 1
        return RecordChunk(buf=c.buf, base=buf.virtual, data_off=c.data_off[a:b],
                           caplen=c.caplen[a:b], origlen=c.origlen[a:b], ts_ns=c.ts_ns[a:b],
                           iface=member.iface_map[c.iface[a:b]],
                           recycle=buf.piece_done)

    def _merged(self, parts: list[tuple[_Member, int, int]]) -> Iterator[RecordChunk]:
        """The records of several files in merged order, copied into chunks of about the
        configured size."""
        keys = np.concatenate([m.buffered.keys[a:b] for m, a, b in parts])  # type: ignore[union-attr]
        part = np.concatenate([np.full(b - a, k, dtype=np.int64)
                               for k, (_, a, b) in enumerate(parts)])
        row = np.concatenate([np.arange(a, b, dtype=np.int64) for _, a, b in parts])
        neg = -np.array([m.index for m, _, _ in parts], dtype=np.int64)[part]
        order = np.lexsort((row, neg, keys))
        part, row = part[order], row[order]
        caplen = np.concatenate([m.buffered.chunk.caplen[a:b]  # type: ignore[union-attr]
                                 for m, a, b in parts])[order].astype(np.int64)
        size = np.cumsum(caplen + RECORD_OVERHEAD)
        start = 0
        while start < part.size:
            stop = int(np.searchsorted(size, size[start] - caplen[start] - RECORD_OVERHEAD
                                       + self.chunk_bytes, side="right"))
            stop = max(stop, start + 1)
            yield self._copy(parts, part[start:stop], row[start:stop])
            start = stop

    def _copy(self, parts: list[tuple[_Member, int, int]], part: np.ndarray,
              row: np.ndarray) -> RecordChunk:
        """One merged chunk: for each file, the bytes from its first to its last record here
        are copied in one piece (the records of one file are consecutive in its chunk)."""
        n = part.size
        spans = []
        total = 0
        for k in distinct(part).tolist():
            member = parts[k][0]
            assert member.buffered is not None
            c = member.buffered.chunk
            rows = row[part == k]
            lo = int(c.data_off[rows[0]])
            hi = int(c.data_off[rows[-1]]) + int(c.caplen[rows[-1]])
            spans.append((k, member, c, lo, hi, total))
            total += hi - lo
        out = self._buffer(max(total, self.chunk_bytes) + PAD)  # a standard size: reusable
        arr = np.frombuffer(out, dtype=np.uint8)
        data_off = np.empty(n, dtype=np.int64)
        caplen = np.empty(n, dtype=np.uint32)
        origlen = np.empty(n, dtype=np.uint32)
        ts_ns = np.empty(n, dtype=np.int64)
        iface = np.empty(n, dtype=np.uint16)
        base = self.segments.end
        for k, member, c, lo, hi, at in spans:
            arr[at : at + hi - lo] = c.buf[lo:hi]
            self.segments.add(member.index, c.base + lo, hi - lo)
            mine = part == k
            rows = row[mine]
            data_off[mine] = c.data_off[rows] - lo + at
            caplen[mine] = c.caplen[rows]
            origlen[mine] = c.origlen[rows]
            ts_ns[mine] = c.ts_ns[rows]
            iface[mine] = member.iface_map[c.iface[rows]]
        self.merged_chunks += 1
        self.merged_records += n
        return RecordChunk(buf=arr, base=base, data_off=data_off, caplen=caplen,
                           origlen=origlen, ts_ns=ts_ns, iface=iface,
                           recycle=functools.partial(self._recycle, out))

    def _buffer(self, size: int) -> Any:
        """A buffer for a merged chunk or a file's reader: a spare one when one is big
        enough (the largest spare is tried), else a new one."""
        spare = self._spare
        if spare:
            k = max(range(len(spare)), key=lambda i: len(spare[i]))
            if len(spare[k]) >= size:
                return spare.pop(k)
        return self.allocate(size)

    def _recycle(self, buf: Any) -> None:
        """Keep a buffer nobody uses any more for the next file or merged chunk."""
        if len(self._spare) < SPARE_BUFFERS and self.reusable(buf):
            self._spare.append(buf)

    # -- the files ------------------------------------------------------------------------------
    def _activate(self, member: _Member) -> None:
        """Open a file for the merge (smaller chunks while other files are open too); it joins
        the open files before its first chunk is read, so a failure there still closes it."""
        crowd = len(self._active)
        chunk_bytes = max(self.chunk_bytes // (crowd + 1),
                          min(self.chunk_bytes, MIN_MEMBER_CHUNK))
        try:
            reader = self._open_file(member.path, self.config.replace(chunk_bytes=chunk_bytes))
        except DiskSpaceError:
            raise
        except FlowError as exc:
            member.warnings.append(f"{exc} It was left out; the other files were read.")
            self._finish(member, None)
            return
        # the file's reader takes its buffers from the spares, and gives them back when done
        setattr(reader, "allocate", self._buffer)  # noqa: B010 (a load's shared buffers)
        setattr(reader, "reusable", self.reusable)  # noqa: B010
        reader.release = self._recycle
        member.reader = reader
        member.stream = reader.chunks(functools.partial(self._member_progress, member),
                                      self._cancel, self._prefetch and crowd < PREFETCH_OPEN)
        self._active.append(member)
        if not self._refill(member):
            self._active.remove(member)

    def _refill(self, member: _Member) -> bool:
        """The member's next chunk (False when the file is done)."""
        assert member.stream is not None and member.reader is not None
        try:
            chunk = next(member.stream)
        except StopIteration:
            self._finish(member, member.reader)
            return False
        except (DiskSpaceError, LoadCancelled):
            raise
        except (FlowError, OSError) as exc:
            member.warnings.append(
                f"{member.path.name}: reading stopped after {member.reader.packets} packets: "
                f"{_reason(exc)}; the packets before that point were read.")
            self._finish(member, member.reader)
            return False
        self._add_interfaces(member, member.reader.interfaces)
        keys = np.maximum.accumulate(chunk.ts_ns)
        np.maximum(keys, member.running, out=keys)
        member.running = int(keys[-1])
        member.buffered = _Buffered(chunk, keys)
        return True

    def _add_interfaces(self, member: _Member, interfaces: list[Interface]) -> None:
        """Give the file's new interfaces numbers in the merged list (files with different
        link types mix as the interfaces of one pcapng do)."""
        known = member.iface_map.size
        if len(interfaces) <= known:
            return
        new = interfaces[known:]
        if len(self.interfaces) + len(new) > MAX_INTERFACES:
            raise InvalidCaptureError(
                f"The {len(self.files)} files describe more than {MAX_INTERFACES - 1} capture "
                "interfaces together; Flowscope reads at most that many at once.")
        start = len(self.interfaces)
        self.interfaces.extend(new)
        member.iface_map = np.concatenate(
            [member.iface_map, np.arange(start, start + len(new), dtype=np.uint16)])

    def _finish(self, member: _Member, reader: ChunkedReader | None) -> None:
        """A file is read: keep its warnings and counts, close it, remember where its bytes
        can be read back."""
        member.done = True
        member.stream = None
        member.reader = None
        self._done_bytes += member.size
        if reader is None:
            return
        member.warnings += reader.warnings
        self._done_packets += reader.packets
        self.packets = self._done_packets + sum(m.records for m in self._active
                                                if not m.done)
        if reader.unlisted_empty:
            self.unlisted_empty += reader.unlisted_empty
            span = reader.unlisted_span
            if span is not None:
                old = self.unlisted_span or span
                self.unlisted_span = (min(old[0], span[0]), max(old[1], span[1]))
        reader.input.close()
        path, temporary = reader.input.source_file()
        self.sources[member.index] = MemberFile(path, temporary)

    def stop_members(self, discard: bool = False) -> None:
        """Stop reading the files still open (the merge ended early, failed or finished)."""
        for member in self._active:
            stream, reader = member.stream, member.reader
            if stream is not None:
                _close(stream)
            if member.buffered is not None:
                member.buffered.chunk.done()
                member.buffered = None
            if reader is not None:
                path, temporary = reader.input.source_file()
                if discard:
                    reader.input.discard()
                else:
                    reader.input.close()
                    self.sources[member.index] = MemberFile(path, temporary)
            member.stream = member.reader = None
        self._active.clear()

    # -- progress and cancel ----------------------------------------------------------------------
    def _member_progress(self, member: _Member, position: int, _total: int,
                         records: int) -> None:
        member.position, member.records = position, records
        self.packets = self._done_packets + sum(m.records for m in self._active if not m.done)
        if self._progress is not None:
            done = self._done_bytes + sum(m.position for m in self._active if not m.done)
            self._progress(min(done, self.total_bytes), self.total_bytes, self.packets)

    def _check(self) -> None:
        if self._cancel is not None and self._cancel():
            raise LoadCancelled(f"Loading {self.name} was cancelled.")


def _file_size(path: Path) -> int:
    """Bytes on disk (for progress; 0 when the file cannot be looked at: its probe says why)."""
    try:
        return path.stat().st_size if path.is_file() else 0
    except OSError:
        return 0


def _close(stream: Iterator[RecordChunk]) -> None:
    """End a file's chunk generator (its read-ahead thread stops with it)."""
    close = getattr(stream, "close", None)
    if close is not None:
        close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc).rstrip(".")
