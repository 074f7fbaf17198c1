"""TCP reassembly, stream export and spilling on a ~100 MB stream; TCP summary cost; and the
whole-file conversation list with TCP states against tshark.

    python bench/bench_reassembly.py [--stream-packets 250000] [--packets 1000000]
                                     [--flows 10000] [--dir /tmp/flowscope-bench]

Part 1 (in process, best of --repeat): one TCP conversation of about 120 MB (both directions)
made by ../shared/tools/gen_capture.py with out-of-order segments and retransmissions.
Reassembly (plan + read into memory), the same with a 16 MB memory budget (spilled to disk),
raw export of both directions to a file, and the check that every byte equals the generator's
payload rule. Targets (issue 3): ≥ 200 MB/s, spilling < 2× the time of not spilling.

Part 2 (in process): the cost of the TCP summary columns (states, conn_state, history,
retransmissions, out-of-order, missing bytes) for all conversations of a 1M-packet capture.

Part 3 (separate processes, one after the other): ``tshark -q -z conv,tcp -z conv,udp`` and
``flowscope-cli conversations --format json`` (TCP states included) on that capture: wall time,
packets/s, peak RSS and the ratios.

Run it alone: ``flock /tmp/flowscope-bench.lock python bench/bench_reassembly.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import GENERATOR, flowscope_cli, measure, need, synthetic_capture

from engine import WIRESHARK, extract_flows_from_file
from engine.export.follow import export_follow, write_follow
from engine.follow.tcp import reassemble
from engine.pipeline import ANALYSES
from engine.tcp.analysis import add_tcp_columns
from engine.tcp.timeline import tcp_timeline


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def stream_capture(directory: Path, packets: int) -> tuple[Path, dict]:
    """One TCP flow of ``packets`` packets (gen_capture.py with only TCP, one flow)."""
    path = directory / f"stream-{packets}.pcap"
    manifest = path.with_name(path.name + ".json")
    if not path.exists() or not manifest.exists():
        subprocess.run([sys.executable, str(GENERATOR), "--packets", str(packets), "--flows",
                        "1", "--seed", "3", "--tcp-frac", "1", "--udp-frac", "0", "--out",
                        str(path)], check=True, stdout=subprocess.DEVNULL)
    return path, json.loads(manifest.read_text())


def expected_bytes(manifest: dict, direction: int) -> bytes:
    """The generator's payload rule: PAT[(base + rel_seq) & 0xFFFF ...] for every byte."""
    import random

    rng = random.Random(manifest["seed"] ^ 0x5EED)
    pat = np.frombuffer(bytes(rng.getrandbits(8) for _ in range(65536)), np.uint8)
    flow = manifest["flow_list"][0]
    base = (flow["fid"] * 7919 + direction * 104729) & 0xFFFF
    size = flow["stream_bytes"][direction]
    return pat[(base + np.arange(size)) & 0xFFFF].tobytes()


def part_stream(args: argparse.Namespace) -> None:
    path, manifest = stream_capture(args.dir, args.stream_packets)
    result = extract_flows_from_file(path, WIRESHARK)
    conv = next(c.id for c in result if c.protocol == "tcp")
    size = sum(manifest["flow_list"][0]["stream_bytes"])
    mb = size / 1e6

    def run(budget: int | None) -> None:
        result.config = WIRESHARK.replace(memory_budget=budget, spill_dir=args.dir)
        reassemble(result, conv).close()

    plain = best(lambda: run(None), args.repeat)
    spill = best(lambda: run(16 << 20), args.repeat)
    result.config = WIRESHARK
    timeline = best(lambda: tcp_timeline(result, conv), args.repeat)
    with reassemble(result, conv) as stream:
        same = all(stream.data(d) == expected_bytes(manifest, d) for d in (0, 1))
        c = stream.counters
        out = args.dir / "stream.raw"
        export = best(lambda: export_follow(stream, out, "raw", "both"), args.repeat)
        out.unlink(missing_ok=True)

        def to_null() -> None:
            with open(os.devnull, "wb") as sink:
                write_follow(stream, sink, "raw", "both")

        formatting = best(to_null, args.repeat)
        print(f"stream: {manifest['packets']} packets, {mb:.1f} MB reassembled "
              f"({c[0].bytes} + {c[1].bytes} bytes), retransmitted bytes "
              f"{c[0].retransmitted + c[1].retransmitted}, held at most "
              f"{max(c[0].held_max, c[1].held_max)} segments; equals the generator's bytes: "
              f"{same}")
    print(f"  reassembly in memory        {plain:6.3f} s  {mb / plain:7.1f} MB/s")
    print(f"  reassembly, 16 MB budget    {spill:6.3f} s  {mb / spill:7.1f} MB/s  "
          f"(spilling costs {spill / plain:.2f}x)")
    print(f"  raw export to a file        {export:6.3f} s  {mb / export:7.1f} MB/s  "
          "(atomic: temp file, fsync, rename)")
    print(f"  raw export to /dev/null     {formatting:6.3f} s  {mb / formatting:7.1f} MB/s")
    print(f"  reassembly + export to file {plain + export:6.3f} s  "
          f"{mb / (plain + export):7.1f} MB/s")
    print(f"  state timeline of the stream {timeline * 1e3:5.1f} ms")
    result.close()


def part_summary(args: argparse.Namespace, path: Path, packets: int) -> None:
    if add_tcp_columns in ANALYSES:
        ANALYSES.remove(add_tcp_columns)
    try:
        result = extract_flows_from_file(path, WIRESHARK)
    finally:
        ANALYSES.append(add_tcp_columns)
    tcp = int((result.conversations.kind == 1).sum())
    cost = best(lambda: add_tcp_columns(result), args.repeat)
    print(f"TCP summary columns: {cost:.3f} s for {packets} packets ({tcp} TCP conversations)"
          f" = {cost / packets * 1e6:.3f} s per 1M packets")
    result.close()


def part_conversations(args: argparse.Namespace, path: Path, packets: int) -> None:
    runs = {
        "tshark": [need("tshark"), "-r", str(path), "-n", "-q", "-z", "conv,tcp", "-z",
                   "conv,udp"],
        "flowscope": [flowscope_cli(), "conversations", str(path), "--format", "json",
                      "--udp-timeout", "none"],
    }
    got = {}
    for name, cmd in runs.items():
        got[name] = min((measure(cmd) for _ in range(args.repeat)), key=lambda r: r.seconds)
    print(f"whole-file conversations, {packets} packets ({path.stat().st_size / 1e6:.0f} MB):")
    for name, r in got.items():
        print(f"  {name:10} {r.seconds:7.2f} s  {packets / r.seconds / 1e6:6.2f} M packets/s  "
              f"peak RSS {r.peak_rss_mb:7.1f} MB")
    t, f = got["tshark"], got["flowscope"]
    print(f"  flowscope is {t.seconds / f.seconds:.1f}x faster than tshark, peak RSS "
          f"{f.peak_rss_mb / t.peak_rss_mb:.2f}x tshark's")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stream-packets", type=int, default=250_000)
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--flows", type=int, default=10_000)
    ap.add_argument("--capture", type=Path, help="whole-file capture instead of generating one")
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "flowscope-bench")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-tshark", action="store_true", help="only parts 1 and 2")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    part_stream(args)
    if args.capture:
        path, packets = args.capture, None
    else:
        path, manifest = synthetic_capture(args.dir, args.packets, args.flows)
        packets = manifest["packets"]
    if packets is None:
        with extract_flows_from_file(path, WIRESHARK) as r:
            packets = r.capture.packets
    part_summary(args, path, packets)
    if not args.skip_tshark:
        part_conversations(args, path, packets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
