"""Fuzzing at scale: ten thousand damaged captures, each a result or a FlowError — nothing else.

    python bench/bench_fuzz.py [--count 10000] [--seed 1] [--timeout 5] [--workers 2]
    python bench/bench_fuzz.py --seed 1 --case 4711     # replay one case with its traceback

Cases are the ones ``tests/engine/test_fuzz.py`` runs (tests/engine/mutate.py: every capture of
tests/data/captures, bit flips, truncation, length fields, header fields, options running past
their block's end, duplicated/swapped/shuffled records, pcapng conversions, runs of empty records,
gzip damaged at any byte, gzip bombs, and generated TCP connections whose segments arrive in a
hostile order …), by the thousand. Each case is read with the compiled record walker and with the
pure-Python one (``--one-walker`` skips the second), which must agree; a returned result must
satisfy the Σ invariant (tests/engine/fuzzing.py).
Cases run in worker processes, each case under a timer (``--timeout``); a worker that stops
answering (a hang in C) is killed and one that dies (a crash) is noted, and both are replaced.
Prints cases/s, results vs FlowErrors by class, the slowest case, the peak resident memory of a
worker, and every case where anything else happened; exits 1 if there was any.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing as mp
import os
import resource
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.engine.fuzzing import Outcome, run_case  # noqa: E402
from tests.engine.mutate import Case, mutated_case  # noqa: E402

CAPTURES = ROOT / "tests" / "data" / "captures"
#: a worker silent for this long beyond the per-case limit is stuck where no timer reaches
GRACE_S = 10.0


def load_sources() -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted(CAPTURES.iterdir())
            if p.suffix in (".pcap", ".pcapng")]


class CaseTimeout(Exception):
    """The per-case timer fired."""


def _alarm(signum: int, frame: object) -> None:
    raise CaseTimeout


def read_case(case: Case, path: Path, both_walkers: bool) -> str:
    """``result``, a FlowError class name, or a description of what went wrong."""
    outcomes: list[Outcome] = []
    for pure in (False, True) if both_walkers else (False,):
        if pure:
            os.environ["FLOWSCOPE_PURE_PYTHON"] = "1"
        else:
            os.environ.pop("FLOWSCOPE_PURE_PYTHON", None)
        outcomes.append(run_case(case.data, path))
    if len(outcomes) == 2 and outcomes[0] != outcomes[1]:
        return f"WALKERS DIFFER: compiled {outcomes[0]} / pure Python {outcomes[1]}"
    return outcomes[0].error or "result"


def worker(conn: Connection, seed: int, indices: list[int], timeout: float,
           both_walkers: bool) -> None:
    sources = load_sources()
    signal.signal(signal.SIGALRM, _alarm)
    with tempfile.TemporaryDirectory(prefix="flowscope-fuzz-") as tmp:
        path = Path(tmp) / "case.cap"
        for index in indices:
            conn.send(("start", index))
            try:
                case = mutated_case(sources, seed, index)
            except Exception as exc:  # a bug of the bench, not of the engine: say so
                conn.send(("done", index, f"MUTATION FAILED {type(exc).__name__}: {exc}", 0.0))
                continue
            start = time.perf_counter()
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                status = read_case(case, path, both_walkers)
            except CaseTimeout:
                status = f"TIMEOUT after {timeout} s"
            except Exception as exc:  # the bug this bench looks for
                status = f"ESCAPED {type(exc).__name__}: {exc}"
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            seconds = time.perf_counter() - start
            if seconds > timeout and not status.startswith("TIMEOUT"):  # the timer was eaten
                status = f"TIMEOUT ({seconds:.1f} s, then {status})"
            conn.send(("done", index, status, seconds))
    conn.send(("finished", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


@dataclass
class Worker:
    process: mp.Process
    conn: Connection
    todo: list[int]  # indices not yet reported done
    current: int | None = None
    since: float = 0.0


@dataclass
class Tally:
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    bad: list[tuple[int, str]] = field(default_factory=list)
    slowest: tuple[float, int] = (0.0, -1)
    done: int = 0
    peak_rss_kb: int = 0  # the largest worker's

    def add(self, index: int, status: str, seconds: float) -> None:
        self.done += 1
        if status == "result" or status.endswith("Error") or status == "LoadCancelled":
            self.statuses[status] += 1
        else:
            self.statuses["(bug)"] += 1
            self.bad.append((index, status))
        self.slowest = max(self.slowest, (seconds, index))


def _spawn(ctx: mp.context.BaseContext, seed: int, todo: list[int], timeout: float,
           both_walkers: bool) -> Worker:
    parent, child = ctx.Pipe()
    process = ctx.Process(target=worker, args=(child, seed, todo, timeout, both_walkers),
                          daemon=True)
    process.start()
    child.close()
    return Worker(process, parent, list(todo))


def run_all(count: int, seed: int, timeout: float, workers: int, both_walkers: bool,
            progress: bool) -> Tally:
    ctx = mp.get_context("fork" if hasattr(os, "fork") else "spawn")
    tally = Tally()
    pool = [_spawn(ctx, seed, list(range(k, count, workers)), timeout, both_walkers)
            for k in range(workers)]
    while pool:
        ready = wait([w.conn for w in pool], timeout=0.5)
        now = time.monotonic()
        for w in list(pool):
            if w.conn in ready:
                try:
                    msg = w.conn.recv()
                except EOFError:  # the process died: a crash inside the case it was running
                    w.process.join()
                    _replace(pool, w, f"CRASH (exit code {w.process.exitcode})", tally, ctx,
                             seed, timeout, both_walkers)
                    continue
                if msg[0] == "start":
                    w.current, w.since = msg[1], now
                elif msg[0] == "done":
                    tally.add(msg[1], msg[2], msg[3])
                    w.todo.remove(msg[1])
                    w.current = None
                    if progress and tally.done % 1000 == 0:
                        print(f"  … {tally.done}/{count}", file=sys.stderr, flush=True)
                else:
                    tally.peak_rss_kb = max(tally.peak_rss_kb, int(msg[1]))
                    w.process.join()
                    pool.remove(w)
            elif w.current is not None and now - w.since > timeout + GRACE_S:
                w.process.kill()
                w.process.join()
                _replace(pool, w, f"HANG (killed after {now - w.since:.0f} s)", tally, ctx,
                         seed, timeout, both_walkers)
    return tally


def _replace(pool: list[Worker], w: Worker, status: str, tally: Tally,
             ctx: mp.context.BaseContext, seed: int, timeout: float, both_walkers: bool) -> None:
    pool.remove(w)
    rest = list(w.todo)
    if w.current is not None:
        tally.add(w.current, status, time.monotonic() - w.since)
        rest.remove(w.current)
    if rest:
        pool.append(_spawn(ctx, seed, rest, timeout, both_walkers))


def _describe(sources: list[tuple[str, bytes]], seed: int, index: int) -> str:
    try:
        return mutated_case(sources, seed, index).describe()
    except Exception as exc:
        return f"case {index}: (cannot be rebuilt: {type(exc).__name__}: {exc})"


def replay(seed: int, index: int, both_walkers: bool) -> int:
    case = mutated_case(load_sources(), seed, index)
    print(case.describe())
    with tempfile.TemporaryDirectory(prefix="flowscope-fuzz-") as tmp:
        try:
            print(read_case(case, Path(tmp) / "case.cap", both_walkers))
        except Exception:
            traceback.print_exc()
            return 1
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=10_000, help="cases to run")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds allowed per case")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--one-walker", action="store_true",
                    help="read each case with the compiled walker only")
    ap.add_argument("--case", type=int, help="replay this one case in-process and stop")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    args = ap.parse_args()
    both = not args.one_walker
    if args.case is not None:
        return replay(args.seed, args.case, both)

    sources = load_sources()
    print(f"fuzz: {args.count} cases from {len(sources)} captures, seed {args.seed}, "
          f"{args.workers} workers, {args.timeout:g} s per case, "
          f"{'both record walkers' if both else 'compiled walker only'}")
    start = time.perf_counter()
    tally = run_all(args.count, args.seed, args.timeout, args.workers, both, not args.quiet)
    wall = time.perf_counter() - start

    errors = {k: v for k, v in tally.statuses.items() if k not in ("result", "(bug)")}
    print(f"  {tally.done / wall:,.0f} cases/s ({tally.done} cases in {wall:.1f} s)")
    print(f"  result returned: {tally.statuses['result']}")
    print(f"  FlowError:       {sum(errors.values())}  "
          + ", ".join(f"{k} {v}" for k, v in sorted(errors.items(), key=lambda kv: -kv[1])))
    seconds, index = tally.slowest
    if index >= 0:
        print(f"  slowest: {seconds:.3f} s, {_describe(sources, args.seed, index)}")
    peak = max(tally.peak_rss_kb, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(f"  peak RSS of a worker: {peak / 1024:.0f} MB")
    hangs = sum("HANG" in status or "TIMEOUT" in status for _, status in tally.bad)
    crashes = sum(status.startswith("CRASH") for _, status in tally.bad)
    print(f"  crashes: {crashes}, hangs or timeouts: {hangs}")
    print(f"  anything else:   {len(tally.bad)}")
    for index, status in sorted(tally.bad)[:50]:
        print(f"    {_describe(sources, args.seed, index)}\n      → {status}")
    if tally.bad:
        print(f"  replay one with: python bench/bench_fuzz.py --seed {args.seed} --case N")
    return 1 if tally.bad else 0


if __name__ == "__main__":
    sys.exit(main())
