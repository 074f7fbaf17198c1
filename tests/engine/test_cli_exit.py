"""The command's quick exit: the output whole, the status as ``sys.exit`` would give it, and
nothing left behind, without the interpreter's teardown."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from engine.cli import leave, main
from tests.conftest import CAPTURES, DATA

HTTP = CAPTURES / "zeek-http-get.pcap"


def _command(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "engine.cli", *argv], capture_output=True,
                          check=False, timeout=120, cwd=cwd)


def test_the_whole_document_comes_out(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    argv = ["conversations", str(DATA / "app" / "ndpi-wechat.pcap"), "--format", "json",
            "--udp-timeout", "none"]
    assert main(argv) == 0
    expected = capsysbinary.readouterr().out
    proc = _command(*argv)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == expected and len(expected) > 10_000


def test_spilled_stream_files_are_gone_after_the_exit(tmp_path: Path) -> None:
    """A stream kept in temporary files (a 1K memory budget) is written whole and its files
    are removed before the process ends."""
    spill = tmp_path / "spill"
    spill.mkdir()
    proc = _command("follow", str(HTTP), "--stream", "0", "--format", "raw",
                    "--memory-budget", "1K", "--spill-dir", str(spill))
    assert proc.returncode == 0, proc.stderr
    assert b"HTTP/1.1 200 OK\r\n" in proc.stdout and len(proc.stdout) > 1024
    assert list(spill.iterdir()) == []


@pytest.mark.parametrize(("argv", "status", "stream", "text"), [
    (["--help"], 0, "stdout", "usage: flowscope-cli"),
    (["conversations"], 2, "stderr", "error:"),
    (["conversations", str(CAPTURES / "libpcap-pcap-invalid-version-1.pcap")], 2, "stderr",
     "version 1 is not supported"),
    (["follow", str(HTTP), "--stream", "9"], 2, "stderr", "no TCP stream 9"),
])
def test_statuses_and_messages(argv: list[str], status: int, stream: str, text: str) -> None:
    proc = _command(*argv)
    assert proc.returncode == status
    assert text in getattr(proc, stream).decode()
    assert b"Traceback" not in proc.stderr


def test_a_reader_that_goes_away_ends_the_run_quietly() -> None:
    """``flowscope-cli … | head -c 100``: the rest of the output (140 kB, more than a pipe
    holds) has nowhere to go; the run still ends with status 0 and no message (the quick exit
    flushes what is left and must not report a reader that went away)."""
    writer = subprocess.Popen([sys.executable, "-m", "engine.cli", "conversations",
                               str(DATA / "app" / "ndpi-wechat.pcap"), "--format", "json"],
                              stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    assert writer.stdout is not None and writer.stderr is not None
    writer.stdout.read(100)
    writer.stdout.close()
    err = writer.stderr.read()
    writer.stderr.close()
    assert writer.wait(timeout=120) == 0
    assert b"Traceback" not in err and b"Exception ignored" not in err


def test_with_another_thread_running_the_usual_exit_waits_for_it() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        with pytest.raises(SystemExit) as exit_info:
            leave(3)
        assert exit_info.value.code == 3
    finally:
        stop.set()
        other.join()


@pytest.mark.parametrize(("status", "code", "err"), [
    ("None", 0, ""), ("0", 0, ""), ("5", 5, ""), ("'stopped'", 1, "stopped\n")])
def test_exit_handlers_run_and_the_status_is_sys_exits(status: str, code: int, err: str) -> None:
    """Handlers registered with atexit still run (and what they print comes out); the status
    follows ``sys.exit``'s rule, a text printed with status 1."""
    program = ("import atexit; atexit.register(lambda: print('handler ran')); "
               f"from engine.cli import leave; print('before', end=' '); leave({status})")
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          check=False, timeout=60)
    assert proc.returncode == code
    assert proc.stdout == "before handler ran\n"
    assert proc.stderr == err


def test_a_small_capture_loads_only_what_the_command_needs() -> None:
    """Start-up is most of a small capture's run: the listing of one loads no process
    machinery (nothing forks for it), no QUIC cryptography (no QUIC there), no hashlib (no TLS
    fingerprint to hash there), no dissector, no Follow machinery (no stream needs reassembling
    there), no GUI and no index libraries."""
    program = ("import io, contextlib, sys; from engine.cli import main\n"
               "with contextlib.redirect_stdout(io.StringIO()):\n"
               f"    main(['conversations', {str(HTTP)!r}, '--format', 'json', '--quiet'])\n"
               "print(' '.join(sorted(m for m in ('subprocess', 'multiprocessing', "
               "'cryptography', 'hashlib', 'scapy', 'engine.follow', 'PySide6', 'pyarrow', "
               "'duckdb', 'dask') "
               "if m in sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          check=True, timeout=120)
    assert proc.stdout.strip() == ""


def test_start_up_objects_are_frozen_before_the_command_runs() -> None:
    """The modules and functions of start-up are out of the cyclic collector's reach while a
    command runs (each full collection walked them all again)."""
    code = ("import gc, engine.cli as cli\n"
            "cli.main = lambda: print(gc.get_freeze_count()) or 0\n"
            "cli.entry()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) > 10_000
