"""The application layer's cost at load: the same load with and without it, same process.

    python bench/bench_app.py [--packets 1000000] [--flows 10000] [--copies 60]
                              [--dir /tmp/flowscope-bench] [--repeat 10] [--only synthetic|real]

Two captures: the 1M-packet synthetic bench capture (../shared/tools/gen_capture.py) and a
real TLS/QUIC/DNS-heavy one, made by replaying the Ethernet captures of ../shared/captures-app
(browsing sessions, QUIC, DNS) ``--copies`` times, each copy with its own addresses (the second
byte of every IPv4/IPv6 address changed) and later timestamps, so every copy's conversations
are new ones. Each load runs ``analyse_file`` with every registered analysis, then again
without the application analysis; the best of ``--repeat`` runs of each is reported with the
ratio (wall clock, and CPU time of the process, which a busy machine disturbs less). Target
(issue 11): at most 1.2×. Ten runs each by default: on a shared 2-core machine a single load
moves by up to 1.5×, and the load with the application layer, which keeps both cores busy,
is the one a neighbour's work slows most. One untimed load of each kind comes first: the first
set of loads in a process came out 0.1–0.3× worse than the same set run second (the heap
growing to its working size, the forked copy's first imports), whichever set it was.

The replayed copies repeat every handshake 60 times, which flatters the application layer's
memos (JA3/JA4/JA3S by their inputs, certificate names by certificate, QUIC keys by connection
id). The real capture is therefore measured twice: as it is, and with every memo of engine.app
bypassed ("caches off": each connection's fingerprints, certificate and keys computed afresh,
as on a capture without repeats). The machine's load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import os
import struct
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

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


def _memos() -> list[tuple[object, str, functools._lru_cache_wrapper]]:
    """(module, name, memo) of every functools.lru_cache in engine.app."""
    return [(module, attr, value) for name, module in list(sys.modules.items())
            if name.startswith("engine.app.") and module is not None
            for attr, value in list(vars(module).items())
            if isinstance(value, functools._lru_cache_wrapper)]


@contextlib.contextmanager
def caches_off() -> Iterator[int]:
    """Every memo in engine.app replaced by the function it wraps while the block runs;
    yields how many there were."""
    patched = _memos()
    for module, attr, memo in patched:
        setattr(module, attr, memo.__wrapped__)
    try:
        yield len(patched)
    finally:
        for module, attr, memo in patched:
            setattr(module, attr, memo)


def load(path: Path, with_app: bool) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, conversations with a service) of one load."""
    saved = list(hooks.ANALYSES)
    if not with_app:
        hooks.ANALYSES[:] = [a for a in saved if a is not add_app_columns]
    try:
        for _, _, memo in _memos():  # each load starts with empty memos, as a fresh process
            memo.cache_clear()
        gc.collect()
        t, cpu = time.perf_counter(), time.process_time()
        with analyse_file(path, WIRESHARK) as result:
            seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
            service = result.conversations.extra.get("service")
            found = int(np.count_nonzero(service != "")) if with_app and service is not None \
                else 0
    finally:
        hooks.ANALYSES[:] = saved
    return seconds, cpu, found


def bench(name: str, path: Path, repeat: int, uncached: bool = False) -> float:
    times: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    found = 0
    for with_app in (False, True):  # untimed: first-load costs (see the module docstring)
        with caches_off() if uncached else contextlib.nullcontext(0):
            load(path, with_app)
    for _ in range(repeat):
        for with_app in (False, True):
            with caches_off() if uncached else contextlib.nullcontext(0) as bypassed:
                seconds, cpu, n = load(path, with_app)
            times[with_app].append((seconds, cpu))
            found = max(found, n)
    without, with_ = (min(t[0] for t in times[k]) for k in (False, True))
    cpu_without, cpu_with = (min(t[1] for t in times[k]) for k in (False, True))
    off = f", caches off ({bypassed} memos bypassed)" if uncached else ""
    print(f"{name}{off}: load {without:.3f} s without the "
          f"application layer, {with_:.3f} s with it (+{with_ - without:.3f} s): ratio "
          f"{with_ / without:.2f} (target <= 1.2); CPU {cpu_without:.3f} s vs "
          f"{cpu_with:.3f} s: ratio {cpu_with / cpu_without:.2f}; {found:,} conversations with "
          "a service")
    return with_ / without


def _load_average() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--flows", type=int, default=10_000)
    ap.add_argument("--copies", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--only", choices=("synthetic", "real"))
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "flowscope-bench")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    print(f"load average (1/5/15 min) {_load_average()} on {os.cpu_count()} cores")
    if args.only != "real":
        synthetic, _ = synthetic_capture(args.dir, args.packets, args.flows)
        bench(f"{synthetic.name} (synthetic)", synthetic, args.repeat)
    if args.only != "synthetic" and REAL.exists():
        mix = real_mix(args.dir, args.copies)
        name = f"{mix.name} (real TLS/QUIC/DNS captures replayed)"
        bench(name, mix, args.repeat)
        bench(name, mix, args.repeat, uncached=True)
    print(f"load average (1/5/15 min) {_load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
