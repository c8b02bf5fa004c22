"""The report vocabulary every service shares: traditional → simplified
script, whether a title names a 政府信息公开工作年度报告, the year and date it
states.

Ingest (which links are reports) and extract (title, year, template) read
these from here, so a title the monitor follows is one the extractor
recognises. (The 勾稽 checks and the figures each relates are part of the
metric catalogue, schemas/catalogue.py.)
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from pathlib import Path

# ------------------------------------------------------------------ script


@lru_cache(maxsize=1)
def _t2s():  # type: ignore[no-untyped-def]
    import opencc  # thousands of character pairs plus phrase rules, not a hand-made table

    return opencc.OpenCC("t2s")


def _t2s_table(name: str) -> list[tuple[str, str]]:
    """(source, first target) of one of OpenCC's t2s dictionaries."""
    import opencc

    lines = (Path(opencc.__file__).parent / "dictionary" / name).read_text(encoding="utf-8").splitlines()
    return [
        (source, targets.split(" ")[0])
        for source, _, targets in (x.partition("\t") for x in lines)
        if targets
    ]


@lru_cache(maxsize=1)
def t2s_changing_characters() -> frozenset[str]:
    """The characters OpenCC's t2s character table turns into another one."""
    return frozenset(source for source, target in _t2s_table("TSCharacters.txt") if target != source)


@lru_cache(maxsize=1)
def _t2s_source_characters() -> frozenset[str]:
    """Every character of every entry t2s converts (characters and phrases):
    a text with none of them is its own conversion."""
    return frozenset(
        "".join(source for name in ("TSCharacters.txt", "TSPhrases.txt") for source, _ in _t2s_table(name))
    )


@lru_cache(maxsize=1)
def _t2s_characters() -> dict[int, str]:
    """OpenCC's t2s character table for ``str.translate`` (source → first
    target), without any character its converter treats as a separator."""
    separator = _t2s().split_chars_re
    return {
        ord(source): target
        for source, target in _t2s_table("TSCharacters.txt")
        if not separator.fullmatch(source)
    }


@lru_cache(maxsize=1)
def _t2s_phrases() -> dict[str, str]:
    """OpenCC's t2s phrase table (source → first target)."""
    return dict(_t2s_table("TSPhrases.txt"))


def to_simplified(text: str) -> str:
    """Traditional → simplified, with OpenCC's t2s result.

    OpenCC's pure-Python converter costs ~1 ms per 100 characters (most of a
    traditional report's extraction), so its rule is applied here with
    ``str.find`` and ``str.translate``: it splits the text at punctuation;
    in each piece the longest phrase of its phrase table (the leftmost of
    equals) is replaced, the text on either side is treated the same way,
    and every character outside a phrase by its character table.
    tests/unit/platform/test_vocabulary.py holds the two to the same result."""
    # most texts (and most blocks of a traditional report: figures, cells)
    # hold nothing t2s converts
    if _t2s_source_characters().isdisjoint(text):
        return text
    phrases = [p for p in _t2s_phrases() if p in text]
    if not phrases:
        return text.translate(_t2s_characters())
    pieces = _t2s().split_chars_re.split(text)
    for i in range(0, len(pieces), 2):  # even items are text, odd ones the separators
        pieces[i] = _piece_to_simplified(pieces[i], phrases)
    return "".join(pieces)


def _piece_to_simplified(piece: str, phrases: list[str]) -> str:
    """One piece between separators (no phrase spans a separator)."""
    found = [(p, piece.find(p)) for p in phrases]
    found = [(p, at) for p, at in found if at >= 0]
    if not found:
        return piece.translate(_t2s_characters())
    # the longest phrase, then the leftmost
    phrase, at = min(found, key=lambda pair: (-len(pair[0]), pair[1]))
    return (
        _piece_to_simplified(piece[:at], phrases)
        + _t2s_phrases()[phrase]
        + _piece_to_simplified(piece[at + len(phrase) :], phrases)
    )


# 政府資訊公開 (Taiwan usage) reads 政府信息公开 after conversion
_TERMS = (("资讯公开", "信息公开"), ("政府资讯", "政府信息"))


def simplify_title(text: str) -> str:
    """A title in simplified script, spaces removed, regional terms unified."""
    out = to_simplified(re.sub(r"\s+", "", text))
    for trad, simp in _TERMS:
        out = out.replace(trad, simp)
    return out


# ------------------------------------------------------------------ titles

#: what a report's title says it is about, and what it calls itself
REPORT_SUBJECT = r"(?:政府信息公开|信息公开|政务公开)"
REPORT_KIND = r"(?:年度报告|年报|工作报告|年度工作报告|工作情况报告|年度情况报告|工作年度报告)"
#: a report's title, in a link's text or as a line of a document: its
#: words with no sentence punctuation between them
REPORT_TITLE = re.compile(rf"{REPORT_SUBJECT}[^，,。；]{{0,12}}?{REPORT_KIND}")
#: wider than a title (any 报告 within ten characters of the subject): the
#: extractor takes a document's title as one hint whether it is a report at
#: all, and lets the sections of its body decide when the title says nothing
MENTIONS_REPORT = re.compile(rf"{REPORT_SUBJECT}.{{0,10}}?(?:报告|年报)")
#: a title ending in another kind of official document (a 通知 about the
#: report, a 函 asking for it, the agency's 指南) is not the report
OTHER_DOCUMENT_TITLE = re.compile(r"(?:函|通知|通报|要点|计划|方案|意见|办法|规定|目录|指南|公告|批复|决定)$")
_NOT_REPORT = re.compile(
    r"要点|通知|解读|图解|图示|预算|决算|征求|征集|考核|评估|评议|培训|会议|的函|指南|"
    r"工作方案|实施方案|企业年报|统计年报|报送|填报|年报公示"
)
#: a year as titles and texts print it before 年: Arabic, or Chinese numerals
#: (二〇二三, 二○二三, 二零二三, and 二O二三 with a Latin O)
YEAR_ARABIC = r"(?:19|20)\d{2}"
YEAR_HAN = r"[一二][〇零○O一二三四五六七八九]{3}"
ARABIC_YEAR = re.compile(rf"({YEAR_ARABIC})\s*年")
_HAN_DIGITS = {
    "〇": 0,
    "零": 0,
    "○": 0,
    "O": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_HAN_YEAR = re.compile(rf"({YEAR_HAN})\s*年")
_DATE_PATTERNS = (
    re.compile(rf"({YEAR_ARABIC})\s*[-/.]\s*(\d{{1,2}})\s*[-/.]\s*(\d{{1,2}})"),
    # 日 is sometimes left off (2024年1月5); the day's digits are taken whole
    re.compile(rf"({YEAR_ARABIC})\s*年\s*(\d{{1,2}})\s*月\s*(\d{{1,2}})(?!\d)\s*日?"),
)
#: a label a page or document prints right before its publication date
#: (发布时间：2024-01-15, 成文日期 2024年1月5日, 日期：【2024-01-15】)
PUBLISHED_LABEL = re.compile(
    r"(?:发布时间|发布日期|发文日期|成文日期|公开日期|时间|日期)\s*[:：]?\s*[\[【(（]?\s*"
)


def is_annual_report(title: str) -> bool:
    """Is this title (or link text) a 政府信息公开工作年度报告, in any script?"""
    text = simplify_title(title)
    return bool(REPORT_TITLE.search(text)) and not _NOT_REPORT.search(text)


def report_year(text: str) -> int | None:
    """The reporting year a title names (the first year before 年 / 年度),
    in Arabic or Chinese numerals."""
    text = simplify_title(text)
    m = ARABIC_YEAR.search(text)
    if m:
        return int(m.group(1))
    m = _HAN_YEAR.search(text)
    if m:
        return int("".join(str(_HAN_DIGITS[c]) for c in m.group(1)))
    return None


def parse_date(text: str) -> date | None:
    """The first plausible date in ``text`` (2024-01-15, 2024/1/15, 2024年1月15日)."""
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            found = valid_date(*m.groups())
            if found:
                return found
    return None


def published_date(text: str) -> date | None:
    """The first date printed right after a publication label: a date
    elsewhere in the sentence (统计时间为2023年1月1日至…) is not one."""
    for label in PUBLISHED_LABEL.finditer(text):
        for pattern in _DATE_PATTERNS:
            m = pattern.match(text, label.end())
            found = valid_date(*m.groups()) if m else None
            if found:
                return found
    return None


def valid_date(y: str, m: str, d: str) -> date | None:
    try:
        found = date(int(y), int(m), int(d))
    except ValueError:
        return None
    return found if 1990 <= found.year <= 2100 else None
