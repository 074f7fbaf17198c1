"""The JSON document written by two processes (:mod:`engine.export.shared_write`) is the one
written by one, whatever the output; a child that fails leaves its part to this process."""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import WIRESHARK
from engine.export import conversations as conversations_export
from engine.export.conversations import write_json
from engine.parallel.halves import may_fork
from engine.pipeline import analyse_file
from engine.result import FlowResult

from ..conftest import DATA

pytestmark = pytest.mark.skipif(not may_fork(1), reason="no fork here: one process writes")


@pytest.fixture(scope="module")
def result() -> Iterator[FlowResult]:
    with analyse_file(DATA / "app" / "ndpi-wechat.pcap", WIRESHARK) as r:
        assert len(r.conversations) > 20
        yield r


def _alone(result: FlowResult) -> str:
    out = io.StringIO()
    write_json(result, out)  # fewer rows than SHARED_WRITE: one process
    return out.getvalue()


@pytest.fixture
def made_here(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Shares every document from two rows on; counts the ends made by this process (a child
    counts in its own copy)."""
    monkeypatch.setattr(conversations_export, "SHARED_WRITE", 2)
    calls: list[int] = []
    real = conversations_export._records_text

    def counted(*args: object) -> str:
        calls.append(os.getpid())
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(conversations_export, "_records_text", counted)
    return calls


def _through_pipe(result: FlowResult) -> str:
    read_end, write_end = os.pipe()
    got = bytearray()

    def drain() -> None:
        with open(read_end, "rb", buffering=0) as r:
            while True:
                piece = r.read(4096)
                if not piece:
                    break
                got.extend(piece)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        with open(write_end, "w", encoding="utf-8") as out:
            write_json(result, out)
    finally:
        reader.join()
    return got.decode()


def test_a_file_a_pipe_and_a_string_get_the_same_document(result: FlowResult, made_here,
                                                          tmp_path: Path) -> None:
    whole = _alone(result)
    out = io.StringIO()
    write_json(result, out)
    assert out.getvalue() == whole
    path = tmp_path / "conversations.json"
    with path.open("w", encoding="utf-8") as f:
        write_json(result, f)
    assert path.read_text(encoding="utf-8") == whole
    assert _through_pipe(result) == whole
    assert made_here == []  # every end came from a child


def test_a_child_that_fails_leaves_its_half_here(result: FlowResult, made_here,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    whole = _alone(result)
    parent = os.getpid()
    real = conversations_export._records_text

    def failing_in_child(*args: object) -> str:
        if os.getpid() != parent:
            raise MemoryError("the child ran out")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(conversations_export, "_records_text", failing_in_child)
    path = tmp_path / "conversations.json"
    with path.open("w", encoding="utf-8") as f:
        write_json(result, f)
    assert path.read_text(encoding="utf-8") == whole
    out = io.StringIO()
    write_json(result, out)
    assert out.getvalue() == whole


def test_a_reader_that_goes_away_is_an_error_here(result: FlowResult, made_here) -> None:
    """The pipe's reader (another process, as for ``| head``) leaves during the child's part:
    the child's write fails part-way and ``write_json`` raises it here (EPIPE), as it would
    have if this process wrote everything."""
    whole = len(_alone(result).encode())
    head = subprocess.Popen(["head", "-c", str(whole * 3 // 4)], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL)
    assert head.stdin is not None
    fcntl.fcntl(head.stdin.fileno(), fcntl.F_SETPIPE_SZ, 4096)  # the child's part won't fit
    assert whole // 4 > 4096
    out = io.TextIOWrapper(head.stdin, encoding="utf-8")
    try:
        with pytest.raises(BrokenPipeError):
            write_json(result, out)
    finally:
        with contextlib.suppress(OSError):
            out.close()
    assert head.wait(timeout=30) == 0
