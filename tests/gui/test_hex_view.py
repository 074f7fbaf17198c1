"""The hex dump layout of the packets pane, without widgets."""

from __future__ import annotations

from gui.panes.packets.hex_view import ASCII_AT, dump_lines, hex_column


def test_hex_dump_lines_and_columns() -> None:
    lines = dump_lines(bytes(range(0x41, 0x41 + 20)))
    assert lines[0] == ("0000  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  "
                        "ABCDEFGHIJKLMNOP")
    assert lines[1].startswith("0010  51 52 53 54") and lines[1].endswith(" QRST")
    assert lines[1].index("QRST") == ASCII_AT
    assert lines[0][hex_column(9): hex_column(9) + 2] == "4a"
    assert dump_lines(b"") == []
