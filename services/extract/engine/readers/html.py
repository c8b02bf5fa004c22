"""HTML pages (GBK/GB2312/UTF-8) with real tables, rowspans and colspans.

lxml's HTML parser (libxml2) is used because government pages are rarely
valid HTML (unclosed <td>, nested <font>, Word-exported markup) and it
repairs them the way browsers do. Its events (start, end, text, comment,
processing instruction, doctype) build a small tree of :class:`_Element`
(:class:`_TreeBuilder`), the tree BeautifulSoup used to build from the same
events, at a fraction of its cost (BeautifulSoup's tree and its ``find_all``
filters were three quarters of an HTML report's time): the same recovery of
broken markup, the same end-tag rule, the same text.

Text is laid out as a browser shows it (:func:`_layout`): inline elements
(``span``, ``font``, ``b``, ``a``, ``o:p``, ...) join with nothing added,
because word processors split a run of text wherever its formatting or
revision history changes, often inside a number (``<span>2</span><span>0</span>``
is "20" on screen). Only block elements, ``<br>``, source whitespace and
``&nbsp;`` separate words; the same rule holds for prose, cells and titles.

A page's information-index table (索引号 / 名称 / 发布机构 / 发文日期 ...) is
page chrome: it is read as key-value pairs into the document's metadata,
never as report text (its label cells would otherwise be glued to their
values, e.g. an agency "名称某某县发展和改革局").
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterator

from ogi.vocabulary import is_annual_report
from services.extract.engine.document import Block, RawDocument
from services.extract.engine.readers.limits import check_html_table_nesting
from services.extract.engine.readers.text import decode
from services.extract.errors import CorruptDocument

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.IGNORECASE)
# Elements a browser lays out as blocks (a line break before and after);
# every other element is inline and adds nothing between its neighbours.
_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "caption",
        "center",
        "dd",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "html",
        "legend",
        "li",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "title",
        "tr",
        "ul",
        "option",
        "optgroup",
    }
)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden|mso-hide\s*:\s*all", re.IGNORECASE)
_LINE_BREAK = "\u2029"  # marks a block edge or <br> while the text is assembled (never in page text)
_SOURCE_WHITESPACE = re.compile(r"[ \t\n\r\f]+")  # HTML's collapsible whitespace; &nbsp; is not in it
_SPACE_OR_BREAK = re.compile("[ \t\n\r\f\xa0" + _LINE_BREAK + "]")  # what _collapse changes


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


# ------------------------------------------------------------------ tree

# Tags whose text BeautifulSoup typed as other than page text (ruby
# annotations, templates, scripts, styles): a <pre>'s text leaves it out.
_ASIDE_TAGS = frozenset({"rt", "rp", "style", "script", "template"})
# Not page content: removed from the tree once the title has been read.
_REMOVED_TAGS = frozenset({"script", "style", "noscript", "head", "title"})


class _Aside(str):
    """A string of the tree that is not running text: a processing
    instruction, a doctype, or text inside one of :data:`_ASIDE_TAGS`. It is
    laid out like any text (as before), but not part of a ``<pre>``'s text."""


class _Element:
    """An element: its name, attributes, children (elements and strings in
    document order) and parent (None for the root and a removed element)."""

    __slots__ = ("attrs", "children", "name", "parent")

    def __init__(self, name: str, attrs: dict[str, str], parent: _Element | None) -> None:
        self.name = name
        self.attrs = attrs
        self.children: list[_Element | str] = []
        self.parent = parent


class _Row(_Element):
    """A ``<tr>``, with its own cells (the ``<td>`` / ``<th>`` whose nearest row it is)."""

    __slots__ = ("cells",)

    def __init__(self, name: str, attrs: dict[str, str], parent: _Element | None) -> None:
        super().__init__(name, attrs, parent)
        self.cells: list[_Element] = []


class _Table(_Element):
    """A ``<table>``, with its own rows and cells (whose nearest table it is)
    and whether another table is inside it."""

    __slots__ = ("cells", "nests_table", "rows")

    def __init__(self, name: str, attrs: dict[str, str], parent: _Element | None) -> None:
        super().__init__(name, attrs, parent)
        self.rows: list[_Row] = []
        self.cells: list[_Element] = []
        self.nests_table = False


# the tags _TreeBuilder does more for than add them to the tree
_NOTED_TAGS = _ASIDE_TAGS | _REMOVED_TAGS | {"td", "th", "tr", "table", "body", "a"}


class _TreeBuilder:
    """An lxml parser target: builds the tree of :class:`_Element` from the
    parser's events, as BeautifulSoup's lxml tree builder did from the same
    events (the page's text, and so its reading, is the same):

    * an end tag closes the most recent open element of its name and every
      element opened after it; an end tag with no open element of its name
      is ignored;
    * a processing instruction is the string "target data", a doctype
      "name PUBLIC ..." (:class:`_Aside`);
    * comments are dropped, and so are the elements of :data:`_REMOVED_TAGS`
      with everything in them (BeautifulSoup's tree kept both and the reader
      removed them): such an element is kept only apart from the tree, the
      first ``<title>`` for the page title.

    (BeautifulSoup also joined consecutive text into one string and
    shortened whitespace-only strings to one space or newline: the reader
    joins all text and collapses whitespace runs itself, so neither changes
    the text.)

    While the tree is built, the open elements are the new element's
    ancestors, so what the reader looks up is noted on the way, in document
    order: the ``<body>`` elements, the links with an ``href``, each table's
    rows (the ``<tr>`` whose nearest table it is) and cells (the ``<td>`` /
    ``<th>`` whose nearest table it is), each row's cells (whose nearest row
    it is), and whether a table has another table inside it. Nothing inside
    a removed element is noted.
    """

    def __init__(self) -> None:
        self.root = _Element("[document]", {}, None)
        self._stack = [self.root]
        self._open: dict[str, int] = {}  # name -> how many elements of that name are open
        self._asides = 0  # open elements of _ASIDE_TAGS
        self._removed = 0  # open elements of _REMOVED_TAGS
        self._tables: list[_Table] = []  # open tables and rows (not inside a removed element)
        self._rows: list[_Row] = []
        self.title: _Element | None = None
        self.bodies: list[_Element] = []
        self.links: list[_Element] = []

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        # lxml hands each element with attributes a dict of its own, one without them
        # a shared read-only mapping whose get() and keys() are Python code
        if type(attrib) is not dict:
            attrib = dict(attrib) if attrib else {}
        parent = self._stack[-1]
        self._open[tag] = self._open.get(tag, 0) + 1
        if tag not in _NOTED_TAGS:  # most elements: span, p, font, o:p, ...
            el = _Element(tag, attrib, parent)
            parent.children.append(el)
            self._stack.append(el)
            return
        if tag == "table":
            el = _Table(tag, attrib, parent)
        elif tag == "tr":
            el = _Row(tag, attrib, parent)
        else:
            el = _Element(tag, attrib, parent)
        self._stack.append(el)
        if tag in _ASIDE_TAGS:
            self._asides += 1
        if tag in _REMOVED_TAGS:
            if tag == "title" and self.title is None:
                self.title = el
            if not self._removed:
                el.parent = None  # out of the tree; what is inside it stays inside it
                self._removed = 1
                return
            self._removed += 1
        parent.children.append(el)
        if self._removed:
            return
        if tag == "td" or tag == "th":
            if self._rows:
                self._rows[-1].cells.append(el)
            if self._tables:
                self._tables[-1].cells.append(el)
        elif isinstance(el, _Row):
            if self._tables:
                self._tables[-1].rows.append(el)
            self._rows.append(el)
        elif isinstance(el, _Table):
            for table in self._tables:
                table.nests_table = True
            self._tables.append(el)
        elif tag == "body":
            self.bodies.append(el)
        elif tag == "a" and "href" in attrib:
            self.links.append(el)

    def end(self, tag: str) -> None:
        if not self._open.get(tag):
            return
        while True:
            el = self._pop()
            if el.name == tag:
                return

    def _pop(self) -> _Element:
        el = self._stack.pop()
        name = el.name
        self._open[name] -= 1
        if name not in _NOTED_TAGS:
            return el
        if name in _ASIDE_TAGS:
            self._asides -= 1
        if name in _REMOVED_TAGS:
            self._removed -= 1
        elif self._tables and self._tables[-1] is el:
            self._tables.pop()
        elif self._rows and self._rows[-1] is el:
            self._rows.pop()
        return el

    def data(self, text: str) -> None:
        self._stack[-1].children.append(_Aside(text) if self._asides else text)

    def comment(self, text: str) -> None:
        pass

    def pi(self, target: str, data: str) -> None:
        self._stack[-1].children.append(_Aside(target + " " + data))

    def doctype(self, name: str | None, pubid: str | None, system: str | None) -> None:
        text = name or ""
        if pubid is not None:
            text += f' PUBLIC "{pubid}"' + (f' "{system}"' if system is not None else "")
        elif system is not None:
            text += f' SYSTEM "{system}"'
        self._stack[-1].children.append(_Aside(text))

    def close(self) -> _Element:
        while len(self._stack) > 1:
            self._pop()
        return self.root


def _parse(text: str) -> _TreeBuilder:
    """The page's tree; lxml's parser is given the decoded text, and if it
    rejects it, the text as UTF-8 bytes (as BeautifulSoup did)."""
    from lxml import etree

    markup = text.removeprefix("\ufeff")  # lxml mis-reads a str's byte-order mark
    try:
        return _feed(markup)
    except (UnicodeDecodeError, LookupError, etree.ParserError):
        pass
    except Exception as e:  # lxml raises assorted errors on binary garbage
        raise CorruptDocument(f"html: cannot parse: {e}") from e
    try:
        return _feed(markup.encode("utf-8"))
    except Exception as e:
        raise CorruptDocument(f"html: cannot parse: {e}") from e


def _feed(markup: str | bytes) -> _TreeBuilder:
    from lxml import etree

    builder = _TreeBuilder()
    parser = etree.HTMLParser(
        target=builder, recover=True, encoding=None if isinstance(markup, str) else "utf-8"
    )
    parser.feed(markup)
    parser.close()
    return builder


def _inside(el: _Element, names: frozenset[str]) -> bool:
    """Whether an ancestor of ``el`` is called one of ``names``."""
    parent = el.parent
    while parent is not None:
        if parent.name in names:
            return True
        parent = parent.parent
    return False


def _pre_text(node: _Element) -> str:
    """A ``<pre>``'s text: every string under it but :class:`_Aside` ones."""
    out: list[str] = []
    stack: list[Iterator[_Element | str]] = [iter(node.children)]
    while stack:
        for child in stack[-1]:
            if isinstance(child, str):
                if type(child) is str:
                    out.append(child)
            elif child.children:
                stack.append(iter(child.children))
                break
        else:
            stack.pop()
    return "".join(out)


# ------------------------------------------------------------------ layout


def _hidden_style(style: str) -> bool:
    """Whether an inline style hides its element."""
    if len(style) > 256:  # not cached: the cache outlives the page and must stay small
        return _HIDDEN_STYLE.search(style) is not None
    return _hidden_short_style(style)


@functools.lru_cache(maxsize=1024)
def _hidden_short_style(style: str) -> bool:
    # cached: Word gives most runs of a document one of a few style strings
    return _HIDDEN_STYLE.search(style) is not None


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _collapse(raw: str) -> list[str]:
    """Lines of ``raw`` (source text with :data:`_LINE_BREAK` marks) as a
    browser renders them: each run of source whitespace is one space, except
    that a run containing a line break between two East Asian wide characters
    disappears (CSS Text 3 segment-break rule: Word and CMS editors wrap long
    Chinese lines in the source)."""

    def space(m: re.Match[str]) -> str:
        s = m.string
        before = s[m.start() - 1] if m.start() else ""
        after = s[m.end()] if m.end() < len(s) else ""
        if "\n" in m.group() and before and after and _is_wide(before) and _is_wide(after):
            return ""
        return " "

    if not _SPACE_OR_BREAK.search(raw):  # most cells: "12", "自然人"
        line = raw.strip()
        return [line] if line else []
    text = _SOURCE_WHITESPACE.sub(space, raw).replace(
        "\xa0", " "
    )  # &nbsp; shows as a space that never collapses
    return [line.strip() for line in text.split(_LINE_BREAK) if line.strip()]


def _layout(node: _Element, parts: list[str], on_table: Callable[[_Table], None] | None = None) -> None:
    """Append ``node``'s rendered source text to ``parts``; ``on_table(table)``
    takes over each table (the caller flushes ``parts`` first), else a
    table's cells are laid out as blocks."""
    for child in node.children:
        if isinstance(child, str):
            parts.append(child)
            continue
        name = child.name
        if name == "br":
            parts.append(_LINE_BREAK)
        elif "hidden" in child.attrs or ((style := child.attrs.get("style")) and _hidden_style(style)):
            continue  # not shown (Word's mso-hide:all marks its field codes and hidden text)
        elif name == "pre":  # a browser keeps pre's line breaks
            parts.append(_LINE_BREAK + _pre_text(child).replace("\n", _LINE_BREAK) + _LINE_BREAK)
        elif on_table is not None and isinstance(child, _Table):
            on_table(child)
        elif name in _BLOCK_TAGS:
            parts.append(_LINE_BREAK)
            _layout(child, parts, on_table)
            parts.append(_LINE_BREAK)
        else:
            _layout(child, parts, on_table)


def _text(node: _Element) -> str:
    """One line of text for an element (a cell, the title): the browser's
    lines joined with a space."""
    parts: list[str] = []
    _layout(node, parts)
    return " ".join(_collapse("".join(parts)))


# ------------------------------------------------------------------ reader

_HEADINGS = frozenset({"h1", "h2", "h3"})


def read(data: bytes) -> RawDocument:
    text = _decode(data)
    check_html_table_nesting(text)
    tree = _parse(text)
    page_title = _text(tree.title) if tree.title is not None else ""
    body = tree.bodies[0] if tree.bodies else None
    blocks: list[Block] = []
    meta: dict[str, str] = {"page_title": page_title} if page_title else {}
    if links := _links_to_reports(tree.links):
        meta["link_titles"] = "\n".join(links)
    table_no = 0
    buf: list[str] = []

    def flush() -> None:
        blocks.extend(Block(line) for line in _collapse("".join(buf)))
        buf.clear()

    def on_table(table: _Table) -> None:
        nonlocal table_no
        flush()
        if table.nests_table:
            # a layout table wrapping the article: its cells are containers
            for td in table.cells:
                _layout(td, buf, on_table)
                flush()
        else:
            rows = [tr.cells for tr in table.rows]
            texts = [[_text(td) for td in cells] for cells in rows]
            if not _read_info_index(texts, meta):
                _table(rows, texts, table_no, blocks)
                table_no += 1

    _layout(body or tree.root, buf, on_table)
    flush()
    return RawDocument(blocks=_take_index_lines(blocks, meta), format="html", meta=meta)


def _links_to_reports(links: list[_Element]) -> list[str]:
    """The texts of links that name an annual report: a page's sidebar,
    "related articles" and previous/next links list other years' reports,
    often above the article, and none of them is this page's title (a link
    inside a heading is, and is not listed)."""
    found = []
    for a in links[:500]:
        text = _text(a)
        if len(text) <= 100 and is_annual_report(text) and not _inside(a, _HEADINGS):
            found.append(text)
    return found


def _table(rows: list[list[_Element]], texts: list[list[str]], number: int, blocks: list[Block]) -> None:
    """Emit each cell of a table's rows (the cells of its ``<tr>``, their
    ``texts``) once, with its grid column after rowspans/colspans."""
    # grid positions taken by a rowspan from a row above (a cell's own row
    # needs none: its column only moves right past the cells placed in it)
    below: set[tuple[int, int]] = set()
    for r, (cells, row_texts) in enumerate(zip(rows, texts, strict=True)):
        c = 0
        out: list[Block] = []
        for td, text in zip(cells, row_texts, strict=True):
            while (r, c) in below:
                c += 1
            if "rowspan" not in td.attrs and "colspan" not in td.attrs:
                rs = cs = 1  # most cells
            else:
                try:
                    rs = max(1, min(int(td.attrs.get("rowspan", 1) or 1), 500))
                    cs = max(1, min(int(td.attrs.get("colspan", 1) or 1), 100))
                except ValueError:
                    rs = cs = 1
            for dr in range(1, rs):
                for dc in range(cs):
                    below.add((r + dr, c + dc))
            out.append(Block(text, table=number, row=r, col=c))
            c += cs
        if out:
            last = out[-1]
            out[-1] = Block(last.text, table=last.table, row=last.row, col=last.col, row_end=True)
            blocks.extend(out)


# ------------------------------------------------------------------ page chrome

#: labels of the information-index table (信息公开目录 索引) -> metadata key
#: (None: recognised as chrome, not kept). Earlier labels of one key win.
_INDEX_LABELS: dict[str, str | None] = {
    "名称": "title",
    "标题": "title",
    "文件名称": "title",
    "信息名称": "title",
    "发布机构": "publisher",
    "发文机关": "publisher",
    "发文机构": "publisher",
    "发布单位": "publisher",
    "所属机构": "publisher",
    "信息来源": "publisher",
    "发布日期": "published",
    "公开日期": "published",
    "发布时间": "published",
    "发文日期": "published",
    "成文日期": "published",
    "生成日期": "published",
    "索引号": None,
    "主题分类": None,
    "分类": None,
    "信息分类": None,
    "组配分类": None,
    "体裁分类": None,
    "主题词": None,
    "关键词": None,
    "文号": None,
    "发文字号": None,
    "有效性": None,
    "生效日期": None,
    "废止日期": None,
    "公开方式": None,
    "公开范围": None,
    "公开形式": None,
    "时效": None,
    "统一编号": None,
    "服务对象": None,
    "内容概述": None,
    "来源": None,
}
# a label cell: the label alone, or "label：value" (a colon is required before an inline value)
_INDEX_CELL = re.compile("(" + "|".join(sorted(_INDEX_LABELS, key=len, reverse=True)) + r")(?:[:：](.*))?")
_PRIORITY = {label: i for i, label in enumerate(_INDEX_LABELS)}
_INDEX_MAX_ROWS = 15  # an index table is a few rows: a longer table is content, whatever its labels


# "label：" at the start of a line or after a space ("名 称：" spaced out to align)
_INDEX_FIELD = re.compile(
    r"(?:^|(?<=\s))("
    + "|".join(r"\s*".join(label) for label in sorted(_INDEX_LABELS, key=len, reverse=True))
    + r")\s*[:：]"
)
_INDEX_GAP = 2  # an index written as lines (<li>, <div>) is lines in a row, perhaps one label's value between


def _index_fields(line: str) -> list[tuple[str, str]]:
    """(label, value) of a line that starts with an index label, else []."""
    found = list(_INDEX_FIELD.finditer(line))
    if not found or found[0].start() != 0:
        return []
    ends = [m.start() for m in found[1:]] + [len(line)]
    return [
        ("".join(m.group(1).split()), line[m.end() : end].strip())
        for m, end in zip(found, ends, strict=False)
    ]


def _take_index_lines(blocks: list[Block], meta: dict[str, str]) -> list[Block]:
    """The information index written as lines (``<li>索引号：…</li>``), not a
    table: a run of label lines with at least two different labels
    becomes metadata, as in :func:`_read_info_index`,
    and leave the text."""
    lines = {i: f for i, b in enumerate(blocks[:200]) if b.table is None and (f := _index_fields(b.text))}
    runs: list[list[int]] = []  # index lines at most _INDEX_GAP lines apart
    for i in sorted(lines):
        if runs and i - runs[-1][-1] <= _INDEX_GAP:
            runs[-1].append(i)
        else:
            runs.append([i])
    taken = {i for run in runs if len({label for i in run for label, _ in lines[i]}) >= 2 for i in run}
    if not taken:
        return blocks
    _keep_index_fields([field for i in sorted(taken) for field in lines[i]], meta)
    return [b for i, b in enumerate(blocks) if i not in taken]


def _keep_index_fields(fields: list[tuple[str, str]], meta: dict[str, str]) -> None:
    """Index fields into ``meta``: per key, the value of its preferred label."""
    best: dict[str, tuple[int, str]] = {}
    for label, value in fields:
        key = _INDEX_LABELS[label]
        if key and value and (key not in best or _PRIORITY[label] < best[key][0]):
            best[key] = (_PRIORITY[label], value)
    for key, (_, value) in best.items():
        meta.setdefault(key, value)


def _read_info_index(rows: list[list[str]], meta: dict[str, str]) -> bool:
    """If a table's ``rows`` (its cells' texts) are a page's information-index table, put its fields into
    ``meta`` and return True. Recognised by at least two label cells
    (``索引号``, ``发布机构`` ...; a report's own tables have none); a label's
    value is the rest of its cell (``发布机构：某某局``) or the next cell."""
    if len(rows) > _INDEX_MAX_ROWS:
        return False
    labelled: list[tuple[str, str]] = []
    for texts in rows:
        i = 0
        while i < len(texts):
            m = _INDEX_CELL.fullmatch("".join(texts[i].split()))  # "名 称：" is 名称 spaced out to align
            if m is None:
                i += 1
                continue
            value = re.split("[:：]", texts[i], maxsplit=1)[1].strip() if m.group(2) else ""
            nxt = texts[i + 1] if i + 1 < len(texts) else ""
            if not value and nxt and _INDEX_CELL.fullmatch("".join(nxt.split())) is None:
                value = nxt  # the value is the next cell (unless that is the next label: an empty field)
                i += 1
            labelled.append((m.group(1), value))
            i += 1
    if len({label for label, _ in labelled}) < 2:
        return False
    _keep_index_fields(labelled, meta)
    return True
