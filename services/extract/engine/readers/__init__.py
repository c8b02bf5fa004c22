"""Readers: one per format, each ``read(data: bytes) -> RawDocument``.

:func:`sniff` decides the format from the bytes (magic numbers first, then
the filename / content type as hints), so a mislabelled attachment is still
read with the right reader.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

from services.extract.engine.document import RawDocument
from services.extract.errors import UnsupportedFormat

Reader = Callable[[bytes], RawDocument]


def _registry() -> dict[str, Reader]:
    from services.extract.engine.readers import doc, docx, html, pdf, text

    return {
        "pdf": pdf.read,
        "docx": docx.read,
        "doc": doc.read_doc,
        "wps": doc.read_wps,
        "rtf": doc.read_rtf,
        "html": html.read,
        "text": text.read,
    }


_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def sniff(data: bytes, filename: str | None = None, content_type: str | None = None) -> str:
    """The reader name for these bytes."""
    name = (filename or "").lower()
    ctype = (content_type or "").lower()
    if not data:
        raise UnsupportedFormat("empty document (0 bytes)")
    head = data[:2048]
    if head.lstrip()[:5] == b"%PDF-" or b"%PDF-" in data[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = set(zf.namelist())
        except (zipfile.BadZipFile, OSError, ValueError) as e:
            from services.extract.errors import CorruptDocument

            raise CorruptDocument(f"zip container is damaged: {e}") from e
        if "word/document.xml" in names:
            return "docx"
        raise UnsupportedFormat(f"zip archive without word/document.xml ({len(names)} entries): not a DOCX")
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith(_OLE):
        return "wps" if name.endswith(".wps") or "wps" in ctype else "doc"
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnsupportedFormat(f"binary data of unknown format (first bytes {head[:8].hex()})")
    low = head.lower()
    if (
        name.endswith((".html", ".htm", ".shtml"))
        or "html" in ctype
        or b"<html" in low
        or b"<!doctype html" in low
        or (b"<table" in data[:200_000].lower() and b"</t" in data[:200_000].lower())
    ):
        return "html"
    return "text"


def read(data: bytes, filename: str | None = None, content_type: str | None = None) -> RawDocument:
    fmt = sniff(data, filename, content_type)
    return _registry()[fmt](data)
