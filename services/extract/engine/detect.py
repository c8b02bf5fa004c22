"""Template detection from content (never from the year).

- ``gb2021`` / ``gb2019``: the standard application table is present; the
  proactive table's column headers (本年制发件数… vs 本年新制作数量…) tell
  which, else the number of 其他处理 sub-rows does.
- ``freetext``: an annual report that states its figures in sentences (or in
  the 2008-era statistics table).
- ``none``: not an annual report (a notice, a plan, a 落实情况函).
"""

from __future__ import annotations

import re

from ogi.vocabulary import MENTIONS_REPORT, OTHER_DOCUMENT_TITLE
from schemas.events import Template
from services.extract.engine import catalogue as cat
from services.extract.engine.document import Document

_SECTIONS = (
    r"主动公开(?:政府)?信息",
    r"依申请公开|收到和处理政府信息公开申请",
    r"行政复议",
    r"收费(?:及|和)?减免|信息处理费",
    r"存在的(?:主要)?问题",
    r"本报告|统计期限|统计时限",
)


def is_report(doc: Document, ttl: str) -> bool:
    t = ttl.replace(" ", "")
    if t:
        if MENTIONS_REPORT.search(t):
            return True
        if OTHER_DOCUMENT_TITLE.search(t):
            return False
        if re.search(r"报告|年报", t) and len(t) <= 60:
            return False  # a report, but about something else (法治政府建设年度报告 ...)
    body = doc.text[:60000]
    score = sum(1 for p in _SECTIONS if re.search(p, body))
    return score >= 4


def template(
    doc: Document, ttl: str, *, app_table: bool, other_rows: int, proactive_variant: str | None
) -> Template:
    if app_table or proactive_variant:
        if proactive_variant == "gb2021":
            return Template.GB2021
        if proactive_variant == "gb2019":
            return Template.GB2019
        if other_rows >= 2 or any(re.search(p, doc.text) for p in cat.GB2021_MARKERS):
            return Template.GB2021
        return Template.GB2019
    if is_report(doc, ttl):
        return Template.FREETEXT
    return Template.NONE
