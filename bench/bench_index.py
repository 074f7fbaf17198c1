"""Indexing many captures: 1 worker, 2 workers, a 2-worker Dask LocalCluster; DuckDB queries.

    flock /tmp/flowscope-bench.lock python bench/bench_index.py [--captures 100]
        [--packets 100000] [--flows 2000] [--tshark-sample 10] [--keep]

Generates ``--captures`` synthetic captures (../shared/tools/gen_capture.py, one seed each) in
a temporary folder, then times ``flowscope-cli index`` into a fresh dataset three ways — in one
process, ``--workers 2``, and ``--dask`` on a LocalCluster of 2 worker processes started
beforehand (its start-up is reported on its own) — and reports captures/s, packets/s and peak
memory. For scale, ``tshark -q -z conv,tcp -z conv,udp`` (the closest thing tshark offers: no
index, just the tables) is timed on ``--tshark-sample`` of the captures and extrapolated. Then
the README's queries run over the 100-capture dataset, in process and through the CLI.
Everything generated is deleted at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import GENERATOR, ROOT, flowscope_cli, measure, need

QUERIES = {
    "top talkers": "SELECT a_address, sum(bytes) AS bytes FROM conversations "
                   "GROUP BY a_address ORDER BY bytes DESC LIMIT 10",
    "resets per capture": "SELECT capture_path, count(*) AS resets FROM conversations "
                          "WHERE conn_state LIKE 'RST%' GROUP BY capture_path "
                          "ORDER BY resets DESC",
    "one conversation back": "SELECT capture_path, stream FROM conversations "
                             "WHERE protocol = 'tcp' AND b_port = 443 "
                             "ORDER BY bytes DESC LIMIT 1",
    "count": "SELECT count(*), sum(packets) FROM conversations",
}


def generate(folder: Path, count: int, packets: int, flows: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    t = time.perf_counter()
    for seed in range(1, count + 1):
        path = folder / f"gen-{seed:03d}.pcap"
        subprocess.run([sys.executable, str(GENERATOR), "--packets", str(packets), "--flows",
                        str(flows), "--seed", str(seed), "--out", str(path)], check=True,
                       stdout=subprocess.DEVNULL)
        path.with_name(path.name + ".json").unlink()
        paths.append(path)
    size = sum(p.stat().st_size for p in paths)
    print(f"generated {count} captures, {size / 1e9:.2f} GB, in {time.perf_counter() - t:.0f} s",
          file=sys.stderr)
    return paths


def time_index(label: str, cli: str, captures: Path, dataset: Path, extra: list[str],
               count: int, packets: int) -> float:
    shutil.rmtree(dataset, ignore_errors=True)
    run = measure([cli, "index", str(captures), "-o", str(dataset), *extra])
    if run.returncode != 0:
        raise SystemExit(f"{label}: flowscope-cli index failed")
    print(f"{label:<40} {run.seconds:7.2f} s  {count / run.seconds:6.2f} captures/s  "
          f"{count * packets / run.seconds / 1e6:5.2f} M packets/s  "
          f"peak RSS {run.peak_rss_mb:6.0f} MB")
    return run.seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--captures", type=int, default=100)
    ap.add_argument("--packets", type=int, default=100_000)
    ap.add_argument("--flows", type=int, default=2_000)
    ap.add_argument("--tshark-sample", type=int, default=10,
                    help="captures tshark reads (0: skip tshark)")
    ap.add_argument("--keep", action="store_true", help="keep the generated folder")
    args = ap.parse_args()
    cli = flowscope_cli()
    work = Path(tempfile.mkdtemp(prefix="flowscope-bench-index-"))
    try:
        captures = generate(work / "captures", args.captures, args.packets, args.flows)
        n, packets = len(captures), args.packets
        print(f"\n{n} captures x {packets:,} packets ({n * packets / 1e6:.0f} M packets)")
        for path in captures:  # read once so every run starts from the page cache
            path.read_bytes()
        one = time_index("index, 1 worker", cli, work / "captures", work / "ds", [], n, packets)
        time_index("index, --workers 2", cli, work / "captures", work / "ds", ["--workers", "2"],
                   n, packets)

        import dask
        from distributed import LocalCluster

        for profiler in (True, False):  # Dask samples its workers' stacks every 10 ms
            label = "Dask LocalCluster x2" + ("" if profiler else ", no profiler")
            t = time.perf_counter()
            with dask.config.set({"distributed.worker.profile.enabled": profiler}), \
                    LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                 dashboard_address=None) as cluster:
                started = time.perf_counter() - t
                time_index(f"index, {label}", cli, work / "captures", work / "ds",
                           ["--dask", cluster.scheduler_address], n, packets)
            print(f"{'':<40} (the cluster took {started:.1f} s to start, not counted)")
        rerun = measure([cli, "index", str(work / "captures"), "-o", str(work / "ds")])
        print(f"{'re-run, nothing changed':<40} {rerun.seconds:7.2f} s")

        if args.tshark_sample:
            tshark = need("tshark")
            sample = captures[:args.tshark_sample]
            t = time.perf_counter()
            for path in sample:
                subprocess.run([tshark, "-r", str(path), "-n", "-q", "-z", "conv,tcp", "-z",
                                "conv,udp"], check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            per = (time.perf_counter() - t) / len(sample)
            print(f"{'tshark conv, 1 process':<40} {per * n:7.2f} s  (extrapolated from "
                  f"{len(sample)} captures: {per:.2f} s each); index with 1 worker is "
                  f"{per * n / one:.1f}x faster")

        print("\nDuckDB over the dataset (best of 3, in process; then the CLI end to end)")
        sys.path.insert(0, str(ROOT))
        from engine.index.query import connect

        con = connect(work / "ds")
        for name, sql in QUERIES.items():
            best = float("inf")
            for _ in range(3):
                t = time.perf_counter()
                con.execute(sql).fetchall()
                best = min(best, time.perf_counter() - t)
            run = measure([cli, "query", str(work / "ds"), sql])
            print(f"  {name:<24} {best * 1000:7.1f} ms in process, {run.seconds:5.2f} s "
                  f"flowscope-cli query")
        con.close()
        size = sum(p.stat().st_size for p in (work / "ds").glob("*.parquet"))
        print(f"\ndataset: {size / 1e6:.1f} MB of Parquet for "
              f"{sum(p.stat().st_size for p in captures) / 1e9:.2f} GB of captures")
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
