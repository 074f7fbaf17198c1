"""How fast Cancel acts in every phase of a load (the promise is: within 0.5 s).

    python bench/bench_cancel.py [--packets 1000000] [--trials 12]

Builds captures that stress one phase each (a million shuffled segments of one TCP stream, a
SYN flood on one 4-tuple, IP fragments, tunnelled packets for the exact decoder, ICMP errors
quoting TCP headers, Z-Wave frames, the synthetic mix of ../shared/tools/gen_capture.py, and that
mix gzip-compressed), then

- loads each once, recording every poll of the cancel callback: the longest time between two
  polls (and where they came from) bounds how long Cancel can take anywhere in the load;
- cancels each at random polls and measures the time from the callback saying "stop" to
  ``LoadCancelled`` reaching the caller.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import synthetic_capture  # noqa: E402
from engine import WIRESHARK, LoadCancelled, extract_flows_from_file  # noqa: E402
from tests.engine.tcpgen import ACK, SYN, A, B, shuffled_stream, tcp_frame  # noqa: E402

_ETH = bytes.fromhex("020000000002" "020000000001" "0800")


def _pcap(frames: list[bytes]) -> bytes:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)]
    for n, data in enumerate(frames):
        out.append(struct.pack("<IIII", 1_600_000_000 + n // 1_000_000, n % 1_000_000,
                               len(data), len(data)))
        out.append(data)
    return b"".join(out)


def syn_flood(n: int) -> bytes:
    """SYNs of one 4-tuple, each with a new ISN: every one starts a new tcp.stream."""
    return _pcap([tcp_frame(A, B, 40000, 80, k * 7919, 0, SYN, b"") for k in range(n)])


def fragments(n: int) -> bytes:
    """First fragments of datagrams that never complete (distinct ids)."""
    frames = []
    for k in range(n):
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 48, k & 0xFFFF, 0x2000, 64, 17, 0,
                         bytes([10, 1, (k >> 16) & 0xFF, 1]), bytes([10, 2, 0, 2]))
        frames.append(_ETH + ip + b"\0" * 28)
    return _pcap(frames)


def tunnelled(n: int) -> bytes:
    """TCP inside GRE: every packet goes through the exact (per-packet) decoder."""
    frames = []
    for k in range(n):
        inner = tcp_frame(A, B, 40000 + k % 1000, 80, k, 0, ACK, b"x")[14:]
        gre = struct.pack("!HH", 0, 0x0800) + inner
        outer = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(gre), 0, 0, 64, 47, 0,
                            bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]))
        frames.append(_ETH + outer + gre)
    return _pcap(frames)


def icmp_errors(n: int) -> bytes:
    """ICMP port-unreachable errors, each quoting the header of a different TCP connection."""
    frames = []
    for k in range(n):
        quoted = tcp_frame(bytes([10, 3, (k >> 8) & 0xFF, k & 0xFF]), B, 1024 + k % 60000, 80,
                           k, 0, SYN, b"")[14:14 + 28]
        icmp = struct.pack("!BBHI", 3, 3, 0, 0) + quoted
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0, 64, 1, 0, B,
                         bytes([10, 3, (k >> 8) & 0xFF, k & 0xFF]))
        frames.append(_ETH + ip + icmp)
    return _pcap(frames)


def zwave(n: int, path: Path) -> None:
    subprocess.run([sys.executable, "-m", "engine.zwave.synth", "--linktype", "262",
                    "--frames", str(n), "--out", str(path)], check=True, cwd=ROOT)


class Polls:
    """A cancel callback that notes when and from where it is polled, and can say stop."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.stop_at = stop_at
        self.times: list[float] = []
        self.where: list[str] = []
        self.stopped_at = 0.0

    def __call__(self) -> bool:
        frame = sys._getframe(1)
        if frame.f_code.co_name == "checkpoint":
            frame = frame.f_back  # type: ignore[assignment]
        now = time.perf_counter()
        self.times.append(now)
        self.where.append(f"{frame.f_code.co_name} ({Path(frame.f_code.co_filename).name}:"
                          f"{frame.f_lineno})")
        if self.stop_at is not None and len(self.times) >= self.stop_at:
            if not self.stopped_at:
                self.stopped_at = now
            return True
        return False


def longest_gap(path: Path) -> tuple[float, float, int, str]:
    """(load seconds, longest gap between polls, polls, where that gap was)."""
    polls = Polls()
    start = time.perf_counter()
    with extract_flows_from_file(path, WIRESHARK, cancel=polls):
        pass
    end = time.perf_counter()
    times = [start, *polls.times, end]
    where = ["start", *polls.where, "end"]
    gap, k = max((b - a, i) for i, (a, b) in enumerate(itertools.pairwise(times)))
    return end - start, gap, len(polls.times), f"{where[k]} → {where[k + 1]}"


def cancel_latency(path: Path, polls: int, trials: int, rng: random.Random) -> list[float]:
    """Seconds from the callback's "stop" to LoadCancelled, at random polls."""
    out = []
    for _ in range(trials):
        cancel = Polls(stop_at=rng.randint(1, max(polls, 1)))
        try:
            with extract_flows_from_file(path, WIRESHARK, cancel=cancel):
                pass
        except LoadCancelled:
            out.append(time.perf_counter() - cancel.stopped_at)
        else:
            raise SystemExit(f"{path.name}: the load finished although cancel said stop")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--trials", type=int, default=12, help="random cancels per capture")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    n = args.packets
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="flowscope-bench-cancel-"))
    try:
        builders: dict[str, Callable[[Path], None]] = {
            "shuffled TCP stream": lambda p: p.write_bytes(shuffled_stream(n, seed=1)),
            "SYN flood, one 4-tuple": lambda p: p.write_bytes(syn_flood(n // 2)),
            "IP fragments": lambda p: p.write_bytes(fragments(n // 2)),
            "GRE-tunnelled TCP": lambda p: p.write_bytes(tunnelled(n // 2)),
            "ICMP errors quoting TCP": lambda p: p.write_bytes(icmp_errors(n // 2)),
            "Z-Wave R3 frames": lambda p: zwave(n, p),
        }
        paths = {}
        for name, build in builders.items():
            paths[name] = work / (name.replace(" ", "-").replace(",", "") + ".pcap")
            build(paths[name])
        mix, _ = synthetic_capture(work, n, max(n // 50, 1))
        paths["gen_capture mix"] = mix
        gz = work / "mix.pcap.gz"
        with open(mix, "rb") as src, gzip.open(gz, "wb", compresslevel=1) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        paths["gen_capture mix, gzip"] = gz
        print(f"cancel latency, {n:,} packets per capture; {args.trials} random cancels each")
        worst = 0.0
        for name, path in paths.items():
            seconds, gap, count, where = longest_gap(path)
            lat = cancel_latency(path, count, args.trials, rng)
            worst = max(worst, gap, max(lat))
            print(f"  {name:24} load {seconds:5.2f} s, {count:4} polls, longest gap "
                  f"{gap * 1000:4.0f} ms ({where}); cancel took max {max(lat) * 1000:4.0f} ms, "
                  f"mean {sum(lat) / len(lat) * 1000:4.0f} ms")
        print(f"  worst: {worst * 1000:.0f} ms")
        return 0 if worst < 0.5 else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
