"""The chunked record reader shared by the pcap and pcapng formats.

Records are walked in a reusable buffer of ``chunk_bytes``; a record cut by the chunk boundary is
moved to the front and completed by the next read, so memory stays flat whatever the file size.
Subclasses only know how to walk their own record headers.
"""

from __future__ import annotations

import contextlib
import functools
import mmap
import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LoadCancelled
from ..heap import release_mapped
from .chunk import PAD, RecordChunk
from .input import CaptureInput
from .local_fs import file_system_type, is_remote

#: a chunk's bytes while they are walked: a buffer read into, or a window of the file's map
Buffer = bytearray | memoryview
ProgressFn = Callable[[int, int, int], None]
"""``progress(bytes_done, bytes_total, packets_so_far)``"""
CancelFn = Callable[[], bool]
#: what the reading loop hands over: a chunk (None if all its records were only counted), the
#: file position after it and the records read so far
_Produced = tuple["RecordChunk | None", int, int]

#: no record, whatever a header claims, makes the reader allocate more than this
HARD_RECORD_LIMIT = 64 << 20
#: bytes read (or inflated) per call while filling a chunk
FILL_PIECE = 1 << 20
#: records with no captured bytes listed one by one; beyond this many they are only counted
#: (a gzip bomb of empty records would otherwise cost a full packet row, ~100 bytes, each)
MAX_LISTED_EMPTY = 1 << 16


@dataclass
class Interface:
    """A capture interface: pcap has one, pcapng one per Interface Description Block."""

    linktype: int
    snaplen: int = 0
    name: str = ""
    #: timestamp units per second are ``base ** exponent`` (pcapng if_tsresol; pcap µs or ns)
    ts_base: int = 10
    ts_exponent: int = 6
    #: seconds added to every timestamp (pcapng if_tsoffset)
    ts_offset_s: int = 0
    section: int = 0


@dataclass
class Walk:
    """What one pass over the buffer found."""

    positions: list[int] | np.ndarray  # record starts
    kinds: list[int] | None  # pcapng: indices (into positions) of non-EPB packet blocks
    stop: int  # first byte not consumed
    need: int = 0  # size of the record at ``stop`` when it did not fit (0 = unknown)
    #: pcap: each record's (seconds, fraction, caplen, original length) when the walk read them
    heads: np.ndarray | None = None


class ChunkedReader:
    """Base class: buffer management, progress, cancellation, end-of-file warnings."""

    format_name = "capture"

    def __init__(self, capture_input: CaptureInput, path: Path, chunk_bytes: int,
                 max_packet_bytes: int) -> None:
        self.input = capture_input
        self.path = path
        self.chunk_bytes = max(chunk_bytes, 1 << 16)
        self.max_packet_bytes = max_packet_bytes
        self.interfaces: list[Interface] = []
        self.warnings: list[str] = []
        #: records read so far, including the empty ones only counted
        self.packets = 0
        #: empty records counted but not handed out as rows, and their first and last time
        self.unlisted_empty = 0
        self.unlisted_span: tuple[int, int] | None = None
        self._listed_empty = 0
        # a small plain file gets a first buffer its size (one byte more, so reading it whole
        # is seen as its end), not a whole chunk's: zeroing 32 MB costs more than reading it
        first = self.chunk_bytes
        if not capture_input.compressed:
            first = min(first, max(capture_input.total_bytes + 1, 1 << 16))
        self._buf = bytearray(first + PAD)
        self._free: queue.SimpleQueue[Buffer] = queue.SimpleQueue()  # recycled buffers
        #: makes the buffers of later chunks (shared memory, when a decoding process reads them)
        self.allocate: Callable[[int], Any] = bytearray
        #: whether a buffer handed back is kept for a later chunk (with a decoding process: only
        #: its shared slots, so a stop-gap buffer made when they were all taken is not reused)
        self.reusable: Callable[[Any], bool] = lambda buf: True
        self._stopped = False
        #: the first chunk is read at once so subclasses can parse the file header from it
        self._end = self._fill(self._buf, 0)
        self._pos = 0

    @property
    def files(self) -> list[Path]:
        """The files read: this one (a merged reader reads several)."""
        return [self.path]

    def close(self) -> None:
        """Release the file (and remove a decompressed copy nobody asked for)."""
        self.unmap()
        self.input.discard()

    def __enter__(self) -> ChunkedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- subclass interface ---------------------------------------------------------------
    def walk(self, buf: Buffer, pos: int, end: int) -> Walk:
        """Find the complete records in ``buf[pos:end]``.

        When the next record does not fit, ``Walk.need`` says how big it is; a subclass that
        finds a size beyond :meth:`limit_for` calls :meth:`stop` instead of asking for it.
        """
        raise NotImplementedError

    def records(self, arr: np.ndarray, walk: Walk) -> RecordChunk | None:
        """Turn the walked record starts into columns; may stop the reader with a warning."""
        raise NotImplementedError

    # -- shared machinery -----------------------------------------------------------------
    def stop(self, warning: str) -> None:
        """End reading here; what was read so far is kept."""
        self.warnings.append(warning)
        self._stopped = True

    def limit_for(self, snaplen: int) -> int:
        """Largest record accepted: the configured maximum or the file's snap length."""
        return min(max(self.max_packet_bytes, snaplen), HARD_RECORD_LIMIT)

    def chunks(self, progress: ProgressFn | None = None, cancel: CancelFn | None = None,
               prefetch: bool = True) -> Iterator[RecordChunk]:
        """Yield the records chunk by chunk (a chunk stays valid while the caller holds it).

        With ``prefetch`` a background thread reads and walks the next chunks while the caller
        decodes this one: reading, decompressing and walking release the GIL, so on two cores
        the file is read for free. Errors of the reading thread surface here; closing the
        iterator (or an exception in the caller) stops the thread.
        """
        source = self._prefetched(cancel) if prefetch else self._produce()
        try:
            for chunk, position, records in source:
                self._check(cancel)
                if chunk is not None:
                    yield chunk
                if progress is not None:
                    progress(position, self.input.total_bytes, records)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
        if progress is not None:
            progress(self.input.total_bytes, self.input.total_bytes, self.packets)

    def _check(self, cancel: CancelFn | None) -> None:
        if cancel is not None and cancel():
            raise LoadCancelled(f"Loading {self.path.name} was cancelled.")

    def _prefetched(self, cancel: CancelFn | None = None) -> Iterator[_Produced]:
        """Run :meth:`_produce` in a thread, two chunks ahead; ``cancel`` is polled while
        waiting for a chunk (inflating a gzip chunk can take longer than Cancel may wait)."""
        items: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=2)
        stop = self._halt = threading.Event()

        def work() -> None:
            try:
                for item in self._produce():
                    while not stop.is_set():
                        try:
                            items.put(("chunk", item), timeout=0.1)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        return
                items.put(("end", None))
            except BaseException as exc:  # handed to the consumer, raised there
                items.put(("error", exc))

        thread = threading.Thread(target=work, name="flowscope-reader", daemon=True)
        thread.start()
        try:
            while True:
                try:
                    kind, value = items.get(timeout=0.05)
                except queue.Empty:
                    self._check(cancel)
                    continue
                if kind == "chunk":
                    yield value  # type: ignore[misc]
                elif kind == "error":
                    raise value  # type: ignore[misc]
                else:
                    return
        finally:
            stop.set()
            while thread.is_alive():  # unblock a producer waiting on a full queue
                with contextlib.suppress(queue.Empty):
                    items.get(timeout=0.05)
            thread.join()

    def _produce(self) -> Iterator[_Produced]:
        """The reading loop: (chunk, file position after it, records read). Each refill takes a
        fresh buffer, so a chunk handed out is never overwritten. A chunk whose records were all
        only counted comes as None (progress and cancel still see it)."""
        buf: Buffer = self._buf
        pos, end, base = self._pos, self._end, 0
        eof = end < len(buf) - PAD
        mapped = False  # whether ``buf`` is a window of the file's map (see map_file)
        while True:
            walk = self.walk(buf, pos, end)
            handed = False
            if len(walk.positions):
                chunk = self.records(np.frombuffer(buf, dtype=np.uint8), walk)
                if chunk is not None and len(chunk):
                    self.packets += len(chunk)
                    chunk = self._thin_empty(chunk)
                    if not len(chunk):
                        yield None, self.input.position, self.packets
                if chunk is not None and len(chunk):
                    chunk.base = base
                    chunk.recycle = (functools.partial(self._release_window, base, len(buf))
                                     if mapped else functools.partial(self._recycle, buf))
                    handed = True
                    yield chunk, self.input.position, self.packets
            if self._stopped:
                break
            pos = walk.stop
            if eof:
                self._end_of_data(pos, end, walk)
                break
            if not handed and mapped:
                self._release_window(base, len(buf))
            # a record longer than the buffer: grow by doubling as its bytes arrive, never
            # straight to what its header claims (the file may end long before)
            grow = min(walk.need, 2 * (len(buf) - PAD)) if pos == 0 else 0
            window = self._window(base + pos) if not grow else None
            if window is not None:
                if not handed and not mapped:
                    self._recycle(buf)
                base += pos
                buf, pos, end, mapped = window, 0, len(window) - PAD, True
                continue
            tail = end - pos
            nxt = self._buffer(max(self.chunk_bytes, grow, tail) + PAD)
            nxt[:tail] = buf[pos:end]
            if not handed and not mapped:
                self._recycle(buf)
            mapped = False
            base += pos
            buf = nxt
            end = tail + self._fill(buf, tail)
            pos = 0
            eof = end < len(buf) - PAD
        self._buf = bytearray(0)
        self._reading = False  # buffers handed back from now on are freed, not pooled
        while not self._free.empty():
            self._let_go(self._free.get_nowait())
        if self.input.problem:
            self.warnings.append(f"{self.path.name}: {self.input.problem}; the packets before "
                                 "that point were read.")

    _reading = True

    def _thin_empty(self, chunk: RecordChunk) -> RecordChunk:
        """Keep rows for the first :data:`MAX_LISTED_EMPTY` empty records; count the rest."""
        empty = np.flatnonzero(chunk.caplen == 0)
        room = MAX_LISTED_EMPTY - self._listed_empty
        self._listed_empty += min(empty.size, room)
        if empty.size <= room:
            return chunk
        drop = empty[max(room, 0) :]
        if not self.unlisted_empty:
            number = self.packets - len(chunk) + int(drop[0]) + 1
            self.warnings.append(
                f"{self.path.name} holds more than {MAX_LISTED_EMPTY:,} records with no captured "
                f"bytes; from packet {number} on they are counted (as packets cut short) but not "
                "listed one by one, so later packet numbers are lower than Wireshark's.")
        ts = chunk.ts_ns[drop]
        first, last = int(ts.min()), int(ts.max())
        if self.unlisted_span is not None:
            first, last = min(first, self.unlisted_span[0]), max(last, self.unlisted_span[1])
        self.unlisted_span = (first, last)
        self.unlisted_empty += drop.size
        keep = np.ones(len(chunk), dtype=bool)
        keep[drop] = False
        return RecordChunk(buf=chunk.buf, base=chunk.base, data_off=chunk.data_off[keep],
                           caplen=chunk.caplen[keep], origlen=chunk.origlen[keep],
                           ts_ns=chunk.ts_ns[keep], iface=chunk.iface[keep])

    # -- reading through a map of the file --------------------------------------------------
    #: the capture file mapped read-only (see :meth:`map_file`); None: every chunk is read
    _map: mmap.mmap | None = None

    def map_file(self) -> mmap.mmap | None:
        """Take the chunks after the first as windows of a read-only map of the file rather than
        reading them into buffers; the map (None for a compressed capture, or when the file
        cannot be mapped).

        For loads with a decoding process, which is forked after this and decodes the windows
        from its copy of the map: reading 16 MB chunks into shared buffers cost this process a
        copy of every byte (0.27 s of 5M packets) and ~100 MB of fresh shared pages. A window's
        pages are let go once its chunk is done. Before each window the file's size is checked:
        a file that shrank since it was opened is read (and reported short) as before, since
        reading a map past the end of its file kills the process. For the same reason a file
        on a network share or a user-space file system (:mod:`.local_fs`) is not mapped: a
        read it cannot serve raises an error, where a mapped page it cannot serve kills."""
        if (self._map is None and not self.input.compressed
                and not is_remote(file_system_type(self.path))):
            with contextlib.suppress(OSError, ValueError):  # (an empty or unmappable file)
                self._map = mmap.mmap(self.input.fileno(), 0, access=mmap.ACCESS_READ)
        return self._map

    def unmap(self) -> None:
        """Close the map (a window still held elsewhere keeps it until it goes)."""
        mapping, self._map = self._map, None
        if mapping is not None:
            with contextlib.suppress(BufferError):
                mapping.close()

    def _window(self, start: int) -> memoryview | None:
        """The next chunk's bytes (and the padding after them) in the map, from file offset
        ``start``; None when they are not all in the map, or the file shrank."""
        mapping = self._map
        stop = start + self.chunk_bytes + PAD
        if mapping is None or stop > len(mapping):
            return None
        try:
            if os.fstat(self.input.fileno()).st_size < len(mapping):
                return None
        except (OSError, ValueError):
            return None
        self.input.skip_to(stop - PAD)  # (where reading goes on when the windows end)
        return memoryview(mapping)[start:stop]

    def _release_window(self, start: int, size: int) -> None:
        """Let go of the mapped pages of a window (they stay in the page cache)."""
        mapping = self._map
        if mapping is not None:
            release_mapped(mapping, start, start + size)

    #: takes the buffers this reader no longer needs (a merged reader lends them to the next
    #: file's reader); None: they are freed
    release: Callable[[Buffer], None] | None = None

    def _let_go(self, buf: Buffer) -> None:
        if self.release is not None:
            self.release(buf)

    def _recycle(self, buf: Buffer) -> None:
        if self._reading and self.reusable(buf):
            self._free.put(buf)
        else:
            self._let_go(buf)

    def _buffer(self, size: int) -> Buffer:
        """A buffer of at least ``size`` bytes: a recycled one when the consumer gave one back.

        Only standard-size buffers are kept; a larger one (a record bigger than a chunk) is
        allocated for the occasion and dropped after."""
        while True:
            try:
                buf = self._free.get_nowait()
            except queue.Empty:
                return self.allocate(size)
            if len(buf) >= size:
                return buf

    _halt: threading.Event | None = None

    def _fill(self, buf: Buffer, start: int) -> int:
        """Read into ``buf[start:]`` in pieces, so an abandoned prefetch (a cancelled load)
        stops within one piece rather than after inflating a whole chunk."""
        view = memoryview(buf)[start : len(buf) - PAD]
        done = 0
        while done < len(view):
            if self._halt is not None and self._halt.is_set():
                raise LoadCancelled(f"Reading {self.path.name} was abandoned.")
            n = self.input.readinto(view[done : done + FILL_PIECE])
            if not n:
                break
            done += n
        return done

    def too_big(self, number: int, size: int, limit: int) -> None:
        """Stop at a record whose length field is beyond belief (never allocate it)."""
        self.stop(f"{self.path.name}: packet {number} claims to be {size} bytes long, more than "
                  f"the {limit}-byte maximum; the file is damaged from there on, so reading "
                  f"stopped after {number - 1} packets.")

    def _end_of_data(self, pos: int, end: int, walk: Walk) -> None:
        left = end - pos
        if left <= 0:
            return
        if walk.need:
            self.warnings.append(
                f"{self.path.name} is cut short in the middle of packet {self.packets + 1}: "
                f"{left} of its {walk.need} bytes are present; all {self.packets} complete "
                "packets before it were read.")
        else:
            self.warnings.append(
                f"{self.path.name} ends with {left} stray bytes after packet {self.packets}; "
                "they were ignored.")
