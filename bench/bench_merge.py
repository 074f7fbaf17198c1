"""Several files read as one capture: a ring buffer and two overlapping files vs the one file.

    flock /tmp/flowscope-bench.lock .venv/bin/python bench/bench_merge.py [--packets 1000000]

Splits a synthetic capture into a ring buffer (``--ring`` consecutive files) and into two files
that take the packets in turns (the worst case for a merge: every packet changes file), then
times ``flowscope-cli conversations`` on the single file, on the ring buffer and on the two
files, and what a Wireshark user has to do instead — ``mergecap`` the files, then ``tshark -z
conv,tcp -z conv,udp`` on the result. Checks that all three Flowscope runs list the same
conversations.
"""

from __future__ import annotations

import argparse
import json
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Run, flowscope_cli, measure, need, synthetic_capture


def split_capture(path: Path, folder: Path, how: str, parts: int) -> list[Path]:
    """``ring``: consecutive slices; ``turns``: packet k to file k % parts (made once)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = [folder / f"{how}_{k:03d}.pcap" for k in range(parts)]
    if all(n.exists() for n in names):
        return names
    data = path.read_bytes()
    little = struct.unpack("<I", data[:4])[0] in (0xA1B2C3D4, 0xA1B23C4D)
    caplen = struct.Struct(("<" if little else ">") + "I")
    starts = []
    pos = 24
    while pos + 16 <= len(data):
        starts.append(pos)
        pos += 16 + caplen.unpack_from(data, pos + 8)[0]
    starts.append(pos)
    n = len(starts) - 1
    outs = [open(name, "wb") for name in names]  # noqa: SIM115 (closed below)
    try:
        for out in outs:
            out.write(data[:24])
        for k in range(n):
            target = k * parts // n if how == "ring" else k % parts
            outs[target].write(data[starts[k] : starts[k + 1]])
    finally:
        for out in outs:
            out.close()
    return names


def conversations(cli: str, files: list[Path]) -> list[dict]:
    out = subprocess.run([cli, "conversations", *map(str, files), "--format", "json",
                          "--udp-timeout", "none"], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)["conversations"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--flows", type=int, default=10_000)
    ap.add_argument("--ring", type=int, default=10, help="files in the ring buffer")
    ap.add_argument("--capture", type=Path, help="use this capture instead of generating one")
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "flowscope-bench")
    ap.add_argument("--repeat", type=int, default=3, help="runs per command (best is reported)")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.capture or synthetic_capture(args.dir, args.packets, args.flows)[0]
    packets = args.packets
    ring = split_capture(path, args.dir / f"{path.stem}-ring{args.ring}", "ring", args.ring)
    turns = split_capture(path, args.dir / f"{path.stem}-turns2", "turns", 2)
    cli, tshark, mergecap = flowscope_cli(), need("tshark"), need("mergecap")
    flowscope = [cli, "conversations", "--format", "json", "--udp-timeout", "none"]
    runs = {
        "flowscope, the one file": [*flowscope, str(path)],
        f"flowscope, ring buffer of {args.ring}": [*flowscope, *map(str, ring)],
        "flowscope, 2 files in turns": [*flowscope, *map(str, turns)],
    }
    results = {name: min((measure(cmd) for _ in range(args.repeat)), key=lambda r: r.seconds)
               for name, cmd in runs.items()}
    merged = args.dir / "mergecap-out.pcap"
    for name, files in (("ring", ring), ("turns", turns)):
        best = None
        for _ in range(args.repeat):
            merge = measure([mergecap, "-F", "pcap", "-w", str(merged), *map(str, files)])
            count = measure([tshark, "-r", str(merged), "-n", "-q", "-z", "conv,tcp", "-z",
                             "conv,udp"])
            total = merge.seconds + count.seconds
            if best is None or total < best[0]:
                best = (total, max(merge.peak_rss_mb, count.peak_rss_mb), merge.seconds)
        assert best is not None
        results[f"mergecap + tshark, {name}"] = Run(best[0], best[1], 0)
        print(f"(mergecap alone, {name}: {best[2]:.2f} s)", file=sys.stderr)
    merged.unlink(missing_ok=True)

    size_mb = path.stat().st_size / 1e6
    print(f"\n{path.name}: {packets:,} packets, {size_mb:.0f} MB; ring buffer of {args.ring} "
          "files, and 2 files taking the packets in turns")
    print(f"{'run':34} {'wall s':>8} {'packets/s':>12} {'peak RSS MB':>12}")
    for name, r in results.items():
        print(f"{name:34} {r.seconds:8.2f} {packets / r.seconds:12,.0f} {r.peak_rss_mb:12.0f}")
    one = results["flowscope, the one file"].seconds
    for name in runs:
        if name != "flowscope, the one file":
            print(f"{name}: {results[name].seconds / one:.2f}x the one file's time")
    ring_fs = results[f"flowscope, ring buffer of {args.ring}"].seconds
    turns_fs = results["flowscope, 2 files in turns"].seconds
    print(f"mergecap + tshark take {results['mergecap + tshark, ring'].seconds / ring_fs:.1f}x "
          f"Flowscope's time on the ring buffer, "
          f"{results['mergecap + tshark, turns'].seconds / turns_fs:.1f}x on the 2 files")

    reference = conversations(cli, [path])
    for name, files in (("ring", ring), ("turns", turns)):
        if conversations(cli, files) != reference:
            print(f"MISMATCH: the {name} set lists other conversations than the one file",
                  file=sys.stderr)
            return 1
    print("conversations: the ring buffer and the 2 files list exactly the one file's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
