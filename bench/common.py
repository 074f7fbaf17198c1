"""Helpers shared by the benchmark scripts: synthetic captures, timing and peak memory of a
command run in its own process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Commands are timed as a user runs them: with Python's compiled bytecode cache. A shell that
# sets PYTHONDONTWRITEBYTECODE (this project's sandbox does) would otherwise make every run
# compile the engine's modules again, about 0.25 s of start-up a user never pays.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False
GENERATOR = ROOT.parent / "shared" / "tools" / "gen_capture.py"

_MEASURE = r"""
import os, resource, subprocess, sys, threading, time

def tree(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out

def sample(pid, peak, cpu):
    pss = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu[p] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    peak[0] = max(peak[0], pss)

t = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
peak, cpu, done = [0], {}, threading.Event()
def watch():
    while not done.is_set():
        sample(proc.pid, peak, cpu)
        done.wait(0.02)
watcher = threading.Thread(target=watch, daemon=True)
watcher.start()
err = proc.stderr.read()
proc.wait()
dt = time.perf_counter() - t
done.set()
watcher.join()
use = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stderr.write(err.decode(errors="replace")[-2000:])
others = sum(v for p, v in cpu.items() if p != proc.pid)
print(dt, use.ru_maxrss, proc.returncode, use.ru_utime + use.ru_stime, others, peak[0])
"""


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float  # the largest peak of one process (the command or a worker it started)
    returncode: int
    cpu_seconds: float = 0.0  # user + system time of the command and every process it started
    helper_cpu_seconds: float = 0.0  # of that, in the processes it started (as last sampled)
    peak_pss_mb: float = 0.0  # the largest sum over its processes of their proportional share


def measure(cmd: list[str]) -> Run:
    """Wall time, CPU time and peak memory of ``cmd`` (measured in a fresh wrapper process, so
    one tool's peak never hides another's). Memory: the largest resident set of any one process
    (``ru_maxrss``), and the largest total over the process and its children of their
    proportional set sizes (shared pages split between the processes sharing them), sampled
    every 20 ms."""
    proc = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], capture_output=True,
                          text=True, check=False)
    try:
        seconds, rss_kb, code, cpu, helpers, pss_kb = proc.stdout.split()
    except ValueError:
        raise SystemExit(f"could not run {cmd[0]}: {proc.stderr}") from None
    if int(code) != 0:
        print(proc.stderr, file=sys.stderr)
    return Run(float(seconds), int(rss_kb) / 1024, int(code), float(cpu), float(helpers),
               int(pss_kb) / 1024)


def synthetic_capture(directory: Path, packets: int, flows: int,
                      seed: int = 1) -> tuple[Path, dict]:
    """A capture from ../shared/tools/gen_capture.py (made once per size, in ``directory``)."""
    path = directory / f"gen-{packets}-{flows}-{seed}.pcap"
    manifest = path.with_name(path.name + ".json")
    if not path.exists() or not manifest.exists():
        if not GENERATOR.exists():
            raise SystemExit(f"{GENERATOR} not found: pass --capture FILE instead")
        t = time.perf_counter()
        subprocess.run([sys.executable, str(GENERATOR), "--packets", str(packets), "--flows",
                        str(flows), "--seed", str(seed), "--out", str(path)], check=True)
        print(f"generated {path} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return path, json.loads(manifest.read_text())


def need(tool: str) -> str:
    found = shutil.which(tool)
    if not found:
        raise SystemExit(f"{tool} is needed for this benchmark (apt-get install -y tshark)")
    return found


def flowscope_cli() -> str:
    candidate = Path(sys.executable).with_name("flowscope-cli")
    return str(candidate) if candidate.exists() else need("flowscope-cli")
