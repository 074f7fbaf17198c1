"""``flowscope-cli conversations FILE``: the conversation list as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from ..export.conversations import LIST_FORMATS
from .options import add_capture_argument, add_config_options, config_from, open_capture_for


def add_parser(sub: Any) -> None:
    p = sub.add_parser("conversations", help="list the conversations of a capture",
                       description="List every conversation (TCP, UDP, ICMP, other IP, Z-Wave) "
                                   "of a capture file.")
    add_capture_argument(p)
    p.add_argument("--format", choices=tuple(LIST_FORMATS), default="table",
                   help="output format (default: table)")
    p.add_argument("--filter", metavar="EXPR", default="",
                   help="only the conversations this filter keeps, in the GUI filter box's "
                        "language: 'port 80 or port 443', 'bytes>30k', "
                        "'(tcp and not port 22) || udp.stream == 3' (see the README)")
    add_config_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from . import warn

    if not args.filter:  # (the filter language is imported only when a filter is given)
        with open_capture_for(args, config_from(args)) as result:
            warn(result.capture.warnings)
            LIST_FORMATS[args.format].write(result, sys.stdout, None)
        return 0
    from ..filter import FilterColumns, FilterError, compile_filter

    try:  # a mistyped filter fails before a large file is read
        expression = compile_filter(args.filter)
    except FilterError as exc:
        return _bad_filter(exc)
    with open_capture_for(args, config_from(args)) as result:
        warn(result.capture.warnings)
        rows = None
        try:
            mask = expression.mask(FilterColumns(result.conversations, result.capture.first_ns))
        except FilterError as exc:
            return _bad_filter(exc)
        if mask is not None:  # None: no filter, every row
            rows = np.flatnonzero(mask)
        LIST_FORMATS[args.format].write(result, sys.stdout, rows)
    return 0


def _bad_filter(exc: Exception) -> int:
    print(f"flowscope-cli: --filter: {exc}", file=sys.stderr)
    return 2
