"""Which files a request names: capture files given one by one, or the captures in a folder.

A folder stands for the capture files directly in it (a dumpcap or tcpdump ring buffer), found by
their first bytes rather than their names (``trace.pcap7`` counts, ``notes.txt`` does not), in
natural name order (``trace.pcap2`` before ``trace.pcap10``). Sub-folders and hidden files are
left out.
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import InvalidCaptureError
from .inflate import GZIP_MAGIC
from .pcap import is_pcap
from .pcapng import is_pcapng

#: a name written for a person: several files as "3 files: a, b, c", longer sets shortened
LISTED_NAMES = 3
_DIGITS = re.compile(r"(\d+)")

PathLike = str | os.PathLike[str]


def looks_like_capture(path: Path) -> bool:
    """A pcap or pcapng file by its first bytes (also inside gzip)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
            if head[:2] == GZIP_MAGIC:
                f.seek(0)
                with gzip.open(f) as inner:
                    head = inner.read(4)
    except (OSError, EOFError, gzip.BadGzipFile):
        return False
    return is_pcap(head) or is_pcapng(head)


def natural_key(name: str) -> list[object]:
    """Sort key that orders the numbers inside names by value (``pcap2`` < ``pcap10``)."""
    return [int(part) if part.isdigit() else part.lower() for part in _DIGITS.split(name)]


def captures_in(folder: Path) -> list[Path]:
    """The capture files directly in ``folder``, in natural name order."""
    try:
        entries = [entry for entry in os.scandir(folder)
                   if not entry.name.startswith(".") and entry.is_file()]
    except OSError as exc:
        raise InvalidCaptureError(
            f"{folder} cannot be listed: {exc.strerror or exc}.") from None
    names = sorted((entry.name for entry in entries), key=natural_key)
    return [folder / name for name in names if looks_like_capture(folder / name)]


def capture_files(inputs: PathLike | Sequence[PathLike]) -> tuple[list[Path], list[str]]:
    """The files named by ``inputs`` (a file, a folder, or a list of either), in order, each
    once; and a warning for each file named more than once. A folder with no capture in it is
    an error, as is an empty list."""
    items: Iterable[PathLike] = [inputs] if isinstance(inputs, str | os.PathLike) else inputs
    files: list[Path] = []
    seen: dict[Path, Path] = {}
    warnings: list[str] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = captures_in(path)
            if not found:
                raise InvalidCaptureError(
                    f"{path} is a folder with no pcap or pcapng file in it.")
        else:
            found = [path]
        for file in found:
            key = _identity(file)
            if key in seen:
                warnings.append(f"{file.name} was named more than once; it was read once.")
                continue
            seen[key] = file
            files.append(file)
    if not files:
        raise InvalidCaptureError("No capture file was given.")
    return files, warnings


def _identity(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path.absolute()


def describe_files(paths: Sequence[Path]) -> str:
    """How a window title or a message names a capture of one or several files."""
    if len(paths) == 1:
        return paths[0].name
    if len(paths) <= LISTED_NAMES:
        return f"{len(paths)} files: " + ", ".join(p.name for p in paths)
    return f"{len(paths)} files: {paths[0].name} … {paths[-1].name}"


def request_name(inputs: PathLike | Sequence[PathLike]) -> str:
    """How messages name what was asked for, before the files are known (a folder by its
    name)."""
    items = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    return describe_files([Path(item) for item in items]) if items else "no files"
