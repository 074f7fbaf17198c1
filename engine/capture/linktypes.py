"""Link-layer type numbers (tcpdump.org LINKTYPE_*) that Flowscope decodes or names."""

from __future__ import annotations

NULL = 0
ETHERNET = 1
PPP = 9
RAW_OLD = 12
RAW_OLD_OPENBSD = 14
RAW = 101
C_HDLC = 104
IEEE802_11 = 105
LOOP = 108
LINUX_SLL = 113
IEEE802_11_RADIOTAP = 127
PPI = 192
IPV4 = 228
IPV6 = 229
ZWAVE_R1_R2 = 261
ZWAVE_R3 = 262
LINUX_SLL2 = 276
ZWAVE_TAP = 297

NAMES: dict[int, str] = {
    NULL: "NULL",
    ETHERNET: "ETHERNET",
    PPP: "PPP",
    RAW_OLD: "RAW",
    RAW_OLD_OPENBSD: "RAW",
    RAW: "RAW",
    C_HDLC: "C_HDLC",
    IEEE802_11: "IEEE802_11",
    LOOP: "LOOP",
    LINUX_SLL: "LINUX_SLL",
    IEEE802_11_RADIOTAP: "IEEE802_11_RADIOTAP",
    PPI: "PPI",
    IPV4: "IPV4",
    IPV6: "IPV6",
    ZWAVE_R1_R2: "ZWAVE_R1_R2",
    ZWAVE_R3: "ZWAVE_R3",
    LINUX_SLL2: "LINUX_SLL2",
    ZWAVE_TAP: "ZWAVE_TAP",
}


def name(linktype: int) -> str:
    """``ETHERNET`` for 1, ``LINKTYPE_4711`` for numbers Flowscope does not know."""
    return NAMES.get(linktype, f"LINKTYPE_{linktype}")
