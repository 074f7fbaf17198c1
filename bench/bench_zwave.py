"""Z-Wave frames per second: decoding and grouping a generated capture of ≥ 1 M frames.

    flock /tmp/flowscope-bench.lock python bench/bench_zwave.py [--frames 1000000]
        [--linktypes 261 262 297] [--dir /tmp/flowscope-bench] [--repeat 3]

For each link type, generates (once, cached in ``--dir``) a capture with
``python -m engine.zwave.synth`` (3 home networks, 8 nodes each, ACKs, routed frames, broadcasts,
multicasts, 0.1 % bad checksums and damaged frames), then reports:
- in process: ``extract_flows_from_file`` wall time (best of ``--repeat``) and frames/s;
- end to end: ``flowscope-cli conversations --format json`` in a fresh process, wall time,
  frames/s and peak RSS (interpreter start-up included).
tshark 4.0 has no Z-Wave dissector, so there is nothing to run side by side.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, flowscope_cli, measure


def capture(directory: Path, linktype: int, frames: int) -> Path:
    path = directory / f"zwave-{linktype}-{frames}.pcap"
    if not path.exists():
        t = time.perf_counter()
        marked = max(frames // 1000, 1)
        subprocess.run([sys.executable, "-m", "engine.zwave.synth", "--linktype", str(linktype),
                        "--frames", str(frames), "--homes", "3", "--nodes", "8",
                        "--bad-checksums", str(marked), "--damaged", str(marked),
                        "--out", str(path)], check=True, cwd=ROOT)
        print(f"generated {path} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return path


def in_process(path: Path, repeat: int) -> tuple[float, int, int]:
    """Best wall time of the analysis, Z-Wave conversations, keyed frames."""
    from engine import extract_flows_from_file

    best = float("inf")
    convs = keyed = 0
    for _ in range(repeat):
        t = time.perf_counter()
        with extract_flows_from_file(path) as result:
            best = min(best, time.perf_counter() - t)
            convs = sum(1 for c in result if c.protocol == "zwave")
            keyed = int((result.packets.conv >= 0).sum())
    return best, convs, keyed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--linktypes", type=int, nargs="+", default=[261, 262, 297])
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "flowscope-bench")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    cli = flowscope_cli()
    print(f"{'link type':>9} {'MB':>6} {'in-process s':>13} {'frames/s':>12} {'CLI s':>7} "
          f"{'frames/s':>12} {'peak RSS MB':>12} {'convs':>6} {'keyed':>9}")
    for linktype in args.linktypes:
        path = capture(args.dir, linktype, args.frames)
        seconds, convs, keyed = in_process(path, args.repeat)
        run = min((measure([cli, "conversations", str(path), "--format", "json"])
                   for _ in range(args.repeat)), key=lambda r: r.seconds)
        size = path.stat().st_size / 1e6
        print(f"{linktype:>9} {size:6.0f} {seconds:13.2f} {args.frames / seconds:12,.0f} "
              f"{run.seconds:7.2f} {args.frames / run.seconds:12,.0f} {run.peak_rss_mb:12.0f} "
              f"{convs:6} {keyed:9,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
