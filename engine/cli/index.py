"""``flowscope-cli index CAPTURE|FOLDER... -o DATASET``: the conversation index (Parquet)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from .options import add_config_options, config_from


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError("at least 1 worker")
    return number


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "index", help="index the conversations of many captures into a Parquet dataset",
        description="Write one Parquet file per capture into DATASET: its conversations with "
                    "every column of 'conversations --format json', plus the capture's path, "
                    "size, modification time and SHA-256. Folders are searched recursively "
                    "for pcap/pcapng files (recognised by their bytes). Captures indexed "
                    "before and unchanged are skipped. Exit status 1 when any capture failed.")
    p.add_argument("inputs", nargs="+", metavar="CAPTURE|FOLDER")
    p.add_argument("-o", "--output", required=True, metavar="DATASET",
                   help="the dataset folder (created if needed)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive, default=1, metavar="N",
                       help="index N captures at a time in worker processes (default: 1)")
    where.add_argument("--dask", metavar="ADDRESS",
                       help="run one task per capture on this Dask scheduler "
                            "(tcp://host:8786); workers must see the captures and DATASET "
                            "at the same paths")
    add_config_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..index import require
    from ..index.runner import executor_for, plan
    from ..index.runner import run as run_plan
    from . import warn
    from .progress import ProgressBar

    require("pyarrow")
    start = time.monotonic()
    index_plan = plan(args.inputs, args.output, config_from(args))
    bar = ProgressBar(index_plan.total)

    def report(outcome: Any) -> None:
        bar.advance(outcome.failed, outcome.packets if outcome.status == "indexed" else 0)

    try:
        outcomes = run_plan(index_plan, executor_for(args.workers, args.dask), report)
    finally:
        bar.close()
    for outcome in outcomes:
        if outcome.status == "indexed":
            warn(outcome.warnings)
        if outcome.failed:
            named = Path(outcome.capture).name in outcome.error
            print(f"failed: {'' if named else outcome.capture + ': '}{outcome.error}",
                  file=sys.stderr)
    print(summary(outcomes, time.monotonic() - start))
    return 1 if any(o.failed for o in outcomes) else 0


def summary(outcomes: list[Any], seconds: float) -> str:
    """``100 captures: 98 indexed, 2 failed; 81,000 conversations, … in 12.3 s (…)``"""
    counts = {s: sum(o.status == s for o in outcomes)
              for s in ("indexed", "refreshed", "unchanged", "failed")}
    worked = [o for o in outcomes if o.status == "indexed"]
    packets = sum(o.packets for o in worked)
    parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "nothing found"
    line = f"{len(outcomes)} capture{'s' if len(outcomes) != 1 else ''}: {parts}"
    if not worked:
        return f"{line} ({seconds:.1f} s)"
    return (f"{line}; {sum(o.conversations for o in worked):,} conversations from "
            f"{packets:,} packets in {seconds:.1f} s ({len(worked) / seconds:.1f} captures/s, "
            f"{packets / seconds:,.0f} packets/s)")
