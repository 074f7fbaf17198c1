"""Small captures: start-up and all, side by side with tshark.

    flock /tmp/flowscope-bench.lock python bench/bench_small.py [--runs 7] [CAPTURE ...]

On a capture of a few hundred kB the work is small and start-up is most of the time: Python,
numpy and the engine's imports for Flowscope, dissector registration for tshark. Runs
``flowscope-cli conversations --format json --quiet`` and ``tshark -q -z conv,tcp -z conv,udp``
alternately on each capture (default: the five largest of ../shared/captures-app) and prints
the median and best wall times and their ratio. Commands are timed with Python's bytecode
cache, as a user runs them (see common.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, flowscope_cli, measure, need

APP_CAPTURES = ROOT.parent / "shared" / "captures-app"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("captures", nargs="*", type=Path)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    captures = args.captures or sorted(
        (p for p in APP_CAPTURES.glob("*.pcap*")), key=lambda p: p.stat().st_size)[-5:]
    tshark = need("tshark")
    measure([flowscope_cli(), "--help"])  # writes the bytecode cache once, untimed
    print(f"{'capture':34} {'kB':>5} {'flowscope s':>17} {'tshark s':>17} {'ratio':>6}")
    ratios = []
    for path in captures:
        times: dict[str, list[float]] = {"flowscope": [], "tshark": []}
        for _ in range(args.runs):
            times["flowscope"].append(measure(
                [flowscope_cli(), "conversations", str(path), "--format", "json",
                 "--quiet"]).seconds)
            times["tshark"].append(measure(
                [tshark, "-r", str(path), "-n", "-q", "-z", "conv,tcp", "-z",
                 "conv,udp"]).seconds)
        fs, ts = statistics.median(times["flowscope"]), statistics.median(times["tshark"])
        ratios.append(ts / fs)
        print(f"{path.name[:34]:34} {path.stat().st_size / 1000:5.0f} "
              f"{fs:7.3f} (best {min(times['flowscope']):5.3f}) "
              f"{ts:7.3f} (best {min(times['tshark']):5.3f}) {ts / fs:5.2f}x")
    print(f"median ratio: flowscope is {statistics.median(ratios):.2f}x tshark's speed "
          "(above 1: faster)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
