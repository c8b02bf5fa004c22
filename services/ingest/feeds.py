"""Column pages whose items load by a second request.

Many agency sites ship an empty list in the column page and fill it from a
script. Two families are recognised from the page itself, without per-site
hints (the registry's ``hints`` stay the escape hatch):

- **JCMS ``dataproxy.jsp``** (Hanweb; common in Zhejiang, Jiangsu, Anhui):
  the page names ``/module/jpage/dataproxy.jsp`` (in a ``nextgroup`` link
  of its ``<datastore>`` or in the ``jpage({...})`` call, with the
  ``columnid``/``webid``/``unitid`` parameters). The endpoint is paged with
  ``startrecord``/``endrecord``/``perpage`` and answers XML whose
  ``<record>`` elements wrap ``<li>`` items in CDATA, with a
  ``<totalrecord>``. The monitor asks for one group of records after the
  other (GET with the same parameters as the page's POST).
- **JSON APIs**: a script on the page names a URL under ``/api/`` or
  ending ``.json``; the answer is searched for objects holding a report
  title and a link, and paged through its ``page``/``pageNo`` parameter
  up to the page count the answer gives.

Both become "further list pages" of the column, so the monitor's page limit,
politeness and conditional requests apply to them as to any list page.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from ogi.vocabulary import is_annual_report, parse_date, report_year
from services.ingest.discovery import (
    MAX_PAGER_PAGES,
    Link,
    ListPage,
    is_attachment_url,
    parse_list_page,
    url_date,
)

#: records asked for per dataproxy request when the page does not say (JCMS groups three pages of 15)
DATAPROXY_GROUP = 45
_DATAPROXY_URL = re.compile(
    r"""["'>=\s(]((?:https?://[^"'\s<>]+)?/[^"'\s<>]*dataproxy\.jsp[^"'\s<>]*)""", re.IGNORECASE
)
_JPAGE_PARAMS = re.compile(r"params\s*:\s*\{([^}]*)\}", re.IGNORECASE)
_JS_PAIR = re.compile(r"""["']?(\w+)["']?\s*:\s*["']?([\w.-]+)["']?""")
_PERPAGE = re.compile(r"""per[_-]?page["']?\s*[:=]\s*["']?(\d+)""", re.IGNORECASE)
_TOTAL_RECORD = re.compile(r"<totalrecord>\s*(\d+)\s*</totalrecord>", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_SCRIPT = re.compile(r"<script[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)
_API_URL = re.compile(
    r"""["']((?:https?://[^"'\s/]+)?/(?:[^"'\s]*/)?(?:api/[^"'\s]*|[^"'\s/]*\.json(?:\?[^"'\s]*)?))["']"""
)
_PAGE_PARAMS = ("page", "pageNo", "pageNum", "pageIndex", "currentPage", "curPage", "p")
_PAGE_COUNT_KEYS = ("totalPage", "totalPages", "pageCount", "pages", "pageTotal")
_TITLE_KEYS = ("title", "name", "subject", "docTitle", "articleTitle", "showTitle")
_URL_KEYS = ("url", "link", "href", "path", "docUrl", "articleUrl", "fileUrl", "pageUrl")
_DATE_KEYS = ("date", "pubDate", "publishDate", "publishTime", "releaseTime", "createTime", "docDate", "time")


def read_list_page(
    text: str,
    url: str,
    *,
    link_pattern: str | None = None,
    exclude_pattern: str | None = None,
    list_selector: str | None = None,
    extra_attachments: tuple[str, ...] = (),
) -> ListPage:
    """A column page (HTML, dataproxy XML or JSON): its report links, and as
    further pages its pager and the second requests that load its items."""
    if _is_json(text):
        return json_list_page(text, url, extra_attachments=extra_attachments)
    # a dataproxy answer is XML; its records are lifted as HTML (the declaration would only make bs4 warn)
    text = _XML_DECLARATION.sub("", text, count=1)
    page = parse_list_page(
        text,
        url,
        link_pattern=link_pattern,
        exclude_pattern=exclude_pattern,
        list_selector=list_selector,
        extra_attachments=extra_attachments,
    )
    for extra in item_requests(text, url):
        if extra not in page.pages:
            page.pages.append(extra)
    return page


def _is_json(text: str) -> bool:
    head = text.lstrip()[:1]
    return head in ("{", "[")


def item_requests(text: str, url: str) -> list[str]:
    """The requests that load a page's items (dataproxy groups, JSON API pages)."""
    return dataproxy_requests(text, url) + api_requests(text, url)


# -- JCMS dataproxy.jsp ----------------------------------------------------


def dataproxy_requests(text: str, url: str) -> list[str]:
    """On a column page: the first group of records; on a dataproxy answer:
    the groups after it, up to ``<totalrecord>``."""
    if "dataproxy.jsp" in urlsplit(url).path.lower():
        total = _TOTAL_RECORD.search(text)
        if not total:
            return []
        query = dict(parse_qsl(urlsplit(url).query))
        try:
            end = int(query.get("endrecord", "0"))
            size = end - int(query.get("startrecord", "1")) + 1
        except ValueError:
            return []
        if size <= 0:
            return []
        count = min(int(total.group(1)), size * MAX_PAGER_PAGES)  # a hostile total claims 10**9 records
        return [
            _with_query(url, startrecord=str(start), endrecord=str(min(start + size - 1, count)))
            for start in range(end + 1, count + 1, size)
        ]
    m = _DATAPROXY_URL.search(text)
    if not m:
        return []
    proxy = urljoin(url, m.group(1).replace("&amp;", "&"))
    params: dict[str, str] = {}
    jpage = _JPAGE_PARAMS.search(text, m.end())
    if jpage:
        params.update(dict(_JS_PAIR.findall(jpage.group(1))))
    perpage = _PERPAGE.search(text)
    size = int(perpage.group(1)) * 3 if perpage else DATAPROXY_GROUP
    existing = dict(parse_qsl(urlsplit(proxy).query))
    params = {k: v for k, v in params.items() if k not in existing}
    return [
        _with_query(
            proxy, **params, startrecord="1", endrecord=str(size), perpage=str(size // 3 if perpage else 15)
        )
    ]


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


# -- JSON APIs -------------------------------------------------------------


def api_requests(text: str, url: str) -> list[str]:
    """JSON endpoints a column page's scripts call (first page each)."""
    found: list[str] = []
    for script in _SCRIPT.findall(text):
        for m in _API_URL.finditer(script):
            target = urljoin(url, m.group(1))
            if urlsplit(target).netloc == urlsplit(url).netloc and target not in found:
                found.append(target)
    return found


def json_list_page(text: str, url: str, *, extra_attachments: tuple[str, ...] = ()) -> ListPage:
    """Report links in a JSON answer, and its further pages."""
    page = ListPage()
    try:
        data = json.loads(text)
    except ValueError:
        page.invalid.append(f"{url}: not JSON")
        return page
    seen: set[str] = set()
    for item in _objects(data):
        title = _first_str(item, _TITLE_KEYS)
        href = _first_str(item, _URL_KEYS)
        if not title or not href or not is_annual_report(title):
            continue
        target = urljoin(url, href)
        if urlsplit(target).scheme not in ("http", "https") or target in seen:
            continue
        seen.add(target)
        when = _first_str(item, _DATE_KEYS)
        page.reports.append(
            Link(
                url=target,
                title=title,
                year=report_year(title),
                published_at=(parse_date(when) if when else None) or url_date(target),
                is_attachment=is_attachment_url(target, extra_attachments),
            )
        )
    page.pages = _api_pages(data, url)
    return page


def _objects(data: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            out.append(node)
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(reversed(node))
    return out


def _first_str(item: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    lowered = {k.lower(): v for k, v in item.items()}
    for key in keys:
        value = lowered.get(key.lower())
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _api_pages(data: Any, url: str) -> list[str]:
    """Pages 2..N of a paged answer, when the URL has a page parameter
    and the answer a page count; only the first page names the rest."""
    query = dict(parse_qsl(urlsplit(url).query))
    param = next((p for p in _PAGE_PARAMS if p in query), None)
    if param is None or not query[param].isdigit():
        return []
    current = int(query[param])
    count = None
    for node in _objects(data):
        for key in _PAGE_COUNT_KEYS:
            value = node.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                count = value
                break
        if count is not None:
            break
    if count is None or current != 1:
        return []
    return [_with_query(url, **{param: str(n)}) for n in range(2, min(count, MAX_PAGER_PAGES) + 1)]
