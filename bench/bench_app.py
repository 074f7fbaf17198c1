"""The application layer's cost at load: the same load with and without it, same process.

    python bench/bench_app.py [--packets 1000000] [--flows 10000] [--copies 60]
                              [--dir /tmp/flowscope-bench] [--repeat 3]

Two captures: the 1M-packet synthetic bench capture (../shared/tools/gen_capture.py) and a
real TLS/QUIC/DNS-heavy one, made by replaying the Ethernet captures of ../shared/captures-app
(browsing sessions, QUIC, DNS) ``--copies`` times, each copy with its own addresses (the second
byte of every IPv4/IPv6 address changed) and later timestamps, so every copy's conversations
are new ones. Each load runs ``analyse_file`` with every registered analysis, then again
without the application analysis; the best of ``--repeat`` runs of each is reported with the
ratio. Target (issue 11): at most 1.2×.
"""

from __future__ import annotations

import argparse
import gc
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, synthetic_capture

sys.path.insert(0, str(ROOT))
from engine import WIRESHARK, hooks
from engine.app import add_app_columns
from engine.pipeline import analyse_file

REAL = ROOT.parent / "shared" / "captures-app"
#: Ethernet captures heavy in TLS, QUIC and DNS
MIX = ["ndpi-443-firefox.pcap", "ndpi-android.pcap", "ndpi-chrome.pcap", "ndpi-conncheck.pcap",
       "ndpi-dns_ambiguous_names.pcap", "ndpi-quic-29.pcap",
       "ndpi-quic_frags_ch_in_multiple_packets.pcapng", "ndpi-quic_t51.pcap",
       "ndpi-quic_q46.pcap", "ndpi-wechat.pcap", "ndpi-anyconnect-vpn.pcap",
       "ndpi-tls_ech.pcapng", "ndpi-dns-tunnel-iodine.pcap", "ndpi-tls-rdn-extract.pcap"]


def _records(path: Path) -> list[tuple[int, bytes]]:
    """(timestamp ns, frame) of every Ethernet packet of a capture (read with the engine)."""
    with analyse_file(path, WIRESHARK) as result:
        p = result.packets
        return [(int(p.ts_ns[k]), result.packet_bytes(k)) for k in range(len(p))
                if int(p.linktype[k]) == 1]


def _renumber(frame: bytes, copy: int) -> bytes:
    """The frame with the second byte of both IP addresses changed (Ethernet, IPv4/IPv6)."""
    b = bytearray(frame)
    kind = struct.unpack_from(">H", b, 12)[0] if len(b) >= 14 else 0
    if kind == 0x0800 and len(b) >= 34:
        b[27] ^= copy & 0xFF
        b[31] ^= copy & 0xFF
    elif kind == 0x86DD and len(b) >= 54:
        b[25] ^= copy & 0xFF
        b[41] ^= copy & 0xFF
    return bytes(b)


def real_mix(directory: Path, copies: int) -> Path:
    path = directory / f"real-mix-{copies}.pcap"
    if path.exists():
        return path
    base = [(name, _records(REAL / name)) for name in MIX if (REAL / name).exists()]
    frames = []
    offset = 0
    for copy in range(1, copies + 1):
        for _, records in base:
            if not records:
                continue
            start = records[0][0]
            span = records[-1][0] - start
            for ts, frame in records:
                frames.append((offset + ts - start, _renumber(frame, copy)))
            offset += span + 1_000_000_000
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, 1))  # ns pcap
        for ts, frame in frames:
            out.write(struct.pack("<IIII", ts // 1_000_000_000 + 1_600_000_000,
                                  ts % 1_000_000_000, len(frame), len(frame)))
            out.write(frame)
    print(f"made {path}: {len(frames):,} packets, {path.stat().st_size / 1e6:.0f} MB",
          file=sys.stderr)
    return path


def load(path: Path, with_app: bool) -> tuple[float, int]:
    saved = list(hooks.ANALYSES)
    if not with_app:
        hooks.ANALYSES[:] = [a for a in saved if a is not add_app_columns]
    try:
        gc.collect()
        t = time.perf_counter()
        with analyse_file(path, WIRESHARK) as result:
            seconds = time.perf_counter() - t
            found = int((result.conversations.extra.get("service", [""]) != "").sum()) \
                if with_app else 0
    finally:
        hooks.ANALYSES[:] = saved
    return seconds, found


def bench(name: str, path: Path, repeat: int) -> float:
    times: dict[bool, list[float]] = {False: [], True: []}
    found = 0
    for _ in range(repeat):
        for with_app in (False, True):
            seconds, n = load(path, with_app)
            times[with_app].append(seconds)
            found = max(found, n)
    without, with_ = min(times[False]), min(times[True])
    print(f"{name}: load {without:.3f} s without the application layer, {with_:.3f} s with it "
          f"(+{with_ - without:.3f} s): ratio {with_ / without:.2f} (target <= 1.2); "
          f"{found:,} conversations with a service")
    return with_ / without


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--flows", type=int, default=10_000)
    ap.add_argument("--copies", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "flowscope-bench")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    synthetic, _ = synthetic_capture(args.dir, args.packets, args.flows)
    bench(f"{synthetic.name} (synthetic)", synthetic, args.repeat)
    if REAL.exists():
        mix = real_mix(args.dir, args.copies)
        bench(f"{mix.name} (real TLS/QUIC/DNS captures replayed)", mix, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
