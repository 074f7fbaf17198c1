"""Reading capture files into packet-record chunks (format chosen by magic bytes, not names)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..config import FlowConfig
from ..errors import FlowError, InvalidCaptureError, TruncatedCaptureError
from .chunk import RecordChunk
from .files import PathLike, capture_files
from .input import CaptureInput
from .merged import MergedReader
from .pcap import PcapReader, is_pcap
from .pcapng import PcapngReader, is_pcapng
from .reader import CancelFn, ChunkedReader, Interface, ProgressFn
from .reading import CaptureReader
from .source import ByteSource, FileSource, MemorySource

__all__ = [
    "ByteSource",
    "CancelFn",
    "CaptureReader",
    "ChunkedReader",
    "FileSource",
    "Interface",
    "MemorySource",
    "ProgressFn",
    "RecordChunk",
    "open_capture",
    "open_captures",
]


def open_capture(path: str | Path, config: FlowConfig) -> ChunkedReader:
    """A reader for ``path``: pcap or pcapng, plain or gzip-compressed.

    Raises a :class:`FlowError` with a sentence for the user when the file cannot be read.
    """
    path = Path(path)
    try:
        capture_input = CaptureInput(path, config.spill_dir, config.spill_free_margin)
    except IsADirectoryError:
        raise InvalidCaptureError(f"{path} is a folder, not a capture file.") from None
    except FileNotFoundError:
        raise InvalidCaptureError(f"{path} does not exist.") from None
    except PermissionError:
        raise InvalidCaptureError(f"{path} cannot be opened: permission denied.") from None
    except OSError as exc:
        raise InvalidCaptureError(f"{path} cannot be opened: {exc.strerror or exc}.") from None
    try:
        head = capture_input.peek(4)
        if capture_input.problem:
            raise InvalidCaptureError(
                f"{path.name}: {capture_input.problem}, so nothing could be read.")
        if len(head) < 4:
            raise TruncatedCaptureError(
                f"{path.name} is too short to be a capture file ({len(head)} bytes).")
        reader_class: type[ChunkedReader]
        if is_pcapng(head):
            reader_class = PcapngReader
        elif is_pcap(head):
            reader_class = PcapReader
        else:
            raise InvalidCaptureError(
                f"{path.name} is not a pcap or pcapng capture (it starts with bytes "
                f"{head.hex(' ')}), so Flowscope cannot read it.")
        try:
            reader = reader_class(capture_input, path, config.chunk_bytes, config.max_packet_bytes)
        except TruncatedCaptureError:
            if capture_input.problem:  # the gzip damage is the reason, not the short header it left
                raise InvalidCaptureError(
                    f"{path.name}: {capture_input.problem}, so nothing could be read.") from None
            raise
        if capture_input.compressed:
            reader.format_name += ".gz"
        return reader
    except FlowError:
        capture_input.discard()
        raise
    except OSError as exc:
        capture_input.discard()
        raise InvalidCaptureError(f"{path.name} cannot be read: {exc.strerror or exc}.") from None


def open_captures(inputs: PathLike | Sequence[PathLike], config: FlowConfig) -> CaptureReader:
    """A reader for one capture file, or for several read as one capture merged by time (a list
    of files, a folder of them, or both): see :mod:`engine.capture.merged`."""
    files, warnings = capture_files(inputs)
    if len(files) == 1:
        reader = open_capture(files[0], config)
        reader.warnings[:0] = warnings
        return reader
    return MergedReader(files, config, open_capture, warnings)
