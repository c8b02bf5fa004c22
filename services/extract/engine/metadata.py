"""Report metadata read from content: title, agency, reporting year, region."""

from __future__ import annotations

import re
from collections import Counter

from ogi.vocabulary import (
    ARABIC_YEAR,
    OTHER_DOCUMENT_TITLE,
    REPORT_SUBJECT,
    REPORT_TITLE,
    YEAR_ARABIC,
    YEAR_HAN,
    report_year,
)
from services.extract.engine.document import Document

_TITLE_AGENCY = re.compile(
    rf"^(?:关于)?(?P<agency>.*?)\s*(?P<year>{YEAR_ARABIC}|{YEAR_HAN})\s*年\s*度?\s*(?:的)?\s*{REPORT_SUBJECT}"
)
_ORG = re.compile(
    r"[\u4e00-\u9fa5]{2,14}?(?:省|市|自治区|自治州|区|县|旗|盟|州)[\u4e00-\u9fa5]{0,16}?"
    r"(?:人民政府办公厅|人民政府办公室|人民政府|管理委员会|委员会|监督管理局|管理局|局|厅|办公室|委|署|院|中心)"
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


def agency(doc: Document, ttl: str) -> str | None:
    ttl = _INDEX_LABEL.sub("", ttl.replace(" ", ""))
    m = _TITLE_AGENCY.match(ttl)
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
