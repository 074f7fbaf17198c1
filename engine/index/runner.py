"""An index run: find the captures, decide which need work, run the tasks, summarise.

Planning reads only ``stat`` and Parquet footers. The tasks then run one way or another — in
this process, on a local process pool (``workers``) or on a Dask distributed scheduler
(``dask``) — always through :func:`engine.index.task.index_capture`, one task per capture.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..capture.files import looks_like_capture
from ..config import FlowConfig
from .dataset import (
    locked,
    open_dataset_folder,
    parquet_name,
    read_footer,
    sweep_temporary,
)
from .fingerprint import stat_capture
from .schema import FORMAT_VERSION, index_columns, schema_hash
from .task import IndexOutcome, IndexTask, index_capture

#: the FlowConfig fields an index records (and re-indexes for when they change)
OPTION_FIELDS = ("udp_timeout", "icmp_timeout", "tcp_timeout")


def index_options(config: FlowConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in OPTION_FIELDS}


@dataclass
class IndexPlan:
    """What a run will do: tasks to run, captures already up to date, inputs that failed."""

    dataset: Path
    tasks: list[IndexTask] = field(default_factory=list)
    done: list[IndexOutcome] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.tasks) + len(self.done)


def find_captures(inputs: Iterable[str | Path], skip: Path | None = None
                  ) -> tuple[list[str], list[IndexOutcome]]:
    """Files named, plus capture files found under folders named (recursively, hidden entries
    and ``skip`` left out); inputs that do not exist come back as failed outcomes."""
    found: list[str] = []
    missing: list[IndexOutcome] = []
    skip_dir = skip.absolute() if skip else None
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                                 and Path(root, d).absolute() != skip_dir)
                for name in sorted(files):
                    candidate = Path(root, name)
                    if not name.startswith(".") and looks_like_capture(candidate):
                        found.append(str(candidate.absolute()))
        elif path.exists():
            found.append(str(path.absolute()))
        else:
            missing.append(IndexOutcome(str(path.absolute()), "failed",
                                        error=f"{path}: no such file or folder."))
    unique = list(dict.fromkeys(found))
    return unique, missing


def plan(inputs: Iterable[str | Path], dataset: str | Path,
         config: FlowConfig | None = None) -> IndexPlan:
    """Decide what to index (see :mod:`engine.index.fingerprint` for the rules)."""
    folder = Path(dataset)
    options = index_options(config or FlowConfig())
    current = schema_hash(index_columns())
    captures, missing = find_captures(inputs, skip=folder)
    result = IndexPlan(folder, done=missing)
    for capture in captures:
        try:
            fp = stat_capture(capture)
        except OSError as exc:
            result.done.append(IndexOutcome(capture, "failed",
                                            error=f"Cannot read {capture}: {exc.strerror}."))
            continue
        output = folder / parquet_name(fp.path)
        old = read_footer(output) if output.exists() else None
        if old is not None and not _same_build(old, fp.path, options, current):
            old = None  # built by another version, with other options, or not ours: redo
        if old is not None and (old["capture"]["size"], old["capture"]["mtime_ns"]) == (
                fp.size, fp.mtime_ns):
            result.done.append(IndexOutcome(capture, "unchanged",
                                            conversations=old["summary"]["conversations"],
                                            packets=old["summary"]["packets"], size=fp.size))
            continue
        result.tasks.append(IndexTask(capture, str(output), options, old))
    return result


def _same_build(footer: dict[str, Any], path: str, options: dict[str, Any],
                schema: str) -> bool:
    """Whether an index file was built for ``path`` the way this run would build it."""
    try:
        return (footer["format_version"] == FORMAT_VERSION and footer["schema"] == schema
                and footer["options"] == options and footer["capture"]["path"] == path
                and isinstance(footer["capture"]["size"], int)
                and isinstance(footer["capture"]["mtime_ns"], int)
                and isinstance(footer["capture"]["sha256"], str)
                and isinstance(footer["summary"]["conversations"], int)
                and isinstance(footer["summary"]["packets"], int))
    except (KeyError, TypeError):
        return False


#: runs tasks and yields their outcomes as they finish
Executor = Callable[[Sequence[IndexTask]], Iterator[IndexOutcome]]


def in_process(tasks: Sequence[IndexTask]) -> Iterator[IndexOutcome]:
    for task in tasks:
        yield index_capture(task)


def process_pool(workers: int) -> Executor:
    """A local pool of ``workers`` processes (spawned: the parent's threads are not copied)."""
    def run(tasks: Sequence[IndexTask]) -> Iterator[IndexOutcome]:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = {pool.submit(index_capture, task): task for task in tasks}
            try:
                for future in as_completed(futures):
                    try:
                        yield future.result()
                    except BrokenProcessPool:
                        yield _lost(futures[future], "its worker process died")
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    return run


def dask_cluster(address: Any) -> Executor:
    """One Dask task per capture on the scheduler at ``address`` (or a ``Client``)."""
    def run(tasks: Sequence[IndexTask]) -> Iterator[IndexOutcome]:
        from . import require

        distributed: Any = require("distributed")
        own = not isinstance(address, distributed.Client)
        try:
            client = distributed.Client(address, set_as_default=False) if own else address
        except OSError as exc:
            from . import DatasetError

            raise DatasetError(f"Cannot reach the Dask scheduler at {address}: {exc}") from None
        try:
            run_id = uuid.uuid4().hex[:12]
            futures = client.map(index_capture, list(tasks), pure=False,
                                 key=[f"flowscope-index-{run_id}-{k}" for k in range(len(tasks))])
            by_key = {f.key: t for f, t in zip(futures, tasks, strict=True)}
            try:
                for future in distributed.as_completed(futures, loop=client.loop):
                    try:
                        yield future.result()
                    except Exception as exc:  # a worker died, the task was lost, …
                        yield _lost(by_key[future.key], f"{type(exc).__name__}: {exc}")
            finally:
                client.cancel(futures)
        finally:
            if own:
                client.close()
    return run


def _lost(task: IndexTask, why: str) -> IndexOutcome:
    return IndexOutcome(task.capture, "failed",
                        error=" ".join(f"{task.capture}: not indexed, {why}".split()))


def run(index_plan: IndexPlan, executor: Executor = in_process,
        on_outcome: Callable[[IndexOutcome], None] | None = None) -> list[IndexOutcome]:
    """Execute a plan under the dataset's lock; outcomes of skipped and failed inputs first."""
    folder = open_dataset_folder(index_plan.dataset)
    outcomes = list(index_plan.done)
    for outcome in outcomes:
        if on_outcome:
            on_outcome(outcome)
    with locked(folder):
        sweep_temporary(folder)
        for outcome in executor(index_plan.tasks):
            outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
    return outcomes


def build_index(inputs: Iterable[str | Path], dataset: str | Path,
                config: FlowConfig | None = None, workers: int = 1, dask: Any = None,
                on_outcome: Callable[[IndexOutcome], None] | None = None
                ) -> list[IndexOutcome]:
    """Index captures into ``dataset``: the API behind ``flowscope-cli index``."""
    from . import require

    require("pyarrow")
    return run(plan(inputs, dataset, config), executor_for(workers, dask), on_outcome)


def executor_for(workers: int = 1, dask: Any = None) -> Executor:
    """Dask when given a scheduler address (or Client), a process pool for several workers,
    else this process."""
    if dask is not None:
        return dask_cluster(dask)
    return process_pool(workers) if workers > 1 else in_process


__all__ = ["IndexOutcome", "IndexPlan", "build_index", "find_captures", "plan", "run"]
