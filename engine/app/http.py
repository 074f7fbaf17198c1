"""HTTP/1.x message heads, and the protocols that share their shape (RTSP, SIP, SSDP).

A head is the start line and the header lines up to the blank line. :func:`messages` walks a
whole direction of a connection, skipping bodies by Content-Length or chunked encoding, so the
Application pane can list every request and response.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

HTTP_METHODS = frozenset({
    "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "PATCH", "TRACE",
    "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH", "REPORT",
    "MKACTIVITY", "CHECKOUT", "MERGE", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE", "M-SEARCH",
    "PURGE", "LINK", "UNLINK",
})
RTSP_METHODS = frozenset({
    "DESCRIBE", "ANNOUNCE", "GET_PARAMETER", "OPTIONS", "PAUSE", "PLAY", "RECORD", "REDIRECT",
    "SETUP", "SET_PARAMETER", "TEARDOWN",
})
SIP_METHODS = frozenset({
    "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "SUBSCRIBE", "NOTIFY",
    "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE",
})
#: a head longer than this is not read (the first requests of a connection are what matter)
MAX_HEAD = 64 * 1024
#: what ``bytes.strip()`` strips (ASCII whitespace), for the same result on decoded text
_SPACE = " \t\n\r\x0b\x0c"


@dataclass(eq=False)
class Head:
    """One request or response head."""

    request: bool
    protocol: str  # "HTTP", "RTSP" or "SIP" (from the version token)
    method: str = ""
    uri: str = ""
    status: int = -1
    reason: str = ""
    size: int = 0  # bytes from the start line to the blank line, inclusive
    complete: bool = True  # the blank line was seen
    #: the header lines as text; split into :attr:`headers` only when those are asked for (at
    #: load a few headers are read through :meth:`header`, which stops at the one it wants)
    lines: str = field(default="", repr=False)
    _split: list[tuple[str, str]] | None = field(default=None, repr=False)

    @property
    def headers(self) -> list[tuple[str, str]]:
        """(name, value) of each header line, in order."""
        if self._split is None:
            self._split = list(_header_lines(self.lines))
        return self._split

    def header(self, name: str) -> str | None:
        """The value of the first header called ``name`` (any case)."""
        name = name.lower()
        pairs = self._split if self._split is not None else _header_lines(self.lines)
        for key, value in pairs:
            if key.lower() == name:
                return value
        return None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Head):
            return NotImplemented
        return self._fields() == other._fields()

    def _fields(self) -> tuple[object, ...]:
        return (self.request, self.protocol, self.method, self.uri, self.status, self.reason,
                self.size, self.complete, self.headers)


def _header_lines(lines: str) -> Iterator[tuple[str, str]]:
    # decoded at once: UTF-8 errors never cross the ASCII "\r\n" and ":" boundaries, so this
    # is the same as decoding each name and value on its own
    for line in lines.split("\r\n"):
        if not line:
            return
        name, sep, value = line.partition(":")
        if sep:
            yield name.strip(_SPACE), value.strip(_SPACE)


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def parse_head(data: bytes, start: int = 0) -> Head | None:
    """The head starting at ``data[start]``, or None when no start line of HTTP, RTSP or SIP
    is there. A head cut short by the end of the data has ``complete`` False."""
    end = data.find(b"\r\n\r\n", start, start + MAX_HEAD)
    complete = end >= 0
    stop = end + 4 if complete else min(len(data), start + MAX_HEAD)
    line_end = data.find(b"\r\n", start, stop)
    head = _start_line(_decode(data[start : line_end if line_end >= 0 else stop]))
    if head is None:
        return None
    if line_end >= 0:
        head.lines = _decode(data[line_end + 2 : stop])
    head.size = stop - start
    head.complete = complete
    return head


def _start_line(line: str) -> Head | None:
    parts = line.split(" ", 2)
    if len(parts) < 2:
        return None
    first = parts[0]
    for proto in ("HTTP/", "RTSP/", "SIP/"):
        if first.startswith(proto):
            code = parts[1]
            if len(code) != 3 or not code.isdigit():
                return None
            return Head(False, proto[:-1], status=int(code),
                        reason=parts[2] if len(parts) > 2 else "")
    if len(parts) < 3:
        return None
    version = parts[2].strip()
    for proto, methods in (("HTTP", HTTP_METHODS), ("RTSP", RTSP_METHODS),
                           ("SIP", SIP_METHODS)):
        if version.startswith(proto + "/") and first in methods:
            return Head(True, proto, method=first, uri=parts[1])
    return None


def _body_end(data: bytes, head: Head, start: int) -> int | None:
    """Where the body after ``head`` ends, or None when it runs to the end of the stream."""
    body = start + head.size
    if not head.request and (head.status // 100 == 1 or head.status in (204, 304)):
        return body
    encoding = (head.header("transfer-encoding") or "").lower()
    if "chunked" in encoding:
        pos = body
        while True:
            line_end = data.find(b"\r\n", pos)
            if line_end < 0:
                return None
            try:
                size = int(data[pos:line_end].split(b";")[0].strip() or b"x", 16)
            except ValueError:
                return None
            pos = line_end + 2 + size + 2
            if size == 0:
                trailer = data.find(b"\r\n\r\n", line_end)
                return pos if data[line_end + 2 : line_end + 4] == b"\r\n" or trailer < 0 \
                    else trailer + 4
            if pos > len(data):
                return None
    length = head.header("content-length")
    if length is not None:
        try:
            return body + max(int(length), 0)
        except ValueError:
            return None
    if head.request:
        return body
    return None


def messages(data: bytes, limit: int = 10_000) -> Iterator[tuple[int, Head]]:
    """(offset, head) of each message in one direction's bytes, bodies skipped."""
    pos = 0
    count = 0
    while pos < len(data) and count < limit:
        head = parse_head(data, pos)
        if head is None:
            nxt = data.find(b"\r\n", pos)  # resynchronise on the next line (pipelining noise)
            if nxt < 0:
                return
            pos = nxt + 2
            continue
        yield pos, head
        count += 1
        if not head.complete:
            return
        end = _body_end(data, head, pos)
        if end is None:
            return
        pos = max(end, pos + head.size)
