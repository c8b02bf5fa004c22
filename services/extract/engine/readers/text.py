"""Plain text (including crawler-saved pages with a 标题/发布时间 header).

Tables in text come in two shapes. Without separators (one cell per line, or
cells run together) they stay paragraphs and the table parsers read the
figures after each label. With explicit separators — Markdown rows
(``| 本年新收… | 25 | 1 | … |``, with or without the ``|---|`` rule), rows
copied from a spreadsheet (tabs), CSV-like rows (``,`` or ``，``) — the cells
are known, so they become table cells exactly as an HTML table's would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
            return data[len(bom) :].decode(enc, errors="replace")
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
    return RawDocument(blocks=_blocks(lines[body_start:]), format=fmt, meta=meta)


# ------------------------------------------------------------------ rows with separators

_PIPES = "|｜"
_SEPARATORS = ("|", "\t", ",", "，")  # in order of preference when a line has several
# a Markdown rule (|---|:--:|), or a border of a grid table (+----+====+) as pandoc writes it
_RULE_LINE = re.compile(r"^[|｜]?\s*:?-{2,}:?\s*(?:[|｜]\s*:?-{2,}:?\s*)*[|｜]?$|^\+[-=:+]{3,}\+?$")
_NUMERIC_FIELD = re.compile(r"^[+-]?\d+(?:\.\d+)?$|^[/—－–-]$")
_SENTENCE = re.compile(r"[。；;]")
_MARKUP = re.compile(r"<br\s*/?>|\*\*|__", re.IGNORECASE)
_MAX_FIELD = 60  # a table cell, not a clause of prose


@dataclass
class _Row:
    line_no: int
    sep: str
    fields: list[str]


def _split(line: str, sep: str) -> list[str]:
    """Fields of ``line`` split at ``sep``; a comma inside a closed bracket is
    part of the cell (the label （区分处理的，只计这一情形，不计其他情形） keeps its
    commas), and so is a comma inside quotes."""
    if sep == "|":
        line = line.replace("｜", "|").replace("\\|", "\x00")
    inside = _bracketed(line) if sep in ",，" else set()
    quotes = sep in ",，" and '"' in line
    if not quotes:  # cut at each separator outside brackets (a plain split when there are none)
        cuts = (
            [m.start() for m in re.finditer(re.escape(sep), line) if m.start() not in inside]
            if inside
            else None
        )
        if cuts is None:
            fields = line.split(sep)
        else:
            fields = [line[a + 1 : b] for a, b in zip([-1, *cuts], [*cuts, len(line)], strict=False)]
    else:
        fields = []
        quoted = False
        cur: list[str] = []
        for i, ch in enumerate(line):
            if ch == '"' and quotes:
                quoted = not quoted
                continue
            if ch == sep and i not in inside and not quoted:
                fields.append("".join(cur))
                cur = []
            else:
                cur.append(ch)
        fields.append("".join(cur))
    if sep == "|":  # leading and trailing pipes enclose the row
        if fields and not fields[0].strip():
            fields = fields[1:]
        if fields and not fields[-1].strip():
            fields = fields[:-1]
    return [_MARKUP.sub("", f.replace("\x00", "|")).strip() for f in fields]


_BRACKET = re.compile(r"[（()）]")


def _bracketed(line: str) -> set[int]:
    """Positions inside a closed （…） pair; a bracket a line break left open
    ("（二）部分公开（区分处理的，只") encloses nothing."""
    out: set[int] = set()
    if "（" not in line and "(" not in line:
        return out
    stack: list[int] = []
    for m in _BRACKET.finditer(line):
        i, ch = m.start(), m.group()
        if ch in "（(":
            stack.append(i)
        elif ch in "）)" and stack:
            start = stack.pop()
            if not stack:
                out.update(range(start, i))
    return out


def _as_row(line_no: int, line: str, prefer: str | None = None) -> _Row | None:
    """The line as a row of cells, when a separator makes it one (the
    separator of the row above first: a table keeps its separator)."""
    stripped = line.strip()
    if not stripped:
        return None
    for sep in ((prefer,) if prefer else ()) + _SEPARATORS:
        if sep == "|":
            if sum(stripped.count(p) for p in _PIPES) < 2:
                continue
        elif sep not in stripped:
            continue
        fields = _split(line.rstrip("\n") if sep == "\t" else stripped, sep)
        if sep == "\t":  # leading tabs indent a line; they are cells only between other cells
            while fields and not fields[0]:
                fields.pop(0)
        filled = [f for f in fields if f]
        if prefer == sep:  # inside a table any line its separator splits is a row ("| | 1234 | |")
            if len(fields) < 2:
                continue
        # else two filled cells, or a label-only row of a wider table ("三、本年度办理结果,,,,,,,")
        elif not filled or (len(filled) < 2 and len(fields) < 3):
            continue
        if any(len(f) > _MAX_FIELD or _SENTENCE.search(f) for f in filled):
            continue
        return _Row(line_no, sep, fields)
    return None


def _numeric(row: _Row) -> int:
    return sum(1 for f in row.fields if _NUMERIC_FIELD.match(f))


def _is_table(rows: list[_Row], ruled: bool) -> bool:
    """Is this run of rows a table? Pipes and tabs are explicit; commas also
    punctuate prose, so a comma table needs two rows of figures."""
    sep = rows[0].sep
    if sep in "|\t":
        return ruled or len(rows) >= 2 or _numeric(rows[0]) >= 1
    return sum(1 for r in rows if _numeric(r) >= 2) >= 2


def _blocks(lines: list[str]) -> list[Block]:
    """Paragraph blocks, except runs of separated rows, which become cells."""
    rows: dict[int, _Row] = {}
    i = 0
    while i < len(lines):
        first = _as_row(i, lines[i])
        if first is None:
            i += 1
            continue
        run = [first]
        ruled = False
        j = i + 1
        while j < len(lines):
            if first.sep == "|" and _RULE_LINE.match(lines[j].strip()):
                ruled = True
                j += 1
                continue
            nxt = _as_row(j, lines[j], prefer=first.sep)
            if nxt is None or nxt.sep != first.sep:
                break
            run.append(nxt)
            j += 1
        if _is_table(run, ruled):
            rows.update((r.line_no, r) for r in run)
        i = j
    blocks: list[Block] = []
    table = -1
    row_no = 0
    prev_line = -2
    for n, line in enumerate(lines):
        row = rows.get(n)
        if row is None:
            if not (_RULE_LINE.match(line.strip()) and prev_line == n - 1):
                blocks.append(Block(line))
            else:
                prev_line = n  # a Markdown rule inside the table
            continue
        if prev_line != n - 1:
            table += 1
            row_no = 0
        for col, cell in enumerate(row.fields):
            blocks.append(Block(cell, table=table, row=row_no, col=col, row_end=col == len(row.fields) - 1))
        row_no += 1
        prev_line = n
    return blocks
