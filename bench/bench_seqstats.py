"""The TCP sequence statistics (engine/tcp/seqstats.py): compiled vs numpy, on a hostile stream
and on a capture's TCP batches.

    python bench/bench_seqstats.py [--segments 20000 200000 1000000] [--walk 20000]
                                   [--capture FILE] [--repeat 3]

For each size, writes a capture of a handshake and N ten-byte segments in random order
(tests/engine/tcpgen.py), times ``extract_flows_from_file`` on it (the compiled pass where it is
built), then ``sequence_stats`` alone on its packets with the compiled pass and with numpy, best
of ``--repeat``. ``--walk N`` also times the segment-by-segment hole walk that the O(n log n)
numpy pass replaced (the reference in tests/engine/test_seqstats_holes.py) on N segments.
``--capture FILE`` times ``sequence_stats`` over the batches the TCP summary makes of FILE
(e.g. /tmp/flowscope-bench/gen-1000000-10000-1.pcap from ../shared/tools/gen_capture.py) and the
whole TCP analysis hook (``add_tcp_columns``) with each pass. Every timing checks that both
passes give the same statistics.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import WIRESHARK, extract_flows_from_file  # noqa: E402
from engine.tcp import seqstats  # noqa: E402
from engine.tcp.analysis import add_tcp_columns  # noqa: E402
from engine.tcp.segments import TcpPackets, gather_tcp, tcp_conversations  # noqa: E402
from engine.tcp.summary import summarize  # noqa: E402
from tests.engine.tcpgen import shuffled_stream  # noqa: E402
from tests.engine.test_seqstats_holes import _walk_holes  # noqa: E402

FIELDS = ("retransmissions", "out_of_order", "missing", "missing_side", "retransmitted",
          "reordered")


def time_open(path: Path, repeat: int) -> tuple[float, int]:
    best, ooo = float("inf"), -1
    for _ in range(repeat):
        start = time.perf_counter()
        with extract_flows_from_file(path, WIRESHARK) as result:
            ooo = int(result.conversations.extra["out_of_order"][0])
        best = min(best, time.perf_counter() - start)
    return best, ooo


def best_of(repeat: int, run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def compare(batches: list[TcpPackets], repeat: int) -> tuple[float, float]:
    """Seconds for ``sequence_stats`` over ``batches``: (compiled, numpy); the same answers."""
    module = seqstats.COMPILED
    assert module is not None, "the compiled sequence statistics are not built"
    for t in batches:
        a = seqstats.compiled_sequence_stats(module, t)
        b = seqstats.numpy_sequence_stats(t)
        for name in FIELDS:
            assert np.array_equal(getattr(a, name), getattr(b, name)), name
    compiled = best_of(repeat, lambda: [seqstats.compiled_sequence_stats(module, t)
                                        for t in batches])
    numpy = best_of(repeat, lambda: [seqstats.numpy_sequence_stats(t) for t in batches])
    return compiled, numpy


def shuffled(sizes: list[int], walk: int, repeat: int, tmp: Path) -> None:
    print(f"one TCP stream of N shuffled 10-byte segments (best of {repeat})")
    for n in sizes:
        path = tmp / f"shuffled-{n}.pcap"
        path.write_bytes(shuffled_stream(n, seed=1))
        seconds, ooo = time_open(path, repeat)
        with extract_flows_from_file(path, WIRESHARK) as result:
            table = result.conversations
            t = gather_tcp(result.packets, table, tcp_conversations(table))
        compiled, numpy = compare([t], repeat)
        print(f"  {n:>9,} segments: open {seconds:6.2f} s ({ooo:,} out of order); "
              f"sequence_stats compiled {compiled * 1e3:7.1f} ms, numpy {numpy * 1e3:7.1f} ms")
    if walk:
        path = tmp / f"shuffled-{walk}.pcap"
        path.write_bytes(shuffled_stream(walk, seed=1))
        setattr(seqstats, "COMPILED", None)  # noqa: B010 - the old algorithm is numpy's
        setattr(seqstats, "_fill_holes", _walk_holes)  # noqa: B010
        seconds, ooo = time_open(path, 1)
        print(f"  {walk:>9,} segments with the old hole walk: {seconds:6.2f} s  "
              f"({ooo:,} out of order)")


def capture(path: Path, repeat: int) -> None:
    module = seqstats.COMPILED
    with extract_flows_from_file(path, WIRESHARK.replace(workers=0)) as result:
        batches: list[TcpPackets] = []
        summarize(result.packets, result.conversations, result.config, result.capture.last_ns,
                  lambda rows, t: batches.append(t))
        packets = sum(len(t) for t in batches)
        compiled, numpy = compare(batches, repeat)
        print(f"{path.name}: {packets:,} TCP packets in {len(batches)} batches (best of "
              f"{repeat})\n  sequence_stats: compiled {compiled * 1e3:.1f} ms, "
              f"numpy {numpy * 1e3:.1f} ms")
        hook = {}
        for name, chosen in (("compiled", module), ("numpy", None)):
            setattr(seqstats, "COMPILED", chosen)  # noqa: B010
            hook[name] = best_of(repeat, lambda: add_tcp_columns(result))
        setattr(seqstats, "COMPILED", module)  # noqa: B010
        print(f"  add_tcp_columns: with the compiled pass {hook['compiled']:.3f} s, "
              f"with numpy {hook['numpy']:.3f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--segments", type=int, nargs="*", default=[20_000, 200_000, 1_000_000])
    ap.add_argument("--walk", type=int, default=0, metavar="N",
                    help="also time the old hole walk on N segments (20000 took ~30-47 s)")
    ap.add_argument("--capture", type=Path, help="also time the TCP batches of this capture")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if args.capture:
        capture(args.capture, args.repeat)
    with tempfile.TemporaryDirectory(prefix="flowscope-bench-seq-") as tmp:
        shuffled(args.segments, args.walk, args.repeat, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
