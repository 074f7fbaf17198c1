"""Subject, issuer and validity of an X.509 certificate, read from its DER bytes.

Only the few fields of ``tbsCertificate`` a user wants to see are walked (no signature check:
this describes what the server presented, it does not judge it). Names are written like
Wireshark and nDPI show them: attributes in certificate order, short names (``C=US, O=Let's
Encrypt, CN=R3``), unknown attribute types as their dotted OID.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime

from . import accel

SHORT_NAMES = {
    "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.9": "street",
    "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.5": "serialNumber", "2.5.4.12": "title",
    "2.5.4.4": "SN", "2.5.4.42": "GN", "2.5.4.17": "postalCode", "2.5.4.15": "businessCategory",
    "1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.25": "DC",
    "1.3.6.1.4.1.311.60.2.1.3": "jurisdictionC", "1.3.6.1.4.1.311.60.2.1.2": "jurisdictionST",
    "1.3.6.1.4.1.311.60.2.1.1": "jurisdictionL", "2.5.4.41": "name", "2.5.4.43": "initials",
    "2.5.4.46": "dnQualifier", "2.5.4.65": "pseudonym", "2.5.4.97": "organizationIdentifier",
}
_SEQUENCE, _SET, _OID, _UTC_TIME, _GENERALIZED_TIME = 0x30, 0x31, 0x06, 0x17, 0x18
_BMP_STRING, _UNIVERSAL_STRING = 0x1E, 0x1C


class _Bad(Exception):
    """The DER does not hold together (caught in :func:`certificate_names`)."""


@dataclass(frozen=True)
class CertificateNames:
    subject: str
    issuer: str
    not_before: str | None  # ISO 8601, UTC
    not_after: str | None


def _element(der: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, start of contents, end of contents) of the DER element at ``pos``."""
    if pos + 2 > end:
        raise _Bad
    tag, length = der[pos], der[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4 or pos + count > end:
            raise _Bad
        length = int.from_bytes(der[pos : pos + count], "big")
        pos += count
    if tag & 0x1F == 0x1F or pos + length > end:
        raise _Bad  # multi-byte tags do not occur in the fields read here
    return tag, pos, pos + length


def _oid(raw: bytes) -> str:
    if not raw:
        return ""
    parts, value = [], 0
    for byte in raw[1:]:
        value = value << 7 | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    top = min(raw[0] // 40, 2)
    return ".".join(str(v) for v in (top, raw[0] - 40 * top, *parts))


_OID_NAMES: dict[bytes, str] = {}


def _oid_name(raw: bytes) -> str:
    name = _OID_NAMES.get(raw)
    if name is None:
        text = _oid(raw)
        name = SHORT_NAMES.get(text, text)
        if len(_OID_NAMES) < 1024:  # a hostile certificate cannot grow the cache without end
            _OID_NAMES[raw] = name
    return name


def _string(tag: int, raw: bytes) -> str:
    if tag == _BMP_STRING:
        return raw.decode("utf-16-be", "replace")
    if tag == _UNIVERSAL_STRING:
        return raw.decode("utf-32-be", "replace")
    return raw.decode("utf-8", "replace")


def distinguished_name(der: bytes, pos: int, end: int) -> str:
    """A Name (SEQUENCE OF SET OF AttributeTypeAndValue) as ``C=US, O=…, CN=…``."""
    parts = []
    while pos < end:
        tag, set_start, set_end = _element(der, pos, end)
        pos = set_end
        if tag != _SET:
            continue
        while set_start < set_end:
            _, atv, atv_end = _element(der, set_start, set_end)
            set_start = atv_end
            oid_tag, oid_start, oid_end = _element(der, atv, atv_end)
            if oid_tag != _OID:
                continue
            value = ""
            if oid_end < atv_end:
                value_tag, v_start, v_end = _element(der, oid_end, atv_end)
                value = _string(value_tag, der[v_start:v_end])
            parts.append(f"{_oid_name(der[oid_start:oid_end])}={value}")
    return ", ".join(parts)


_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _time(tag: int, raw: bytes) -> str | None:
    """UTCTime (YYMMDDhhmmssZ, years 50–99 are 19xx) or GeneralizedTime as ISO 8601."""
    if tag == _UTC_TIME and len(raw) == 13 and raw[12:] == b"Z" and raw[:12].isdigit():
        year = int(raw[:2])
        digits = raw[2:12]
        year += 1900 if year >= 50 else 2000
    elif tag == _GENERALIZED_TIME and len(raw) == 15 and raw[14:] == b"Z" and raw[:14].isdigit():
        year = int(raw[:4])
        digits = raw[4:14]
    else:
        return None
    month, day, hour, minute, second = (int(digits[k : k + 2]) for k in range(0, 10, 2))
    if year < 1000:  # written as the platform's strftime writes such years
        try:
            moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            return None
        return f"{moment:%Y-%m-%dT%H:%M:%SZ}"
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if not (1 <= month <= 12 and 1 <= day <= (29 if month == 2 and leap else _DAYS[month - 1])
            and hour < 24 and minute < 60 and second < 60):
        return None  # what datetime refuses
    return f"{year}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z"


@functools.lru_cache(maxsize=1024)  # a server presents the same certificate to every client
def certificate_names(der: bytes) -> CertificateNames | None:
    """Subject, issuer and validity of a DER certificate; None when it is not one."""
    fast = accel.FAST
    if fast is not None:
        fields = fast.certificate_fields(der, SHORT_NAMES)
        if fields is None:
            return None
        if fields is not False:  # False: an OID only Python's integers can spell
            # a time is its text, None, or (tag, bytes) for a year before 1000 (strftime's)
            subject, issuer, not_before, not_after = fields
            return CertificateNames(
                subject, issuer,
                _time(*not_before) if isinstance(not_before, tuple) else not_before,
                _time(*not_after) if isinstance(not_after, tuple) else not_after)
    return py_certificate_names(der)


def py_certificate_names(der: bytes) -> CertificateNames | None:
    """:func:`certificate_names` in Python (the reference for the compiled walk)."""
    try:
        tag, cert, cert_end = _element(der, 0, len(der))
        if tag != _SEQUENCE:
            return None
        tag, pos, tbs_end = _element(der, cert, cert_end)
        if tag != _SEQUENCE:
            return None
        tag, _, pos_next = _element(der, pos, tbs_end)
        pos = pos_next
        if tag == 0xA0:  # [0] version; the serial number follows
            pos = _element(der, pos, tbs_end)[2]
        pos = _element(der, pos, tbs_end)[2]  # signature algorithm
        _, issuer, issuer_end = _element(der, pos, tbs_end)
        tag_v, validity, validity_end = _element(der, issuer_end, tbs_end)
        _, subject, subject_end = _element(der, validity_end, tbs_end)
        not_before = not_after = None
        if tag_v == _SEQUENCE:
            t1, s1, e1 = _element(der, validity, validity_end)
            t2, s2, e2 = _element(der, e1, validity_end)
            not_before, not_after = _time(t1, der[s1:e1]), _time(t2, der[s2:e2])
        return CertificateNames(distinguished_name(der, subject, subject_end),
                                distinguished_name(der, issuer, issuer_end),
                                not_before, not_after)
    except _Bad:
        return None
