"""Line-based protocols: SSH identification strings, mail and FTP greetings, FTP commands.

All read only the first lines each side sends, except the FTP control connection, whose whole
dialogue is walked to find the data connections it opened (PASV, EPSV, PORT, EPRT).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass


def first_line(data: bytes, limit: int = 512) -> str | None:
    """The first text line (without CR LF), or None when there is no complete one."""
    end = data.find(b"\n", 0, limit)
    if end < 0:
        return None
    return data[:end].rstrip(b"\r").decode("utf-8", "replace")


def ssh_banner(data: bytes) -> str | None:
    """The SSH identification string ("SSH-2.0-OpenSSH_8.9") a side sends first. Servers may
    send other lines before it (RFC 4253 section 4.2)."""
    pos = 0
    for _ in range(8):
        end = data.find(b"\n", pos, pos + 512)
        if end < 0:
            return None
        line = data[pos:end].rstrip(b"\r")
        if line.startswith(b"SSH-"):
            return line.decode("utf-8", "replace")
        pos = end + 1
    return None


@dataclass(frozen=True)
class DataChannel:
    """A data connection an FTP control connection announced."""

    address: str
    port: int
    offset: int  # where in the announcing side's bytes (to order it in time)
    server_side: bool  # True: PASV/EPSV (the server listens); False: PORT/EPRT (the client)
    command: str  # the line that announced it


_PASV = re.compile(rb"(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})")
_EPSV = re.compile(rb"\(([!-~])\1\1(\d{1,5})\1\)")
_EPRT = re.compile(rb"^EPRT ([!-~])([12])\1([0-9A-Fa-f.:]+)\1(\d{1,5})\1", re.IGNORECASE)


def _pasv_address(match: re.Match[bytes]) -> tuple[str, int] | None:
    n = [int(g) for g in match.groups()]
    if any(v > 255 for v in n):
        return None
    return ".".join(str(v) for v in n[:4]), n[4] << 8 | n[5]


def ftp_channels(client: bytes, server: bytes, server_address: str) -> list[DataChannel]:
    """The data connections announced in an FTP control dialogue (EPSV has no address: the
    server's own is meant)."""
    out = []
    pos = 0
    for raw in server.split(b"\n"):
        line = raw.rstrip(b"\r")
        if line.startswith(b"227"):
            m = _PASV.search(line)
            found = _pasv_address(m) if m else None
            if found:
                out.append(DataChannel(found[0], found[1], pos, True, _text(line)))
        elif line.startswith(b"229"):
            m = _EPSV.search(line)
            if m and int(m.group(2)) < 65536:
                out.append(DataChannel(server_address, int(m.group(2)), pos, True, _text(line)))
        pos += len(raw) + 1
    pos = 0
    for raw in client.split(b"\n"):
        line = raw.rstrip(b"\r")
        upper = line[:5].upper()
        if upper.startswith(b"PORT "):
            m = _PASV.search(line)
            found = _pasv_address(m) if m else None
            if found:
                out.append(DataChannel(found[0], found[1], pos, False, _text(line)))
        elif upper.startswith(b"EPRT "):
            m = _EPRT.match(line)
            if m and int(m.group(4)) < 65536:
                try:
                    address = str(ipaddress.ip_address(m.group(3).decode()))
                except ValueError:
                    address = ""
                if address:
                    out.append(DataChannel(address, int(m.group(4)), pos, False, _text(line)))
        pos += len(raw) + 1
    return out


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def ftp_user(client: bytes) -> str | None:
    """The user name of the first USER command."""
    for raw in client.split(b"\n")[:64]:
        line = raw.rstrip(b"\r")
        if line[:5].upper() == b"USER ":
            return _text(line[5:]).strip()
    return None
