"""One load, chunk by chunk: decode, plug-ins, IP fragments, the running table, the packet store.

:class:`Load` is what every entry point feeds (a file, a set of files, packets in memory, an
iterator): each chunk is decoded into the packet store's rows, its conversations are merged into
the :class:`~engine.aggregate.RunningTable`, and its rows are kept (in memory or spilled to disk,
:mod:`engine.packet_store`). Nothing waits for the whole capture but the final renumbering by
start time, the packet lists and the analyses — so a viewer can show the conversations found so
far (:class:`Partial`) while the file is still being read.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .aggregate import Levels
from .aggregate.tuples import ChunkGroups
from .analyses import run_analyses
from .cancel import checkpoint
from .capture import ByteSource, Interface, RecordChunk
from .config import FlowConfig
from .conversations import QuotedLinks, packet_lists
from .decode.fast import SideInfo, decode_chunk
from .decode.fragments import Fragments
from .heap import release_freed_memory
from .hooks import LinkPlugin
from .packet_store import PacketStore, release_pages
from .packets import InnerPackets, PacketTable
from .result import CaptureInfo, FlowResult
from .table import ConversationTable, merge_tables

#: rows renumbered or listed per step in the final passes (bounds what is resident at once)
STEP = 1 << 20
_NO_RANK = np.zeros(0, dtype=np.uint32)
#: seconds between snapshots of the conversations found so far (for a viewer)
SNAPSHOT_SECONDS = 0.5
#: ... or this many times the last snapshot's cost, when that is longer
SNAPSHOT_COST = 4.0


@dataclass(frozen=True)
class Partial:
    """The conversations found so far (running ids: in order of their first packet)."""

    conversations: ConversationTable
    packets: int  # packets read so far
    first_ns: int | None  # earliest packet time so far
    inner: np.ndarray  # bool per conversation: inside a UDP tunnel


SnapshotFn = Callable[[Partial], None]


class Load:
    """Chunks in (:meth:`decode` or :meth:`add`), a :class:`FlowResult` out (:meth:`finish`)."""

    def __init__(self, config: FlowConfig, interfaces: list[Interface],
                 plugins: list[LinkPlugin], size_hint: int = 0,
                 on_snapshot: SnapshotFn | None = None) -> None:
        self.config = config
        self.interfaces = interfaces
        self.plugins = plugins
        self.size_hint = size_hint
        self.store = PacketStore(config.packet_budget, config.spill_dir)
        self.levels = Levels(config.udp_timeout_ns, config.icmp_timeout_ns)
        self.index = 0  # packets added so far
        self._foreign = frozenset().union(*(p.linktypes for p in plugins))
        self._linktypes = np.zeros(0, dtype=np.uint16)
        self._fragments = Fragments()
        self._used: set[int] = set()  # plug-ins that decoded packets
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        self._on_snapshot = on_snapshot
        self._snapshot_every = SNAPSHOT_SECONDS
        self._last_snapshot = time.monotonic() - SNAPSHOT_SECONDS * 0.5  # the first one early

    # -- chunks ------------------------------------------------------------------------------
    def linktypes(self) -> np.ndarray:
        """Link type by interface index (interfaces may be added while reading)."""
        if self._linktypes.size < len(self.interfaces):
            new = [i.linktype for i in self.interfaces[self._linktypes.size :]]
            self._linktypes = np.concatenate([self._linktypes, np.array(new, dtype=np.uint16)])
        return self._linktypes

    @property
    def foreign(self) -> frozenset[int]:
        """Link types the plug-ins decode (the IP decoder leaves them alone)."""
        return self._foreign

    def _reserve(self, chunk: RecordChunk) -> None:
        if self.index == 0 and self.size_hint and len(chunk):
            # the first chunk tells the average record size: room for the whole file at once
            # (records may lie in any order in a chunk merged from several files)
            span = max(int((chunk.data_off + chunk.caplen).max() - chunk.data_off.min()),
                       16 * len(chunk))
            self.store.reserve(int(self.size_hint * 1.1 * len(chunk) / span) + len(chunk))

    def decode(self, chunk: RecordChunk) -> None:
        """Decode ``chunk`` here and add it."""
        self._reserve(chunk)
        part = self.store.rows(len(chunk))
        _, side = decode_chunk(chunk, self.linktypes(), self.index, self._foreign, part)
        self.add(chunk, part, side)

    def add(self, chunk: RecordChunk, part: PacketTable, side: SideInfo,
            groups: ChunkGroups | None = None) -> None:
        """Add a decoded chunk (its plug-in rows are decoded here, while its bytes are valid);
        ``groups``: its rows already grouped by tuple (by the decoding process)."""
        self._reserve(chunk)
        for k, plugin in enumerate(self.plugins):
            rows = np.flatnonzero(np.isin(part.linktype, tuple(plugin.linktypes)))
            if rows.size:
                checkpoint()
                self._used.add(k)
                plugin.decode(chunk, rows, part, self.index)
                groups = None  # (grouped before the plug-in wrote its rows)
        chunk.done()
        self.add_rows(part, side, groups)

    def add_rows(self, part: PacketTable, side: SideInfo,
                 groups: ChunkGroups | None = None) -> None:
        """Add decoded rows (packets ``self.index`` on) to the running table and the store."""
        n = len(part)
        if not n:
            return
        if side.fragments:
            self._fragments.add(side.fragments, part, self.index)
            groups = None  # (grouped before reassembly gave some rows their transport fields)
        rank = np.zeros(n, dtype=np.uint32) if self.config.store_packet_indices else None
        self.levels.add(part, self.index, side.quoted, rank, side.inner, side.inner_quoted,
                        groups)
        self.saw_times(int(part.ts_ns.min()), int(part.ts_ns.max()))
        if rank is None:
            self.store.commit(part)
        else:
            self.store.commit(part, rank=rank)
        self.index += n
        self._maybe_snapshot()

    def _maybe_snapshot(self) -> None:
        if self._on_snapshot is None:
            return
        now = time.monotonic()
        if now - self._last_snapshot >= self._snapshot_every:
            self._last_snapshot = now
            self._on_snapshot(self.partial())
            cost = time.monotonic() - now
            if self._snapshot_every:  # snapshots never take more than a fifth of the load
                self._snapshot_every = max(SNAPSHOT_SECONDS, SNAPSHOT_COST * cost)

    def saw_times(self, first: int, last: int) -> None:
        """Widen the capture's time span (packets counted but not added, e.g. empty records)."""
        self.first_ns = first if self.first_ns is None else min(self.first_ns, first)
        self.last_ns = last if self.last_ns is None else max(self.last_ns, last)

    def partial(self) -> Partial:
        """The conversations so far: the IP ones, and those of plug-ins that can tell."""
        table, inner = self.levels.snapshot()
        parts = [table]
        for k, plugin in enumerate(self.plugins):
            snapshot = getattr(plugin, "snapshot", None)
            found = snapshot() if k in self._used and snapshot is not None else None
            if found is not None and len(found):
                parts.append(found)
        if len(parts) > 1:
            merged, new_ids = merge_tables(parts)
            flags = np.zeros(len(merged), dtype=bool)
            flags[new_ids[0]] = inner
            table, inner = merged, flags
        return Partial(table, self.index, self.first_ns, inner)

    # -- the end -------------------------------------------------------------------------------
    def discard(self) -> None:
        """The load failed or was cancelled: remove what it spilled."""
        self.store.close()

    def finish(self, capture: CaptureInfo, source: ByteSource) -> FlowResult:
        """Renumber by start time, build the packet lists, run the plug-ins and analyses."""
        checkpoint()
        packets, extra = self.store.finish()
        grouped = self.levels.finish()
        table, links, inner = grouped.table, grouped.links, grouped.inner
        checkpoint()
        _renumber(packets.conv, grouped.new_id)
        plugins = [p for k, p in enumerate(self.plugins) if k in self._used]
        parts = []
        for plugin in plugins:
            checkpoint()
            before = packets.conv.copy()
            part = plugin.conversations(packets, self.config)
            if part is not None and len(part):
                parts.append((part, (packets.conv >= 0) & (before < 0)))
        if parts:
            table, links = _merge(packets, inner, table, links, parts, self.config)
        elif self.config.store_packet_indices:
            table.packet_index = self.store.column("packet_index", np.int64,
                                                   size=int(table.packets.sum()))
            table.packet_start = _lists_by_rank(packets.conv, extra.get("rank", _NO_RANK), table,
                                                table.packet_index)
            if len(inner):
                rows = np.flatnonzero(inner.packets.conv >= 0)
                conv = inner.packets.conv[rows]
                table.packet_index[table.packet_start[conv] + grouped.inner_rank[rows]] = \
                    inner.frame[rows]
        capture.first_ns, capture.last_ns = self.first_ns, self.last_ns
        release_pages(packets, *extra.values())
        del extra
        result = FlowResult(capture, packets, table, links, source, self.config,
                            self._fragments.reassembled(), inner)
        result.packet_store = self.store
        result.plugin_data = {p.name: p.finish() for p in self.plugins}
        run_analyses(result)
        release_freed_memory()  # what the phases freed goes back to the system, not just the heap
        return result


def _renumber(conv: np.ndarray, new_id: np.ndarray) -> None:
    """Running ids → final ids, a step at a time."""
    for a in range(0, conv.size, STEP):
        c = conv[a : a + STEP]
        mine = c >= 0
        c[mine] = new_id[c[mine]]
        release_pages(conv)
        checkpoint()


def _lists_by_rank(conv: np.ndarray, rank: np.ndarray, table: ConversationTable,
                   out: np.ndarray) -> np.ndarray:
    """CSR packet lists: each packet goes to its conversation's start plus its rank there
    (known from the running table), so no sort of all packets is needed."""
    start = np.zeros(len(table) + 1, dtype=np.int64)
    np.cumsum(table.packets, out=start[1:])
    for a in range(0, conv.size, STEP):
        c = conv[a : a + STEP]
        rows = np.flatnonzero(c >= 0)
        out[start[c[rows]] + rank[a + rows]] = a + rows
        release_pages(conv, rank)
        checkpoint()
    # (every step writes all over the lists: letting their pages go after each step had the
    # next one map them all again, 0.06–0.1 s of a 5M load)
    release_pages(out)
    return start


def _merge(packets: PacketTable, inner: InnerPackets, table: ConversationTable,
           links: QuotedLinks, extra_parts: list[tuple[ConversationTable, np.ndarray]],
           config: FlowConfig) -> tuple[ConversationTable, QuotedLinks]:
    """Merge plug-in conversations into the IP table; renumber packets and quoted links."""
    ip_mine = packets.conv >= 0
    for _, mine in extra_parts:
        ip_mine &= ~mine
    merged, new_ids = merge_tables([table] + [part for part, _ in extra_parts])
    conv = packets.conv
    conv[ip_mine] = new_ids[0][conv[ip_mine]]
    for (_, mine), ids in zip(extra_parts, new_ids[1:], strict=True):
        conv[mine] = ids[conv[mine]]
    tunnelled = inner.packets.conv >= 0
    inner.packets.conv[tunnelled] = new_ids[0][inner.packets.conv[tunnelled]]
    if config.store_packet_indices:
        merged.packet_index, merged.packet_start = packet_lists(packets, len(merged), inner)
    links = QuotedLinks(links.packets, np.where(links.conversations >= 0,
                                                new_ids[0][np.maximum(links.conversations, 0)],
                                                -1))
    return merged, links
