"""Interrupted exports leave no hidden ``.part`` files: SIGTERM/SIGINT/SIGHUP remove them on the
way out, and what a SIGKILL left is swept by the next export into that folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.atomic import sweep_stale_parts
from engine.cli import main

from .tcpgen import shuffled_stream

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("export") / "stream.pcap"
    path.write_bytes(shuffled_stream(3000, seed=2))
    return path


#: runs the CLI with one change: the first write into a .part file says "writing" on stdout and
#: then waits for stdin, so the test can signal it while the export is surely half done
_DRIVER = r"""
import os, sys
real = os.fdopen

class Paused:
    def __init__(self, f):
        self._f, self._told = f, False
    def write(self, data):
        n = self._f.write(data)
        if not self._told:
            self._told = True
            self._f.flush()
            print("writing", flush=True)
            sys.stdin.readline()
        return n
    def __getattr__(self, name):
        return getattr(self._f, name)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return self._f.__exit__(*exc)

def fdopen(fd, *args, **kwargs):
    f = real(fd, *args, **kwargs)
    return Paused(f) if os.readlink(f"/proc/self/fd/{fd}").endswith(".part") else f

os.fdopen = fdopen
from engine.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP],
                         ids=["SIGTERM", "SIGINT", "SIGHUP"])
@pytest.mark.parametrize("command", ["follow", "export-pcap"])
def test_signal_mid_export_leaves_no_part_file(command: str, signum: int, capture: Path,
                                               tmp_path: Path) -> None:
    out = tmp_path / "out" / "stream.out"
    out.parent.mkdir()
    with subprocess.Popen([sys.executable, "-c", _DRIVER, command, str(capture), "--stream",
                           "0", "-o", str(out)], cwd=ROOT, stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as child:
        try:
            assert child.stdout is not None and child.stdout.readline() == "writing\n"
            (part,) = out.parent.iterdir()
            assert part.name.startswith(".stream.out.flowscope-") and part.stat().st_size > 0
            child.send_signal(signum)
            child.wait(timeout=60)  # stdin stays open: only the signal can end the pause
            assert child.stderr is not None
            err = child.stderr.read()
        finally:
            if child.poll() is None:
                child.kill()
    assert child.returncode == 128 + signum
    assert list(out.parent.iterdir()) == []
    assert err.count("\n") == 1 and err.startswith("flowscope-cli: ")


def _part(folder: Path, pid: int, age_s: float = 0.0, name: str = "stream.out") -> Path:
    path = folder / f".{name}.flowscope-{pid}-abcd_123.part"
    path.write_bytes(b"half an export")
    when = time.time() - age_s
    os.utime(path, (when, when))
    return path


def test_stale_part_files_are_swept_by_the_next_export(capture: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A SIGKILLed export leaves its .part file; the next write into the folder removes it once
    no living process can own it (and leaves everything else alone)."""
    dead = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
    waiting = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                               stdin=subprocess.PIPE)
    try:
        gone = _part(tmp_path, dead)
        reused = _part(tmp_path, waiting.pid, age_s=3600, name="old.out")  # pid reused since
        running = _part(tmp_path, waiting.pid, name="busy.out")  # may still be written
        mine = _part(tmp_path, os.getpid(), age_s=3600, name="mine.out")
        other = tmp_path / ".someone-else.part"
        other.write_bytes(b"not ours")
        folder = tmp_path / f".x.flowscope-{dead}-abcdefgh.part"
        folder.mkdir()
        out = tmp_path / "stream.out"
        assert main(["follow", str(capture), "--stream", "0", "-o", str(out)]) == 0
        capsys.readouterr()
        left = set(tmp_path.iterdir())
        assert gone not in left and reused not in left
        assert {running, mine, other, folder, out} <= left
        assert out.stat().st_size == 30000
    finally:
        waiting.stdin.close()  # type: ignore[union-attr]
        waiting.wait()


def test_sweeping_a_missing_folder_does_nothing(tmp_path: Path) -> None:
    assert sweep_stale_parts(tmp_path / "nowhere") == []
