"""The analysis pipeline: record chunks → decoded packet columns → conversations.

Every entry point (file, in-memory list, stream) feeds the same chunk loop, so they give the same
answer for the same packets.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from .cancel import cancel_scope, checkpoint
from .capture import ByteSource, CancelFn, Interface, ProgressFn, RecordChunk, open_captures
from .capture.files import PathLike, request_name
from .capture.in_memory import MemoryChunker
from .capture.source import MemorySource
from .config import FlowConfig
from .conversations import QuotedLinks, build_conversations, packet_lists
from .decode.fast import SideInfo, decode_chunk
from .decode.fragments import resolve_fragments
from .errors import FlowError
from .heap import release_freed_memory
from .hooks import ANALYSES, LINK_PLUGINS, LinkPlugin
from .packets import InnerPackets, PacketTable, PacketTableBuilder
from .result import CaptureInfo, FlowResult
from .table import ConversationTable, merge_tables
from .tunnels import build_levels


def _decode_all(chunks: Iterator[RecordChunk], interfaces: list[Interface],
                plugins: list[LinkPlugin], size_hint: int = 0) -> tuple[PacketTable, SideInfo]:
    """Decode every chunk into one packet table, and what needs the whole capture (fragments,
    ICMP quotes, packets inside tunnels); ``size_hint`` = bytes expected in all.

    (Decoding chunks on a thread pool was measured too: no faster on two cores — the numpy
    calls are short enough that the GIL serialises them — and 20 MB more memory.)
    """
    table = PacketTableBuilder()
    found = SideInfo()
    foreign = frozenset().union(*(p.linktypes for p in plugins))
    index = 0
    linktypes = np.zeros(0, dtype=np.uint16)
    for chunk in chunks:
        if index == 0 and size_hint and len(chunk):
            # the first chunk tells the average record size: room for the whole file at once
            # (no more rows than the file can hold: every record takes at least 16 bytes)
            # (records may lie in any order in a chunk merged from several files)
            span = max(int((chunk.data_off + chunk.caplen).max() - chunk.data_off.min()),
                       16 * len(chunk))
            table.reserve(int(size_hint * 1.1 * len(chunk) / span) + len(chunk))
        if linktypes.size < len(interfaces):  # interfaces are only appended: add the new ones
            new = [i.linktype for i in interfaces[linktypes.size :]]
            linktypes = np.concatenate([linktypes, np.array(new, dtype=np.uint16)])
        part, side = decode_chunk(chunk, linktypes, index, foreign, table.append(len(chunk)))
        for plugin in plugins:
            rows = np.flatnonzero(np.isin(part.linktype, tuple(plugin.linktypes)))
            if rows.size:
                checkpoint()
                plugin.decode(chunk, rows, part, index)
        chunk.done()
        found.extend(side)
        index += len(chunk)
        checkpoint()  # the caller's cancel_scope says whether to stop
    return table.finish(), found


def _finish(packets: PacketTable, side: SideInfo, capture: CaptureInfo, source: ByteSource,
            config: FlowConfig, plugins: list[LinkPlugin]) -> FlowResult:
    reassembled = resolve_fragments(side.fragments, packets)
    checkpoint()
    inner = InnerPackets.concat(side.inner)
    if len(inner):
        table, links = build_levels(packets, inner, side.quoted, side.inner_quoted, config)
    else:
        table, links = build_conversations(packets, side.quoted, config)
    extra_parts = []
    for plugin in plugins:
        checkpoint()
        before = packets.conv.copy()
        part = plugin.conversations(packets, config)
        if part is not None and len(part):
            mine = (packets.conv >= 0) & (before < 0)
            extra_parts.append((part, mine))
    if extra_parts:
        table, links = _merge(packets, inner, table, links, extra_parts, config)
    if len(packets):
        first, last = int(packets.ts_ns.min()), int(packets.ts_ns.max())
        capture.first_ns = first if capture.first_ns is None else min(first, capture.first_ns)
        capture.last_ns = last if capture.last_ns is None else max(last, capture.last_ns)
    result = FlowResult(capture, packets, table, links, source, config, reassembled, inner)
    result.plugin_data = {plugin.name: plugin.finish() for plugin in plugins}
    for analysis in ANALYSES:
        checkpoint()
        analysis(result)
    release_freed_memory()  # what the phases freed goes back to the system, not just the heap
    return result


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


def analyse_file(path: PathLike | Sequence[PathLike], config: FlowConfig | None = None,
                 progress: ProgressFn | None = None, cancel: CancelFn | None = None
                 ) -> FlowResult:
    """Read and analyse a capture file, or several (or a folder of them) as one capture merged
    by time (see :func:`engine.extract_flows_from_file`)."""
    with cancel_scope(cancel, f"Loading {request_name(path)} was cancelled."):
        return _analyse_file(path, config, progress, cancel)


def _analyse_file(path: PathLike | Sequence[PathLike], config: FlowConfig | None,
                  progress: ProgressFn | None, cancel: CancelFn | None) -> FlowResult:
    config = config or FlowConfig()
    reader = open_captures(path, config)
    plugins = [make() for make in LINK_PLUGINS]
    try:
        packets, side = _decode_all(reader.chunks(progress, cancel), reader.interfaces, plugins,
                                    reader.input.total_bytes)
    except BaseException:
        reader.input.discard()
        raise
    reader.input.close()
    source = reader.input.source()
    span = reader.unlisted_span or (None, None)
    files = reader.files
    capture = CaptureInfo(path=files[0] if len(files) == 1 else None, files=files,
                          format=reader.format_name,
                          packets=len(packets) + reader.unlisted_empty,
                          interfaces=reader.interfaces, first_ns=span[0], last_ns=span[1],
                          warnings=reader.warnings, file_bytes=reader.input.total_bytes,
                          unlisted_empty=reader.unlisted_empty)
    try:
        return _finish(packets, side, capture, source, config, plugins)
    except BaseException:
        source.close()
        raise


def analyse_packets(packets: Iterable[object], config: FlowConfig | None = None,
                    cancel: CancelFn | None = None) -> FlowResult:
    """Analyse packets given in memory (see :func:`engine.extract_flows`)."""
    with cancel_scope(cancel, "Analysing the packets was cancelled."):
        return _analyse_packets(packets, config)


def _analyse_packets(packets: Iterable[object], config: FlowConfig | None) -> FlowResult:
    config = config or FlowConfig()
    chunker = MemoryChunker(packets, config.chunk_bytes)
    plugins = [make() for make in LINK_PLUGINS]
    table, side = _decode_all(chunker.chunks(), chunker.interfaces, plugins)
    capture = CaptureInfo(path=None, format="memory", packets=len(table),
                          interfaces=chunker.interfaces, first_ns=None, last_ns=None,
                          warnings=chunker.warnings, file_bytes=len(chunker.arena))
    return _finish(table, side, capture, MemorySource(chunker.arena), config, plugins)


__all__ = ["FlowError", "analyse_file", "analyse_packets"]
