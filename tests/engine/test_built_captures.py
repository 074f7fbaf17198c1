"""The captures built for issue 10 are what their generator writes, byte for byte, so the tshark
answers recorded for them (tests/data/built/oracle) describe exactly what the tests read."""

from __future__ import annotations

import pytest

from tests.data.built.make_captures import CAPTURES, LINKTYPES, capture_bytes

from .built import BUILT


@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_committed_capture_is_the_generated_one(name: str) -> None:
    built = capture_bytes(CAPTURES[name](), LINKTYPES.get(name, 1))
    assert (BUILT / name).read_bytes() == built
    assert (BUILT / "oracle" / f"{name}.json").exists()
