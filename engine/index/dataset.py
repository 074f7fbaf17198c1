"""A dataset folder: one Parquet file per capture, written atomically, described by its footer.

Each file's name comes from its capture's absolute path (a readable stem and a hash), so
re-indexing a capture replaces its file. The Parquet footer's key-value metadata (key
``flowscope``) records what was indexed — the capture's fingerprint, the engine options, the
schema hash, the capture summary — so deciding whether a capture is up to date reads footers
only. Files are written to a hidden temporary name in the folder and renamed when complete (a
reader, or a run that was killed, never leaves a half-written ``.parquet``); hidden names are
skipped by DuckDB's ``*.parquet`` glob, pyarrow and Spark alike. Temporary files that a killed
run left behind are swept at the start of the next run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import DatasetError

#: the footer key holding what the file describes
FOOTER_KEY = b"flowscope"
#: a run holds this lock file (in the dataset folder) while it writes
LOCK_NAME = ".flowscope-index.lock"


def parquet_name(capture: str) -> str:
    """``<stem>-<16 hex digits of the path's hash>.parquet`` for an absolute capture path."""
    digest = hashlib.sha256(capture.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(capture).name)[:80].lstrip(".") or "capture"
    return f"{stem}-{digest}.parquet"


def index_files(dataset: str | Path) -> list[Path]:
    """The complete index files of a dataset (hidden temporary files are not among them)."""
    folder = Path(dataset)
    return sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("."))


def is_temporary(name: str) -> bool:
    """A file :func:`write_table` was writing (``.<name>.parquet.<random>.part``)."""
    return name.startswith(".") and name.endswith(".part") and ".parquet." in name


def sweep_temporary(dataset: str | Path) -> list[Path]:
    """Remove temporary files a killed run left; returns what was removed."""
    removed = []
    for path in Path(dataset).iterdir():
        if is_temporary(path.name):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def write_table(table: Any, path: Path, footer: dict[str, Any]) -> None:
    """Write ``table`` with ``footer`` in its metadata, atomically (see module docstring)."""
    import pyarrow.parquet as pq

    from ..atomic import atomic_write

    metadata = dict(table.schema.metadata or {})
    metadata[FOOTER_KEY] = json.dumps(footer, separators=(",", ":")).encode()
    table = table.replace_schema_metadata(metadata)
    with atomic_write(path) as out:
        pq.write_table(table, out, compression="zstd")


def read_footer(path: str | Path) -> dict[str, Any] | None:
    """What an index file describes, or None when it is not a readable index file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_metadata(path).metadata or {}
        return json.loads(metadata[FOOTER_KEY])
    except (OSError, KeyError, ValueError, pa.ArrowException):
        return None


@contextlib.contextmanager
def locked(dataset: Path) -> Iterator[None]:
    """Hold the dataset's lock for a run: two runs writing one folder would sweep each
    other's temporary files and race on the same names."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; one run at a time is the user's care
        yield
        return
    try:
        fd = os.open(dataset / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise DatasetError(f"Cannot write to {dataset}: {exc.strerror or exc}.") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatasetError(f"Another index run is writing {dataset}; wait for it to "
                               "finish.") from None
        yield
    finally:
        os.close(fd)


def open_dataset_folder(dataset: str | Path) -> Path:
    """The dataset folder, created if needed."""
    folder = Path(dataset)
    if folder.exists() and not folder.is_dir():
        raise DatasetError(f"{folder} is not a folder.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"Cannot create the dataset folder {folder}: "
                           f"{exc.strerror or exc}.") from None
    return folder
