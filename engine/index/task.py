"""Indexing one capture: the unit of work a process pool or a Dask worker runs.

:func:`index_capture` takes a small picklable :class:`IndexTask`, writes (or refreshes) the
capture's Parquet file itself and returns a small :class:`IndexOutcome`; it never raises for a
bad capture, so one broken file cannot stop a run. On a cluster the workers must see the
captures and the dataset folder at the same paths as the machine that plans the run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FlowError
from .fingerprint import Fingerprint, sha256_file, stat_capture


@dataclass(frozen=True)
class IndexTask:
    """Index ``capture`` into the Parquet file ``output``."""

    capture: str
    output: str
    #: the engine options the index is built with (FlowConfig fields)
    options: dict[str, Any] = field(default_factory=dict)
    #: the footer of the file indexed earlier when only the capture's stat changed: equal
    #: bytes (SHA-256) then refresh that file instead of analysing the capture again
    previous: dict[str, Any] | None = None


@dataclass(frozen=True)
class IndexOutcome:
    """What happened to one capture."""

    capture: str
    #: "indexed", "refreshed" (same bytes, new mtime), "unchanged" (skipped) or "failed"
    status: str
    conversations: int = 0
    packets: int = 0
    size: int = 0
    seconds: float = 0.0
    #: one line saying why, for "failed"
    error: str = ""
    #: what the engine warned about (a file cut short, a damaged record)
    warnings: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def index_capture(task: IndexTask) -> IndexOutcome:
    """Index one capture; failures come back as an outcome with a one-line error."""
    start = time.perf_counter()
    try:
        status, conversations, packets, size, warnings = _index(task)
    except FlowError as exc:
        return _failed(task, str(exc), start)
    except OSError as exc:
        return _failed(task, f"Cannot read {task.capture}: {exc.strerror or exc}.", start)
    except (MemoryError, RecursionError) as exc:
        return _failed(task, f"{task.capture}: ran out of {type(exc).__name__[:-5].lower()}.",
                       start)
    except Exception as exc:  # an engine bug must not stop the other captures either
        return _failed(task, f"{task.capture}: internal error, {type(exc).__name__}: {exc}",
                       start)
    return IndexOutcome(task.capture, status, conversations, packets, size,
                        time.perf_counter() - start, warnings=warnings)


def _failed(task: IndexTask, message: str, start: float) -> IndexOutcome:
    # the file indexed earlier describes bytes the capture no longer has
    Path(task.output).unlink(missing_ok=True)
    line = " ".join(message.split())
    return IndexOutcome(task.capture, "failed", seconds=time.perf_counter() - start,
                        error=line)


def _index(task: IndexTask) -> tuple[str, int, int, int, tuple[str, ...]]:
    from ..config import FlowConfig
    from ..export.conversations import capture_record, conversation_records
    from ..pipeline import analyse_file
    from .dataset import write_table
    from .schema import index_columns, to_arrow

    fingerprint = stat_capture(task.capture)
    previous = task.previous
    if previous is not None and previous["capture"]["size"] == fingerprint.size:
        digest = sha256_file(task.capture)
        if digest == previous["capture"]["sha256"]:
            return _refresh(task, Fingerprint(fingerprint.path, fingerprint.size,
                                              fingerprint.mtime_ns, digest))
    columns = index_columns()
    # packet numbers per conversation are not needed for the table: 12 bytes a packet saved
    config = FlowConfig(**task.options, store_packet_indices=False)
    with analyse_file(task.capture, config) as result:
        records = conversation_records(result)
        summary = capture_record(result)
        unassigned = result.unassigned.total
    # hashed after the analysis read the file: its bytes are in the page cache now
    fingerprint = Fingerprint(fingerprint.path, fingerprint.size, fingerprint.mtime_ns,
                              sha256_file(task.capture))
    capture_values = {"capture_path": fingerprint.path, "capture_size": fingerprint.size,
                      "capture_mtime": fingerprint.mtime_ns,
                      "capture_sha256": fingerprint.sha256,
                      "capture_first_ns": summary["first_ns"]}
    table = to_arrow(records, columns, capture_values)
    write_table(table, Path(task.output), footer(fingerprint, task.options, columns,
                                                 {**summary, "unassigned_packets": unassigned,
                                                  "conversations": len(records)}))
    return ("indexed", len(records), int(summary["packets"]), fingerprint.size,
            tuple(summary["warnings"]))


def footer(fingerprint: Fingerprint, options: dict[str, Any], columns: Any,
           summary: dict[str, Any]) -> dict[str, Any]:
    """What an index file records about itself (see :mod:`.dataset`)."""
    from .schema import FORMAT_VERSION, schema_hash

    return {"format_version": FORMAT_VERSION, "schema": schema_hash(columns),
            "options": options,
            "capture": {"path": fingerprint.path, "size": fingerprint.size,
                        "mtime_ns": fingerprint.mtime_ns, "sha256": fingerprint.sha256},
            "summary": summary}


def _refresh(task: IndexTask, fingerprint: Fingerprint
             ) -> tuple[str, int, int, int, tuple[str, ...]]:
    """The capture's bytes are those indexed: rewrite its file with the new mtime only."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .dataset import write_table

    assert task.previous is not None
    table = pq.read_table(task.output)
    at = table.schema.get_field_index("capture_mtime")
    mtimes = pa.array([fingerprint.mtime_ns // 1000] * len(table), table.schema.field(at).type)
    table = table.set_column(at, table.schema.field(at), mtimes)
    new_footer = {**task.previous, "capture": {**task.previous["capture"],
                                               "mtime_ns": fingerprint.mtime_ns}}
    write_table(table, Path(task.output), new_footer)
    summary = task.previous.get("summary", {})
    return ("refreshed", len(table), int(summary.get("packets", 0)), fingerprint.size,
            tuple(summary.get("warnings", ())))
