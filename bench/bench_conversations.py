"""Whole-file conversation list: Flowscope vs tshark on the same synthetic capture.

    python bench/bench_conversations.py [--packets 1000000] [--flows 10000] [--dir /tmp/fsbench]

Runs ``tshark -q -z conv,tcp -z conv,udp`` and ``flowscope-cli conversations --format json`` one
after the other (never at the same time), prints wall time, packets/s and peak RSS of both and the
ratios, and checks that Flowscope found the conversations the generator made.
Targets (issue 2): ≥ 10× tshark's speed, ≥ 1 M packets/s end to end, peak RSS ≤ 1/3 of tshark's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import flowscope_cli, measure, need, synthetic_capture


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--flows", type=int, default=10_000)
    ap.add_argument("--capture", type=Path, help="use this capture instead of generating one")
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "flowscope-bench")
    ap.add_argument("--repeat", type=int, default=3, help="runs per tool (best is reported)")
    ap.add_argument("--pure-python", action="store_true",
                    help="also time Flowscope with its pure-Python record walker")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    manifest: dict = {}
    if args.capture:
        path = args.capture
        beside = path.with_name(path.name + ".json")  # gen_capture.py's manifest, if there
        if beside.exists():
            manifest = json.loads(beside.read_text())
    else:
        path, manifest = synthetic_capture(args.dir, args.packets, args.flows)
    packets = manifest.get("packets") or args.packets
    tshark = need("tshark")
    cli = flowscope_cli()

    runs = {
        "tshark": [tshark, "-r", str(path), "-n", "-q", "-z", "conv,tcp", "-z", "conv,udp"],
        "flowscope": [cli, "conversations", str(path), "--format", "json", "--udp-timeout",
                      "none"],
    }
    results = {}
    for name, cmd in runs.items():
        best = min((measure(cmd) for _ in range(args.repeat)), key=lambda r: r.seconds)
        results[name] = best
    if args.pure_python:
        os.environ["FLOWSCOPE_PURE_PYTHON"] = "1"
        results["flowscope (pure Python walk)"] = min(
            (measure(runs["flowscope"]) for _ in range(args.repeat)), key=lambda r: r.seconds)
        del os.environ["FLOWSCOPE_PURE_PYTHON"]

    size_mb = path.stat().st_size / 1e6
    print(f"\n{path.name}: {packets:,} packets, {size_mb:.0f} MB")
    print(f"{'tool':32} {'wall s':>8} {'packets/s':>12} {'peak RSS MB':>12}")
    for name, r in results.items():
        print(f"{name:32} {r.seconds:8.2f} {packets / r.seconds:12,.0f} {r.peak_rss_mb:12.0f}")
    ts, fs = results["tshark"], results["flowscope"]
    print(f"\nspeed: flowscope is {ts.seconds / fs.seconds:.1f}x tshark "
          f"(target >= 10x; >= 1 M packets/s end to end: {packets / fs.seconds / 1e6:.2f} M/s)")
    print(f"memory: flowscope peak RSS is {fs.peak_rss_mb / ts.peak_rss_mb:.2f} of tshark's "
          "(target <= 0.33)")

    if manifest:
        out = subprocess.run(runs["flowscope"], capture_output=True, text=True, check=True).stdout
        doc = json.loads(out)
        counts = {p: sum(1 for c in doc["conversations"] if c["protocol"] == p)
                  for p in ("tcp", "udp")}
        expected = {"tcp": manifest["tcp_conversations"], "udp": manifest["udp_conversations"]}
        print(f"conversations: {counts} (generator made {expected})")
        if counts != expected:
            print("MISMATCH with the generator's manifest", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
