"""The extract worker's pool of reused bounded children: the same reports as
one child per document, several at once, children reused, a child that hit
a limit replaced, nothing left behind."""

from __future__ import annotations

import os
import threading
import time

import pytest
import reportgen

from services.extract import errors
from services.extract.engine import extract
from services.extract.engine.bounded import ExtractorPool, Usage


def _children(pool: ExtractorPool) -> set[int]:
    return {c.proc.pid for c in pool._idle}  # type: ignore[misc]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def pool():  # type: ignore[no-untyped-def]
    p = ExtractorPool(2, timeout_s=60, max_memory_mb=1024)
    p.start()
    yield p
    p.close()


def test_same_report_as_in_process_and_children_are_reused(pool: ExtractorPool) -> None:
    data = reportgen.flattened_text().encode()
    started = _children(pool)
    assert len(started) == 2
    for _ in range(4):
        usage = Usage()
        report = pool.extract(data, filename="a.txt", usage=usage)
        assert report.metrics == extract(data, filename="a.txt").metrics
        assert usage.cpu_seconds is not None and usage.cpu_seconds > 0
    assert _children(pool) == started


def test_two_documents_run_at_once() -> None:
    """Two documents that each outlast a 2 s limit: one after the other they
    would take 4 s; side by side, about 2."""
    # ~10 s of CPU on this machine (x400 took 2.5 s: a faster CPU finished it within the limit)
    slow_text = (reportgen.flattened_text() * 1600).encode()
    p = ExtractorPool(2, timeout_s=2, max_memory_mb=1024)
    p.start()
    outcomes: list[str] = []

    def one() -> None:
        try:
            p.extract(slow_text, filename="long.txt")
            outcomes.append("done")
        except errors.ExtractionTimeout:
            outcomes.append("timeout")

    try:
        t0 = time.monotonic()
        threads = [threading.Thread(target=one) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - t0
    finally:
        p.close()
    assert outcomes == ["timeout", "timeout"]
    assert wall < 3.5, wall


def test_timeout_replaces_the_child(pool: ExtractorPool) -> None:
    pool.timeout_s = 0.01
    before = _children(pool)
    with pytest.raises(errors.ExtractionTimeout, match="longer than"):
        pool.extract(reportgen.pdf_bytes(), filename="r.pdf")
    pool.timeout_s = 60
    killed = before - _children(pool)
    assert len(killed) == 1
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in killed) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in killed)
    # the pool goes on with a fresh child
    data = reportgen.flattened_text().encode()
    assert pool.extract(data, filename="a.txt").metrics
    assert pool.extract(data, filename="a.txt").metrics


def test_memory_limit_is_typed_and_the_child_replaced() -> None:
    small = ExtractorPool(1, timeout_s=30, max_memory_mb=16)
    try:
        with pytest.raises(errors.ExtractionMemoryExceeded):
            small.extract(reportgen.pdf_bytes(), filename="r.pdf")
        assert _children(small) == set()
        small.max_memory_mb = 1024
        assert small.extract(reportgen.flattened_text().encode(), filename="a.txt").metrics
    finally:
        small.close()


def test_children_are_recycled_after_max_documents() -> None:
    p = ExtractorPool(1, timeout_s=60, max_memory_mb=1024, max_documents=2)
    try:
        data = reportgen.flattened_text().encode()
        p.start()
        first = _children(p)
        p.extract(data, filename="a.txt")
        assert _children(p) == first
        p.extract(data, filename="a.txt")
        assert _children(p) == set()  # retired after its second document
    finally:
        p.close()


def test_close_leaves_no_process_and_no_file() -> None:
    p = ExtractorPool(2, timeout_s=60, max_memory_mb=1024)
    p.start()
    p.extract(reportgen.flattened_text().encode(), filename="a.txt")
    children = [(c.proc.pid, c.scratch) for c in p._idle]  # type: ignore[misc]
    p.close()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid, _ in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid, _ in children)
    assert not any(os.path.exists(scratch) for _, scratch in children)
    with pytest.raises(RuntimeError, match="closed"):
        p.extract(b"x", filename="a.txt")
