"""The application-layer truth set (tests/data/app): captures, tshark's fields, nDPI's flows,
and Flowscope's records for them, matched by 5-tuple and stream number."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import WIRESHARK, extract_flows_from_file
from engine.app import transactions
from engine.export.conversations import conversation_records

APP = Path(__file__).parent.parent / "data" / "app"
CAPTURES = sorted(p.name for p in APP.iterdir() if p.suffix in (".pcap", ".pcapng"))

#: nDPI master protocol → Flowscope service (NetBIOS is one name in nDPI for four protocols)
NDPI_SERVICE: dict[str, tuple[str, ...]] = {
    "TLS": ("tls",), "DNS": ("dns",), "MDNS": ("mdns",), "LLMNR": ("llmnr",),
    "QUIC": ("quic",), "DTLS": ("dtls",), "HTTP": ("http",), "HTTP2": ("http2",),
    "SSDP": ("ssdp",), "SNMP": ("snmp",), "Kerberos": ("kerberos",), "IPSec": ("ike",),
    "OpenVPN": ("openvpn",), "PostgreSQL": ("postgresql",), "POP3": ("pop3",),
    "IMAP": ("imap",), "SMTP": ("smtp",), "DHCP": ("dhcp",), "DHCPV6": ("dhcpv6",),
    "NTP": ("ntp",), "RDP": ("rdp",), "LDAP": ("ldap",), "MQTT": ("mqtt",),
    "MySQL": ("mysql",), "SIP": ("sip",), "SSH": ("ssh",), "STUN": ("stun",),
    "WireGuard": ("wireguard",), "FTP_CONTROL": ("ftp",), "FTP_DATA": ("ftp-data",),
    "Modbus": ("modbus",), "RTSP": ("rtsp",), "RTP": ("rtp",), "BitTorrent": ("bittorrent",),
    "NetBIOS": ("nbns", "nbdgm", "nbss", "smb"), "Dropbox": ("dropbox",),
    "Spotify": ("spotify",),
}


@dataclass
class Flow:
    """One TCP/UDP conversation with what each source says about it."""

    capture: str
    record: dict[str, Any]  # Flowscope's JSON record
    tshark: dict[str, Any] | None  # the oracle's stream entry
    ndpi: dict[str, Any] | None  # nDPI's flow line

    @property
    def key(self) -> tuple[str, str, int]:
        return self.capture, self.record["protocol"], self.record["stream"]

    def field(self, name: str) -> list[str]:
        return (self.tshark or {}).get("fields", {}).get(name, [])

    def derived(self, name: str) -> Any:
        return (self.tshark or {}).get("derived", {}).get(name)

    def group(self, name: str) -> dict[str, Any]:
        return self.record.get(name) or {}


def _endpoints(a: tuple[str, int], b: tuple[str, int]) -> frozenset[tuple[str, int]]:
    return frozenset([tuple(a), tuple(b)])  # type: ignore[arg-type]


@functools.cache
def ndpi_summary() -> dict[str, Any]:
    return json.loads((APP / "nDPI-summary.json").read_text())["captures"]


@functools.cache
def tshark(capture: str) -> dict[str, Any]:
    return json.loads((APP / "oracle" / f"{capture}.app.json").read_text())


@functools.cache
def analysed(capture: str) -> tuple[list[Flow], dict[str, list[str]], dict[int, Any]]:
    """Flowscope's flows, DNS names and on-demand details (DNS/HTTP conversations)."""
    ndpi = {(f["proto_l4"].lower(), _endpoints(*map(tuple, (f["endpoints"]["a"],
                                                             f["endpoints"]["b"])))): f
            for f in ndpi_summary()[capture]["flows"]}
    oracle = tshark(capture)
    flows = []
    details = {}
    with extract_flows_from_file(APP / capture, WIRESHARK) as result:
        for rec in conversation_records(result):
            if rec["protocol"] not in ("tcp", "udp"):
                continue
            ends = _endpoints((rec["a"]["address"], rec["a"]["port"]),
                              (rec["b"]["address"], rec["b"]["port"]))
            flows.append(Flow(capture, rec, oracle[rec["protocol"]].get(str(rec["stream"])),
                              ndpi.get((rec["protocol"], ends))))
            if rec.get("service") in ("dns", "mdns", "llmnr", "http", "ssdp"):
                details[rec["id"]] = transactions(result, rec["id"])
        names = result.plugin_data["app"].names.names_of()
    return flows, names, details
