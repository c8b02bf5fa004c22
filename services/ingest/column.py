"""Finding an agency's annual-report column from its home page.

Agencies publish the 政府信息公开年报 column a few clicks down their own
navigation: home → 政务公开 / 政府信息公开 → 法定主动公开内容 → 政府信息公开年报
(or 年度报告). :func:`find_column` follows only links whose text names one
of those steps (simplified or traditional), best step first, within the
same site and a few levels deep, through the monitor's fetcher (so
robots.txt, the address guard and the per-host delay apply). A candidate is
accepted when, read as a list page (second requests included), it lists
at least one annual report.
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import structlog
from bs4 import BeautifulSoup

from ogi.vocabulary import report_year, simplify_title
from services.ingest.discovery import _absolute_or_none
from services.ingest.errors import ColumnNotFound, FetchError
from services.ingest.feeds import item_requests, read_list_page
from services.ingest.fetch import Fetcher
from services.ingest.sniff import decode_text

log = structlog.get_logger("ogi.ingest")

#: navigation steps, the column itself ranking first (link texts after t2s conversion)
_COLUMN = re.compile(r"(?:政府信息公开|信息公开|政务公开)?(?:工作)?(?:年度报告|年报)")
_STATUTORY = re.compile(r"法定主动公开|主动公开内容|主动公开目录|法定公开")
_SECTION = re.compile(r"政务公开|政府信息公开|信息公开")
_NOT_COLUMN = re.compile(r"企业年报|统计年报|年报公示|工商年报|决算|预算")
MAX_DEPTH = 4


@dataclass(frozen=True)
class Step:
    """One link followed: its text and where it led."""

    text: str
    url: str


@dataclass
class ColumnFound:
    url: str
    path: list[Step] = field(default_factory=list)
    reports: int = 0
    pages_read: int = 0


def _normal(text: str) -> str:
    """Link text for matching: traditional converted (OpenCC), spaces gone."""
    return simplify_title(text)


def step_rank(text: str) -> int:
    """How close a link text is to the column: 3 the column, 2 the
    statutory-disclosure section, 1 the disclosure section, 0 not a step."""
    t = _normal(text)
    if not t or len(t) > 30 or _NOT_COLUMN.search(t):
        return 0
    if _COLUMN.search(t):
        # "2023年…年度报告" is a report, not the column: not a step
        return 0 if report_year(t) else 3
    if _STATUTORY.search(t):
        return 2
    if _SECTION.search(t):
        return 1
    return 0


def _same_site(url: str, home: str) -> bool:
    a, b = urlsplit(url).netloc.lower(), urlsplit(home).netloc.lower()
    return a == b or a.removeprefix("www.") == b.removeprefix("www.")


def find_column(
    fetcher: Fetcher,
    home: str,
    *,
    allow_private: bool = False,
    delay_s: float | None = None,
    max_pages: int | None = None,
    source: str = "discover",
) -> ColumnFound:
    """Follow the site's navigation from ``home`` to its annual-report
    column. Raises :class:`ColumnNotFound` (with what was tried)."""
    budget = max_pages or fetcher.settings.ingest_discovery_max_pages
    # best-first: column links before section links, shallow before deep
    queue: list[tuple[int, int, int, str, list[Step]]] = [(0, 0, 0, home, [])]
    order = 0
    visited: set[str] = set()
    pages = 0
    tried: list[str] = []
    while queue and pages < budget:
        _, depth, _, url, path = heapq.heappop(queue)
        if url in visited:
            continue
        visited.add(url)
        try:
            got = fetcher.fetch(
                url, allow_private=allow_private, delay_s=delay_s, kind="discover", source=source
            )
        except FetchError as exc:
            tried.append(f"{url}: {exc}")
            continue
        pages += 1
        text, _ = decode_text(got.content, got.charset)
        if path and step_rank(path[-1].text) == 3:
            reports, extra = _reports_behind(fetcher, text, got.final_url, allow_private, delay_s, source)
            pages += extra
            if reports:
                log.info("column found", home=home, column=url, path=[s.text for s in path], reports=reports)
                return ColumnFound(url=url, path=path, reports=reports, pages_read=pages)
            tried.append(f"{url}: no annual report listed")
        if depth >= MAX_DEPTH:
            continue
        soup = BeautifulSoup(text, "lxml")
        for a in soup.find_all("a", href=True):
            label = a.get_text(" ", strip=True) or str(a.get("title") or "")
            rank = step_rank(label)
            if rank == 0:
                continue
            target = _absolute_or_none(got.final_url, str(a["href"]))
            if target is None or target in visited or not _same_site(target, home):
                continue
            order += 1
            heapq.heappush(queue, (-rank, depth + 1, order, target, [*path, Step(label, target)]))
    raise ColumnNotFound(
        f"no annual-report column found from {home} ({pages} page(s) read"
        + (f"; tried: {'; '.join(tried[-5:])}" if tried else "")
        + ")",
        url=home,
    )


def _reports_behind(
    fetcher: Fetcher, text: str, url: str, allow_private: bool, delay_s: float | None, source: str
) -> tuple[int, int]:
    """Annual reports a candidate column lists, itself or in the first
    answer of the second request that loads its items; and the pages read for it."""
    listing = read_list_page(text, url)
    if listing.reports:
        return len(listing.reports), 0
    for extra in item_requests(text, url)[:1]:
        try:
            got = fetcher.fetch(
                extra, allow_private=allow_private, delay_s=delay_s, kind="discover", source=source
            )
        except FetchError:
            return 0, 1
        more, _ = decode_text(got.content, got.charset)
        return len(read_list_page(more, got.final_url).reports), 1
    return 0, 0
