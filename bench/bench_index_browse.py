"""The index view's DuckDB side at 10 million conversations: arranging and page fetches.

    flock /tmp/flowscope-bench.lock python bench/bench_index_browse.py [--rows 10000000]

Indexes one generated capture (../shared/tools/gen_capture.py), then writes a dataset of
``--rows`` conversations by repeating its rows across 100 Parquet files (capture paths and ids
made unique), so the numbers are those of a real index's columns and value distributions.
Times what the GUI's index table waits for: opening the dataset, the first arrangement, a
sort by bytes, a filter (``tcp port 443 !SF``), and fetching a page of 1,000 rows at the top,
the middle and the end — the GUI thread only ever waits for page fetches; arrangements run on
a worker. Deletes what it wrote.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import GENERATOR  # noqa: E402

from engine.index.browse import IndexBrowser  # noqa: E402
from engine.index.filter_sql import FilterTranslator  # noqa: E402
from engine.index.query import connect  # noqa: E402
from engine.index.runner import build_index  # noqa: E402
from gui.index.model import DEFAULT_COLUMNS, PAGE  # noqa: E402


def timed(label: str, fn):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    value = fn()
    print(f"  {label:<44} {(time.perf_counter() - t) * 1000:9.1f} ms")
    return value


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--files", type=int, default=100)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="flowscope-bench-browse-"))
    try:
        capture = work / "seed.pcap"
        subprocess.run([sys.executable, str(GENERATOR), "--packets", "200000", "--flows",
                        "20000", "--seed", "7", "--out", str(capture)], check=True,
                       stdout=subprocess.DEVNULL)
        build_index([capture], work / "one")
        con = connect(work / "one")
        (base,) = con.execute("SELECT count(*) FROM conversations").fetchone()
        per_file = args.rows // args.files
        copies = -(-per_file // base)
        big = work / "big"
        big.mkdir()
        t = time.perf_counter()
        for k in range(args.files):
            con.execute(
                f"COPY (SELECT * REPLACE (capture_path || '-{k:03d}' AS capture_path, "
                f"id + {base} * c.i AS id) FROM conversations, range({copies}) AS c(i) "
                f"LIMIT {per_file}) TO '{big}/part-{k:03d}.parquet' (FORMAT parquet, "
                "COMPRESSION zstd)")
        con.close()
        rows = per_file * args.files
        print(f"{rows:,} conversations in {args.files} files, written in "
              f"{time.perf_counter() - t:.1f} s "
              f"({sum(p.stat().st_size for p in big.iterdir()) / 1e6:.0f} MB)")

        browser = timed("open the dataset", lambda: IndexBrowser(big))
        columns = [c for c in DEFAULT_COLUMNS if c in browser.types] + ["conn_state"]
        first = timed("first view (files in order, nothing built)",
                      lambda: browser.arrange(columns))
        by_bytes = timed("sort by bytes, descending", lambda: browser.arrange(
            columns, "bytes", True))
        where = FilterTranslator(browser.types).where("tcp port 443 !SF")
        filtered = timed("filter 'tcp port 443 !SF' sorted by bytes", lambda: browser.arrange(
            columns, "bytes", True, where))
        print(f"  (the filter keeps {filtered.rows:,} rows)")
        for arrangement, name in ((first, "first"), (by_bytes, "by bytes")):
            for label, start in (("top", 0), ("middle", arrangement.rows // 2),
                                 ("end", arrangement.rows - PAGE)):
                timed(f"page of {PAGE:,} rows, {label} ({name})",
                      lambda a=arrangement, s=start: browser.fetch(a, s, PAGE))
        # the stored order is the sorted order (rowid = row number), also across row groups
        k = by_bytes.columns.index("bytes")
        middle = browser.fetch(by_bytes, by_bytes.rows // 2 - PAGE // 2, PAGE)
        values = [row[k] for row in middle]
        assert values == sorted(values, reverse=True), "pages are not in sort order"
        browser.close()
        import resource

        print(f"  peak RSS of this process: "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
