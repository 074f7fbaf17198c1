"""Builds ``resources/sample.pcapng``, the capture Flowscope opens when started without a file.

Interface 0 carries every frame of ``sample-wikipedia.pcap`` (a real browser session from zeek's
test traces: TCP, UDP and ARP); interface 1 carries 300 generated Z-Wave TAP frames (no public
Z-Wave capture exists; see ``engine/zwave/synth.py``) timed to overlap the browsing, so a new
user sees IP and Z-Wave conversations side by side. Run from the repository root:

    python resources/make_sample.py
"""

from __future__ import annotations

from pathlib import Path

from engine import FlowConfig
from engine.capture import linktypes as lt
from engine.capture import open_capture
from engine.zwave.synth import generate, write_capture

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "sample-wikipedia.pcap"
TARGET = HERE / "sample.pcapng"
ZWAVE_FRAMES = 300


def ethernet_frames(path: Path) -> list[tuple[int, bytes]]:
    """(timestamp ns, frame bytes) of every record of ``path``, in file order."""
    frames = []
    with open_capture(path, FlowConfig()) as reader:
        for chunk in reader.chunks(prefetch=False):
            for k in range(len(chunk)):
                start = int(chunk.data_off[k])
                frames.append((int(chunk.ts_ns[k]),
                               chunk.buf[start : start + int(chunk.caplen[k])].tobytes()))
    return frames


def main() -> None:
    ethernet = ethernet_frames(SOURCE)
    radio = generate(lt.ZWAVE_TAP, ZWAVE_FRAMES, seed=7, bad_checksums=2, damaged=1,
                     start_ns=ethernet[0][0])
    count = write_capture(TARGET, lt.ZWAVE_TAP, radio, pcapng=True, ethernet=ethernet)
    print(f"wrote {TARGET} ({count} records: {len(ethernet)} Ethernet, {ZWAVE_FRAMES} Z-Wave)")


if __name__ == "__main__":
    main()
