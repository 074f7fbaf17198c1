"""What every capture reader offers the load loop, whether it reads one file or merges several.

The loop (``engine.pipeline`` and whatever drives it) only needs this: record chunks with their
interfaces, the warnings and counts after reading, and an input that can be closed, discarded,
or turned into the byte source that reads packets back by offset.
"""

from __future__ import annotations

import mmap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from .chunk import RecordChunk
from .reader import CancelFn, Interface, ProgressFn
from .source import ByteSource


class ReaderInput(Protocol):
    """The bytes behind a reader: their size for progress, and what is left after reading."""

    @property
    def total_bytes(self) -> int: ...

    def close(self) -> None: ...

    def discard(self) -> None: ...

    def source(self) -> ByteSource: ...


class CaptureReader(Protocol):
    """A reader of one capture file (:class:`~engine.capture.reader.ChunkedReader`) or of a
    set of files read as one (:class:`~engine.capture.merged.MergedReader`)."""

    format_name: str
    interfaces: list[Interface]
    packets: int
    unlisted_empty: int
    unlisted_span: tuple[int, int] | None
    #: makes chunk buffers (a load may hand out shared memory) ...
    allocate: Callable[[int], Any]
    #: ... and says which of those given back are worth keeping for later chunks
    reusable: Callable[[Any], bool]

    @property
    def input(self) -> ReaderInput: ...

    @property
    def warnings(self) -> list[str]: ...

    @property
    def files(self) -> list[Path]: ...

    def chunks(self, progress: ProgressFn | None = None, cancel: CancelFn | None = None,
               prefetch: bool = True) -> Iterator[RecordChunk]: ...

    def map_file(self) -> mmap.mmap | None:
        """Map a plain capture file so chunks are windows of it (None: chunks are read)."""
        ...

    def unmap(self) -> None: ...

    def close(self) -> None: ...
