"""Where the per-packet columns live: in memory up to a budget, then in memory-mapped files.

The packet list, Follow and the exports read per-packet columns long after a load; on a big
capture they would hold most of the process's memory. A :class:`PacketStore` keeps them in RAM
while they fit ``FlowConfig.packet_budget`` and otherwise appends each chunk to one file per
column in a temporary folder (in ``FlowConfig.spill_dir``), handed out at the end as
``np.memmap`` arrays — ndarrays to every consumer, with pages the kernel can drop. The folder is
removed by :meth:`close` (the result's close, or a failed or cancelled load).

:func:`release_pages` lets go of the mapped pages a pass has touched, so a pass over all packets
in batches keeps only a batch resident; :func:`take` gathers and lets go at once.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import shutil
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .errors import DiskSpaceError, FlowError
from .heap import release_mapped
from .packets import DTYPES, ROW_BYTES, PacketTable, PacketTableBuilder
from .spill_writer import SpillWriter


def release_pages(*arrays: Any) -> None:
    """Drop the resident pages of memory-mapped arrays (their data stays in the file and the
    page cache; the next access maps it back). Arrays in RAM are left alone. Accepts arrays and
    :class:`PacketTable` objects."""
    for item in arrays:
        if isinstance(item, PacketTable):
            release_pages(*(getattr(item, f.name) for f in fields(item)))
            continue
        mm = getattr(item, "_mmap", None)
        if isinstance(mm, mmap.mmap) and hasattr(mm, "madvise"):
            with contextlib.suppress(ValueError, OSError):  # closed, or not supported
                mm.madvise(mmap.MADV_DONTNEED)


#: reads through the capture's memory map between releases of its pages: each read maps the
#: 64 KiB or more around it (the kernel's fault-around), and reads scattered over a big capture
#: would otherwise keep most of the file resident (counted in the process's RSS)
RELEASE_EVERY = 512
#: reads per piece of a file-ordered gather through a big capture's map, whose pages are let go
#: after each piece: on a recent kernel a read maps the whole page-cache folio around it, and
#: after read-ahead on a cold cache folios reach megabytes (512 reads held ~560 MB at once)
MAPPED_PIECE = 64


def release_range(array: Any, start: int, stop: int) -> None:
    """Drop the resident pages of ``array[start:stop]`` (a memory-mapped byte array mapped
    from the file's start) and of the folios around them (:func:`engine.heap.release_mapped`);
    cheap when the stretch is short. Arrays in RAM are left alone."""
    mm = getattr(array, "_mmap", None)
    if isinstance(mm, mmap.mmap) and hasattr(mm, "madvise"):
        release_mapped(mm, start, stop)


def take(column: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``column[index]``, letting go of the pages a memory-mapped column had mapped for it: a
    gather scattered over a spilled column would otherwise leave most of it resident."""
    out = column[index]
    release_pages(column)
    return out


class PacketStore:
    """The packet columns of one load (see the module docstring)."""

    def __init__(self, budget: int | None, spill_dir: Path | None) -> None:
        self.budget = budget
        self.spill_dir = spill_dir
        self.size = 0
        self.directory: Path | None = None
        self._builder: PacketTableBuilder | None = PacketTableBuilder()
        self._pending: PacketTable | None = None
        self._scratch: PacketTable | None = None
        self._files: dict[str, BinaryIO] = {}
        self._writer: SpillWriter | None = None
        self._extra: dict[str, np.dtype] = {}
        self._ram_extra: dict[str, list[np.ndarray]] = {}
        self._maps: list[np.ndarray] = []
        if budget is not None and budget <= 0:
            self._spill()

    @property
    def spilled(self) -> bool:
        return self.directory is not None

    def reserve(self, rows: int) -> None:
        """Room for about ``rows`` packets (a hint from the file size): in memory when they fit
        the budget, else straight to the spill folder (filling memory first would cost a copy
        and, while the columns grow, up to twice the budget)."""
        if self._builder is None:
            return
        if self.budget is None or rows * ROW_BYTES <= self.budget:
            self._builder.reserve(rows)
        else:
            self._spill()

    # -- filling -------------------------------------------------------------------------------
    def rows(self, n: int) -> PacketTable:
        """``n`` cleared rows to decode the next chunk into (commit them with :meth:`commit`)."""
        if self._builder is not None:
            self._pending = self._builder.append(n)
            return self._pending
        if self._scratch is None or len(self._scratch) < n:
            self._scratch = PacketTable.empty(max(n, 1 << 16))
        part = self._scratch.rows(0, n)
        for f in fields(part):
            getattr(part, f.name).fill(0)
        part.conv.fill(-1)
        part.payload_off.fill(-1)
        return part

    def commit(self, part: PacketTable, **extra: np.ndarray) -> None:
        """The chunk's rows are final: keep them (``extra`` = further per-packet columns)."""
        n = len(part)
        if self._builder is not None:
            if part is not self._pending:
                dest = self._builder.append(n)
                for f in fields(part):
                    getattr(dest, f.name)[:] = getattr(part, f.name)
            for name, values in extra.items():
                self._ram_extra.setdefault(name, []).append(np.array(values))
            self._pending = None
            self.size += n
            if self.budget is not None and self.size * ROW_BYTES > self.budget:
                self._spill()
            return
        for f in fields(part):
            self._write(f.name, getattr(part, f.name))
        for name, values in extra.items():
            self._write(name, values)
        self.size += n

    def _write(self, name: str, values: np.ndarray, copy: bool = True) -> None:
        """Append to the column's file, on the writer thread (a copy unless ``copy`` is False:
        the caller's rows are reused for the next chunk)."""
        out = self._files.get(name)
        if out is None:
            assert self.directory is not None
            out = self._files[name] = open(self.directory / f"{name}.bin", "wb")  # noqa: SIM115
            self._extra.setdefault(name, values.dtype)
        if self._writer is None:
            self._writer = SpillWriter()
        try:
            self._writer.write(out, values, copy)
        except OSError as exc:
            raise self._failed(exc) from exc

    def _failed(self, exc: OSError) -> FlowError:
        """The sentence for a spill write that failed (on the writer thread)."""
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        cls = DiskSpaceError if full else FlowError
        return cls(f"Writing the packet columns to {self.directory} failed "
                   f"({exc.strerror or exc}), so the capture cannot be loaded. "
                   + ("Free some space there or choose another folder for temporary files."
                      if full else "Choose another folder for temporary files."))

    def _spill(self) -> None:
        """Move what is in memory to files and continue there."""
        self.directory = Path(tempfile.mkdtemp(prefix="flowscope-packets-", dir=self.spill_dir))
        builder, self._builder = self._builder, None
        if builder is not None and builder.size:
            done = builder.finish()
            for f in fields(done):
                self._write(f.name, getattr(done, f.name), copy=False)
        for name, parts in self._ram_extra.items():
            for values in parts:
                self._write(name, values, copy=False)
        self._ram_extra = {}

    # -- the result ------------------------------------------------------------------------------
    def finish(self) -> tuple[PacketTable, dict[str, np.ndarray]]:
        """The packet columns and the extra columns, for reading (and in-place updates)."""
        if self._builder is not None:
            extra = {name: np.concatenate(parts) for name, parts in self._ram_extra.items()}
            self._ram_extra = {}
            return self._builder.finish(), extra
        self._stop_writer(flush=True)
        for out in self._files.values():
            out.close()
        cols = {name: self._map(name, dtype) for name, dtype in DTYPES.items()}
        extra = {name: self._map(name, self._extra[name]) for name in self._files
                 if name not in DTYPES}
        self._files = {}
        return PacketTable(**cols), extra

    def column(self, name: str, dtype: Any, fill: Any = 0, size: int | None = None
               ) -> np.ndarray:
        """A new column of ``size`` values (default: one per packet), in memory or in the
        spill folder."""
        size = self.size if size is None else size
        if self.directory is None:
            return np.full(size, fill, dtype=dtype)
        path = self.directory / f"{name}.bin"
        if size == 0:
            return np.zeros(0, dtype=dtype)
        arr = np.memmap(path, dtype=dtype, mode="w+", shape=(size,))
        if fill:
            arr.fill(fill)
        self._maps.append(arr)
        return arr

    def _map(self, name: str, dtype: Any) -> np.ndarray:
        assert self.directory is not None
        if self.size == 0:
            return np.zeros(0, dtype=dtype)
        arr = np.memmap(self.directory / f"{name}.bin", dtype=dtype, mode="r+",
                        shape=(self.size,))
        self._maps.append(arr)
        return arr

    def bytes_on_disk(self) -> int:
        if self.directory is None or not self.directory.exists():
            return 0
        return sum(p.stat().st_size for p in self.directory.iterdir())

    def _stop_writer(self, flush: bool) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        try:
            if flush:
                writer.flush()
        except OSError as exc:
            raise self._failed(exc) from exc
        finally:
            writer.stop()

    def close(self) -> None:
        """Remove the spill folder (arrays still held elsewhere stay readable until dropped)."""
        self._stop_writer(flush=False)
        for out in self._files.values():
            with contextlib.suppress(OSError):
                out.close()
        self._files = {}
        self._maps = []
        self._builder = None
        self._scratch = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
