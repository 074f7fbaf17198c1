"""Flowscope's engine: captures in, Wireshark-exact conversations out. Never imports Qt.

The public API mirrors the seed (``stackforge_core::flow``)::

    from engine import extract_flows_from_file
    with extract_flows_from_file("capture.pcapng") as result:
        for conv in result:              # sorted by start time
            print(conv.protocol, conv.a, conv.b, conv.packets)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from . import (
    blas_threads,  # noqa: F401  (before numpy is imported: see there)
    plugins,  # noqa: F401  (registers analyses and link-layer plug-ins)
)
from .capture import CancelFn, ProgressFn
from .capture.in_memory import RawPacket
from .config import WIRESHARK, FlowConfig
from .errors import (
    ConversationNotFound,
    ExportError,
    FlowError,
    InvalidCaptureError,
    LoadCancelled,
    PacketError,
    TruncatedCaptureError,
    UnsupportedFormatError,
)
from .load import SnapshotFn
from .packets import Kind, PacketTable, Reason
from .pipeline import analyse_file, analyse_packets
from .result import CaptureInfo, FlowResult, Unassigned
from .table import Conversation, ConversationTable

__all__ = [
    "WIRESHARK",
    "CaptureInfo",
    "Conversation",
    "ConversationNotFound",
    "ConversationTable",
    "ExportError",
    "FlowConfig",
    "FlowError",
    "FlowResult",
    "InvalidCaptureError",
    "Kind",
    "LoadCancelled",
    "PacketError",
    "PacketTable",
    "RawPacket",
    "Reason",
    "TruncatedCaptureError",
    "Unassigned",
    "UnsupportedFormatError",
    "extract_flows",
    "extract_flows_from_file",
    "extract_flows_from_files",
    "extract_flows_streaming",
    "extract_flows_with_config",
    "extract_zwave_flows",
]


def extract_zwave_flows(packets: Any, config: FlowConfig | None = None) -> Any:
    """Z-Wave conversations of packets or of a finished result (see
    :func:`engine.zwave.api.extract_zwave_flows`; loaded on first use)."""
    from .zwave.api import extract_zwave_flows as extract

    return extract(packets, config)


def extract_flows(packets: Iterable[object], config: FlowConfig | None = None) -> FlowResult:
    """Conversations of packets in memory: scapy packets (with ``.time``), :class:`RawPacket`
    objects, or ``(bytes, timestamp, linktype)`` tuples (an int timestamp is nanoseconds, a
    float or Decimal is seconds)."""
    return analyse_packets(packets, config)


def extract_flows_with_config(packets: Iterable[object], config: FlowConfig) -> FlowResult:
    """The seed's name for :func:`extract_flows` with an explicit configuration."""
    return analyse_packets(packets, config)


def extract_flows_streaming(packets: Iterable[object], config: FlowConfig | None = None,
                            cancel: CancelFn | None = None) -> FlowResult:
    """Like :func:`extract_flows` for an iterator of any length: packets are consumed one chunk
    at a time, never all held as Python objects."""
    return analyse_packets(packets, config, cancel)


def extract_flows_from_file(path: str | Path, config: FlowConfig | None = None,
                            progress: ProgressFn | None = None,
                            cancel: CancelFn | None = None,
                            on_snapshot: SnapshotFn | None = None) -> FlowResult:
    """Conversations of a pcap/pcapng file (gzip allowed; a folder stands for the captures in
    it). ``progress(done, total, packets)`` is called as the file is read; ``cancel()``
    returning True stops with :class:`LoadCancelled`; ``on_snapshot(partial)`` receives the
    conversations found so far about twice a second."""
    return analyse_file(path, config, progress, cancel, on_snapshot)


def extract_flows_from_files(paths: Sequence[str | Path], config: FlowConfig | None = None,
                             progress: ProgressFn | None = None,
                             cancel: CancelFn | None = None,
                             on_snapshot: SnapshotFn | None = None) -> FlowResult:
    """Conversations of several capture files (or folders of them) read as one capture, merged
    by time as ``mergecap`` merges them: a ring buffer's files, or captures of several
    interfaces. ``result.capture.files`` lists the files, ``result.packet_files()`` says which
    file each packet came from; a file that cannot be read is left out with a warning."""
    return analyse_file(list(paths), config, progress, cancel, on_snapshot)
