"""Content types from magic bytes, and page encodings."""

from __future__ import annotations

import io
import zipfile

import pytest

from services.ingest import sniff
from services.ingest.sniff import decode_text


def _zip(*names: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name in names:
            z.writestr(name, "<x/>")
    return buf.getvalue()


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100


@pytest.mark.parametrize(
    ("content", "filename", "expected"),
    [
        (b"%PDF-1.7\n%\xe2\xe3", "a.html", sniff.PDF),  # the name lies, the bytes do not
        (b"\xef\xbb\xbf%PDF-1.4", None, sniff.PDF),
        (_zip("[Content_Types].xml", "word/document.xml"), "a.bin", sniff.DOCX),
        (_zip("[Content_Types].xml", "xl/workbook.xml"), None, sniff.XLSX),
        (_zip("other.txt"), None, sniff.ZIP),
        (OLE, "report.doc", sniff.DOC),
        (OLE, "report.wps", sniff.WPS),
        (OLE, "report.xls", sniff.XLS),
        (OLE + "WordDocument".encode("utf-16-le"), "download.jsp", sniff.DOC),
        (OLE, None, sniff.OLE),
        (b"{\\rtf1\\ansi", None, sniff.RTF),
        (b"  <!DOCTYPE html><html>", "a.pdf", sniff.HTML),
        (b"<html><head>", None, sniff.HTML),
        (b"<!-- c --><HTML>", None, sniff.HTML),
        ("政府信息公开工作年度报告".encode("gbk"), "a.txt", sniff.TEXT),
        ("政府信息公开工作年度报告".encode(), None, sniff.TEXT),
        (b"\x00\x01\x02\xff\xfe", None, sniff.BINARY),
        (b"", None, sniff.BINARY),
    ],
)
def test_sniff(content: bytes, filename: str | None, expected: str) -> None:
    assert sniff.sniff(content, filename) == expected


def test_decode_declared_meta_and_fallback() -> None:
    text = "<meta charset=gb2312>二〇二三年度報告"
    gbk = text.encode("gb18030")
    assert decode_text(gbk) == (text, "gb18030")  # meta says gb2312: read as its superset
    assert decode_text(gbk, declared="gbk")[1] == "gb18030"
    plain = "政府信息公开".encode("gbk")
    assert decode_text(plain) == ("政府信息公开", "gb18030")  # undeclared, not UTF-8
    assert decode_text("政府信息公开".encode()) == ("政府信息公开", "utf-8")
    assert decode_text(plain, forced="gbk") == ("政府信息公开", "gb18030")
    assert decode_text(b"a", declared="no-such-codec") == ("a", "utf-8")


def test_decode_clipped_multibyte_tail() -> None:
    body = "年度报告".encode()[:-1]
    text, encoding = decode_text(body)
    assert (text, encoding) == ("年度报", "utf-8")
