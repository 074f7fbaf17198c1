"""What Wireshark's TCP analysis and the health columns cost at load.

Loads the same capture with and without the analysis (engine.tcp.health: the per-packet
``tcp.analysis`` flags, bytes in flight, ACK RTTs and the health columns of every conversation),
alternating, and reports the best and median load time of each and their ratio (target: at most
1.3). Also the pieces of the analysis timed on their own (the rules, compiled where they are built,
the health columns) and the memory the stored analysis takes per packet.

Default capture: ../shared/tools/gen_capture.py --packets 1000000 --flows 2000 --seed 1, made
once in a temporary directory. Run it alone on the machine::

    flock /tmp/flowscope-bench.lock .venv/bin/python bench/bench_tcp_expert.py
    flock /tmp/flowscope-bench.lock .venv/bin/python bench/bench_tcp_expert.py --capture big.pcap
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
from common import synthetic_capture  # noqa: E402

import engine.plugins  # noqa: E402, F401  (registers the analyses)
from engine import WIRESHARK, hooks  # noqa: E402
from engine.pipeline import analyse_file  # noqa: E402
from engine.tcp import batches, health  # noqa: E402
from engine.tcp.expert import ExpertBuilder, tcp_batches  # noqa: E402
from engine.tcp.expert_store import KEY  # noqa: E402


def load(path: Path, with_analysis: bool, analyses: list, consumers: list) -> float:
    """Seconds to load ``path``, with or without the TCP analysis and health columns."""
    hooks.ANALYSES[:] = analyses if with_analysis else [
        a for a in analyses if a.__module__ != health.__name__]
    batches.CONSUMERS[:] = consumers if with_analysis else [
        c for c in consumers if c.__module__ != health.__name__]
    gc.collect()
    t = time.perf_counter()
    with analyse_file(path, WIRESHARK) as result:
        elapsed = time.perf_counter() - t
        if with_analysis:
            assert KEY in result.plugin_data
    return elapsed


def pieces(path: Path, runs: int) -> None:
    """The analysis alone, on a loaded result (its batches gathered again), and its memory."""
    with analyse_file(path, WIRESHARK) as result:
        n = len(result.packets)
        expert = result.plugin_data[KEY]
        parts = tcp_batches(result)
        times, cols = [], []
        for _ in range(runs):
            t = time.perf_counter()
            builder = ExpertBuilder(result)
            for part in parts:
                builder.add_batch(part)
            e = builder.finish()
            times.append(time.perf_counter() - t)
            t = time.perf_counter()
            health.health_columns(result, e)
            cols.append(time.perf_counter() - t)
        per_packet = (e.flags.nbytes + e.bytes_in_flight.nbytes + e.acked_back.nbytes) / n
        sparse = (e.dup_index.nbytes + e.dup_num.nbytes + e.dup_of.nbytes + e.irtt_ns.nbytes
                  + e.irtt_at.nbytes + e.base.nbytes + e.base_changes.nbytes)
        tcp = int(np.count_nonzero(result.packets.conv >= 0))
        print(f"analysis alone (gathered again)  {min(times) * 1000:8.1f} ms best, "
              f"{statistics.median(times) * 1000:8.1f} ms median")
        print(f"health columns                   {min(cols) * 1000:8.1f} ms best")
        print(f"stored: {per_packet:.1f} bytes per packet + {sparse / 1e6:.2f} MB sparse "
              f"(duplicate ACKs, per-conversation iRTT and bases); {n:,} packets, "
              f"{int(np.count_nonzero(expert.flags & 0x7FFF)):,} flagged, {tcp:,} in "
              "conversations")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--capture", type=Path, help="capture (default: generated)")
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--flows", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        path = args.capture
        if path is None:
            path, _ = synthetic_capture(workdir, args.packets, args.flows, seed=1)
        analyses, consumers = list(hooks.ANALYSES), list(batches.CONSUMERS)
        load(path, True, analyses, consumers)  # warm: page cache, imports
        runs: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.runs):
            for with_analysis in (False, True):
                runs[with_analysis].append(load(path, with_analysis, analyses, consumers))
        hooks.ANALYSES[:], batches.CONSUMERS[:] = analyses, consumers
        print(f"{path.name}: load without the TCP analysis (today's load) and with it, "
              f"{args.runs} alternating runs")
        for with_analysis in (False, True):
            t = runs[with_analysis]
            print(f"  {'with   ' if with_analysis else 'without'}  best {min(t):6.3f} s   "
                  f"median {statistics.median(t):6.3f} s")
        best = min(runs[True]) / min(runs[False])
        median = statistics.median(runs[True]) / statistics.median(runs[False])
        print(f"  ratio    best {best:6.3f}     median {median:6.3f}   (target <= 1.3)")
        pieces(path, 3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
