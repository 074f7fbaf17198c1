"""``flowscope-cli``: the engine from a shell, no display needed.

Each subcommand lives in its own module with ``add_parser(subparsers)`` and ``run(args)``.
Errors print one line on stderr and exit with status 2 (bad arguments too); warnings go to stderr,
one line each. SIGTERM, SIGHUP and Ctrl+C stop a run cleanly: half-written exports and temporary
files are removed on the way out.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import re
import signal
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from ..atomic import Interrupted, signals_unwind
from ..errors import FlowError
from ..heap import freeze_startup_objects
from . import app, conversations, export_pcap, follow, index, packets, query

COMMANDS = [conversations, follow, export_pcap, app, index, query, packets]

#: characters that would break a one-line message (a file name may contain any of them)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """``text`` with line breaks and other control characters written as escapes."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit status 2), like every error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="flowscope-cli",
        description="Conversations of a packet capture, with Wireshark's numbers.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with signals_unwind():
            return int(args.run(args))
    except FlowError as exc:
        print(f"flowscope-cli: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("flowscope-cli: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except Interrupted as exc:
        print(f"flowscope-cli: stopped by {exc}", file=sys.stderr)
        return 128 + exc.signum
    except BrokenPipeError:
        return 0


def entry() -> NoReturn:
    """The ``flowscope-cli`` command and ``python -m engine.cli``: :func:`main`, then
    :func:`leave` (tests call :func:`main`, which returns)."""
    freeze_startup_objects()
    try:
        status: object = main()
    except SystemExit as exc:  # --help, and usage errors
        status = exc.code
    leave(status)


def leave(status: object) -> NoReturn:
    """Exit with ``status`` (as ``sys.exit`` takes it) without the interpreter's teardown.

    Once the exit handlers have run (files the run left to finalizers, process pools) and the
    output is flushed, freeing every object and module one by one does nothing a user needs,
    and it took 40 ms of a small capture's 0.28 s. With another thread still running, the usual
    exit waits for it instead."""
    if threading.active_count() > 1:
        sys.exit(status)  # type: ignore[arg-type]
    if status is None or isinstance(status, int):
        code = status or 0
    else:  # sys.exit's rule for anything else: printed, status 1
        print(status, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that went away, a closed one
            stream.flush()
    os._exit(code)


def warn(messages: Sequence[str]) -> None:
    for message in messages:
        print(f"warning: {one_line(message)}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    entry()
