"""Option parsing shared by the subcommands."""

from __future__ import annotations

import argparse
import math
import re

from ..config import FlowConfig
from ..result import FlowResult

#: longest idle timeout accepted (about 31 years): nanosecond times must stay in 64 bits
MAX_TIMEOUT_S = 1e9
#: largest size accepted for a byte count (1 PiB)
MAX_SIZE = 1 << 50
_SIZE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([kmgtp]?)(?:i?b)?", re.IGNORECASE)


def timeout(value: str) -> float | None:
    """``--udp-timeout 120`` or ``none`` (never split, as Wireshark)."""
    if value.strip().lower() in ("none", "off", "never"):
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a number of seconds or 'none'") from None
    if not math.isfinite(seconds):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a number of seconds (use 'none' for no timeout)")
    if seconds <= 0:
        raise argparse.ArgumentTypeError("a timeout must be positive (or 'none')")
    if seconds > MAX_TIMEOUT_S:
        raise argparse.ArgumentTypeError(
            f"{value!r} seconds is too long (at most {MAX_TIMEOUT_S:g}; 'none' never splits)")
    return seconds


def size(value: str) -> int:
    """``64M``, ``500000``, ``1.5G`` (K, M, G, T, P: powers of 1024) as bytes."""
    match = _SIZE.fullmatch(value.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{value!r} is not a size (like 500000, 64K, 2M)")
    number, unit = match.groups()
    scale = 1 << (10 * "kmgtp".find(unit.lower()) + 10) if unit else 1
    total = float(number) * scale
    if total > MAX_SIZE:
        raise argparse.ArgumentTypeError(f"{value!r} is too large (at most 1P)")
    return int(total)


def stream_number(value: str) -> int:
    """A ``tcp.stream`` number: a whole number from 0."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a stream number") from None
    if number < 0:
        raise argparse.ArgumentTypeError("stream numbers start at 0")
    return number


def add_capture_argument(parser: argparse.ArgumentParser, stream: bool = False) -> None:
    """The capture FILE every subcommand reads (and ``--stream N`` for those about one)."""
    parser.add_argument("file", nargs="+", metavar="FILE",
                        help="pcap or pcapng file (gzip-compressed is fine); several files, or "
                             "a folder of them, are read as one capture merged by time, as "
                             "mergecap merges them")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress line on stderr (it is only drawn on a terminal)")
    if stream:
        parser.add_argument("--stream", type=stream_number, required=True, metavar="N",
                            help="the tcp.stream number (as in the conversations list)")


def add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--udp-timeout", type=timeout, default=FlowConfig.udp_timeout,
                        metavar="SECONDS|none",
                        help="split a UDP conversation after this idle time; 'none' keeps one "
                             "conversation per address/port pair like Wireshark "
                             "(default: %(default)s)")
    parser.add_argument("--icmp-timeout", type=timeout, default=FlowConfig.icmp_timeout,
                        metavar="SECONDS|none",
                        help="the same for ICMP and other IP protocols (default: %(default)s)")


def open_capture_for(args: argparse.Namespace, config: FlowConfig) -> FlowResult:
    """Analyse ``args.file`` (one or more files), with a progress line on stderr when a person
    is watching."""
    from ..capture.files import request_name
    from ..pipeline import analyse_file
    from .load_progress import progress_line

    line = progress_line(request_name(args.file), args.quiet)
    try:
        return analyse_file(args.file, config, progress=line)
    finally:
        if line is not None:
            line.close()


def config_from(args: argparse.Namespace) -> FlowConfig:
    return FlowConfig(udp_timeout=args.udp_timeout, icmp_timeout=args.icmp_timeout)
