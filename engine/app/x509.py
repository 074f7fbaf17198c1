"""Subject, issuer and validity of an X.509 certificate, read from its DER bytes.

Only the few fields of ``tbsCertificate`` a user wants to see are walked (no signature check:
this describes what the server presented, it does not judge it). Names are written like
Wireshark and nDPI show them: attributes in certificate order, short names (``C=US, O=Let's
Encrypt, CN=R3``), unknown attribute types as their dotted OID.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from .wire import Cursor, Short

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


@dataclass(frozen=True)
class CertificateNames:
    subject: str
    issuer: str
    not_before: str | None  # ISO 8601, UTC
    not_after: str | None


def _element(c: Cursor) -> tuple[int, Cursor]:
    """One DER element: its tag and a cursor over its contents."""
    tag = c.u8()
    if tag & 0x1F == 0x1F:
        raise Short  # multi-byte tags do not occur in the fields read here
    length = c.u8()
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4:
            raise Short
        length = int.from_bytes(c.take(count), "big")
    return tag, c.sub(length)


def _oid(raw: bytes) -> str:
    if not raw:
        return ""
    parts, value = [], 0
    for byte in raw[1:]:
        value = value << 7 | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    first = raw[0]
    head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    return ".".join(str(v) for v in head + parts)


def _string(tag: int, raw: bytes) -> str:
    if tag == _BMP_STRING:
        return raw.decode("utf-16-be", "replace")
    if tag == _UNIVERSAL_STRING:
        return raw.decode("utf-32-be", "replace")
    return raw.decode("utf-8", "replace")


def distinguished_name(c: Cursor) -> str:
    """A Name (SEQUENCE OF SET OF AttributeTypeAndValue) as ``C=US, O=…, CN=…``."""
    parts = []
    while c.left:
        tag, rdn = _element(c)
        if tag != _SET:
            continue
        while rdn.left:
            _, atv = _element(rdn)
            oid_tag, oid = _element(atv)
            if oid_tag != _OID:
                continue
            oid_text = _oid(oid.rest())
            value = ""
            if atv.left:
                value_tag, raw = _element(atv)
                value = _string(value_tag, raw.rest())
            parts.append(f"{SHORT_NAMES.get(oid_text, oid_text)}={value}")
    return ", ".join(parts)


def _time(tag: int, raw: bytes) -> str | None:
    try:
        value = raw.decode("ascii")
        if tag == _UTC_TIME:
            moment = datetime.strptime(value, "%y%m%d%H%M%SZ")
        elif tag == _GENERALIZED_TIME:
            moment = datetime.strptime(value, "%Y%m%d%H%M%SZ")
        else:
            return None
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def certificate_names(der: bytes) -> CertificateNames | None:
    """Subject, issuer and validity of a DER certificate; None when it is not one."""
    try:
        tag, cert = _element(Cursor(der))
        if tag != _SEQUENCE:
            return None
        tag, tbs = _element(cert)
        if tag != _SEQUENCE:
            return None
        tag, _ = _element(tbs)
        if tag == 0xA0:  # [0] version; the serial number follows
            _element(tbs)
        _element(tbs)  # signature algorithm
        tag, issuer = _element(tbs)
        tag_v, validity = _element(tbs)
        tag, subject = _element(tbs)
        not_before = not_after = None
        if tag_v == _SEQUENCE:
            t1, raw1 = _element(validity)
            t2, raw2 = _element(validity)
            not_before, not_after = _time(t1, raw1.rest()), _time(t2, raw2.rest())
        return CertificateNames(distinguished_name(subject), distinguished_name(issuer),
                                not_before, not_after)
    except Short:
        return None
