"""A small gov-like site serving the sample reports, for ``make run``.

Built at start-up from ``data/samples``: a GBK 政府信息公开年报 column with
TRS-style pagination (``index.htm``, ``index_1.htm``, relative links,
dates beside the titles), one article page per report linking the report
file as an attachment, robots.txt, ETags. Report files are served byte for
byte, so what the monitor publishes has the sample's sha256 (its report
id). The site listens on a free 127.0.0.1 port and writes its address
where the registry's ``{sample_site}`` placeholder is read from.

Around the column stands an agency portal built like real ones, for column
discovery (``ogi sources discover``): a home page with a navigation menu and
a news list (one item a report, which is not the column), a 政务公开
section, its 法定主动公开内容 page, and the column two levels down; in
simplified or traditional characters. The column's items may also load by a
second request, as many real columns do (``layout``): a JCMS-style
``dataproxy.jsp`` answering XML records that wrap ``<li>`` items, or a JSON
API. :class:`ManySites` serves synthetic sites of this kind on many loopback
addresses from one process, for the scale test and benchmark.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import hashlib
import html
import json
import mimetypes
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from ogi.settings import Settings, get_settings
from ogi.vocabulary import is_annual_report, report_year
from services.ingest.registry import runtime_file

COLUMN = "/zwgk/zfxxgknb/"
PER_PAGE = 3


@dataclass(frozen=True)
class Page:
    body: bytes
    content_type: str

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@dataclass(frozen=True)
class Dynamic:
    """A page rendered per request from its query (a second-request endpoint)."""

    render: Callable[[dict[str, str]], Page]


def _gbk(text: str) -> bytes:
    return text.encode("gbk", "xmlcharrefreplace")


def _title_for(path: Path, truth: dict[str, Any]) -> str:
    first = path.read_bytes()[:600].decode("utf-8", "ignore").strip().splitlines()
    if first and is_annual_report(first[0]) and len(first[0]) < 80:
        return first[0].strip()
    known = truth.get(path.name, {})
    if known.get("agency") and known.get("year"):
        return f"{known['agency']}{known['year']}年政府信息公开工作年度报告"
    return f"{path.stem} 政府信息公开工作年度报告"


def build_site(
    samples: list[Path], truth_file: Path | None = None, *, layout: str = "pages", traditional: bool = False
) -> dict[str, Page | Dynamic]:
    """The site's pages by path. ``layout``: how the column lists its items
    (``pages``: TRS list pages; ``dataproxy`` or ``json``: a second request)."""
    truth: dict[str, Any] = {}
    if truth_file and truth_file.exists():
        truth = json.loads(truth_file.read_text(encoding="utf-8")).get("reports", {})
    pages: dict[str, Page | Dynamic] = {
        "/robots.txt": Page(b"User-agent: *\nDisallow: /admin/\n", "text/plain")
    }
    pages.update(portal_pages(f"{COLUMN}index.htm", traditional=traditional))
    items: list[tuple[str, str, date]] = []
    for n, path in enumerate(samples, start=1):
        title = _title_for(path, truth)
        year = report_year(title) or 2020
        published = date(year + 1, 1 + n % 3, 10 + n)
        stamp = published.strftime("%Y%m%d")
        article = f"{COLUMN}{published:%Y%m}/t{stamp}_{n}.htm"
        if path.suffix.lower() in {".html", ".htm"}:
            # an HTML report is the article page itself
            pages[article] = Page(path.read_bytes(), "text/html")
        else:
            attachment = f"P0{stamp}{n:04d}{path.suffix.lower()}"
            pages[f"{COLUMN}{published:%Y%m}/{attachment}"] = Page(
                path.read_bytes(), mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            )
            pages[article] = Page(_gbk(_article_html(title, published, attachment)), "text/html; charset=GBK")
        items.append((article.removeprefix(COLUMN), title, published))
    items.sort(key=lambda item: item[2], reverse=True)
    pages.update(column_pages(items, layout))
    return pages


def column_pages(items: list[tuple[str, str, date]], layout: str = "pages") -> dict[str, Page | Dynamic]:
    """The column's pages for ``items`` (href relative to the column, title, date)."""
    pages: dict[str, Page | Dynamic] = {}
    if layout == "dataproxy":
        pages[f"{COLUMN}index.htm"] = Page(_gbk(_dataproxy_column_html()), "text/html; charset=GBK")
        pages[DATAPROXY] = Dynamic(lambda query: _dataproxy_answer(items, query))
        pages[COLUMN] = pages[f"{COLUMN}index.htm"]
        return pages
    if layout == "json":
        pages[f"{COLUMN}index.htm"] = Page(_json_column_html().encode(), "text/html; charset=utf-8")
        pages[API] = Dynamic(lambda query: _api_answer(items, query))
        pages[COLUMN] = pages[f"{COLUMN}index.htm"]
        return pages
    count = max(1, -(-len(items) // PER_PAGE))
    for p in range(count):
        name = "index.htm" if p == 0 else f"index_{p}.htm"
        chunk = items[p * PER_PAGE : (p + 1) * PER_PAGE]
        pages[f"{COLUMN}{name}"] = Page(_gbk(_list_html(chunk, p, count)), "text/html; charset=GBK")
    pages[COLUMN] = pages[f"{COLUMN}index.htm"]
    return pages


def _list_html(items: list[tuple[str, str, date]], page: int, count: int) -> str:
    rows = "\n".join(
        f'<li><a href="./{href}" title="{html.escape(title)}" target="_blank">{html.escape(title)}</a>'
        f"<span>{published:%Y-%m-%d}</span></li>"
        for href, title, published in items
    )
    nxt = f'<a href="index_{page + 1}.htm">下一页</a>' if page + 1 < count else ""
    return f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk">
<title>政府信息公开年报 - 样例市市场监督管理局</title></head>
<body><div class="nav"><a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt; 政府信息公开年报</div>
<ul class="list">
{rows}
</ul>
<div class="page"><script>createPageHTML({count}, {page}, "index", "htm");</script>{nxt}</div>
<div class="footer"><a href="/zwgk/zfxxgkzn/">政府信息公开指南</a> <a href="/zwgk/ysbg/">2024年部门预算</a></div>
</body></html>"""


DATAPROXY = "/module/jpage/dataproxy.jsp"
API = "/api/column/list"
DATAPROXY_PER_PAGE = 2
API_PAGE_SIZE = 3


def _li(href: str, title: str, published: date) -> str:
    return (
        f'<li><a href="{COLUMN}{href}" title="{html.escape(title)}" target="_blank">{html.escape(title)}</a>'
        f"<span>{published:%Y-%m-%d}</span></li>"
    )


def _dataproxy_column_html() -> str:
    """A JCMS column: the list is an empty datastore; jpage.js loads the records."""
    nextgroup = (
        f'<a href="{DATAPROXY}?page=1&amp;appid=1&amp;webid=1&amp;path=/&amp;columnid=4711'
        '&amp;unitid=9001&amp;permissiontype=0"></a>'
    )
    return f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk"><title>政府信息公开年报</title>
<script type="text/javascript" src="/module/jpage/jpage.js"></script></head>
<body><div class="nav"><a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt; 政府信息公开年报</div>
<div id="9001"><script type="text/xml"><datastore><nextgroup><![CDATA[{nextgroup}]]></nextgroup>
<recordset></recordset></datastore></script></div>
<script>$('#9001').jpage({{dataStore: null, perPage: {DATAPROXY_PER_PAGE}, proxyUrl: '{DATAPROXY}'}});</script>
</body></html>"""


def _dataproxy_answer(items: list[tuple[str, str, date]], query: dict[str, str]) -> Page:
    try:
        start, end = int(query.get("startrecord", "1")), int(query.get("endrecord", "15"))
    except ValueError:
        start, end = 1, 15
    records = "".join(
        f"<record><![CDATA[{_li(*item)}]]></record>\n" for item in items[max(0, start - 1) : end]
    )
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><datastore><totalrecord>{len(items)}</totalrecord>'
        f"<recordset>\n{records}</recordset></datastore>"
    )
    return Page(body.encode(), "text/xml; charset=UTF-8")


def _json_column_html() -> str:
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>政府信息公开年报</title></head>
<body><div class="nav"><a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt; 政府信息公开年报</div>
<ul id="list"></ul>
<script>
fetch("{API}?columnId=12&page=1&size={API_PAGE_SIZE}").then(r => r.json()).then(render);
</script></body></html>"""


def _api_answer(items: list[tuple[str, str, date]], query: dict[str, str]) -> Page:
    page = int(query["page"]) if query.get("page", "").isdigit() else 1
    chunk = items[(page - 1) * API_PAGE_SIZE : page * API_PAGE_SIZE]
    data = {
        "code": 200,
        "data": {
            "totalPage": max(1, -(-len(items) // API_PAGE_SIZE)),
            "pageNo": page,
            "list": [
                {"title": t, "url": f"{COLUMN}{h}", "publishDate": f"{d:%Y-%m-%d}"} for h, t, d in chunk
            ],
        },
    }
    return Page(json.dumps(data, ensure_ascii=False).encode(), "application/json; charset=utf-8")


#: the portal's navigation, simplified and traditional
_NAV = {
    False: {
        "home": "首页",
        "about": "机构概况",
        "news": "新闻动态",
        "open": "政务公开",
        "talk": "互动交流",
        "guide": "政府信息公开指南",
        "rules": "政府信息公开制度",
        "statutory": "法定主动公开内容",
        "policy": "政策文件",
        "duty": "机构职能",
        "plan": "规划计划",
        "budget": "财政预决算",
        "column": "政府信息公开年报",
        "notice": "关于做好2024年度企业年报公示工作的通知",
        "report": "样例市2023年政府信息公开工作年度报告",
    },
    True: {
        "home": "首頁",
        "about": "機構概況",
        "news": "新聞動態",
        "open": "政務公開",
        "talk": "互動交流",
        "guide": "政府資訊公開指南",
        "rules": "政府資訊公開制度",
        "statutory": "法定主動公開內容",
        "policy": "政策文件",
        "duty": "機構職能",
        "plan": "規劃計劃",
        "budget": "財政預決算",
        "column": "政府資訊公開年報",
        "notice": "關於做好2024年度企業年報公示工作的通知",
        "report": "樣例市2023年政府資訊公開工作年度報告",
    },
}


def portal_pages(column_url: str, *, traditional: bool = False) -> dict[str, Page | Dynamic]:
    """Home page → 政务公开 → 法定主动公开内容 → the column (``column_url``)."""
    t = _NAV[traditional]
    menu = (
        f'<ul class="menu"><li><a href="/">{t["home"]}</a></li><li><a href="/jggk/">{t["about"]}</a></li>'
        f'<li><a href="/xwdt/">{t["news"]}</a></li><li><a href="/zwgk/">{t["open"]}</a></li>'
        f'<li><a href="/hdjl/">{t["talk"]}</a></li></ul>'
    )

    def page(title: str, body: str) -> Page:
        return Page(
            f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body><div class="header">{menu}</div><div class="main">{body}</div>
<div class="footer"><a href="/wzdt/">网站地图</a></div></body></html>""".encode(),
            "text/html; charset=utf-8",
        )

    return {
        "/": page(
            t["home"],
            f'<div class="news"><ul><li><a href="/xwdt/202401/t1.htm">{t["notice"]}</a></li>'
            f'<li><a href="/xwdt/202401/t2.htm">{t["report"]}</a></li></ul></div>',
        ),
        "/index.html": page(t["home"], ""),
        "/jggk/": page(t["about"], "<p>机构职能</p>"),
        "/xwdt/": page(t["news"], f'<ul><li><a href="/xwdt/202401/t1.htm">{t["notice"]}</a></li></ul>'),
        "/hdjl/": page(t["talk"], "<p>留言</p>"),
        "/zwgk/": page(
            t["open"],
            f'<ul class="sub"><li><a href="/zwgk/zn/">{t["guide"]}</a></li>'
            f'<li><a href="/zwgk/zd/">{t["rules"]}</a></li>'
            f'<li><a href="/zwgk/fdzdgknr/">{t["statutory"]}</a></li>'
            f'<li><a href="/zwgk/zcwj/">{t["policy"]}</a></li></ul>',
        ),
        "/zwgk/fdzdgknr/": page(
            t["statutory"],
            f'<ul class="sub"><li><a href="/zwgk/jgzn/">{t["duty"]}</a></li>'
            f'<li><a href="/zwgk/ghjh/">{t["plan"]}</a></li>'
            f'<li><a href="/zwgk/czyjs/">{t["budget"]}</a></li>'
            f'<li><a href="{column_url}">{t["column"]}</a></li></ul>',
        ),
    }


def _article_html(title: str, published: date, attachment: str) -> str:
    return f"""<!DOCTYPE html>
<html><head><meta charset="gbk"><meta name="ArticleTitle" content="{html.escape(title)}">
<meta name="PubDate" content="{published:%Y-%m-%d} 09:00"><title>{html.escape(title)}</title></head>
<body><h1>{html.escape(title)}</h1>
<div class="info">发布时间：{published:%Y-%m-%d} 来源：样例市市场监督管理局</div>
<div class="content"><p>现将{html.escape(title)}予以公布，详见附件。</p>
<p>附件：<a href="./{attachment}">{html.escape(title)}{Path(attachment).suffix}</a></p></div>
</body></html>"""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        entry = self.server.pages.get(path)
        page = entry.render(dict(parse_qsl(query))) if isinstance(entry, Dynamic) else entry
        if page is None:
            self.send_error(404)
            return
        if self.headers.get("If-None-Match") == page.etag:
            self.send_response(304)
            self.send_header("ETag", page.etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", page.content_type)
        self.send_header("Content-Length", str(len(page.body)))
        self.send_header("ETag", page.etag)
        self.end_headers()
        self.wfile.write(page.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    pages: dict[str, Page | Dynamic]


class SampleSite:
    """The running site; ``report_ids`` are what the monitor will publish."""

    def __init__(
        self,
        samples: list[Path],
        *,
        truth_file: Path | None = None,
        port: int = 0,
        layout: str = "pages",
        traditional: bool = False,
    ) -> None:
        self.samples = samples
        self.pages = build_site(samples, truth_file, layout=layout, traditional=traditional)
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.pages = self.pages
        self._thread = threading.Thread(target=self._server.serve_forever, name="sample-site", daemon=True)
        self._runtime: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def report_ids(self) -> list[str]:
        return [hashlib.sha256(p.read_bytes()).hexdigest()[:40] for p in self.samples]

    def start(self, settings: Settings | None = None) -> SampleSite:
        """Serve in a background thread and publish the address for the registry."""
        self._thread.start()
        self._runtime = runtime_file(settings or get_settings())
        self._runtime.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._runtime.with_suffix(".tmp")
        tmp.write_text(json.dumps({"sample_site": self.url}))
        tmp.replace(self._runtime)
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        if self._runtime is not None:
            self._runtime.unlink(missing_ok=True)
            self._runtime = None
        if self._thread.is_alive():
            self._server.shutdown()
            self._server.server_close()


def start_sample_site(samples: list[Path], settings: Settings | None = None) -> SampleSite:
    truth = samples[0].parent / "truth.json" if samples else None
    return SampleSite(samples, truth_file=truth).start(settings)


# -- many sites from one process (scale test and benchmark) -----------------


def loopback_hosts(count: int) -> list[str]:
    """``count`` distinct loopback addresses 127.0.x.y (Linux routes all of
    127/8 to ``lo``), each a host of its own for the monitor's politeness."""
    return [f"127.0.{1 + n // 250}.{1 + n % 250}" for n in range(count)]


def synthetic_site(
    n: int, *, reports: int = 10, per_page: int = 5, today: date | None = None
) -> dict[str, Page]:
    """Site ``n``: robots.txt, a column of ``reports`` PDF reports over list
    pages of ``per_page`` (TRS pager), the newest published a month ago and
    each older one a year before the last (so one is "recent")."""
    today = today or date.today()
    pages: dict[str, Page] = {"/robots.txt": Page(b"User-agent: *\nDisallow: /admin/\n", "text/plain")}
    items: list[tuple[str, str, date]] = []
    for k in range(reports):
        year = today.year - 1 - k
        published = date.fromordinal(today.toordinal() - 30 - 365 * k)
        name = f"{published:%Y%m}/P0{published:%Y%m%d}{k:04d}.pdf"
        body = f"%PDF-1.4\n% site {n} report {year}\n1 0 obj << /Title (site {n} {year}) >> endobj\n%%EOF\n"
        pages[f"{COLUMN}{name}"] = Page(body.encode(), "application/pdf")
        items.append((name, f"测试{n}局{year}年政府信息公开工作年度报告", published))
    count = max(1, -(-len(items) // per_page))
    for p in range(count):
        chunk = items[p * per_page : (p + 1) * per_page]
        pages[f"{COLUMN}{'index.htm' if p == 0 else f'index_{p}.htm'}"] = Page(
            _gbk(_list_html(chunk, p, count)), "text/html; charset=GBK"
        )
    return pages


class ManySites:
    """One local server answering as ``count`` sites, each on its own
    loopback address (one asyncio loop in one thread; a listening socket per
    address). Records per host when each request arrived and how many were
    in flight at once, so a test can check the monitor's politeness."""

    def __init__(self, count: int, *, reports: int = 10, per_page: int = 5) -> None:
        self.hosts = loopback_hosts(count)
        self.sites = [synthetic_site(n, reports=reports, per_page=per_page) for n in range(count)]
        self.ports: list[int] = [0] * count
        self.arrivals: dict[int, list[float]] = {n: [] for n in range(count)}
        self.targets: dict[int, list[str]] = {n: [] for n in range(count)}
        self.in_flight = [0] * count
        self.max_in_flight = [0] * count
        self.requests = 0
        self._loop = asyncio.new_event_loop()
        self._servers: list[asyncio.base_events.Server] = []
        self._thread = threading.Thread(target=self._loop.run_forever, name="many-sites", daemon=True)

    def url(self, n: int, path: str = f"{COLUMN}index.htm") -> str:
        return f"http://{self.hosts[n]}:{self.ports[n]}{path}"

    def start(self) -> ManySites:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=120)
        return self

    async def _listen(self) -> None:
        for n, host in enumerate(self.hosts):
            server = await asyncio.start_server(
                functools.partial(self._serve, n), host, 0, reuse_address=True, backlog=64
            )
            self.ports[n] = server.sockets[0].getsockname()[1]
            self._servers.append(server)

    async def _serve(self, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                lines = request.decode("latin-1").split("\r\n")
                target = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else "/"
                headers = {
                    k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)
                }
                self.arrivals[n].append(time.monotonic())
                self.targets[n].append(target)
                self.requests += 1
                self.in_flight[n] += 1
                self.max_in_flight[n] = max(self.max_in_flight[n], self.in_flight[n])
                try:
                    page = self.sites[n].get(target.split("?", 1)[0])
                    if page is None:
                        head, body = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n", b""
                    elif headers.get("if-none-match") == page.etag:
                        head, body = f"HTTP/1.1 304 Not Modified\r\nETag: {page.etag}\r\n", b""
                    else:
                        head = (
                            f"HTTP/1.1 200 OK\r\nContent-Type: {page.content_type}\r\n"
                            f"Content-Length: {len(page.body)}\r\nETag: {page.etag}\r\n"
                        )
                        body = page.body
                    writer.write(head.encode() + b"\r\n" + body)
                    await writer.drain()
                finally:
                    self.in_flight[n] -= 1
        except (
            asyncio.IncompleteReadError,
            ConnectionError,
            asyncio.LimitOverrunError,
            asyncio.CancelledError,
        ):
            # CancelledError: stop() ends open keep-alive connections; nothing to hand on
            pass
        finally:
            writer.close()

    def stop(self) -> None:
        async def close() -> None:
            for server in self._servers:
                server.close()
            # open keep-alive connections end here, while the loop still runs
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=60)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
        self._loop.close()


class ManySitesProcess:
    """:class:`ManySites` in a child process: its clock and event loop do
    not share a GIL with the monitor under test, so the arrival times it
    records are the network's, not the test process's scheduling.
    :meth:`stats` fetches ``arrivals``, ``max_in_flight`` and ``requests``."""

    def __init__(self, count: int, *, reports: int = 10, per_page: int = 5) -> None:
        import multiprocessing

        self.hosts = loopback_hosts(count)
        self.ports: list[int] = []
        self.arrivals: dict[int, list[float]] = {}
        self.targets: dict[int, list[str]] = {}
        self.max_in_flight: list[int] = []
        self.requests = 0
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_many_sites_child, args=(child, count, reports, per_page), name="many-sites", daemon=True
        )

    def url(self, n: int, path: str = f"{COLUMN}index.htm") -> str:
        return f"http://{self.hosts[n]}:{self.ports[n]}{path}"

    def start(self, timeout_s: float = 180) -> ManySitesProcess:
        self._process.start()
        if not self._conn.poll(timeout_s):
            self.stop()
            raise TimeoutError(f"the {len(self.hosts)} local sites did not start in {timeout_s:.0f}s")
        self.ports = self._conn.recv()
        return self

    def stats(self) -> ManySitesProcess:
        self._conn.send("stats")
        self.arrivals, self.targets, self.max_in_flight, self.requests = self._conn.recv()
        return self

    def stop(self) -> None:
        if self._process.is_alive():
            try:
                self._conn.send("stop")
            except OSError:
                pass
            self._process.join(timeout=60)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(timeout=30)
        self._conn.close()


def _many_sites_child(conn: Any, count: int, reports: int, per_page: int) -> None:
    sites = ManySites(count, reports=reports, per_page=per_page).start()
    try:
        conn.send(sites.ports)
        while True:
            try:
                command = conn.recv()
            except EOFError:  # the parent is gone
                return
            if command == "stats":
                conn.send((sites.arrivals, sites.targets, sites.max_in_flight, sites.requests))
            elif command == "stop":
                return
    finally:
        sites.stop()
