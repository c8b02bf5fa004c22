"""Reading gov.cn column pages: which links are annual reports, where the
next list page is, what an article page attaches, and the reporting year
and publication date wherever the page gives them.

Pure functions over HTML text: no network, tested on page fixtures.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

from bs4 import BeautifulSoup, Tag

from ogi.net.guard import MAX_URL_CHARS

# the report vocabulary (titles, years, dates) is shared with extract: one home
from ogi.vocabulary import is_annual_report, parse_date, published_date, report_year, valid_date

#: most list pages a TRS pager is taken at its word for (the monitor reads fewer still)
MAX_PAGER_PAGES = 1000
#: attachment extensions the monitor downloads (the registry may add more)
ATTACHMENT_EXTENSIONS = (".pdf", ".doc", ".docx", ".wps", ".xls", ".xlsx", ".et", ".rtf")

_URL_DATE = re.compile(r"(?:/t|_|/)((?:19|20)\d{2})(\d{2})(\d{2})(?:_|/|\.)")
_NEXT_TEXT = re.compile(r"^\s*(?:下一页|下页|后页|下一頁|下頁|後頁|next|›|»|>|>>)\s*$", re.IGNORECASE)
# TRS WCM sites: createPageHTML(countPage, currentPage, "index", "htm")
_TRS_PAGER = re.compile(
    r"createPageHTML\(\s*(\d+)\s*,\s*(\d+)\s*,\s*[\"']([\w-]+)[\"']\s*,\s*[\"'](\w+)[\"']"
)
_TRS_VARS = re.compile(r"var\s+countPage\s*=\s*(\d+).*?var\s+currentPage\s*=\s*(\d+)", re.DOTALL)
_JCMS_RECORD = re.compile(r"<record[^>]*>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.DOTALL | re.IGNORECASE)
_PUBDATE_META = ("pubdate", "publishdate", "firstpublishedtime", "article:published_time", "dc.date")


@dataclass(frozen=True)
class Link:
    """A link the monitor may follow."""

    url: str
    title: str
    year: int | None = None
    published_at: date | None = None
    is_attachment: bool = False


@dataclass
class ListPage:
    """What one column page offers: report links and further list pages."""

    reports: list[Link] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    """hrefs that are no URL at all (``http://[bad/``, 200k characters): skipped, for the log"""


@dataclass
class Article:
    """An article page: its title, dates and report attachments."""

    url: str
    title: str | None
    year: int | None
    published_at: date | None
    attachments: list[Link] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


def url_date(url: str) -> date | None:
    """Publication date TRS-style article URLs carry (``t20240115_123.htm``)."""
    m = _URL_DATE.search(urlsplit(url).path)
    return valid_date(*m.groups()) if m else None


def is_attachment_url(url: str, extra: tuple[str, ...] = ()) -> bool:
    """Does the URL name a document file (by its path, or a ``filename=``
    style query parameter that download scripts use)?"""
    parts = urlsplit(url)
    exts = ATTACHMENT_EXTENSIONS + extra
    if parts.path.lower().endswith(exts):
        return True
    return any(v.lower().endswith(exts) for _, v in parse_qsl(parts.query))


class InvalidLink(ValueError):
    """An href that is no usable URL (unparseable, or longer than any real one)."""


def _absolute(base: str, href: str | None) -> str | None:
    """The absolute http(s) URL of ``href``, None for links we do not follow
    (fragments, javascript:, mailto:, ...); raises :class:`InvalidLink` for
    hrefs that are broken, so one bad link cannot take its page down."""
    if not href:
        return None
    href = href.strip()
    if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
        return None
    if len(href) > MAX_URL_CHARS:
        raise InvalidLink(f"href of {len(href)} characters")
    try:
        url = urljoin(base, href)
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise InvalidLink(str(exc)) from exc
    if parts.scheme not in ("http", "https"):
        return None
    if not parts.hostname:
        raise InvalidLink("no host")
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def _absolute_or_none(base: str, href: str | None, invalid: list[str] | None = None) -> str | None:
    """:func:`_absolute`, with broken hrefs noted in ``invalid`` (shortened) and skipped."""
    try:
        return _absolute(base, href)
    except InvalidLink as exc:
        if invalid is not None:
            invalid.append(f"{(href or '')[:200]!r}: {exc}")
        return None


def _anchor_title(a: Tag) -> str:
    text = a.get_text(" ", strip=True)
    attr = str(a.get("title") or "").strip()
    # list pages truncate long titles ("...年度报..."): the title attribute is whole
    return attr if len(attr) > len(text.rstrip(".…")) else text


def _row_text(a: Tag) -> str:
    row = a.find_parent(["li", "tr", "dd", "p"]) or a.parent
    return row.get_text(" ", strip=True) if row is not None else ""


def _soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "lxml")


def parse_list_page(
    html: str,
    url: str,
    *,
    link_pattern: str | None = None,
    exclude_pattern: str | None = None,
    list_selector: str | None = None,
    extra_attachments: tuple[str, ...] = (),
) -> ListPage:
    """Report links and further list pages of one column page."""
    soup = _soup(_inline_datastore(html))
    scope: Tag = soup
    if list_selector:
        scope = soup.select_one(list_selector) or soup
    include = re.compile(link_pattern) if link_pattern else None
    exclude = re.compile(exclude_pattern) if exclude_pattern else None
    page = ListPage(pages=pagination(soup, html, url))
    seen: set[str] = set()
    for a in scope.find_all("a", href=True):
        target = _absolute_or_none(url, str(a["href"]), page.invalid)
        if target is None:
            continue
        title = _anchor_title(a)
        if not title or not is_annual_report(title):
            continue
        if include and not (include.search(title) or include.search(target)):
            continue
        if exclude and (exclude.search(title) or exclude.search(target)):
            continue
        if target in seen:
            continue
        seen.add(target)
        page.reports.append(
            Link(
                url=target,
                title=title,
                year=report_year(title),
                published_at=parse_date(_row_text(a)) or url_date(target),
                is_attachment=is_attachment_url(target, extra_attachments),
            )
        )
    return page


def _inline_datastore(html: str) -> str:
    """JCMS sites (common in Zhejiang: ``col/colNNN/index.html``) ship the
    list inside ``<script type="text/xml"><datastore><record><![CDATA[<li>…
    </li>]]></record>``, which an HTML parser treats as script text; lift the
    records into the page so their links are seen."""
    if "<record>" not in html and "<record " not in html:
        return html
    records = _JCMS_RECORD.findall(html)
    return html + ('<div class="ogi-datastore">' + "".join(records) + "</div>" if records else "")


def pagination(soup: BeautifulSoup, html: str, url: str) -> list[str]:
    """Other list pages this page links to: TRS ``createPageHTML`` pagers
    (every page), "下一页" links, and numbered pager links."""
    pages: list[str] = []
    m = _TRS_PAGER.search(html)
    count = current = None
    if m:
        count, current, stem, ext = int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)
    else:
        v = _TRS_VARS.search(html)
        if v:
            count, current = int(v.group(1)), int(v.group(2))
            stem, ext = (
                "index",
                (urlsplit(url).path.rsplit(".", 1)[-1] if "." in urlsplit(url).path else "html"),
            )
    if count is not None and current is not None:
        for n in range(min(count, MAX_PAGER_PAGES)):  # a hostile pager may claim 10**9 pages
            if n != current:
                pages.append(urljoin(url, f"{stem}.{ext}" if n == 0 else f"{stem}_{n}.{ext}"))
    for a in soup.find_all("a", href=True):
        text = a.get_text(" ", strip=True)
        if _NEXT_TEXT.match(text) or (text.isdigit() and len(text) < 4):
            target = _absolute_or_none(url, str(a["href"]))
            if target and target != url and not is_attachment_url(target):
                pages.append(target)
    return list(dict.fromkeys(pages))


def parse_article(html: str, url: str, *, extra_attachments: tuple[str, ...] = ()) -> Article:
    """An article page's title, reporting year, publication date and the
    document attachments it links."""
    soup = _soup(html)
    title = None
    for name in ("ArticleTitle", "articletitle", "title"):
        meta = soup.find("meta", attrs={"name": name})
        if meta and meta.get("content"):
            title = str(meta["content"]).strip()
            break
    if not title:
        heading = soup.find(["h1", "h2"])
        title = heading.get_text(" ", strip=True) if heading else None
    if not title and soup.title:
        title = soup.title.get_text(" ", strip=True)
    published = None
    for meta in soup.find_all("meta"):
        key = str(meta.get("name") or meta.get("property") or "").lower()
        if key in _PUBDATE_META and meta.get("content"):
            published = parse_date(str(meta["content"]))
            if published:
                break
    body_text = soup.get_text(" ", strip=True)
    if published is None:
        published = published_date(body_text)
    published = published or url_date(url)
    attachments: list[Link] = []
    invalid: list[str] = []
    seen: set[str] = set()
    for a in soup.find_all("a", href=True):
        target = _absolute_or_none(url, str(a["href"]), invalid)
        if target is None or target in seen or not is_attachment_url(target, extra_attachments):
            continue
        seen.add(target)
        name = _anchor_title(a) or target.rsplit("/", 1)[-1]
        attachments.append(Link(url=target, title=name, year=report_year(name), is_attachment=True))
    return Article(
        url=url,
        title=title,
        year=report_year(title or ""),
        published_at=published,
        attachments=attachments,
        invalid=invalid,
    )


def page_fingerprint(html: str) -> str:
    """A hash of an HTML page's visible text: scripts, styles, comments and
    whitespace do not count, so rotating tokens in a page template do not
    make an unchanged report look new."""
    soup = _soup(html)
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    text = re.sub(r"\s+", " ", soup.get_text(" ", strip=True))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
