"""Big captures: peak memory, packets/s and the spill per packet, side by side with tshark.

    flock /tmp/flowscope-bench.lock python bench/bench_big.py --capture BIG.pcap [--repeat 3]
        [--tshark] [--workers 0|1]

Runs ``flowscope-cli conversations --format json --quiet`` (and, with ``--tshark``,
``tshark -q -z conv,tcp -z conv,udp``) ``--repeat`` times each, in the same run, and prints the
best and the spread of the wall times, packets/s, the CPU time of the best run (all processes,
and of that the decoding worker's), the largest peak RSS of one process and of the process tree
(proportional set sizes summed, so pages the worker shares are counted once), and the ratios to
tshark (wall and CPU: on a machine others load, CPU time is the steadier figure). Then one
load in this process reports the per-packet bytes of the packet store (on disk when spilled) and
what stays resident. Other engineers load the machine: compare figures of one run only.
Make the 20M-packet capture with ../shared/tools/gen_capture.py into a temporary folder (check
``df`` first: about 11 GB) and delete it afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import flowscope_cli, measure, need


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--capture", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tshark", action="store_true", help="also time tshark (same run)")
    ap.add_argument("--workers", type=int, default=None, help="FLOWSCOPE_WORKERS for the CLI")
    ap.add_argument("--no-probe", action="store_true", help="skip the in-process probe")
    args = ap.parse_args()
    manifest = args.capture.with_name(args.capture.name + ".json")
    packets = json.loads(manifest.read_text())["packets"] if manifest.exists() else None
    if args.workers is not None:
        os.environ["FLOWSCOPE_WORKERS"] = str(args.workers)
    runs = {"flowscope": [flowscope_cli(), "conversations", str(args.capture), "--format",
                          "json", "--quiet", "--udp-timeout", "none"]}
    if args.tshark:
        runs["tshark"] = [need("tshark"), "-r", str(args.capture), "-n", "-q", "-z", "conv,tcp",
                          "-z", "conv,udp"]
    results = {name: [measure(cmd) for _ in range(args.repeat)] for name, cmd in runs.items()}
    size = args.capture.stat().st_size
    print(f"\n{args.capture.name}: {packets or '?'} packets, {size / 1e9:.2f} GB")
    print(f"{'tool':10} {'best s':>7} {'spread s':>13} {'packets/s':>11} {'CPU s':>6} "
          f"{'(helper)':>8} {'peak RSS MB':>12} {'peak PSS MB':>12}")
    for name, rs in results.items():
        secs = sorted(r.seconds for r in rs)
        best = min(rs, key=lambda r: r.seconds)
        rate = f"{packets / secs[0]:11,.0f}" if packets else f"{'?':>11}"
        print(f"{name:10} {secs[0]:7.2f} {secs[0]:6.2f}–{secs[-1]:<6.2f} {rate} "
              f"{best.cpu_seconds:6.2f} {best.helper_cpu_seconds:8.2f} "
              f"{max(r.peak_rss_mb for r in rs):12.0f} {max(r.peak_pss_mb for r in rs):12.0f}")
    if "tshark" in results:
        fs = min(r.seconds for r in results["flowscope"])
        ts = min(r.seconds for r in results["tshark"])
        fc = min(r.cpu_seconds for r in results["flowscope"])
        tc = min(r.cpu_seconds for r in results["tshark"])
        print(f"ratio: flowscope is {ts / fs:.1f}x tshark in wall time, {tc / fc:.1f}x in CPU "
              "time (best of each, same run)")
    if not args.no_probe:
        probe(args.capture)
    return 0


def probe(path: Path) -> None:
    """One load here: where the per-packet columns went, and what stays resident."""
    from engine import WIRESHARK, extract_flows_from_file

    t = time.perf_counter()
    with extract_flows_from_file(path, WIRESHARK) as result:
        seconds = time.perf_counter() - t
        n = result.capture.packets
        store = result.packet_store
        disk = store.bytes_on_disk() if store is not None else 0
        rss = _rss_now()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(f"in process: {seconds:.2f} s, {n / seconds:,.0f} packets/s; "
              f"{len(result)} conversations")
        print(f"packet columns on disk: {disk / max(n, 1):.1f} bytes a packet "
              f"({disk / 1e9:.2f} GB, spilled: {store.spilled if store else False})")
        print(f"resident after the load: {rss / 1e6:.0f} MB = {rss / max(n, 1):.1f} bytes a "
              f"packet; peak {peak / 1e6:.0f} MB = {peak / max(n, 1):.1f} bytes a packet")
        selection(result)


def selection(result: object) -> None:
    """What selecting a conversation costs its panes' data: its packet list, TCP timeline."""
    from engine.tcp import tcp_timeline

    table = result.conversations  # type: ignore[attr-defined]
    big = int(table.packets.argmax())
    t = time.perf_counter()
    packets = result.packets_of(big)  # type: ignore[attr-defined]
    _ = result.packets.ts_ns[packets], result.packets.seq[packets]  # type: ignore[attr-defined]
    tcp_timeline(result, big)
    print(f"selecting the largest conversation ({packets.size} packets): its packet columns and "
          f"TCP timeline in {time.perf_counter() - t:.3f} s")


def _rss_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


if __name__ == "__main__":
    sys.exit(main())
