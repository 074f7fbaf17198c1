"""``flowscope-cli``: the engine from a shell, no display needed.

Each subcommand lives in its own module with ``add_parser(subparsers)`` and ``run(args)``.
Errors print one line on stderr and exit with status 2; warnings go to stderr too.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import FlowError
from . import app, conversations, export_pcap, follow, packets

COMMANDS = [conversations, follow, export_pcap, app, packets]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
        return int(args.run(args))
    except FlowError as exc:
        print(f"flowscope-cli: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("flowscope-cli: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def warn(messages: Sequence[str]) -> None:
    for message in messages:
        print(f"warning: {message}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
