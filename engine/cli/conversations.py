"""``flowscope-cli conversations FILE``: the conversation list as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..export.conversations import LIST_FORMATS
from ..pipeline import analyse_file
from .options import add_capture_argument, add_config_options, config_from


def add_parser(sub: Any) -> None:
    p = sub.add_parser("conversations", help="list the conversations of a capture",
                       description="List every conversation (TCP, UDP, ICMP, other IP, Z-Wave) "
                                   "of a capture file.")
    add_capture_argument(p)
    p.add_argument("--format", choices=tuple(LIST_FORMATS), default="table",
                   help="output format (default: table)")
    add_config_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from . import warn

    with analyse_file(args.file, config_from(args)) as result:
        warn(result.capture.warnings)
        LIST_FORMATS[args.format].write(result, sys.stdout, None)
    return 0
