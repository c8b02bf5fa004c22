"""Plain text (including crawler-saved pages with a 标题/发布时间 header)."""

from __future__ import annotations

import re

from services.extract.engine.document import Block, RawDocument
from services.extract.errors import UnsupportedFormat

_HEADER = re.compile(r"^(标题|发布时间|文号|发布机构|栏目|原文链接|本地目录)\s*[:：]\s*(.*)$")
_BODY_MARK = re.compile(r"^=+\s*正文\s*=+$")
_META_KEYS = {"标题": "title", "发布时间": "published", "原文链接": "source_url", "发布机构": "publisher"}


def decode(data: bytes) -> str:
    """Decode bytes of unknown encoding: BOMs, UTF-8, then charset-normalizer
    (which tells GB18030 from Big5 statistically, more reliably than trying
    codecs in turn)."""
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(enc, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    if best is None:
        raise UnsupportedFormat("text: the bytes decode as no known text encoding")
    enc = best.encoding
    if enc in ("gb2312", "gbk"):
        enc = "gb18030"
    return data.decode(enc, errors="replace")


def read(data: bytes) -> RawDocument:
    text = decode(data)
    if "\x00" in text[:4096]:
        raise UnsupportedFormat("text: binary content (NUL bytes) is not a text document")
    return read_str(text)


def read_str(text: str, fmt: str = "text") -> RawDocument:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    meta: dict[str, str] = {}
    body_start = 0
    if any(_BODY_MARK.match(x.strip()) for x in lines[:20]):
        for i, x in enumerate(lines[:20]):
            if _BODY_MARK.match(x.strip()):
                body_start = i + 1
                break
            m = _HEADER.match(x.strip())
            if m and m.group(1) in _META_KEYS and m.group(2).strip():
                meta[_META_KEYS[m.group(1)]] = m.group(2).strip()
    blocks = [Block(x) for x in lines[body_start:]]
    return RawDocument(blocks=blocks, format=fmt, meta=meta)
