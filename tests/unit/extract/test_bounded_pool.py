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


def test_the_first_children_retire_staggered_and_their_successors_serve_the_full_count() -> None:
    """Children that reached max_documents together would restart (with
    their resident LibreOffices) at the same moment on every core."""
    p = ExtractorPool(2, timeout_s=60, max_memory_mb=1024, max_documents=4)
    try:
        data = reportgen.flattened_text().encode()
        p.start()
        retiring_first = min(p._idle, key=lambda c: c.max_documents)  # type: ignore[misc]
        p._idle.remove(retiring_first)  # type: ignore[misc]
        p._idle.append(retiring_first)  # type: ignore[misc]  # the next one taken
        pid = retiring_first.proc.pid
        p.extract(data, filename="a.txt")
        assert pid in _children(p)
        p.extract(data, filename="a.txt")
        assert pid not in _children(p)  # retired after 2 of the 4 documents
        assert p.replaced["max_documents"] == 1
        assert len(_children(p)) == 1  # the other child still serves
        assert [c.max_documents for c in p._idle] == [4]  # type: ignore[misc]
        successor = p._new_child()  # what the pool forks when both are busy
        try:
            assert successor.max_documents == 4
        finally:
            successor.close()
    finally:
        p.close()


def test_a_child_over_its_memory_cap_is_replaced_and_one_under_it_reused() -> None:
    """The cap is checked against the size the child reports after each
    document (its garbage collected, free memory handed back)."""
    p = ExtractorPool(1, timeout_s=60, max_memory_mb=1024, child_max_rss_mb=4096)
    data = reportgen.flattened_text().encode()
    try:
        p.start()
        (first,) = _children(p)
        usage = Usage()
        p.extract(data, filename="a.txt", usage=usage)
        assert usage.rss_mb is not None and usage.peak_rss_mb is not None
        # a live interpreter with the readers imported: tens of MB, never more than its peak
        assert 20 < usage.rss_mb <= usage.peak_rss_mb + 1, usage
        assert _children(p) == {first}
        p.child_max_rss_mb = int(usage.rss_mb) + 32  # under the cap: the same child again
        p.extract(data, filename="a.txt", usage=usage)
        assert _children(p) == {first}
        assert not p.replaced
        p.child_max_rss_mb = int(usage.rss_mb) // 2  # over it: replaced after this document
        p.extract(data, filename="a.txt", usage=usage)
        assert _children(p) == set()
        assert p.replaced == {"rss_cap": 1}
        assert _wait_gone(first)
        p.child_max_rss_mb = 4096
        p.extract(data, filename="a.txt")  # in a fresh child, which stays
        (second,) = _children(p)
        assert second != first
    finally:
        p.close()


def _wait_gone(pid: int, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_large_document_does_not_stay_in_the_child() -> None:
    """After a document many times the usual size, the child reports (and
    keeps) about its size before it, not the document's peak. An HTML page's
    parsed tree is a web of reference cycles (parent and child links) that
    only the garbage collector frees: without a collection after the
    document, the child stayed at ~190 MB after a 2 MB page instead of ~60."""
    p = ExtractorPool(1, timeout_s=120, max_memory_mb=1536)
    small = reportgen.html_gbk()
    end = small.rfind(b"</body>")
    large = small[:end] + b"<div><p><span>x</span></p></div>" * 60_000 + small[end:]
    try:
        before, during, after = Usage(), Usage(), Usage()
        p.extract(small, filename="a.html", usage=before)
        p.extract(large, filename="b.html", usage=during)
        p.extract(small, filename="a.html", usage=after)
        assert before.rss_mb and during.peak_rss_mb and during.rss_mb and after.rss_mb
        assert during.peak_rss_mb - before.rss_mb > 20, (before, during)  # the document did cost memory
        # most of it handed back (a few MB stay: caches of the readers warmed by the document)
        assert during.rss_mb - before.rss_mb < (during.peak_rss_mb - before.rss_mb) / 2, (before, during)
        assert after.rss_mb - before.rss_mb < (during.peak_rss_mb - before.rss_mb) / 2, (before, after)
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
