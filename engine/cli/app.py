"""``flowscope-cli app FILE --stream N [--udp]``: one conversation's application record, and
``flowscope-cli names FILE``: the names the capture's own DNS gave to addresses."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import Any

from ..config import FlowConfig
from ..errors import ConversationNotFound
from ..packets import Kind
from .options import add_capture_argument, open_capture_for


def add_parser(sub: Any) -> None:
    p = sub.add_parser("app", help="one conversation's application record (requests, DNS "
                                   "messages, TLS handshake, …)",
                       description="Everything the application layer of one TCP (or, with "
                                   "--udp, UDP) stream shows: every HTTP request and response, "
                                   "every DNS message, the TLS handshake and certificate chain, "
                                   "SSH identification, the FTP dialogue and its data "
                                   "connections.")
    add_capture_argument(p, stream=True)
    p.add_argument("--udp", action="store_true", help="N is a udp.stream number")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(run=run_app)
    n = sub.add_parser("names", help="addresses the capture's DNS named, with when",
                       description="Every address an A/AAAA answer of the capture's DNS, mDNS "
                                   "or LLMNR gave a name (the name asked for, CNAME chains "
                                   "followed), with the first and last time it was answered. "
                                   "Nothing is looked up outside the capture.")
    add_capture_argument(n)
    n.add_argument("--format", choices=("table", "json", "csv"), default="table")
    n.set_defaults(run=run_names)


def _stream_row(result: Any, kind: Kind, stream: int) -> int:
    rows = result.conversations.rows_with_stream(kind, stream)
    if not rows.size:
        name = "UDP" if kind == Kind.UDP else "TCP"
        raise ConversationNotFound(f"There is no {name} stream {stream} in this capture.")
    return int(rows[0])


def run_app(args: argparse.Namespace) -> int:
    from ..app import transactions
    from . import warn

    config = FlowConfig(udp_timeout=None)  # one conversation per udp.stream, as Wireshark
    with open_capture_for(args, config) as result:
        warn(result.capture.warnings)
        row = _stream_row(result, Kind.UDP if args.udp else Kind.TCP, args.stream)
        detail = transactions(result, row)
    if args.format == "json":
        json.dump(detail.to_json(), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(detail.text())
    return 0


def _seconds(ns: int) -> str:
    return f"{ns / 1e9:.6f}"


def run_names(args: argparse.Namespace) -> int:
    from . import warn

    with open_capture_for(args, FlowConfig(udp_timeout=None)) as result:
        warn(result.capture.warnings)
        rows = result.plugin_data["app"].names.rows()
    records = [{"address": a, "name": n, "first_seen_ns": f, "last_seen_ns": last}
               for a, n, f, last in rows]
    if args.format == "json":
        json.dump({"names": records}, sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(records[0]) if records else
                                ["address", "name", "first_seen_ns", "last_seen_ns"],
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    else:
        lines = [("Address", "Name", "First seen", "Last seen")] + [
            (r["address"], r["name"], _seconds(r["first_seen_ns"]), _seconds(r["last_seen_ns"]))
            for r in records]
        widths = [max(len(line[k]) for line in lines) for k in range(4)]
        for line in lines:
            sys.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(line, widths,
                                                                       strict=True)).rstrip()
                             + "\n")
    return 0
