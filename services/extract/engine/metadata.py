"""Report metadata read from content: title, agency, reporting year, region."""

from __future__ import annotations

import re
from collections import Counter

from ogi.gazetteer import gazetteer
from ogi.vocabulary import (
    ARABIC_YEAR,
    OTHER_DOCUMENT_TITLE,
    REPORT_SUBJECT,
    REPORT_TITLE,
    YEAR_ARABIC,
    YEAR_HAN,
    report_year,
)
from services.extract.engine.document import UNREADABLE, Block, Document

_TITLE_AGENCY = re.compile(
    rf"^(?:关于)?(?P<agency>.*?)\s*(?P<year>{YEAR_ARABIC}|{YEAR_HAN})\s*年\s*度?\s*(?:的)?\s*{REPORT_SUBJECT}"
)
_ORG = re.compile(
    r"[\u4e00-\u9fa5]{2,14}?(?:省|市|自治区|自治州|区|县|旗|盟|州)[\u4e00-\u9fa5]{0,16}?"
    # 管委会 before 委: "平潭综合实验区管委会" is not "平潭综合实验区管委"
    r"(?:人民政府办公厅|人民政府办公室|人民政府|管理委员会|管委会|委员会|监督管理局|管理局|局|厅|办公室|委|署|院|中心)"
)
_ORG_TAIL = re.compile(
    r"(?:人民政府办公厅|人民政府办公室|人民政府|管理委员会|委员会|管理局|局|厅|办公室|委|署|院|中心)$"
)
_ADMIN_UNIT = re.compile(
    r"[\u4e00-\u9fa5]{1,12}(?:省|自治区|自治州|市|州|盟|区|县|旗)(?![场民政直属级委监管长])"
)


def _has_agency(line: str) -> bool:
    m = _TITLE_AGENCY.match(line.replace(" ", ""))
    return bool(m and len(m.group("agency")) >= 2)


def title(doc: Document) -> str:
    """The title: the crawler's 标题 field, else a report-title line near the
    top (pages start with navigation), else the first lines up to 报告."""
    if doc.meta.get("title"):
        return doc.meta["title"]
    all_lines = [x.replace("\x1f", " ").replace("\x1e", " ").strip() for x in doc.text.split("\n")]
    # other reports' titles linked from the page's navigation are not its own
    links = set(doc.meta.get("link_titles", "").split("\n")) - {""}
    all_lines = [x for x in all_lines if x and x not in links]
    first = all_lines[0] if all_lines else ""
    if len(first) <= 60 and not re.search(r"[。，,；;：:《>]", first):
        if OTHER_DOCUMENT_TITLE.search(first) or (REPORT_TITLE.search(first) and _has_agency(first)):
            return first
    for i, x in enumerate(all_lines[:40]):
        if (
            len(x) <= 80
            and REPORT_TITLE.search(x)
            and not x.startswith(("根据", "本报告", "按照"))
            and not re.search(r"[。，,；;：:《>»|]", x)
        ):
            prev = all_lines[i - 1] if i else ""
            # a title broken over two lines ("XX局2023年度政府信息" / "公开工作年度报告")
            if (
                i
                and len(prev) <= 40
                and not re.search(r"[。，,；：:]", prev)
                and not REPORT_TITLE.search(prev)
                and re.search(
                    r"(?:19|20)\d{2}|[〇○零一二三四五六七八九]{4}|局|政府|委员会|办公室|区|县|市", prev
                )
                and not re.search(r"[。，,；：:]", x[:6])
                and not _has_agency(x)
            ):
                return (prev + x)[:100]
            return x[:100]
    if doc.meta.get("page_title") and REPORT_TITLE.search(doc.meta["page_title"]):
        return re.split(r"[_|\-—]{1,2}", doc.meta["page_title"])[0][:100]
    lines = all_lines[:4]
    joined = ""
    for x in lines:
        if len(x) > 60:
            break
        joined += x
        if "报告" in x or "函" in x[-3:] or "通知" in x[-4:]:
            break
    return joined[:80]


_TITLE_YEAR_FIRST = re.compile(
    rf"^(?:{YEAR_ARABIC}|{YEAR_HAN})\s*年\s*度?\s*(?P<agency>[^\d]{{2,40}}?)\s*{REPORT_SUBJECT}"
)


# the label of a page's information index glued to the title it names
# ("名称某某县发展和改革局2023年…"): chrome, not part of the agency
_INDEX_LABEL = re.compile(r"^(?:名称|标题|文件名称|信息名称)[:：]?")


# an OCR'd title whose year lost or garbled a digit ("平潭综合实验区 201 年政府信息…"):
# the agency still ends where the year starts
_TITLE_AGENCY_DAMAGED_YEAR = re.compile(
    rf"^(?:关于)?(?P<agency>[^\d{UNREADABLE}]*?)\s*[\d{UNREADABLE}]{{1,5}}\s*年\s*度?\s*(?:的)?\s*{REPORT_SUBJECT}"
)


def agency(doc: Document, ttl: str) -> str | None:
    title_by_ocr = _read_by_ocr(doc, ttl)
    ttl = _INDEX_LABEL.sub("", ttl.replace(" ", ""))
    m = _TITLE_AGENCY.match(ttl) or (_TITLE_AGENCY_DAMAGED_YEAR.match(ttl) if title_by_ocr else None)
    if m and len(m.group("agency")) >= 2:
        return m.group("agency").strip('《》“”" ')
    m = _TITLE_YEAR_FIRST.match(ttl)
    if (
        m
        and len(m.group("agency")) >= 3
        and (_ORG_TAIL.search(m.group("agency")) or region(m.group("agency")))
    ):
        return m.group("agency").strip('《》“”" ')
    head = doc.text[:3000]
    m = re.search(rf"(?:现将|现公布)(?P<agency>[\u4e00-\u9fa5（）()]{{3,30}}?){YEAR_ARABIC}\s*年", head)
    if m and _ORG_TAIL.search(m.group("agency")):
        return m.group("agency")
    publisher = doc.meta.get("publisher", "").strip()
    if publisher and _ORG_TAIL.search(publisher):
        return publisher  # the page's 发布机构 field
    counts = Counter(x for x in _ORG.findall(doc.text) if not x.startswith(("关于", "根据", "按照")))
    if counts:
        name, n = counts.most_common(1)[0]
        if n >= 2:
            return str(name)
    return None


def year(doc: Document, ttl: str) -> int | None:
    stated = report_year(ttl)
    if stated:
        return stated
    m = re.search(rf"统计(?:期限|时限|时间)[^。]{{0,6}}?({YEAR_ARABIC})\s*年", doc.text)
    if m:
        return int(m.group(1))
    years = Counter(int(y) for y in ARABIC_YEAR.findall(doc.text))
    if years:
        return years.most_common(1)[0][0]
    return None


def region(agency_name: str | None) -> str | None:
    """The administrative units the agency name starts with ("浙江省杭州市拱墅区")."""
    if not agency_name:
        return None
    pos = 0
    while True:
        m = _ADMIN_UNIT.match(agency_name, pos)
        if m is None:
            break
        pos = m.end()
    return agency_name[:pos] or None


# An agency name OCR read is kept only when something confirms it: a misread
# name is a wrong value, worse than none (dev-12's scan: 洪泽区 read 潜译区).
#: a block whose every word Tesseract read at least this surely (a block's
#: confidence is its lowest word's) confirms the name it holds; the corpus'
#: misread names sit in blocks under 70, its right ones at 85-96
SURE_CONFIDENCE = 85.0
# what follows a division's name in the name of its government: a name that
# is a division the gazetteer knows plus one of these is the tables' own spelling
_GOVERNMENT = re.compile(r"(?:人民政府(?:办公厅|办公室)?|管理委员会|管委会)?")


def _readings(doc: Document, name: str) -> list[Block]:
    """The block each occurrence of ``name`` in the text starts in."""
    out: list[Block] = []
    if not name:
        return out  # "" is found everywhere
    pos = doc.text.find(name)
    while pos >= 0:
        b = doc.block_at(pos)
        if b is not None:
            out.append(b)
        pos = doc.text.find(name, pos + len(name))
    return out


def _read_by_ocr(doc: Document, text: str) -> bool:
    """Did OCR read ``text``: every block it occurs in carries a recognition
    confidence (a text layer read anywhere is the document's own text)?"""
    read = _readings(doc, text)
    return bool(read) and all(b.confidence is not None for b in read)


def _tables_name(name: str) -> bool:
    """Is ``name`` a division the gazetteer knows (its whole path settled),
    alone or as its government (洪泽区人民政府)?"""
    where = region(name)
    if not where or not _GOVERNMENT.fullmatch(name[len(where) :]):
        return False
    place = gazetteer().place(where)
    return bool(place.units) and not place.rest


def _read_elsewhere(doc: Document, name: str) -> str | None:
    """The one other name read in the document that differs from ``name``
    only in a character or two of its division's own name (its level, 区 or
    县, and what follows agree), where ``name``'s division is none the
    gazetteer knows and the other's is one it knows, read at least twice:
    the same name, misread in one place and read right in others."""
    where = region(name)
    if not where or gazetteer().place(where).units:
        return None  # the misread part must be a division no table knows
    tail = name[len(where) - 1 :]  # the level onwards
    found = set()
    text = doc.text
    pos = text.find(tail, len(where) - 1)
    while pos >= 0:
        other = text[pos - len(where) + 1 : pos + len(tail)]
        differ = sum(a != b for a, b in zip(other, name, strict=True))
        if (
            0 < differ <= 2
            and region(other) == other[: len(where)]
            and _tables_name(other)
            and len({id(b) for b in _readings(doc, other)}) >= 2
        ):
            found.add(other)
        pos = text.find(tail, pos + 1)
    return found.pop() if len(found) == 1 else None


def ocr_checked_agency(doc: Document, name: str | None) -> tuple[str | None, str | None]:
    """The agency to keep and, when OCR read it and nothing confirms it, why
    it changed. A name OCR read is confirmed when read surely, spelt as the
    gazetteer spells a division's government, or read twice (one misreading
    repeated letter for letter in two lines Tesseract read apart is unlikely).
    Unconfirmed, it is the same name read right elsewhere (see
    _read_elsewhere), else nothing (a misread name is worse than none)."""
    if not name or not _read_by_ocr(doc, name):
        return name, None
    read = _readings(doc, name)
    if all(b.confidence is not None and b.confidence >= SURE_CONFIDENCE for b in read) or _tables_name(name):
        return name, None
    other = _read_elsewhere(doc, name)
    if len({id(b) for b in read}) >= 2:
        if other is None:
            return name, None
        # Tesseract misreads a glyph alike each time it is printed in one font
        # (a title repeated as each page's header): two readings of a division
        # no table knows do not outweigh the one it knows, read elsewhere
        why = f"agency: OCR read {name!r}, whose division no table knows, {len(read)} times"
    else:
        why = f"agency: OCR read {name!r} and neither a second reading nor the gazetteer confirms it"
    if other is not None:
        return other, f"{why}; {other!r}, read in the report's text, taken"
    return None, f"{why}; left out"
