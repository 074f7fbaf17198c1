"""``flowscope-cli export-pcap FILE --stream N -o OUT.pcap``: one TCP stream's packets."""

from __future__ import annotations

import argparse
from typing import Any

from .options import add_capture_argument, add_config_options, config_from, open_capture_for


def add_parser(sub: Any) -> None:
    p = sub.add_parser("export-pcap", help="write the packets of a TCP stream to a pcap file",
                       description="Write every packet of TCP stream N (Wireshark's tcp.stream) "
                                   "with its original timestamp and link type. Packets of "
                                   "several link types give a pcapng file.")
    add_capture_argument(p, stream=True)
    p.add_argument("-o", "--output", required=True, metavar="OUT.pcap",
                   help="the file to write (atomically: replaced only when complete)")
    add_config_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..export.packets import export_conversation  # loaded only when exporting
    from ..follow.tcp import find_tcp_stream
    from . import warn

    with open_capture_for(args, config_from(args)) as result:
        warn(result.capture.warnings)
        export_conversation(result, find_tcp_stream(result, args.stream), args.output)
    return 0
