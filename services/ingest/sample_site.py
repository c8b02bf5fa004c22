"""A small gov-like site serving the sample reports, for ``make run``.

Built at start-up from ``data/samples``: a GBK 政府信息公开年报 column with
TRS-style pagination (``index.htm``, ``index_1.htm``, relative links,
dates beside the titles), one article page per report linking the report
file as an attachment, robots.txt, ETags. Report files are served byte for
byte, so what the monitor publishes has the sample's sha256 (its report
id). The site listens on a free 127.0.0.1 port and writes its address
where the registry's ``{sample_site}`` placeholder is read from.
"""

from __future__ import annotations

import atexit
import hashlib
import html
import json
import mimetypes
import threading
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ogi.settings import Settings, get_settings
from services.ingest.discovery import is_annual_report, report_year
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


def build_site(samples: list[Path], truth_file: Path | None = None) -> dict[str, Page]:
    """The site's pages by path."""
    truth: dict[str, Any] = {}
    if truth_file and truth_file.exists():
        truth = json.loads(truth_file.read_text(encoding="utf-8")).get("reports", {})
    pages: dict[str, Page] = {"/robots.txt": Page(b"User-agent: *\nDisallow: /admin/\n", "text/plain")}
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
                path.read_bytes(), mimetypes.guess_type(path.name)[0] or "application/octet-stream")
            pages[article] = Page(_gbk(_article_html(title, published, attachment)), "text/html; charset=GBK")
        items.append((article.removeprefix(COLUMN), title, published))
    items.sort(key=lambda item: item[2], reverse=True)
    count = max(1, -(-len(items) // PER_PAGE))
    for p in range(count):
        name = "index.htm" if p == 0 else f"index_{p}.htm"
        chunk = items[p * PER_PAGE:(p + 1) * PER_PAGE]
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
        path = self.path.split("?", 1)[0]
        page = self.server.pages.get(path)
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
    pages: dict[str, Page]


class SampleSite:
    """The running site; ``report_ids`` are what the monitor will publish."""

    def __init__(self, samples: list[Path], *, truth_file: Path | None = None, port: int = 0) -> None:
        self.samples = samples
        self.pages = build_site(samples, truth_file)
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
