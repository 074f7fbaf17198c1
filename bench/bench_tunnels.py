"""Conversations of a capture whose every frame is in a VXLAN tunnel: Flowscope vs tshark.

    python bench/bench_tunnels.py [--packets 1000000] [--flows 10000] [--dir /tmp/fsbench]

Wraps each Ethernet frame of the synthetic capture (../shared/tools/gen_capture.py) in
Ethernet/IPv4/UDP/VXLAN between 64 VTEP pairs (the source port a hash of the inner frame's
flow, as VTEPs choose it), so every frame is two packets: the outer UDP datagram and the one
inside. Times ``tshark -q -z conv,tcp -z conv,udp`` and ``flowscope-cli conversations --format
json`` one after the other (run under ``flock /tmp/flowscope-bench.lock``), and checks that both
list the same number of TCP and UDP conversations (both levels).
"""

from __future__ import annotations

import argparse
import json
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import flowscope_cli, measure, need, synthetic_capture

from engine.capture import writer


def vxlan_capture(source: Path, out: Path) -> None:
    """Every frame of ``source`` (an Ethernet pcap) inside VXLAN, streamed to ``out``."""
    data = memoryview(source.read_bytes())
    nano = struct.unpack_from("<I", data)[0] == writer.PCAP_MAGIC_NS
    outer_eth = bytes.fromhex("020000000002" "020000000001" "0800")
    with out.open("wb") as f:
        f.write(writer.pcap_header(1, nano=nano))
        pos, parts = 24, []
        while pos + 16 <= len(data):
            sec, frac, cap, orig = struct.unpack_from("<IIII", data, pos)
            frame = bytes(data[pos + 16 : pos + 16 + cap])
            pos += 16 + cap
            flow = zlib.crc32(frame[26:38]) if len(frame) >= 38 else 0
            pair = flow & 63
            udp_len = 8 + 8 + len(frame)
            ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0, 64, 17, 0,
                             bytes((172, 16, 0, 1 + pair)), bytes((172, 16, 1, 1 + pair)))
            udp = struct.pack(">HHHH", 49152 + (flow >> 8) % 16384, 4789, udp_len, 0)
            head = outer_eth + ip + udp + struct.pack(">BBHI", 8, 0, 0, 42 << 8)
            ts = sec * 10**9 + (frac if nano else frac * 1000)
            parts.append(writer.pcap_record(ts, head + frame, orig + len(head), nano=nano))
            if len(parts) >= 4096:
                f.write(b"".join(parts))
                parts = []
        f.write(b"".join(parts))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--flows", type=int, default=10_000)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "flowscope-bench")
    ap.add_argument("--repeat", type=int, default=3, help="runs per tool (best is reported)")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    source, _ = synthetic_capture(args.dir, args.packets, args.flows)
    path = source.with_name(source.stem + "-vxlan.pcap")
    if not path.exists():
        vxlan_capture(source, path)
    tshark, cli = need("tshark"), flowscope_cli()
    runs = {
        "tshark": [tshark, "-r", str(path), "-n", "-q", "-z", "conv,tcp", "-z", "conv,udp"],
        "flowscope": [cli, "conversations", str(path), "--format", "json", "--udp-timeout",
                      "none"],
    }
    results = {name: min((measure(cmd) for _ in range(args.repeat)), key=lambda r: r.seconds)
               for name, cmd in runs.items()}
    print(f"\n{path.name}: {args.packets:,} frames, {path.stat().st_size / 1e6:.0f} MB")
    print(f"{'tool':12} {'wall s':>8} {'frames/s':>12} {'peak RSS MB':>12}")
    for name, r in results.items():
        print(f"{name:12} {r.seconds:8.2f} {args.packets / r.seconds:12,.0f} "
              f"{r.peak_rss_mb:12.0f}")
    ts, fs = results["tshark"], results["flowscope"]
    print(f"\nspeed: flowscope is {ts.seconds / fs.seconds:.1f}x tshark; peak RSS "
          f"{fs.peak_rss_mb / ts.peak_rss_mb:.2f} of tshark's")
    doc = json.loads(subprocess.run(runs["flowscope"], capture_output=True, text=True,
                                    check=True).stdout)
    ours = {p: sum(1 for c in doc["conversations"] if c["protocol"] == p) for p in ("tcp", "udp")}
    table = subprocess.run(runs["tshark"], capture_output=True, text=True, check=True).stdout
    theirs = {"tcp": 0, "udp": 0}
    section = None
    for line in table.splitlines():
        if line.startswith(("TCP Conversations", "UDP Conversations")):
            section = line.split()[0].lower()
        elif section and "<->" in line:
            theirs[section] += 1
    print(f"conversations (both levels): flowscope {ours}, tshark {theirs}")
    return 0 if ours == theirs else 1


if __name__ == "__main__":
    sys.exit(main())
