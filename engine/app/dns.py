"""DNS messages (also mDNS, LLMNR and NetBIOS name service, which share the format).

A message is parsed in full only when asked for its answers; names are decompressed with a
bound on pointer jumps, so a hostile message cannot loop. Names are shown like Wireshark shows
them: labels as UTF-8 (invalid bytes as U+FFFD), ``<Root>`` for the root.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field

import numpy as np

from . import accel
from .wire import Cursor, Short, text

TYPE_NAMES = {
    1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 10: "NULL", 12: "PTR", 13: "HINFO", 15: "MX",
    16: "TXT", 28: "AAAA", 32: "NB", 33: "SRV", 35: "NAPTR", 41: "OPT", 43: "DS", 46: "RRSIG",
    47: "NSEC", 48: "DNSKEY", 64: "SVCB", 65: "HTTPS", 99: "SPF", 252: "AXFR", 255: "ANY",
    257: "CAA",
}
RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP",
               5: "REFUSED", 6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH",
               10: "NOTZONE"}
#: more records than this in one section is not a DNS message anyone sends
MAX_RECORDS = 512
_MAX_JUMPS = 64


def type_name(value: int) -> str:
    return TYPE_NAMES.get(value, f"TYPE{value}")


def rcode_name(value: int) -> str:
    return RCODE_NAMES.get(value, f"RCODE{value}")


@dataclass
class Record:
    name: str
    type: int
    data: str  # address for A/AAAA, target name for CNAME/PTR/NS, "" otherwise


@dataclass
class Message:
    id: int
    response: bool
    opcode: int
    rcode: int
    questions: list[tuple[str, int]] = field(default_factory=list)  # (name, type)
    answers: list[Record] = field(default_factory=list)
    authority: list[Record] = field(default_factory=list)
    additional: list[Record] = field(default_factory=list)
    counts: tuple[int, int, int, int] = (0, 0, 0, 0)


def _name(data: bytes, c: Cursor) -> str:
    """A (possibly compressed) name at the cursor as text; the cursor moves past it."""
    raw = _raw_name(data, c)
    return text(raw) if raw else "<Root>"


def _raw_name(data: bytes, c: Cursor) -> bytes:
    """The same as the wire's bytes, labels joined by dots (b"" for the root)."""
    labels: list[bytes] = []
    pos, jumps, end_after, size = c.pos, 0, -1, len(data)
    while True:
        if pos >= size:
            raise Short
        length = data[pos]
        if length >= 0xC0:
            if pos + 1 >= size or jumps >= _MAX_JUMPS:
                raise Short
            if end_after < 0:
                end_after = pos + 2
            pos = (length & 0x3F) << 8 | data[pos + 1]
            jumps += 1
            continue
        if length >= 0x40:
            raise Short  # extended label types are not used
        if length == 0:
            pos += 1
            break
        stop = pos + 1 + length
        if stop > size or len(labels) > 127:
            raise Short
        labels.append(data[pos + 1 : stop])
        pos = stop
    if end_after < 0:
        end_after = pos
    if end_after > c.end:
        raise Short
    c.pos = end_after
    return b".".join(labels)


_RR = struct.Struct(">HHIH")


def _record(data: bytes, c: Cursor) -> Record:
    name = _name(data, c)
    p = c.pos
    if p + 10 > c.end:
        raise Short
    rtype, _, _, size = _RR.unpack_from(data, p)
    start = p + 10
    c.pos = start + size
    if c.pos > c.end:
        raise Short
    value = ""
    if rtype == 1 and size == 4:
        value = ".".join(str(b) for b in data[start : start + 4])
    elif rtype == 28 and size == 16:
        value = str(ipaddress.IPv6Address(data[start : start + 16]))
    elif rtype in (2, 5, 12):
        value = _name(data, Cursor(data, start, start + size))
    return Record(name, rtype, value)


def parse_header(data: bytes) -> tuple[int, bool, int, int, tuple[int, int, int, int]] | None:
    if len(data) < 12:
        return None
    flags = data[2] << 8 | data[3]
    counts = tuple(data[k] << 8 | data[k + 1] for k in (4, 6, 8, 10))
    return (data[0] << 8 | data[1], bool(flags & 0x8000), (flags >> 11) & 0xF, flags & 0xF,
            counts)  # type: ignore[return-value]


def parse_message(data: bytes, records: bool = True) -> Message | None:
    """One DNS message (UDP payload, or a TCP message without its length prefix); None when
    the bytes are not one. ``records=False`` stops after the questions."""
    fast = accel.FAST
    if fast is None:
        return py_parse_message(data, records)
    fields = fast.dns_message(data, records)
    if fields is None:
        return None
    ident, response, opcode, rcode, counts, questions, answers, authority, additional = fields
    return Message(ident, response, opcode, rcode,
                   [(text(n) if isinstance(n, bytes) else n, t) for n, t in questions],
                   _records(answers), _records(authority), _records(additional), counts)


def _records(fields: list[tuple[str | bytes, int, str | bytes | None]]) -> list[Record]:
    """Records from the compiled walk: names (and NS/CNAME/PTR values) come as text, or as
    bytes when they are not valid UTF-8; an address as its text; any other value as None."""
    return [Record(text(n) if isinstance(n, bytes) else n, t,
                   text(v) if isinstance(v, bytes) else "" if v is None else v)
            for n, t, v in fields]


#: what the DNS inspector reads of a message (:func:`message_summary`): id, response flag,
#: rcode, questions (name, type), how many answer records were read, and those records'
#: addresses and names (where they have one)
Summary = tuple[int, bool, int, list[tuple[str, int]], int, list[str]]


def message_summary(data: bytes, records: bool = True) -> Summary | None:
    """:func:`parse_message` reduced to what identifies a conversation (no record objects)."""
    fast = accel.FAST
    if fast is None:
        return py_message_summary(data, records)
    summary: Summary | None = fast.dns_summary(data, records, text)
    return summary


def message_summaries(buffer: bytes | memoryview, starts: np.ndarray, sizes: np.ndarray
                      ) -> list[Summary | None]:
    """:func:`message_summary` of each message ``buffer[starts[k] : starts[k] + sizes[k]]``
    (None for an empty one), records read where the message is a response: the first
    messages of many conversations in one call."""
    starts = np.ascontiguousarray(starts, dtype=np.int64)
    sizes = np.ascontiguousarray(sizes, dtype=np.int64)
    fast = accel.FAST
    if fast is not None:
        summaries: list[Summary | None] = fast.dns_summaries(buffer, starts, sizes, text)
        return summaries
    out = []
    for start, size in zip(starts.tolist(), sizes.tolist(), strict=True):
        data = bytes(buffer[start : start + size])
        out.append(py_message_summary(data, len(data) > 2 and data[2] & 0x80 > 0)
                   if data else None)
    return out


def py_message_summary(data: bytes, records: bool = True) -> Summary | None:
    """:func:`message_summary` in Python (the reference for the compiled walk)."""
    msg = py_parse_message(data, records)
    if msg is None:
        return None
    return (msg.id, msg.response, msg.rcode, msg.questions, len(msg.answers),
            [r.data for r in msg.answers if r.data])


def py_parse_message(data: bytes, records: bool = True) -> Message | None:
    """:func:`parse_message` in Python (the reference for the compiled walk)."""
    header = parse_header(data)
    if header is None:
        return None
    ident, response, opcode, rcode, counts = header
    if max(counts) > MAX_RECORDS:
        return None
    msg = Message(ident, response, opcode, rcode, counts=counts)
    c = Cursor(data, 12)
    try:
        for _ in range(counts[0]):
            name = _name(data, c)
            qtype = c.u16()
            c.skip(2)
            msg.questions.append((name, qtype))
        if not records:
            return msg
        for _ in range(counts[1]):
            msg.answers.append(_record(data, c))
        for _ in range(counts[2]):
            msg.authority.append(_record(data, c))
        for _ in range(counts[3]):
            msg.additional.append(_record(data, c))
    except (Short, ValueError):
        if not msg.questions and counts[0]:
            return None
        return msg
    return msg


def netbios_name(encoded: str) -> str:
    """A NetBIOS name from its first-level encoding (RFC 1001: each byte as two letters
    A–P), as ``NAME<1d>``; the encoded text when it is not one."""
    label = encoded.split(".", 1)[0]
    if len(label) != 32 or not all("A" <= c <= "P" for c in label):
        return encoded
    raw = bytes((ord(label[k]) - 65) << 4 | (ord(label[k + 1]) - 65) for k in range(0, 32, 2))
    name = raw[:15].decode("latin-1").rstrip(" ")
    return f"{name}<{raw[15]:02x}>"


def tcp_messages(stream: bytes) -> list[bytes]:
    """DNS messages of a TCP stream (each behind a two-byte length)."""
    out, pos = [], 0
    while pos + 2 <= len(stream):
        size = stream[pos] << 8 | stream[pos + 1]
        if size < 12 or pos + 2 + size > len(stream):
            break
        out.append(stream[pos + 2 : pos + 2 + size])
        pos += 2 + size
    return out


#: question types whose answers can hold A/AAAA records: A, AAAA, ANY
_ADDRESS_QUESTIONS = frozenset({1, 28, 255})


def answered_addresses(data: bytes, multicast: bool = False) -> list[tuple[str, str]]:
    """:func:`addresses_to_names` straight from a message's bytes, for the capture-wide names
    pass: names stay bytes until one is needed, and a message without A/AAAA records costs
    only a walk over its records."""
    header = parse_header(data)
    if header is None or max(header[4]) > MAX_RECORDS:
        return []
    counts = header[4]
    c = Cursor(data, 12)
    questions: list[bytes] = []
    cnames: list[tuple[bytes, bytes]] = []
    addresses: list[tuple[bytes, str]] = []
    try:
        asks_address = not counts[0] or multicast
        for _ in range(counts[0]):
            questions.append(_raw_name(data, c))
            asks_address |= c.u16() in _ADDRESS_QUESTIONS
            c.skip(2)
        if not asks_address:
            return []  # the answer section holds only the type asked for (and CNAMEs)
        sections = counts[1] + (counts[2] + counts[3] if multicast else 0)
        for k in range(sections):
            owner = _raw_name(data, c)
            if c.pos + 10 > c.end:
                break
            rtype, _, _, size = _RR.unpack_from(data, c.pos)
            start = c.pos + 10
            c.pos = start + size
            if c.pos > c.end:
                break
            authority = counts[1] <= k < counts[1] + counts[2]
            if rtype == 5 and k < counts[1]:
                cnames.append((owner, _raw_name(data, Cursor(data, start, start + size))))
            elif rtype == 1 and size == 4 and not authority:
                addresses.append((owner, ".".join(str(b) for b in data[start : start + 4])))
            elif rtype == 28 and size == 16 and not authority:
                addresses.append((owner, str(ipaddress.IPv6Address(data[start : start + 16]))))
    except (Short, ValueError):
        pass
    if not addresses:
        return []
    back: dict[bytes, list[bytes]] = {}
    for owner, target in cnames:
        back.setdefault(target.lower(), []).append(owner)
    asked = {q.lower(): q for q in questions}
    out = []
    for owner, address in addresses:
        found, seen, todo = [], set(), [owner]
        while todo:
            name = todo.pop()
            key = name.lower()
            if key in seen:
                continue
            seen.add(key)
            if key in asked:
                found.append(asked[key])
                continue
            todo.extend(back.get(key, []))
        for name in found or [owner]:
            out.append((address, text(name) if name else "<Root>"))
    return out


def answered_names(buffer: bytes | memoryview, starts: np.ndarray, sizes: np.ndarray,
                   multicast: np.ndarray, responses_only: bool = False
                   ) -> list[tuple[int, str, str]]:
    """(k, address, name) for every answer :func:`answered_addresses` finds in the messages
    ``buffer[starts[k] : starts[k] + sizes[k]]``, in order of k: the capture-wide names pass in
    one call (compiled when it can be; the compiled walk leaves messages with more than a few
    dozen questions or records to the Python one). ``responses_only``: only responses with
    answer or additional records are read."""
    starts = np.ascontiguousarray(starts, dtype=np.int64)
    sizes = np.ascontiguousarray(sizes, dtype=np.int64)
    multicast = np.ascontiguousarray(multicast, dtype=bool)
    fast = accel.FAST
    if fast is None:
        return py_answered_names(buffer, starts, sizes, multicast,
                                 responses_only=responses_only)
    found, left = fast.answered_names(buffer, starts, sizes, multicast, responses_only)
    out = [(k, address, text(name) if isinstance(name, bytes) else name)
           for k, address, name in found]
    if left:
        out += py_answered_names(buffer, starts[left], sizes[left], multicast[left],
                                 np.array(left, dtype=np.int64))
        out.sort(key=lambda item: item[0])  # stable: each message's answers keep their order
    return out


def py_answered_names(buffer: bytes | memoryview, starts: np.ndarray, sizes: np.ndarray,
                      multicast: np.ndarray, index: np.ndarray | None = None,
                      responses_only: bool = False) -> list[tuple[int, str, str]]:
    """:func:`answered_names` in Python (the reference for the compiled walk)."""
    out = []
    ks = index.tolist() if index is not None else range(starts.size)
    for k, start, size, many in zip(ks, starts.tolist(), sizes.tolist(), multicast.tolist(),
                                    strict=True):
        data = bytes(buffer[start : start + size])
        if responses_only and not (len(data) >= 12 and data[2] & 0x80 and (
                data[6] or data[7] or data[10] or data[11])):
            continue
        for address, name in answered_addresses(data, many):
            out.append((k, address, name))
    return out


def addresses_to_names(msg: Message, multicast: bool = False) -> list[tuple[str, str]]:
    """(address, name) for every A/AAAA answer, named after the question that led to it
    through CNAME records (the name a user asked for), else after the record's owner.
    ``multicast`` (mDNS) also takes A/AAAA records of the additional section."""
    back: dict[str, list[str]] = {}
    for rec in msg.answers:
        if rec.type == 5 and rec.data:
            back.setdefault(rec.data.lower(), []).append(rec.name)
    asked = {q.lower(): q for q, _ in msg.questions}
    records = [r for r in msg.answers if r.type in (1, 28) and r.data]
    if multicast:
        records += [r for r in msg.additional if r.type in (1, 28) and r.data]
    out = []
    for rec in records:
        found, seen, todo = [], set(), [rec.name]
        while todo:
            name = todo.pop()
            key = name.lower()
            if key in seen:
                continue
            seen.add(key)
            if key in asked:
                found.append(asked[key])
                continue
            todo.extend(back.get(key, []))
        for name in found or [rec.name]:
            out.append((rec.data, name))
    return out
