"""What the filter language offers, in words: a one-paragraph hint and the full syntax with
every field of the column registry (so the help lists the columns added later, too)."""

from __future__ import annotations

from ..columns import COLUMNS

#: a short description of the language for tooltips
HELP = ("Terms: an address or network (10.0.0.1, 10.0.0.0/8, ip.src == 10.0.0.1), port N, "
        "stream N, a protocol (tcp, udp, icmp, zwave, …), ipv4/ipv6, a state (SF, RSTO, …), "
        "or any column compared with == != < <= > >= contains matches (packets>100, "
        "bytes>30k, duration<200ms, tcp.port == 443). Combine with and/&&, or/||, not/! and "
        "parentheses; terms side by side must all match.")

_SYNTAX = """\
Combine terms with  and (&&)   or (||)   not (!)   and parentheses.
Terms side by side must all match: "udp !port 53" is "udp and not port 53".
not binds tightest, then and, then or.

Terms
  10.0.0.1  fe80::1  10.0.0.0/8  C4A815CD/6    either endpoint (address, network, node)
  tcp  udp  icmp  zwave  gre  ipv4  ipv6        a protocol or address family
  SF  RSTO  ESTABLISHED                         a value a text column holds (exact case
                                                first, else any case)
  0xc4a815cd                                    a hex column's value or a network id

Fields (every column, by name or alias; see the list below)
  port 443   stream 7   host 10.0.0.0/8         NAME VALUE: equal (numbers, addresses)
  status half-open   conn_state sf              NAME VALUE on text: a whole word, any case
  retransmissions   history                     NAME alone: > 0 (numbers), has one (text)
  packets > 100   bytes >= 30k   status != closed   == (=) != < <= > >= (eq ne lt le gt ge)
  history contains "R"                          substring, exact case
  conn_state matches "^rst"                     regular expression, any case (also ~)
  port in {80 443 8080}                         any of these values
  tcp.port == 443   udp.stream == 3   ip.addr == 10.0.0.0/8   ipv6.src == fe80::1
                                                a protocol or family before the field
                                                keeps its rows only (ip = IPv4)
  src / ip.src = endpoint A (the sender of the first packet), dst = endpoint B,
  addr / host = either endpoint, port = either port (srcport = A's, dstport = B's)

Values are read by the column's kind
  counts, bytes   30k = 30,000   1.5M   2G   (SI, powers of 1000 as the table shows)
                  64KiB = 65,536   1MiB   2GiB (IEC, powers of 1024); 30kB, 0x10
  durations       200ms  2s  1.5us  10ns  1m (minute)  1h; a bare number is seconds
  start           10s (since the first packet) or 2013-03-07T21:42:06 (local time)
  rates (bits/s)  1M  2Mbps
  text            a word, or "a quoted string" ("\\"" and "\\\\" inside)
A comparison holds only where the column has a value: "retransmissions < 5" leaves out UDP.
"""


def field_list() -> str:
    """One line per column of the registry: its names and kind."""
    lines = []
    for spec in COLUMNS.values():
        names = ", ".join((spec.name, *spec.aliases))
        lines.append(f"  {names:<44}{spec.format:<10}{spec.title}")
    return "\n".join(lines)


def syntax() -> str:
    """The whole syntax, then every filterable column."""
    return f"{_SYNTAX}\nColumns (names, kind, title)\n{field_list()}\n"
