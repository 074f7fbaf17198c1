"""What tshark says about *every* TCP/UDP layer of each frame, tunnels included.

make_oracle.py (../shared/tools) follows the first TCP/UDP layer of a frame and sets tunnelled
ones aside; this companion records all of them, for the captures whose frames carry a
conversation inside another (UDP tunnels, GRE):

- ``frames``: per frame, its number and length and one entry per TCP/UDP layer, outermost first:
  protocol, tcp.stream/udp.stream, source and destination address and port (the addresses of
  the IP layer right before it); layers quoted inside an ICMP error are left out, as tshark's
  conversation table leaves them out;
- ``table``: tshark's own ``-z conv,tcp -z conv,udp`` rows (endpoints, frames and bytes each
  way);
- ``follow``: per tcp.stream, ``-z follow,tcp,raw,N``: the bytes each node sent (node 0 is the
  endpoint of the stream's first frame; tshark's gap markers, if any, left in).

Usage: python3 make_level_oracle.py CAPTURE... --out-dir oracle   (writes NAME.levels.json;
run with tshark 4.0.17 — tests only read the JSON).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path

FIELDS = ["frame.number", "frame.len", "frame.protocols", "tcp.stream", "udp.stream",
          "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport", "ip.src", "ip.dst",
          "ipv6.src", "ipv6.dst"]
PREFS = ["-n", "-o", "tcp.desegment_tcp_streams:TRUE"]
ROW = re.compile(r"^(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s+(\d+)\s+([\d,.]+) (\S+)\s+(\d+)\s+"
                 r"([\d,.]+) (\S+)")


def tshark(path: Path, args: list[str]) -> str:
    return subprocess.run(["tshark", "-r", path.name, *PREFS, *args], cwd=path.parent,
                          capture_output=True, text=True, check=False).stdout


def frames(path: Path) -> list[dict]:
    args = ["-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for name in FIELDS:
        args += ["-e", name]
    out = []
    for line in tshark(path, args).splitlines():
        values = dict(zip(FIELDS, [v.split(",") if v else [] for v in line.split("\t")],
                          strict=False))
        seen = {"ip": 0, "ipv6": 0, "tcp": 0, "udp": 0}
        carrier, quoted, layers = None, False, []
        for proto in values["frame.protocols"][0].split(":"):
            if proto in ("icmp", "icmpv6"):
                quoted = True
            if proto in ("ip", "ipv6"):
                carrier = (proto, seen[proto])
                seen[proto] += 1
            if proto in ("tcp", "udp"):
                k = seen[proto]
                seen[proto] += 1
                if quoted or carrier is None or k >= len(values[f"{proto}.stream"]):
                    continue
                net, i = carrier
                layers.append({"protocol": proto, "stream": int(values[f"{proto}.stream"][k]),
                               "src": values[f"{net}.src"][i], "dst": values[f"{net}.dst"][i],
                               "sport": int(values[f"{proto}.srcport"][k]),
                               "dport": int(values[f"{proto}.dstport"][k])})
        out.append({"frame": int(values["frame.number"][0]),
                    "length": int(values["frame.len"][0]), "layers": layers})
    return out


def table(path: Path) -> list[dict]:
    rows, section = [], None
    for line in tshark(path, ["-q", "-z", "conv,tcp", "-z", "conv,udp"]).splitlines():
        if line.startswith(("TCP Conversations", "UDP Conversations")):
            section = line.split()[0].lower()
        match = ROW.match(line.strip())
        if section and match:
            a, pa, b, pb, f_ba, b_ba, u_ba, f_ab, b_ab, u_ab = match.groups()
            rows.append({"protocol": section, "a": [a, int(pa)], "b": [b, int(pb)],
                         "frames_a_to_b": int(f_ab), "bytes_a_to_b": _bytes(b_ab, u_ab),
                         "frames_b_to_a": int(f_ba), "bytes_b_to_a": _bytes(b_ba, u_ba)})
    return rows


def _bytes(value: str, unit: str) -> int | None:
    """A byte count tshark printed unscaled ("1,234 bytes"); None when it scaled it ("2 kB")."""
    return int(value.replace(",", "")) if unit == "bytes" else None


def follow(path: Path, streams: list[int]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for stream in streams:
        text = tshark(path, ["-q", "-z", f"follow,tcp,raw,{stream}"])
        nodes: dict[int, list] = {}
        data = {0: "", 1: ""}
        for line in text.splitlines():
            node = re.match(r"^Node ([01]): (?:\[(.*)\]|(.*)):(\d+)$", line)
            if node:
                nodes[int(node.group(1))] = [node.group(2) or node.group(3), int(node.group(4))]
            elif nodes and re.fullmatch(r"\t?[0-9a-f]+", line):
                data[1 if line.startswith("\t") else 0] += line.strip()
        out[str(stream)] = {"nodes": [nodes.get(0), nodes.get(1)], "node0_hex": data[0],
                            "node1_hex": data[1]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("captures", nargs="+", type=Path)
    parser.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args()
    version = subprocess.run(["tshark", "--version"], capture_output=True, text=True,
                             check=False).stdout.splitlines()[0]
    for path in args.captures:
        seen = frames(path)
        streams = sorted({layer["stream"] for f in seen for layer in f["layers"]
                          if layer["protocol"] == "tcp"})
        doc = {"capture": path.name, "tshark_version": version, "frames": seen,
               "table": table(path), "follow": follow(path, streams)}
        (args.out_dir / f"{path.name}.levels.json").write_text(json.dumps(doc, indent=1) + "\n")
        print(path.name, len(doc["frames"]), "frames,", len(doc["table"]), "table rows")


if __name__ == "__main__":
    main()
