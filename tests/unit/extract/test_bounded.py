"""Corrupt and hostile inputs give a clear typed error within bounded time
and memory."""

from __future__ import annotations

import io
import os
import time
import zipfile

import pytest
import reportgen

from services.extract import errors
from services.extract.engine import extract, extract_bounded


def test_truncated_pdf_is_typed(corpus) -> None:  # type: ignore[no-untyped-def]
    data = (corpus / "dev" / "dev-12.pdf").read_bytes()
    for cut in (100, 2000, len(data) // 2):
        t = time.monotonic()
        try:
            r = extract_bounded(data[:cut], filename="t.pdf", timeout_s=30)
        except errors.ExtractError as e:
            assert isinstance(e, (errors.CorruptDocument, errors.UnsupportedFormat)), e
            assert "pdf" in str(e).lower()
        else:
            assert r.metrics == {} or r.template.value != "none"
        assert time.monotonic() - t < 30


def test_zip_bomb_docx() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w") as f:
            chunk = b"\0" * (1 << 20)
            for _ in range(64):
                f.write(chunk)
    data = buf.getvalue()
    assert len(data) < 1 << 20
    with pytest.raises(errors.DocumentTooLarge, match=r"decompression bomb|limit"):
        extract_bounded(data, filename="bomb.docx", timeout_s=30, max_memory_mb=512)


def test_fifty_megabytes_of_noise() -> None:
    data = os.urandom(50 * 1024 * 1024)
    t = time.monotonic()
    with pytest.raises(errors.ExtractError) as ei:
        extract_bounded(data, filename="noise.pdf", timeout_s=30, max_memory_mb=1024)
    assert isinstance(ei.value, (errors.UnsupportedFormat, errors.CorruptDocument))
    assert time.monotonic() - t < 30


def test_timeout_is_typed() -> None:
    with pytest.raises(errors.ExtractionTimeout, match="longer than"):
        extract_bounded(reportgen.pdf_bytes(), filename="r.pdf", timeout_s=0.01)


def test_memory_limit_is_typed() -> None:
    with pytest.raises(errors.ExtractionMemoryExceeded):
        extract_bounded(reportgen.pdf_bytes(), filename="r.pdf", max_memory_mb=16, timeout_s=30)


def test_bounded_gives_the_same_report_as_unbounded() -> None:
    data = reportgen.flattened_text().encode()
    a = extract(data, filename="a.txt")
    b = extract_bounded(data, filename="a.txt")
    assert a.metrics == b.metrics and a.checks == b.checks and a.report_id == b.report_id


def test_converter_missing_is_typed(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(errors.ConversionFailed, match="LibreOffice"):
        extract(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, filename="a.wps")


def test_junk_ole_file_is_typed_or_none() -> None:
    junk = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(4096)
    try:
        r = extract_bounded(junk, filename="junk.doc", timeout_s=120)
    except errors.ExtractError as e:
        assert str(e)
    else:
        assert r.template.value == "none" and not any(k.startswith("applications") for k in r.metrics)
