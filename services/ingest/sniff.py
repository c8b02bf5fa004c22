"""What a body really is: media type from magic bytes (the server's
Content-Type is a hint at most; gov sites serve PDFs as text/html and
DOCX as application/octet-stream), and the text encoding of HTML pages
(GBK is still common and often undeclared)."""

from __future__ import annotations

import codecs
import re
import zipfile
from io import BytesIO

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
WPS = "application/vnd.ms-works"
OLE = "application/x-ole-storage"
ZIP = "application/zip"
RTF = "application/rtf"
HTML = "text/html"
TEXT = "text/plain"
BINARY = "application/octet-stream"

#: media types the extractor can read (what the monitor publishes)
DOCUMENT_TYPES = frozenset({PDF, DOCX, XLSX, DOC, XLS, WPS, RTF, HTML, TEXT})

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HTML_START = re.compile(
    rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title)\b", re.IGNORECASE | re.DOTALL
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_-]+)""", re.IGNORECASE)


def sniff(content: bytes, filename: str | None = None) -> str:
    """The media type of ``content`` by its magic bytes; ``filename`` only
    separates formats that share a container (OLE: doc / xls / wps)."""
    head = content[:2048]
    name = (filename or "").lower()
    if head.startswith(b"%PDF-") or b"%PDF-" in head[:1024]:
        return PDF
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(content)
    if head.startswith(_OLE_MAGIC):
        if name.endswith(".wps"):
            return WPS
        if name.endswith((".xls", ".et")) or b"W\x00o\x00r\x00k\x00b\x00o\x00o\x00k" in content[:65536]:
            return XLS
        if (
            name.endswith(".doc")
            or b"W\x00o\x00r\x00d\x00D\x00o\x00c\x00u\x00m\x00e\x00n\x00t" in content[:65536]
        ):
            return DOC
        return OLE
    if head.startswith(b"{\\rtf"):
        return RTF
    if _HTML_START.match(head.lstrip(codecs.BOM_UTF8)):
        return HTML
    if _looks_textual(head):
        return TEXT
    return BINARY


def _zip_kind(content: bytes) -> str:
    try:
        names = zipfile.ZipFile(BytesIO(content)).namelist()
    except (zipfile.BadZipFile, ValueError):
        return ZIP
    if any(n.startswith("word/") for n in names):
        return DOCX
    if any(n.startswith("xl/") for n in names):
        return XLSX
    return ZIP


def _looks_textual(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    return decode_text(head)[1] is not None


def decode_text(
    body: bytes, declared: str | None = None, forced: str | None = None
) -> tuple[str, str | None]:
    """Decode a text or HTML body; returns ``(text, encoding)``. Order: the
    registry's forced encoding, the HTTP charset, a ``<meta charset>``, a BOM,
    strict UTF-8, then GB18030 (a superset of GBK and GB2312). ``encoding`` is
    None when nothing decoded cleanly (the text is then UTF-8 with
    replacement characters)."""
    candidates: list[str] = []
    if forced:
        candidates.append(forced)
    if declared:
        candidates.append(declared)
    meta = _META_CHARSET.search(body[:4096])
    if meta:
        candidates.append(meta.group(1).decode("ascii", "ignore"))
    if body.startswith(codecs.BOM_UTF8):
        candidates.insert(0, "utf-8-sig")
    candidates += ["utf-8", "gb18030"]
    for name in candidates:
        encoding = _normalise_encoding(name)
        if encoding is None:
            continue
        try:
            # a clipped head may end inside a multi-byte character
            return body.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            if exc.start >= len(body) - 3 and exc.reason.startswith(("unexpected end", "incomplete")):
                return body[: exc.start].decode(encoding), encoding
            continue
    return body.decode("utf-8", "replace"), None


def _normalise_encoding(name: str) -> str | None:
    try:
        codec = codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None
    # pages labelled gb2312/gbk routinely contain GB18030-only characters
    return "gb18030" if codec in {"gb2312", "gbk"} else codec
