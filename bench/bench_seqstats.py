"""Opening one TCP stream whose segments arrive in a hostile order (the hole-filling cost).

    python bench/bench_seqstats.py [--segments 20000 200000 1000000] [--walk 20000]

For each size, writes a capture of a handshake and N ten-byte segments in random order
(tests/engine/tcpgen.py) and times ``extract_flows_from_file`` on it, best of ``--repeat``.
``--walk N`` also times the segment-by-segment hole walk that O(n log n) pass replaced (the
reference in tests/engine/test_seqstats_holes.py) on N segments, for the before/after figure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import WIRESHARK, extract_flows_from_file  # noqa: E402
from engine.tcp import seqstats  # noqa: E402
from tests.engine.tcpgen import shuffled_stream  # noqa: E402
from tests.engine.test_seqstats_holes import _walk_holes  # noqa: E402


def time_open(path: Path, repeat: int) -> tuple[float, int]:
    best, ooo = float("inf"), -1
    for _ in range(repeat):
        start = time.perf_counter()
        with extract_flows_from_file(path, WIRESHARK) as result:
            ooo = int(result.conversations.extra["out_of_order"][0])
        best = min(best, time.perf_counter() - start)
    return best, ooo


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--segments", type=int, nargs="+", default=[20_000, 200_000, 1_000_000])
    ap.add_argument("--walk", type=int, default=0, metavar="N",
                    help="also time the old hole walk on N segments (20000 took ~30-47 s)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="flowscope-bench-seq-") as tmp:
        print("one TCP stream of N shuffled 10-byte segments: time to open (best of "
              f"{args.repeat})")
        for n in args.segments:
            path = Path(tmp) / f"shuffled-{n}.pcap"
            path.write_bytes(shuffled_stream(n, seed=1))
            seconds, ooo = time_open(path, args.repeat)
            print(f"  {n:>9,} segments: {seconds:6.2f} s  ({ooo:,} out of order)")
        if args.walk:
            path = Path(tmp) / f"shuffled-{args.walk}.pcap"
            path.write_bytes(shuffled_stream(args.walk, seed=1))
            setattr(seqstats, "_fill_holes", _walk_holes)  # noqa: B010 - the old algorithm
            seconds, ooo = time_open(path, 1)
            print(f"  {args.walk:>9,} segments with the old hole walk: {seconds:6.2f} s  "
                  f"({ooo:,} out of order)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
