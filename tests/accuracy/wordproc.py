"""Word-processor HTML of a report, as real agency pages carry it.

A report is rendered to DOCX from what the engine's reader saw of it (its
paragraphs and table cells; a crawled page's 标题 / 发布机构 / 发布时间 header
becomes the page's information-index table), LibreOffice turns the DOCX into
HTML (as an agency's editor does before pasting into a CMS), and the
``hostile`` transforms reproduce what CMS pages do to that HTML:

* ``char_spans``: every character its own ``<span>`` (pages pasted from
  revision-tracked documents);
* ``word_runs``: Word's own markup: ``MsoNormal`` paragraphs, ``mso-`` styles,
  ``<o:p>``, conditional comments, and every number split into two runs
  ("2" + "0") with different styles;
* ``nbsp_cells``: every cell padded with ``&nbsp;``, empty cells holding one;
* ``page_continuation``: each long table cut in two where it continued on a
  new page, the row-group labels that span the cut repeated at the top of
  the continuation (Word repeats a merged cell on the new page).

Each transform keeps what a browser shows (the characters, their order,
and which cell they are in), so every variant must read the same values as
the clean form.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from services.extract.engine.document import RawDocument

_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_INDEX_FIELDS = (("title", "名称"), ("publisher", "发布机构"), ("published", "发布日期"))


def docx_from_raw(raw: RawDocument) -> bytes:
    """The document as a DOCX: paragraphs as paragraphs, each table's cells
    at their row and column, the page header as an information-index table."""
    import docx

    d = docx.Document()
    fields = [(label, raw.meta[key]) for key, label in _INDEX_FIELDS if raw.meta.get(key)]
    if fields:
        t = d.add_table(rows=0, cols=2)
        t.add_row().cells[0].text = "索引号："  # the index table's usual first field, with no value here
        for label, value in fields:
            row = t.add_row().cells
            row[0].text, row[1].text = f"{label}：", _XML_ILLEGAL.sub("", value)
    i = 0
    blocks = raw.blocks
    while i < len(blocks):
        b = blocks[i]
        if b.table is None:
            d.add_paragraph(_XML_ILLEGAL.sub("", b.text))
            i += 1
            continue
        j = i
        while j < len(blocks) and blocks[j].table == b.table:
            j += 1
        cells = blocks[i:j]
        first_row = min(c.row or 0 for c in cells)
        n_rows = max(c.row or 0 for c in cells) - first_row + 1
        n_cols = max(c.col or 0 for c in cells) + 1
        t = d.add_table(rows=n_rows, cols=n_cols)
        for c in cells:
            t.cell((c.row or 0) - first_row, c.col or 0).text = _XML_ILLEGAL.sub("", c.text)
        i = j
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def libreoffice_html(docs: dict[str, bytes]) -> dict[str, bytes]:
    """name -> DOCX bytes converted to HTML by LibreOffice, in one run (its
    start-up dominates the cost)."""
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        raise RuntimeError("LibreOffice is required (deploy/apt-packages.txt)")
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, data in docs.items():
            p = Path(tmp) / f"{name}.docx"
            p.write_bytes(data)
            paths.append(str(p))
        out = Path(tmp) / "out"
        subprocess.run(
            [
                exe,
                f"-env:UserInstallation=file://{tmp}/profile",
                "--headless",
                "--convert-to",
                "html",
                "--outdir",
                str(out),
                *paths,
            ],
            check=True,
            capture_output=True,
            timeout=600,
            env={**os.environ, "HOME": tmp},
        )
        return {name: (out / f"{name}.html").read_bytes() for name in docs}


# ------------------------------------------------------------------ hostile CMS shapes

_TEXT_NODE = re.compile(r">([^<]+)<")
_TOKEN = re.compile(r"&#?\w+;|\s+|.", re.DOTALL)  # an entity, a whitespace run, or one character
_DIGITS = re.compile(r"\d{2,}")


def _body_split(html: str) -> tuple[str, str]:
    i = html.lower().find("<body")
    return html[:i], html[i:]


def _on_text(html: str, fn: Callable[[str], str]) -> str:
    """Apply ``fn`` to every text node of the body (the head's CSS and title stay)."""
    head, body = _body_split(html)
    return head + _TEXT_NODE.sub(lambda m: ">" + fn(m.group(1)) + "<", body)


def char_spans(html: str) -> str:
    def wrap(text: str) -> str:
        return "".join(
            tok if tok.isspace() else f"<span style='mso-bidi-font-size:10.5pt'>{tok}</span>"
            for tok in _TOKEN.findall(text)
        )

    return _on_text(html, wrap)


def word_runs(html: str) -> str:
    def split_numbers(text: str) -> str:
        def cut(m: re.Match[str]) -> str:
            s, k = m.group(), len(m.group()) // 2
            return (
                f"{s[:k]}</span><span lang=EN-US style='font-size:10.5pt;mso-bidi-font-size:11.0pt;"
                f'font-family:"Times New Roman";mso-fareast-font-family:仿宋_GB2312\'>{s[k:]}'
            )

        return (
            "<span style='font-family:仿宋_GB2312;mso-ascii-font-family:\"Times New Roman\"'>"
            + _DIGITS.sub(cut, text)
            + "<o:p></o:p></span>"
        )

    html = _on_text(html, split_numbers)
    html = re.sub(r"<p(?=[\s>])", "<p class=MsoNormal", html)
    html = html.replace(
        "<td", "<td style='border:solid windowtext 1.0pt;mso-border-alt:solid windowtext .5pt'"
    )
    head, body = _body_split(html)
    return head.replace(
        "<head>",
        "<head><!--[if gte mso 9]><xml><w:WordDocument><w:View>Print</w:View>"
        "</w:WordDocument></xml><![endif]-->",
    ) + body.replace("<p class=MsoNormal", "<![if !supportEmptyParas]><![endif]><p class=MsoNormal")


def nbsp_cells(html: str) -> str:
    html = re.sub(r"(<td[^>]*>)", r"\1&nbsp;&nbsp;", html)
    return re.sub(r"(</td>)", r"&nbsp;\1", html)


def page_continuation(html: str, min_rows: int = 12) -> str:
    """Cut each table of ``min_rows`` rows or more in two at its middle row;
    cells whose rowspan crosses the cut are repeated (with the rest of their
    span) at the top of the continuation."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "lxml")
    for table in soup.find_all("table"):
        rows = [tr for tr in table.find_all("tr") if tr.find_parent("table") is table]
        if len(rows) < min_rows:
            continue
        cut = len(rows) // 2
        grid: dict[tuple[int, int], object] = {}
        crossing: list[tuple[int, object, int]] = []  # (grid column, cell, rows left after the cut)
        for r, tr in enumerate(rows[:cut]):
            c = 0
            for td in [td for td in tr.find_all(["td", "th"]) if td.find_parent("tr") is tr]:
                while (r, c) in grid:
                    c += 1
                rs, cs = int(td.get("rowspan", 1) or 1), int(td.get("colspan", 1) or 1)
                for dr in range(rs):
                    for dc in range(cs):
                        grid[(r + dr, c + dc)] = td
                if r + rs > cut:
                    crossing.append((c, td, r + rs - cut))
                    td["rowspan"] = str(cut - r)
                c += cs
        if not crossing:
            continue
        continuation = soup.new_tag("table", attrs=dict(table.attrs))
        for tr in rows[cut:]:
            continuation.append(tr.extract())
        first = rows[cut]
        for _, td, left in sorted(crossing, key=lambda x: x[0], reverse=True):  # label columns come first
            copy = BeautifulSoup(str(td), "lxml").find(["td", "th"])
            copy["rowspan"] = str(left)
            first.insert(0, copy)
        table.insert_after(continuation)
        table.insert_after(soup.new_tag("p", attrs={"style": "page-break-before: always"}))
    return str(soup)


HOSTILE: dict[str, Callable[[str], str]] = {
    "char_spans": char_spans,
    "word_runs": word_runs,
    "nbsp_cells": nbsp_cells,
    "page_continuation": page_continuation,
}


# ------------------------------------------------------------------ the 2019 template

_PROACTIVE_2019 = (
    "<table><tr><td colspan='4'>第二十条第（一）项</td></tr>"
    "<tr><td>信息内容</td><td>本年新制作数量</td><td>本年新公开数量</td><td>对外公开总数量</td></tr>"
    "<tr><td>规章</td><td>1</td><td>1</td><td>12</td></tr><tr><td>规范性文件</td><td>5</td><td>5</td><td>40</td></tr>"
    "<tr><td colspan='4'>第二十条第（五）项</td></tr>"
    "<tr><td>信息内容</td><td>上一年项目数量</td><td>本年增/减</td><td>处理决定数量</td></tr>"
    "<tr><td>行政许可</td><td>20</td><td>+17</td><td>1234</td></tr>"
    "<tr><td>其他对外管理服务事项</td><td>14</td><td>+5</td><td>149</td></tr>"
    "<tr><td colspan='4'>第二十条第（六）项</td></tr>"
    "<tr><td>信息内容</td><td>上一年项目数量</td><td>本年增/减</td><td>处理决定数量</td></tr>"
    "<tr><td>行政处罚</td><td>67</td><td>+36</td><td>56</td></tr><tr><td>行政强制</td><td>0</td><td>0</td><td>7</td></tr>"
    "<tr><td colspan='4'>第二十条第（八）项</td></tr>"
    "<tr><td>信息内容</td><td>上一年项目数量</td><td>本年增/减</td><td></td></tr>"
    "<tr><td>行政事业性收费</td><td>3</td><td>-1</td><td></td></tr></table>"
)


def gb2019_html(gb2021_html: str) -> str:
    """The generated gb2021 report (``reportgen.html_gbk``) recast in the 2019
    template, the one of the pasted Word page that lost its application
    table: 制作数量 columns in the proactive table, and one （六）其他处理 row
    (its three 2021 sub-rows summed)."""
    h = gb2021_html
    start = h.index("<table>")
    h = h[:start] + _PROACTIVE_2019 + h[h.index("</table>", start) + len("</table>") :]
    other = re.search(
        r"<tr><td rowspan='3'>（六）其他处理</td>.*?(?=<tr><td colspan='2'>（七）总计)", h, re.DOTALL
    )
    assert other is not None
    h = (
        h[: other.start()]
        + (
            "<tr><td colspan='2'>（六）其他处理</td><td>3</td><td>0</td><td>0</td><td>0</td><td>0</td>"
            "<td>1</td><td>4</td></tr>\n"
        )
        + h[other.end() :]
    )
    group = re.search(r"rowspan='(\d+)'>三、本年度办理结果", h)
    assert group is not None
    return h[: group.start(1)] + str(int(group.group(1)) - 2) + h[group.end(1) :]
