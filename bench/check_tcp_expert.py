"""Differential check of the TCP analysis against tshark (needs tshark; not part of the tests).

Writes random captures (``tests/engine/tcp_expert_gen.py``), asks tshark 4.0 for every frame's
``tcp.analysis.*`` (../shared/tools/make_tcp_expert_oracle.py), and compares them with Flowscope's
packet-by-packet analysis (``--exact``) or the vectorised one (default), frame by frame::

    .venv/bin/python bench/check_tcp_expert.py --seeds 0:200 --conversations 20
    .venv/bin/python bench/check_tcp_expert.py --capture some.pcap

Prints each disagreement (frame, field, tshark's value, ours) and a summary; exit status 1 when
any field differs. Tests compare against committed oracle JSON instead (tests/data/tcp_expert).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import WIRESHARK  # noqa: E402
from engine.errors import FlowError  # noqa: E402
from engine.pipeline import analyse_file  # noqa: E402
from engine.tcp.expert_report import frame_report  # noqa: E402
from tests.engine.capwriter import pcap_bytes  # noqa: E402
from tests.engine.tcp_expert_gen import random_capture  # noqa: E402

ORACLE_TOOL = ROOT.parent / "shared" / "tools" / "make_tcp_expert_oracle.py"


def tshark_frames(path: Path) -> dict[str, dict]:
    spec = importlib.util.spec_from_file_location("oracle_tool", ORACLE_TOOL)
    assert spec and spec.loader
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool.oracle(str(path))


def compare(path: Path, exact: bool, verbose: int) -> int:
    want = tshark_frames(path)
    try:
        with analyse_file(path, WIRESHARK) as result:
            got = frame_report(result, exact=exact)
    except FlowError as exc:
        if want:
            print(f"{path.name}: {exc}")
        return len(want)
    bad = 0
    for frame, w in want.items():
        g = got.get(int(frame))
        if g is None:
            continue  # e.g. a TCP header quoted in an ICMP error: no TCP conversation of ours
        diffs = [(k, w[k], g[k]) for k in ("flags", "duplicate_ack_num", "bytes_in_flight")
                 if w[k] != g[k]]
        for k in ("ack_rtt", "initial_rtt"):
            a = None if w[k] is None else round(w[k] * 1e6)
            b = None if g[k] is None else round(g[k] * 1e6)
            if a != b:
                diffs.append((k, w[k], g[k]))
        if diffs:
            bad += 1
            if verbose:
                print(f"{path.name} frame {frame}: " +
                      "; ".join(f"{k}: tshark {a} ours {b}" for k, a, b in diffs))
    return bad


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0:20", help="range of generator seeds, A:B")
    ap.add_argument("--conversations", type=int, default=20)
    ap.add_argument("--capture", action="append", default=[], help="check this file instead")
    ap.add_argument("--exact", action="store_true", help="the packet-by-packet analysis")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--keep", help="directory to keep the generated captures in")
    a = ap.parse_args()
    total = 0
    files = [Path(c) for c in a.capture]
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(a.keep or tmp)
        where.mkdir(parents=True, exist_ok=True)
        if not files:
            lo, hi = (int(x) for x in a.seeds.split(":"))
            for seed in range(lo, hi):
                path = where / f"tcpx-{seed}.pcap"
                path.write_bytes(pcap_bytes(random_capture(seed, a.conversations)))
                files.append(path)
        for path in files:
            bad = compare(path, a.exact, 0 if a.quiet else 1)
            total += bad
            if bad:
                print(f"{path.name}: {bad} frames differ")
    print(f"{len(files)} captures, {total} frames differ")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
