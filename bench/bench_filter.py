"""The filter language over a 1M-conversation table: parse, first and repeated evaluation.

For each expression: the parse time, the first evaluation on a fresh FilterColumns (it computes
and keeps the arrays it needs: a core column's values, a text column's distinct values), the
median of later evaluations (what the GUI pays per keystroke pause on a loaded capture), and
where one exists the same selection written by hand in numpy (the floor) with the ratio.
Target: tens of milliseconds for simple expressions.

Run one benchmark at a time on the shared machine:
    flock /tmp/flowscope-bench.lock .venv/bin/python bench/bench_filter.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import engine.plugins  # noqa: E402, F401  (the registry's analysis columns)
from engine.columns import COLUMNS  # noqa: E402
from engine.filter import FilterColumns, compile_filter  # noqa: E402
from engine.packets import Kind  # noqa: E402
from engine.table import ConversationTable  # noqa: E402
from tests.gui.synthetic_table import SYNTHETIC_EXTRA, synthetic_result  # noqa: E402

Floor = Callable[[ConversationTable], np.ndarray] | None


def _ports(t: ConversationTable, *ports: int) -> np.ndarray:
    return np.isin(t.a_port, ports) | np.isin(t.b_port, ports)


#: (expression, the same selection in plain numpy or None)
CASES: list[tuple[str, Floor]] = [
    ("tcp", lambda t: t.kind == Kind.TCP),
    ("port 443", lambda t: (t.a_port == 443) | (t.b_port == 443)),
    ("port 80 or port 443", lambda t: _ports(t, 80, 443)),
    ("bytes>30k", lambda t: (t.bytes_ab + t.bytes_ba) > 30_000),
    ("10.0.0.0/16", lambda t: (t.family == 4) & (((t.a_lo & np.uint64(0xFFFF0000))
                                                  == np.uint64(0x0A000000))
                                                 | ((t.b_lo & np.uint64(0xFFFF0000))
                                                    == np.uint64(0x0A000000)))),
    ("ip.addr == 10.0.0.0/8", None),
    ("(tcp and not port 22) || udp.stream == 3", None),
    ("10.0.0.0/16 tcp packets>100", None),
    ("duration < 200ms and packets > 1k", None),
    ("test_state == SF", lambda t: t.extra["test_state"] == "SF"),
    ("RSTO", None),
    ("rsto", None),
    ("test_state matches ^rst", None),
    ('test_state contains "S"', None),
    ("C4A815CD/3", None),
    ("port in {22 53 80 443}", lambda t: _ports(t, 22, 53, 80, 443)),
    ("start > 30m and not ipv6", None),
]


def _time(fn: Callable[[], object], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    for spec in SYNTHETIC_EXTRA:
        COLUMNS[spec.name] = spec
    t0 = time.perf_counter()
    table = synthetic_result(args.rows, seed=1).conversations
    print(f"synthetic table: {len(table):,} conversations in {time.perf_counter() - t0:.2f} s")
    print(f"{'expression':44} {'parse':>8} {'first':>8} {'again':>8} {'numpy':>8} "
          f"{'ratio':>6} {'rows':>9}")
    for text, floor in CASES:
        parse = _time(lambda text=text: compile_filter(text), args.repeat)
        columns = FilterColumns(table)
        t = time.perf_counter()
        expression = compile_filter(text, columns)
        mask = expression.mask(columns)
        first = time.perf_counter() - t
        again = _time(lambda e=expression, c=columns: e.mask(c), args.repeat)
        assert mask is not None
        hand = ratio = ""
        if floor is not None:
            expected = floor(table)
            assert (expected == mask).all(), text
            seconds = _time(lambda f=floor: f(table), args.repeat)
            hand, ratio = f"{seconds * 1000:6.1f}ms", f"{again / seconds:5.1f}×"
        print(f"{text:44} {parse * 1000:6.2f}ms {first * 1000:6.1f}ms {again * 1000:6.1f}ms "
              f"{hand:>8} {ratio:>6} {int(mask.sum()):9,}")


if __name__ == "__main__":
    main()
