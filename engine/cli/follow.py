"""``flowscope-cli follow FILE --stream N``: the reassembled bytes of one TCP stream."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..export.follow import DIRECTION_CHOICES, FOLLOW_FORMATS, export_follow, write_follow
from .options import add_capture_argument, add_config_options, config_from, open_capture_for, size


def add_parser(sub: Any) -> None:
    p = sub.add_parser("follow", help="the reassembled bytes of a TCP stream",
                       description="Write the bytes of TCP stream N (Wireshark's tcp.stream) "
                                   "as Wireshark's Follow TCP Stream shows them: each byte "
                                   "once, in order; bytes never captured are left out.")
    add_capture_argument(p, stream=True)
    p.add_argument("--direction", choices=DIRECTION_CHOICES, default="both",
                   help="A is the sender of the stream's first packet (default: both)")
    p.add_argument("--format", choices=tuple(FOLLOW_FORMATS), default="raw", help="default: raw")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="write to this file (atomically) instead of standard output")
    p.add_argument("--memory-budget", type=size, default=None, metavar="BYTES",
                   help="keep at most this many bytes of the reassembled stream in memory "
                        "(64K, 16M, 2G); the rest goes to temporary files. It does not bound "
                        "the capture's packet index (about 130 bytes a packet) or the working "
                        "arrays of loading and of ordering the stream's segments (up to about "
                        "550 bytes a segment), so a 1M-segment stream needs about 0.7 GB "
                        "whatever the budget")
    p.add_argument("--spill-dir", type=Path, default=None, metavar="DIR",
                   help="where those temporary files go (default: the system temp folder)")
    add_config_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..follow.tcp import find_tcp_stream, reassemble  # loaded only when following
    from . import warn

    config = config_from(args).replace(memory_budget=args.memory_budget,
                                       spill_dir=args.spill_dir)
    with open_capture_for(args, config) as result:
        warn(result.capture.warnings)
        with reassemble(result, find_tcp_stream(result, args.stream)) as stream:
            warn(stream.limits)
            if args.output:
                export_follow(stream, args.output, args.format, args.direction)
            else:
                write_follow(stream, sys.stdout.buffer, args.format, args.direction)
                sys.stdout.buffer.flush()
    return 0
