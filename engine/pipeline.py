"""The analysis pipeline: record chunks → decoded packet columns → conversations.

Every entry point (file, in-memory list, stream) feeds the same chunk loop (:class:`engine.load.
Load`), so they give the same answer for the same packets. Each runs inside a cancel scope
(:mod:`engine.cancel`): every phase polls the caller's cancel callback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .cancel import cancel_scope, checkpoint
from .capture import CancelFn, CaptureReader, ProgressFn, open_captures
from .capture.files import PathLike, request_name
from .capture.in_memory import MemoryChunker
from .capture.source import MemorySource
from .config import FlowConfig
from .errors import FlowError
from .hooks import LINK_PLUGINS
from .load import Load, SnapshotFn
from .parallel import DecodePool, feed_chunks, wait_closed
from .result import CaptureInfo, FlowResult


def analyse_file(path: PathLike | Sequence[PathLike], config: FlowConfig | None = None,
                 progress: ProgressFn | None = None, cancel: CancelFn | None = None,
                 on_snapshot: SnapshotFn | None = None) -> FlowResult:
    """Read and analyse a capture file, or several (or a folder of them) as one capture merged
    by time (see :func:`engine.extract_flows_from_file`); ``on_snapshot`` receives the
    conversations found so far about twice a second."""
    with cancel_scope(cancel, f"Loading {request_name(path)} was cancelled."):
        return _analyse_file(path, config, progress, cancel, on_snapshot)


def _analyse_file(path: PathLike | Sequence[PathLike], config: FlowConfig | None,
                  progress: ProgressFn | None, cancel: CancelFn | None,
                  on_snapshot: SnapshotFn | None) -> FlowResult:
    config = config or FlowConfig()
    reader = open_captures(path, config)
    plugins = [make() for make in LINK_PLUGINS]
    load = Load(config, reader.interfaces, plugins, reader.input.total_bytes, on_snapshot)
    pool = None
    try:
        pool = _pool(config, reader)
        if pool is not None:
            reader.allocate = pool.allocate
            reader.reusable = pool.owns
        feed_chunks(load, reader.chunks(progress, cancel), pool)
    except BaseException:
        if pool is not None:
            pool.close()
        reader.unmap()
        reader.input.discard()
        load.discard()
        raise
    if pool is not None:
        pool.close(wait=False)  # (its end overlaps the analyses)
    reader.unmap()
    reader.input.close()
    source = reader.input.source()
    files = reader.files
    capture = CaptureInfo(path=files[0] if len(files) == 1 else None, files=files,
                          format=reader.format_name,
                          packets=load.index + reader.unlisted_empty,
                          interfaces=reader.interfaces, first_ns=None, last_ns=None,
                          warnings=reader.warnings, file_bytes=reader.input.total_bytes,
                          unlisted_empty=reader.unlisted_empty)
    if reader.unlisted_span is not None:
        load.saw_times(*reader.unlisted_span)
    try:
        return load.finish(capture, source)
    except BaseException:
        source.close()
        load.discard()
        if pool is not None:
            wait_closed()  # (nothing of a failed load outlives the call)
        raise


def _pool(config: FlowConfig, reader: CaptureReader) -> DecodePool | None:
    """A decoding process for captures of a few chunks or more (one chunk gains nothing). A
    plain file is mapped first, so the process decodes windows of the map in place."""
    from .parallel.pool import can_fork, worker_count

    size = reader.input.total_bytes
    if worker_count(config.workers) < 1 or size < 3 * config.chunk_bytes or not can_fork():
        return None
    return DecodePool(config.chunk_bytes, reader.map_file())


def analyse_packets(packets: Iterable[object], config: FlowConfig | None = None,
                    cancel: CancelFn | None = None) -> FlowResult:
    """Analyse packets given in memory (see :func:`engine.extract_flows`)."""
    with cancel_scope(cancel, "Analysing the packets was cancelled."):
        return _analyse_packets(packets, config)


def _analyse_packets(packets: Iterable[object], config: FlowConfig | None) -> FlowResult:
    config = config or FlowConfig()
    chunker = MemoryChunker(packets, config.chunk_bytes)
    plugins = [make() for make in LINK_PLUGINS]
    load = Load(config, chunker.interfaces, plugins)
    try:
        for chunk in chunker.chunks():
            load.decode(chunk)
            checkpoint()
        capture = CaptureInfo(path=None, format="memory", packets=load.index,
                              interfaces=chunker.interfaces, first_ns=None, last_ns=None,
                              warnings=chunker.warnings, file_bytes=len(chunker.arena))
        return load.finish(capture, MemorySource(chunker.arena))
    except BaseException:
        load.discard()
        raise


__all__ = ["FlowError", "analyse_file", "analyse_packets"]
