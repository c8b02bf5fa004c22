"""The LibreOffice a pooled extraction child keeps running (real LibreOffice,
real UNO): one per child, reused, the same figures as a LibreOffice per
document, replaced when it dies or hangs, without network, and nothing of
it left once the child is gone."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import reportgen

from services.extract.engine import extract
from services.extract.engine.bounded import ExtractorPool, Usage
from services.extract.engine.readers import doc, resident_office


@pytest.fixture(scope="module")
def doc_data() -> bytes:
    reason = resident_office.unavailable_reason()
    if reason is not None:
        pytest.fail(f"the resident LibreOffice must be tested, not skipped: {reason}")
    return reportgen.doc_bytes()


@pytest.fixture(scope="module")
def per_document_metrics(doc_data: bytes) -> dict:  # type: ignore[type-arg]
    """What a LibreOffice per document reads (this process has no resident)."""
    return extract(doc_data, filename="report.doc").metrics


@pytest.fixture
def pool() -> Iterator[ExtractorPool]:
    p = ExtractorPool(1, timeout_s=180, max_memory_mb=1024)
    p.start()
    yield p
    p.close()


def _stat(pid: int) -> list[str] | None:
    """Fields after the command name of /proc/<pid>/stat; None when gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else fields


def _members(group: int) -> dict[int, str]:
    """Live processes of a process group (a pool child's), by pid: their names."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat(int(entry))
        if fields is None or int(fields[2]) != group:
            continue
        try:
            with open(f"/proc/{entry}/comm") as f:
                found[int(entry)] = f.read().strip()
        except OSError:
            continue
    return found


def _offices(group: int) -> set[int]:
    """Live soffice.bin processes in a process group."""
    return {pid for pid, name in _members(group).items() if name == "soffice.bin"}


def _wait_until(cond: Callable[[], bool], timeout_s: float = 60) -> bool:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _only_child(pool: ExtractorPool) -> tuple[int, str]:
    (child,) = pool._idle  # type: ignore[misc]
    return child.proc.pid, child.scratch  # type: ignore[return-value]


def test_one_resident_converts_every_document_of_a_child(
    pool: ExtractorPool,
    doc_data: bytes,
    per_document_metrics: dict,  # type: ignore[type-arg]
) -> None:
    usage = Usage()
    assert pool.extract(doc_data, filename="a.doc", usage=usage).metrics == per_document_metrics
    child, _ = _only_child(pool)
    first = _offices(child)
    assert len(first) == 1
    # LibreOffice's CPU is the document's cost although nobody waits for the resident
    # (an idle resident may spend a little more after the document is done)
    (office,) = first
    assert usage.cpu_seconds is not None
    assert usage.cpu_seconds >= resident_office._tree_cpu_seconds(office) - 0.2
    assert pool.extract(doc_data, filename="b.doc").metrics == per_document_metrics
    assert _only_child(pool)[0] == child
    assert _offices(child) == first


def test_a_resident_over_its_memory_cap_is_restarted(
    doc_data: bytes,
    per_document_metrics: dict,  # type: ignore[type-arg]
) -> None:
    """Between documents the child measures its resident: under the cap it
    stays (the test above), over it it is stopped and the next DOC starts a
    fresh one, in the same child."""
    p = ExtractorPool(1, timeout_s=180, max_memory_mb=1024, office_max_rss_mb=4096)
    try:
        usage = Usage()
        assert p.extract(doc_data, filename="a.doc", usage=usage).metrics == per_document_metrics
        child, _ = _only_child(p)
        first = _offices(child)
        assert len(first) == 1
        # a running LibreOffice: well over 32 MB (~140 MB here), under the 4 GB cap
        assert usage.office_rss_mb is not None and usage.office_rss_mb > 32, usage
        p.close()
        p = ExtractorPool(1, timeout_s=180, max_memory_mb=1024, office_max_rss_mb=32)
        assert p.extract(doc_data, filename="a.doc", usage=usage).metrics == per_document_metrics
        child, _ = _only_child(p)
        assert usage.office_rss_mb is not None and usage.office_rss_mb > 32  # measured before the stop
        assert _wait_until(lambda: set(_members(child)) == {child})  # stopped, unshare and all
        assert p.extract(doc_data, filename="b.doc").metrics == per_document_metrics
        assert _only_child(p)[0] == child  # the child itself stays
    finally:
        p.close()


def _interfaces(pid: int) -> set[str]:
    with open(f"/proc/{pid}/net/dev") as f:
        return {line.split(":")[0].strip() for line in f.readlines()[2:]}


def test_the_resident_has_no_network(pool: ExtractorPool, doc_data: bytes) -> None:
    pool.extract(doc_data, filename="a.doc")
    child, _ = _only_child(pool)
    (office,) = _offices(child)
    assert os.readlink(f"/proc/{office}/ns/net") != os.readlink(f"/proc/{child}/ns/net")
    assert _interfaces(office) <= {"lo"}
    with open(f"/proc/{office}/net/route") as f:
        assert len(f.readlines()) <= 1  # the header only: no route anywhere


def test_a_resident_killed_between_documents_is_replaced(
    pool: ExtractorPool,
    doc_data: bytes,
    per_document_metrics: dict,  # type: ignore[type-arg]
) -> None:
    pool.extract(doc_data, filename="a.doc")
    child, _ = _only_child(pool)
    (killed,) = _offices(child)
    os.kill(killed, signal.SIGKILL)
    # the whole resident gone (its PID namespace's init, unshare), not only soffice.bin
    assert _wait_until(lambda: set(_members(child)) == {child})
    assert pool.extract(doc_data, filename="b.doc").metrics == per_document_metrics
    assert _only_child(pool)[0] == child
    replacement = _offices(child)
    assert len(replacement) == 1 and replacement != {killed}


def test_closing_the_pool_leaves_no_office_and_no_file(pool: ExtractorPool, doc_data: bytes) -> None:
    pool.extract(doc_data, filename="a.doc")
    child, scratch = _only_child(pool)
    offices = _offices(child)
    assert offices and os.path.exists(resident_office.pipe_path(scratch))
    pool.close()
    assert _wait_until(lambda: all(_stat(pid) is None for pid in offices))
    assert not os.path.exists(scratch)
    assert not os.path.exists(resident_office.pipe_path(scratch))


def test_a_killed_child_takes_its_resident_along(pool: ExtractorPool, doc_data: bytes) -> None:
    pool.extract(doc_data, filename="a.doc")
    child, scratch = _only_child(pool)
    offices = _offices(child)
    assert offices
    os.kill(child, signal.SIGKILL)  # the child alone, not its group: the resident dies with it
    assert _wait_until(lambda: all(_stat(pid) is None for pid in offices))
    pool.close()
    assert not os.path.exists(scratch)
    assert not os.path.exists(resident_office.pipe_path(scratch))


def test_a_hung_resident_is_killed_and_the_document_converted_without_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, doc_data: bytes
) -> None:
    """In this process (the pool's children cannot be given short limits)."""
    monkeypatch.setattr(resident_office, "CONVERT_TIMEOUT_S", 3.0)
    monkeypatch.setattr(resident_office, "CONNECT_WAIT_S", 1.0)
    scratch = str(tmp_path)
    resident_office.enable(scratch)
    try:
        expected = doc.convert_to_docx(doc_data, ".doc")  # starts the resident
        (hung,) = _offices(os.getpgrp())
        os.kill(hung, signal.SIGSTOP)
        try:
            converted = doc.convert_to_docx(doc_data, ".doc")  # by a LibreOffice of its own
        finally:
            if _stat(hung) is not None:
                os.kill(hung, signal.SIGCONT)
        assert _wait_until(lambda: _stat(hung) is None)
        assert extract(converted, filename="r.docx").metrics == extract(expected, filename="r.docx").metrics
        # a later document starts a new resident. The first one started on the
        # killed resident's profile has been seen to crash (SIGSEGV; its
        # document is then converted by a LibreOffice of its own): the next starts another
        replacements: set[int] = set()
        for _ in range(3):
            assert doc.convert_to_docx(doc_data, ".doc")
            replacements = _offices(os.getpgrp())
            if replacements:
                break
        assert len(replacements) == 1 and hung not in replacements
    finally:
        resident_office.close()
    assert _wait_until(lambda: not _offices(os.getpgrp()))
    assert not os.path.exists(resident_office.pipe_path(scratch))


def test_without_python3_uno_every_document_has_a_libreoffice_of_its_own(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, doc_data: bytes
) -> None:
    monkeypatch.setattr(resident_office, "SYSTEM_PYTHON", str(tmp_path / "no-python3"))
    resident_office.unavailable_reason.cache_clear()
    resident_office.enable(str(tmp_path))
    try:
        assert "cannot run" in (resident_office.unavailable_reason() or "")
        assert resident_office.convert(doc_data, ".doc") is None
        converted = doc.convert_to_docx(doc_data, ".doc")  # the per-document path
        assert not _offices(os.getpgrp())  # no resident was started
        assert extract(converted, filename="r.docx").metrics
    finally:
        resident_office.close()
        resident_office.unavailable_reason.cache_clear()
