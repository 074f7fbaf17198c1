"""The command line under hostile input: option values, file names and files that are not files
give one line on stderr and status 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main
from engine.cli.options import size, timeout

from .tcpgen import shuffled_stream

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "stream.pcap"
    path.write_bytes(shuffled_stream(3000, seed=2))
    return path


def _fails(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run the CLI expecting status 2; the one line it wrote on stderr."""
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith("flowscope-cli")
    return err


@pytest.mark.parametrize(("option", "value"), [
    ("--memory-budget", "1e400"), ("--memory-budget", "inf"), ("--memory-budget", "nan"),
    ("--memory-budget", "-5"), ("--memory-budget", "9999P"), ("--memory-budget", "12 apples"),
    ("--udp-timeout", "inf"), ("--udp-timeout", "nan"), ("--udp-timeout", "-inf"),
    ("--udp-timeout", "1e400"), ("--udp-timeout", "1e300"), ("--icmp-timeout", "NaN"),
    ("--udp-timeout", "0"), ("--stream", "-1"), ("--stream", "1.5"),
])
def test_impossible_option_values_are_one_line_usage_errors(
        option: str, value: str, capture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--memory-budget 1e400`` and ``--udp-timeout inf``/``nan`` gave tracebacks."""
    err = _fails(capsys, "follow", str(capture), "--stream", "0", option, value)
    assert f"argument {option}" in err and "--help" in err


@pytest.mark.parametrize(("text", "expected"), [("64K", 65536), ("1.5M", 1572864), ("0", 0),
                                                ("16MiB", 16 << 20), ("2g", 2 << 30),
                                                ("500000", 500000)])
def test_sizes_people_write(text: str, expected: int) -> None:
    assert size(text) == expected


def test_timeouts_people_write() -> None:
    assert timeout("120") == 120.0 and timeout("0.5") == 0.5
    assert timeout(" None ") is None and timeout("off") is None


def test_memory_budget_help_says_what_it_bounds(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["follow", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "bytes of the reassembled stream" in text and "does not bound" in text


def test_file_name_with_a_newline_keeps_errors_on_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "evil\nname\r.pcap"
    path.write_bytes(b"not a capture at all")
    err = _fails(capsys, "conversations", str(path))
    assert "evil\\nname\\r.pcap" in err


def test_file_name_with_a_newline_keeps_warnings_on_one_line(
        capture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cut\nshort.pcap"
    path.write_bytes(capture.read_bytes()[:-10])
    assert main(["conversations", str(path)]) == 0
    (warning,) = [line for line in capsys.readouterr().err.splitlines() if line]
    assert warning.startswith("warning: cut\\nshort.pcap is cut short")


def _cli(*argv: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    """The real command in its own process (the timeout is a hang guard)."""
    return subprocess.run([sys.executable, "-m", "engine.cli", *argv], capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout_s, check=False)


def test_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    """Opening a FIFO that has no writer blocked forever."""
    fifo = tmp_path / "capture.pcap"
    os.mkfifo(fifo)
    done = _cli("conversations", str(fifo))
    assert done.returncode == 2
    assert done.stderr == f"flowscope-cli: {fifo} is a named pipe (FIFO), not a capture file, " \
                          "so Flowscope does not read it.\n"


@pytest.mark.parametrize(("path", "what"), [("/dev/null", "a character device"),
                                            ("/dev/zero", "a character device")])
def test_devices_are_refused(path: str, what: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    err = _fails(capsys, "conversations", path)
    assert f"is {what}, not a capture file" in err
