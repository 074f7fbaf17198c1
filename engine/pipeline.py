"""The analysis pipeline: record chunks → decoded packet columns → conversations.

Every entry point (file, in-memory list, stream) feeds the same chunk loop, so they give the same
answer for the same packets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from .capture import ByteSource, CancelFn, Interface, ProgressFn, RecordChunk, open_capture
from .capture.memory import MemoryChunker
from .capture.source import MemorySource
from .config import FlowConfig
from .conversations import build_conversations
from .decode.exact import Fragment, Quoted
from .decode.fast import decode_chunk
from .decode.fragments import resolve_fragments
from .errors import FlowError, LoadCancelled
from .packets import PacketTable
from .result import CaptureInfo, FlowResult

#: analyses run once the packet table exists: each may add columns or conversations
PacketStage = Callable[[PacketTable, FlowConfig], None]


def _decode_all(chunks: Iterator[RecordChunk], interfaces: list[Interface],
                cancel: CancelFn | None) -> tuple[PacketTable, list[tuple[int, Fragment]],
                                                  list[tuple[int, Quoted]]]:
    parts: list[PacketTable] = []
    fragments: list[tuple[int, Fragment]] = []
    quoted: list[tuple[int, Quoted]] = []
    index = 0
    for chunk in chunks:
        linktypes = np.array([i.linktype for i in interfaces], dtype=np.uint16)
        part, side = decode_chunk(chunk, linktypes, index)
        parts.append(part)
        fragments += side.fragments
        quoted += side.quoted
        index += len(chunk)
        if cancel is not None and cancel():
            raise LoadCancelled("Loading was cancelled.")
    return PacketTable.concat(parts), fragments, quoted


def _finish(packets: PacketTable, fragments: list[tuple[int, Fragment]],
            quoted: list[tuple[int, Quoted]], capture: CaptureInfo, source: ByteSource,
            config: FlowConfig) -> FlowResult:
    resolve_fragments(fragments, packets)
    table, links = build_conversations(packets, quoted, config)
    if len(packets):
        capture.first_ns = int(packets.ts_ns.min())
        capture.last_ns = int(packets.ts_ns.max())
    return FlowResult(capture, packets, table, links, source, config)


def analyse_file(path: str | Path, config: FlowConfig | None = None,
                 progress: ProgressFn | None = None, cancel: CancelFn | None = None
                 ) -> FlowResult:
    """Read and analyse a capture file (see :func:`engine.extract_flows_from_file`)."""
    config = config or FlowConfig()
    path = Path(path)
    reader = open_capture(path, config)
    try:
        packets, fragments, quoted = _decode_all(reader.chunks(progress, cancel),
                                                 reader.interfaces, cancel)
    except BaseException:
        reader.stream.discard()
        raise
    reader.stream.close()
    source = reader.stream.source()
    capture = CaptureInfo(path=path, format=reader.format_name, packets=len(packets),
                          interfaces=reader.interfaces, first_ns=None, last_ns=None,
                          warnings=reader.warnings, file_bytes=reader.stream.total_bytes)
    try:
        return _finish(packets, fragments, quoted, capture, source, config)
    except BaseException:
        source.close()
        raise


def analyse_packets(packets: Iterable[object], config: FlowConfig | None = None,
                    cancel: CancelFn | None = None) -> FlowResult:
    """Analyse packets given in memory (see :func:`engine.extract_flows`)."""
    config = config or FlowConfig()
    chunker = MemoryChunker(packets, config.chunk_bytes)
    table, fragments, quoted = _decode_all(chunker.chunks(), chunker.interfaces, cancel)
    capture = CaptureInfo(path=None, format="memory", packets=len(table),
                          interfaces=chunker.interfaces, first_ns=None, last_ns=None,
                          warnings=chunker.warnings, file_bytes=len(chunker.arena))
    return _finish(table, fragments, quoted, capture, MemorySource(chunker.arena), config)


__all__ = ["FlowError", "analyse_file", "analyse_packets"]
