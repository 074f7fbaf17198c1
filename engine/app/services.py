"""The services Flowscope names, and the ports used only to guess when content cannot decide."""

from __future__ import annotations

#: service name → what it is (README and the GUI's tooltips list these)
SERVICES: dict[str, str] = {
    "http": "HTTP/1.x", "http2": "HTTP/2 in clear (prior knowledge)",
    "tls": "TLS (HTTPS and any TLS, also on unusual ports)", "quic": "QUIC (IETF and Google)",
    "dtls": "DTLS", "dns": "DNS (UDP and TCP)", "mdns": "multicast DNS", "llmnr": "LLMNR",
    "nbns": "NetBIOS name service", "nbdgm": "NetBIOS datagrams",
    "nbss": "NetBIOS session service", "dhcp": "DHCP", "dhcpv6": "DHCPv6", "ntp": "NTP",
    "ssdp": "SSDP", "snmp": "SNMP", "syslog": "syslog", "ssh": "SSH", "ftp": "FTP control",
    "ftp-data": "FTP data (linked to its control connection)", "smtp": "SMTP", "pop3": "POP3",
    "imap": "IMAP", "smb": "SMB 1/2/3", "rdp": "Remote Desktop (TCP and UDP)", "sip": "SIP",
    "rtp": "RTP", "rtcp": "RTCP", "rtsp": "RTSP", "stun": "STUN/TURN", "mqtt": "MQTT",
    "redis": "Redis", "postgresql": "PostgreSQL", "mysql": "MySQL", "ldap": "LDAP",
    "kerberos": "Kerberos", "openvpn": "OpenVPN", "wireguard": "WireGuard",
    "ike": "IKE / IPsec NAT traversal", "bittorrent": "BitTorrent", "telnet": "Telnet",
    "modbus": "Modbus/TCP", "dropbox": "Dropbox LAN sync discovery",
    "spotify": "Spotify Connect discovery",
}

#: well-known ports: a guess (service_by "port") only for conversations whose payload is
#: absent or too short to judge
TCP_PORTS: dict[int, str] = {
    80: "http", 8080: "http", 443: "tls", 853: "tls", 8443: "tls", 993: "tls", 995: "tls",
    465: "tls", 53: "dns", 22: "ssh", 21: "ftp", 20: "ftp-data", 25: "smtp", 587: "smtp",
    110: "pop3", 143: "imap", 445: "smb", 139: "nbss", 3389: "rdp", 5060: "sip", 554: "rtsp",
    8554: "rtsp", 3478: "stun", 1883: "mqtt", 6379: "redis", 5432: "postgresql",
    3306: "mysql", 389: "ldap", 88: "kerberos", 1194: "openvpn", 23: "telnet", 502: "modbus",
    6881: "bittorrent",
}
UDP_PORTS: dict[int, str] = {
    53: "dns", 5353: "mdns", 5355: "llmnr", 137: "nbns", 138: "nbdgm", 67: "dhcp", 68: "dhcp",
    546: "dhcpv6", 547: "dhcpv6", 123: "ntp", 1900: "ssdp", 161: "snmp", 162: "snmp",
    514: "syslog", 443: "quic", 5060: "sip", 3478: "stun", 88: "kerberos", 1194: "openvpn",
    51820: "wireguard", 500: "ike", 4500: "ike", 3389: "rdp", 17500: "dropbox",
    57621: "spotify",
}
