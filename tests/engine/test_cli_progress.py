"""The CLI's progress line: drawn on a terminal, never in a pipe or with --quiet."""

from __future__ import annotations

import io
import subprocess
import sys

from engine.cli.load_progress import progress_line
from tests.conftest import CAPTURES


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_line_that_is_erased_at_the_end() -> None:
    out = Terminal()
    line = progress_line("big.pcap", quiet=False, out=out)
    assert line is not None
    line.started -= 1.0  # a second in: rates and time left are known
    line(250_000_000, 1_000_000_000, 400_000)
    text = out.getvalue()
    assert "big.pcap: 250.0 MB of 1.0 GB" in text and "400,000 packets" in text
    assert "packets/s" in text and "s left" in text
    line.close()
    assert out.getvalue().endswith("\r")


def test_nothing_in_a_pipe_or_when_quiet() -> None:
    assert progress_line("x", quiet=False, out=io.StringIO()) is None
    assert progress_line("x", quiet=True, out=Terminal()) is None
    done = subprocess.run([sys.executable, "-m", "engine.cli", "conversations",
                           str(CAPTURES / "zeek-http-get.pcap"), "--quiet"],
                          capture_output=True, text=True, check=True)
    assert done.stderr == ""
