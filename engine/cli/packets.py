"""``flowscope-cli packets FILE [--stream N]``: every packet with Wireshark's TCP analysis."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from ..export.packet_list import write_packets_json, write_packets_table
from .options import add_capture_argument, add_config_options, config_from, open_capture_for


def add_parser(sub: Any) -> None:
    p = sub.add_parser("packets", help="packets with Wireshark's TCP analysis",
                       description="List the packets of a capture (or of one TCP stream) with "
                                   "their conversation and, for TCP, the flags, relative "
                                   "sequence numbers and Wireshark's tcp.analysis results "
                                   "(retransmissions, duplicate ACKs, RTTs, bytes in flight).")
    add_capture_argument(p)
    p.add_argument("--stream", type=int, default=None, metavar="N",
                   help="only the packets of tcp.stream N (as in the conversations list)")
    p.add_argument("--format", choices=("json", "table"), default="table",
                   help="output format (default: table)")
    add_config_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..follow.tcp import find_tcp_stream  # the same lookup (and error) as follow
    from . import warn

    with open_capture_for(args, config_from(args)) as result:
        warn(result.capture.warnings)
        if args.stream is None:
            index = np.arange(len(result.packets), dtype=np.int64)
        else:
            index = result.packets_of(find_tcp_stream(result, args.stream))
        writer = write_packets_json if args.format == "json" else write_packets_table
        writer(result, index, sys.stdout)
    return 0
