"""Helpers shared by the benchmark scripts: synthetic captures, timing and peak memory of a
command run in its own process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT.parent / "shared" / "tools" / "gen_capture.py"

_MEASURE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "dt = time.perf_counter() - t\n"
    "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "sys.stderr.write(p.stderr.decode(errors='replace')[-2000:])\n"
    "print(dt, rss, p.returncode)\n"
)


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float
    returncode: int


def measure(cmd: list[str]) -> Run:
    """Wall time and peak resident memory of ``cmd`` (measured in a fresh wrapper process, so
    one tool's peak never hides another's)."""
    proc = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], capture_output=True,
                          text=True, check=False)
    try:
        seconds, rss_kb, code = proc.stdout.split()
    except ValueError:
        raise SystemExit(f"could not run {cmd[0]}: {proc.stderr}") from None
    if int(code) != 0:
        print(proc.stderr, file=sys.stderr)
    return Run(float(seconds), int(rss_kb) / 1024, int(code))


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
