"""HTML pages (GBK/GB2312/UTF-8) with real tables, rowspans and colspans.

BeautifulSoup with lxml is used because government pages are rarely valid
HTML (unclosed <td>, nested <font>, Word-exported markup) and lxml's parser
repairs them the way browsers do.
"""

from __future__ import annotations

import re

from services.extract.engine.document import Block, RawDocument
from services.extract.engine.readers.limits import check_html_table_nesting
from services.extract.engine.readers.text import decode
from services.extract.errors import CorruptDocument

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.I)
_BLOCK_TAGS = {"p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "tr", "section", "article", "title"}


def _decode(data: bytes) -> str:
    m = _CHARSET.search(data[:4096])
    if m:
        enc = m.group(1).decode("ascii", "ignore").lower()
        if enc in ("gb2312", "gbk", "gb_2312-80"):
            enc = "gb18030"
        try:
            return data.decode(enc)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode(data)


def read(data: bytes) -> RawDocument:
    from bs4 import BeautifulSoup, Comment

    text = _decode(data)
    check_html_table_nesting(text)
    try:
        soup = BeautifulSoup(text, "lxml")
    except Exception as e:  # lxml raises assorted errors on binary garbage
        raise CorruptDocument(f"html: cannot parse: {e}") from e
    page_title = soup.title.get_text(" ").strip() if soup.title is not None else ""
    for t in soup(["script", "style", "noscript", "head", "title"]):
        t.decompose()
    for c in soup.find_all(string=lambda s: isinstance(s, Comment)):
        c.extract()
    blocks: list[Block] = []
    meta: dict[str, str] = {"page_title": page_title} if page_title else {}
    table_no = 0
    body = soup.body or soup

    def walk(node) -> None:  # type: ignore[no-untyped-def]
        nonlocal table_no
        buf: list[str] = []

        def flush() -> None:
            s = "".join(buf).strip()
            if s:
                for line in s.split("\n"):
                    if line.strip():
                        blocks.append(Block(line.strip()))
            buf.clear()

        for child in node.children:
            name = getattr(child, "name", None)
            if name is None:
                buf.append(str(child))
            elif name == "table":
                flush()
                if child.find("table") is not None:
                    # a layout table wrapping the article: its cells are containers
                    for td in child.find_all(["td", "th"]):
                        if td.find_parent("table") is child:
                            walk(td)
                            flush()
                else:
                    _table(child, table_no, blocks)
                    table_no += 1
            elif name == "br":
                buf.append("\n")
            elif name in _BLOCK_TAGS:
                flush()
                walk(child)
                flush()
            else:
                if child.find("table") is not None or child.find(_BLOCK_TAGS) is not None:
                    flush()
                    walk(child)
                    flush()
                else:
                    buf.append(child.get_text())
        flush()

    walk(body)
    return RawDocument(blocks=blocks, format="html", meta=meta)


def _table(table, number: int, blocks: list[Block]) -> None:  # type: ignore[no-untyped-def]
    """Emit each cell once, with its grid column after rowspans/colspans."""
    occupied: dict[tuple[int, int], bool] = {}
    rows = [tr for tr in table.find_all("tr") if tr.find_parent("table") is table]
    for r, tr in enumerate(rows):
        cells = [td for td in tr.find_all(["td", "th"]) if td.find_parent("tr") is tr]
        c = 0
        out: list[Block] = []
        for td in cells:
            while occupied.get((r, c)):
                c += 1
            try:
                rs = max(1, min(int(td.get("rowspan", 1) or 1), 500))
                cs = max(1, min(int(td.get("colspan", 1) or 1), 100))
            except ValueError:
                rs = cs = 1
            for dr in range(rs):
                for dc in range(cs):
                    occupied[(r + dr, c + dc)] = True
            inner = td.find_all("table")
            txt = " ".join(td.get_text(" ").split()) if not inner else " ".join(
                s for s in td.find_all(string=True) if s.strip())
            out.append(Block(txt, table=number, row=r, col=c))
            c += cs
        if out:
            last = out[-1]
            out[-1] = Block(last.text, table=last.table, row=last.row, col=last.col, row_end=True)
            blocks.extend(out)
