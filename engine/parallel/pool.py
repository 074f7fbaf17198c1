"""The decoding process and the loop that feeds it.

The worker is forked at the start of a load (cheap: it shares this process's pages until it
writes) and serves ``decode`` requests over a pipe: a chunk's record columns go there (about
30 bytes a packet), its bytes are already in a shared slot, the decoded columns come back in an
output slot with the chunk's rows grouped by tuple (the running table here then only numbers
the groups), and the rarer side findings (IP fragments, ICMP quotes, packets inside tunnels) as
a pickle. Results are taken in submission order, so the aggregation sees chunks in file order.
A chunk that cannot go (its buffer is not shared, no output slot is free, the worker died) is
decoded here instead, with the same result.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import mmap
import os
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from ..aggregate.running import group_chunk
from ..aggregate.tuples import ChunkGroups, compiled_table
from ..cancel import cancel_scope, checkpoint
from ..capture import RecordChunk
from ..capture.chunk import PAD
from ..decode.fast import SideInfo, decode_chunk
from ..errors import FlowError
from ..heap import release_mapped
from ..packets import PacketTable
from .slots import SLOT_ROW_BYTES, SharedSlots, clear, groups_in, rows_per_slot, table_in

if TYPE_CHECKING:  # multiprocessing is imported when a process is started
    from multiprocessing.connection import Connection

#: chunks queued in the worker ahead of the one being aggregated
AHEAD = 2
#: shared chunk buffers: being read, queued by the reader, in the worker, being aggregated
INPUT_SLOTS = 10
OUTPUT_SLOTS = AHEAD + 2
#: a chunk's ``in_slot`` when its bytes are a window of the capture's map, not a shared slot
IN_FILE = -1
#: smallest record: a pcap record header with no data
MIN_RECORD = 16
#: seconds between looks at a worker that has not answered yet, and before giving up on it
POLL = 0.05
PATIENCE = 30.0


def can_fork() -> bool:
    """Whether this process may start helper processes: a Linux fork, and not from inside a
    daemonic process (multiprocessing refuses those children: a load inside a pool's worker
    raised its AssertionError instead of loading in one process)."""
    import multiprocessing

    return (sys.platform.startswith("linux")
            and "fork" in multiprocessing.get_all_start_methods()
            and not multiprocessing.current_process().daemon)


def worker_count(configured: int) -> int:
    """``FlowConfig.workers``, unless ``FLOWSCOPE_WORKERS`` says otherwise (benchmarks)."""
    env = os.environ.get("FLOWSCOPE_WORKERS")
    if env is not None and env.strip().isdigit():
        return int(env)
    return configured


@dataclass
class Ticket:
    in_slot: int
    out_slot: int
    rows: int


class DecodePool:
    """One worker process decoding chunks that sit in shared slots."""

    def __init__(self, chunk_bytes: int, file_map: mmap.mmap | None = None) -> None:
        """``file_map``: the capture's read-only map, whose windows the reader hands out as
        chunks (see ``ChunkedReader.map_file``); the worker decodes them in its copy of it."""
        self.inputs = SharedSlots(INPUT_SLOTS, chunk_bytes + PAD)
        self.capacity = max(chunk_bytes // MIN_RECORD + 1, 1024)
        self.outputs = SharedSlots(OUTPUT_SLOTS, self.capacity * SLOT_ROW_BYTES + 4096 * 8)
        self.capacity = rows_per_slot(self.outputs.size)
        self._file_at, self._file_size = -1, 0
        if file_map is not None and len(file_map):
            self._file_at = int(np.frombuffer(file_map, dtype=np.uint8).ctypes.data)
            self._file_size = len(file_map)
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve,
                                 args=(child, self.inputs, self.outputs, file_map),
                                 name="flowscope-decode", daemon=True)
        self._proc.start()
        child.close()
        self.alive = True

    # -- the reader's buffers --------------------------------------------------------------
    def allocate(self, size: int) -> Any:
        """A chunk buffer: a shared slot while one is free and big enough."""
        if size <= self.inputs.size:
            slot = self.inputs.take()
            if slot is not None:
                return self.inputs.buffer(slot, size)
        return bytearray(size)

    def owns(self, buf: Any) -> bool:
        """Whether ``buf`` (a buffer the reader hands back) is one of the shared slots."""
        return self.inputs.slot_of(np.frombuffer(buf, dtype=np.uint8)) is not None

    # -- requests ----------------------------------------------------------------------------
    def submit(self, chunk: RecordChunk, linktypes: np.ndarray, first_index: int,
               foreign: frozenset[int]) -> Ticket | None:
        """Send ``chunk`` to the worker; None when it has to be decoded here."""
        if not self.alive or len(chunk) > self.capacity or not self.outputs.free:
            return None
        in_slot = self.inputs.slot_of(chunk.buf)
        if in_slot is None:
            if not self._in_file(chunk):
                return None
            in_slot = IN_FILE
        out_slot = self.outputs.take()
        assert out_slot is not None
        # the record columns travel in the output slot's own columns (a pipe would make this
        # process wait while the worker drains it)
        out = table_in(self.outputs, out_slot, len(chunk))
        out.offset[:] = chunk.data_off
        out.caplen[:] = chunk.caplen
        out.origlen[:] = chunk.origlen
        out.ts_ns[:] = chunk.ts_ns
        out.iface[:] = chunk.iface
        try:
            self._conn.send((in_slot, out_slot, len(chunk), len(chunk.buf), chunk.base,
                             linktypes, first_index, foreign))
        except (OSError, ValueError):
            self.outputs.give(out_slot)
            self.alive = False
            return None
        return Ticket(in_slot, out_slot, len(chunk))

    def _in_file(self, chunk: RecordChunk) -> bool:
        """Whether ``chunk`` is a window of the capture's map, at its own file offset."""
        offset = int(chunk.buf.ctypes.data) - self._file_at
        return (self._file_at >= 0 and offset == chunk.base
                and 0 <= offset <= self._file_size - chunk.buf.size)

    def result(self, ticket: Ticket) -> tuple[PacketTable, SideInfo, ChunkGroups | None] | None:
        """The decoded rows of the oldest request, their side findings and their grouping by
        tuple (None when the worker could not group them); None if the worker died or
        stopped answering meanwhile (its chunks are then decoded here). Polls the load's
        cancel scope while waiting."""
        waited = 0.0
        try:
            while not self._conn.poll(POLL):
                waited += POLL
                checkpoint()
                if not self._proc.is_alive() or waited > PATIENCE:
                    raise EOFError
            reply = self._conn.recv()
        except (EOFError, OSError):
            self._give_up()
            self.outputs.give(ticket.out_slot)
            return None
        if isinstance(reply, str):
            self.outputs.give(ticket.out_slot)
            raise FlowError(f"Decoding failed in the worker process: {reply}")
        side, grouped = reply
        groups = groups_in(self.outputs, ticket.out_slot, grouped) if grouped >= 0 else None
        return table_in(self.outputs, ticket.out_slot, ticket.rows), SideInfo(*side), groups

    def _give_up(self) -> None:
        self.alive = False
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(timeout=2)

    def done(self, ticket: Ticket) -> None:
        self.outputs.give(ticket.out_slot)

    def close(self, wait: bool = True) -> None:
        """Stop the worker (it also stops by itself when this process goes away).

        Waiting for it to exit and unmapping the slots took 35–45 ms at the end of every load
        (freeing ~100 MB of shared pages); with ``wait=False`` a thread of its own does both
        while the analyses run (the unmapping releases the interpreter), and :func:`wait_closed`
        waits for it."""
        if self._conn.closed:
            return
        with contextlib.suppress(OSError, ValueError):
            self._conn.send(None)
        self._conn.close()
        self.alive = False
        if wait:
            self._end()
            return
        thread = threading.Thread(target=self._let_go, name="flowscope-decode-end", daemon=True)
        global _WAITED_AT_EXIT
        with _ENDING_LOCK:
            if not _WAITED_AT_EXIT:  # (registered after multiprocessing's own exit handler,
                _WAITED_AT_EXIT = True  # so it runs first: the children are reaped once)
                atexit.register(wait_closed)
            _ENDING.append(thread)
        thread.start()

    def _let_go(self) -> None:
        try:
            self._end()
        finally:
            with _ENDING_LOCK:
                _ENDING.remove(threading.current_thread())

    def _end(self) -> None:
        self._proc.join(timeout=2)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(timeout=2)
        if not self._proc.is_alive():
            self._proc.close()  # its sentinel pipe, not left to the garbage collector
        self.inputs.close()
        self.outputs.close()


#: threads ending a closed pool's worker and unmapping its slots
_ENDING: list[threading.Thread] = []
_ENDING_LOCK = threading.Lock()
_WAITED_AT_EXIT = False  # (whether wait_closed is registered to run at exit)


def wait_closed() -> None:
    """Wait until every closed pool's worker has exited and its slots are unmapped."""
    while True:
        with _ENDING_LOCK:
            pending = list(_ENDING)
        if not pending:
            return
        for thread in pending:
            thread.join()


def _serve(conn: Connection, inputs: SharedSlots, outputs: SharedSlots,
           file_map: mmap.mmap | None) -> None:
    """The worker's loop (in the forked process); it ends with its parent, even when another
    process keeps the pipe open. It polls no cancel callback: the one it inherited is a copy
    that nobody sets (this process's parent stops it instead)."""
    with cancel_scope(None, ""):
        _serve_requests(conn, inputs, outputs, file_map)


def _serve_requests(conn: Connection, inputs: SharedSlots, outputs: SharedSlots,
                    file_map: mmap.mmap | None) -> None:
    parent = os.getppid()
    grouping = compiled_table()  # the rows of each chunk grouped by tuple here, not there
    file_bytes = np.frombuffer(file_map, dtype=np.uint8) if file_map is not None else None
    while True:
        try:
            while not conn.poll(1.0):
                if os.getppid() != parent:
                    return
            request = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if request is None:
            return
        in_slot, out_slot, rows, size, base, linktypes, first_index, foreign = request
        try:
            out = table_in(outputs, out_slot, rows)
            buf = (file_bytes[base : base + size] if in_slot == IN_FILE and file_bytes is not None
                   else inputs.array(in_slot, size))
            chunk = RecordChunk(buf=buf, base=base,
                                data_off=out.offset.copy(), caplen=out.caplen.copy(),
                                origlen=out.origlen.copy(), ts_ns=out.ts_ns.copy(),
                                iface=out.iface.copy())
            clear(out)
            _, side = decode_chunk(chunk, linktypes, first_index, foreign, out)
            grouped = -1
            if grouping is not None:
                groups = group_chunk(grouping, out, partial(groups_in, outputs, out_slot))
                grouped = groups.order.size
            reply: Any = ((side.fragments, side.quoted, side.inner, side.inner_quoted), grouped)
        except Exception as exc:  # reported to the parent, which raises it there
            reply = f"{type(exc).__name__}: {exc}"
        if in_slot == IN_FILE and file_map is not None:  # its pages, mapped here, let go
            release_mapped(file_map, base, base + size)
        try:
            conn.send(reply)
        except (OSError, ValueError):
            return


def feed_chunks(load: Any, chunks: Iterable[RecordChunk], pool: DecodePool | None) -> None:
    """Every chunk into ``load`` in file order, decoded by ``pool`` where it can, here
    otherwise; the worker decodes chunk k+1 and k+2 while this process aggregates chunk k.
    The cancel scope (:mod:`engine.cancel`) is polled after every chunk."""
    pending: collections.deque[tuple[RecordChunk, Ticket | None]] = collections.deque()
    index = load.index

    def settle() -> None:
        chunk, ticket = pending.popleft()
        if ticket is not None and pool is not None:
            got = pool.result(ticket)
            if got is not None:
                part, side, groups = got
                load.add(chunk, part, side, groups)
                pool.done(ticket)
                return
        load.decode(chunk)

    for chunk in chunks:
        ticket = None
        if pool is not None:
            ticket = pool.submit(chunk, load.linktypes(), index, load.foreign)
        pending.append((chunk, ticket))
        index += len(chunk)
        while pending and (len(pending) > AHEAD or pending[0][1] is None):
            settle()
        checkpoint()
    while pending:
        settle()
        checkpoint()
