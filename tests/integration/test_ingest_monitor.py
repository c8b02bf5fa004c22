"""The site monitor as a real process (``ogi serve monitor``) against a
gov-like site on 127.0.0.1, checked on the real Kafka raw topic.

The site has what real columns have, and what hostile or broken ones do:
GBK list pages with TRS pagination and relative links, an article page with
PDF and DOCX attachments, an article in traditional characters whose page
is the report, a robots.txt that disallows /private/, a list page and a
document that answer 500 then 200, one that is slower than the read timeout the first
time, a redirect to 169.254.169.254, a 60 MB attachment streamed lazily
without Content-Length, and a non-report link that must not be followed.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ogi.settings import Settings
from ogi.topics import INGEST_SEEN, INGEST_STATUS, RAW
from schemas.events import RawReport, SeenDocument, SourceStatus
from tests.support import REPO, Service, read_topic, service_env, wait_for

pytestmark = pytest.mark.integration

BIG_BYTES = 60 * 1024 * 1024
NB = "/xxgk/nb/"


def _pdf(tag: str, text: str) -> bytes:
    return f"%PDF-1.4\n% {tag}\n1 0 obj << /Title ({text}) >> endobj\ntrailer << >>\n%%EOF\n".encode()


def _docx(tag: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", f"<w:document><w:t>{tag} 2023年度报告</w:t></w:document>")
    return buf.getvalue()


def _doc(tag: str) -> bytes:
    return (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 56 + "WordDocument".encode("utf-16-le") + tag.encode()
    )


def _gbk(html: str) -> bytes:
    return html.encode("gbk")


class GovSite:
    """A gov.cn-like column on 127.0.0.1; records every request."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex
        self.tag = tag
        self.docs: dict[str, tuple[bytes, str]] = {
            "/robots.txt": (b"User-agent: *\nDisallow: /private/\n", "text/plain"),
            f"{NB}index.htm": (_gbk(self._list_page_1()), "text/html"),  # charset only in <meta>
            f"{NB}index_1.htm": (_gbk(self._list_page_2()), "text/html"),
            f"{NB}202401/t20240115_1.htm": (_gbk(self._article_2023()), "text/html; charset=GBK"),
            f"{NB}202401/P020240115_report.pdf": (_pdf(tag, "2023 report"), "application/octet-stream"),
            "/uploads/2023nb.docx": (_docx(tag), "application/octet-stream"),
            f"{NB}202301/t20230110_2.htm": (_gbk(self._article_2022()), "text/html; charset=GBK"),
            "/private/2021nb.pdf": (_pdf(tag, "private"), "application/pdf"),
            f"{NB}2020nb.pdf": (_pdf(tag, "2020 flaky"), "application/pdf"),
            f"{NB}2019nb.pdf": (_pdf(tag, "2019 slow"), "application/pdf"),
            f"{NB}201601/t20160120_9.htm": (_gbk(self._article_2015()), "text/html; charset=GBK"),
            f"{NB}201601/P020160120.doc": (_doc(tag), "application/msword"),
        }
        self.requests: list[str] = []
        self.flaky = {f"{NB}2020nb.pdf": 1, f"{NB}index_1.htm": 1}  # 500, then 200
        self.slow_first_s = 2.5
        self.big_sent = 0
        self.big_requests = 0
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site._serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def count(self, path: str) -> int:
        with self._lock:
            return self.requests.count(path)

    # -- pages ------------------------------------------------------------

    def _list_page_1(self) -> str:
        rows = [
            ("./202401/t20240115_1.htm", "测试市2023年政府信息公开工作年度报告", "2024-01-15"),
            ("./202301/t20230110_2.htm", "测试市2022年政府資訊公開工作年度報告", "2023-01-10"),
            ("../../private/2021nb.pdf", "测试市2021年政府信息公开年报", "2022-01-20"),
            ("2020nb.pdf", "测试市2020年政府信息公开工作年度报告", "2021-01-25"),
            ("2019nb.pdf", "测试市2019年政府信息公开工作年度报告", "2020-01-22"),
            ("redirect.htm", "测试市2018年政府信息公开工作年度报告", "2019-01-30"),
            ("2017nb.pdf", "测试市2017年政府信息公开工作年度报告", "2018-01-31"),
            ("notice.htm", "关于2014年政府信息公开工作要点落实情况的函", "2014-12-10"),
        ]
        items = "\n".join(f'<li><a href="{h}" title="{t}">{t}</a><span>{d}</span></li>' for h, t, d in rows)
        return f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>政府信息公开年报</title></head><body><div class="nav"><a href="/">首页</a></div>
<ul>{items}</ul><div class="page"><script>createPageHTML(2, 0, "index", "htm");</script>
<a href="index_1.htm">下一页</a></div></body></html>"""

    def _list_page_2(self) -> str:
        return """<html><head><meta charset="gbk"></head><body><ul>
<li><a href="./201601/t20160120_9.htm">测试市2015年政府信息公开工作年度报告</a><span>2016-01-20</span></li>
</ul><div class="page"><script>createPageHTML(2, 1, "index", "htm");</script>
<a href="index.htm">上一页</a></div></body></html>"""

    def _article_2023(self) -> str:
        return """<html><head><meta charset="gbk"><meta name="ArticleTitle" content="测试市2023年政府信息公开工作年度报告">
<meta name="PubDate" content="2024-01-15 09:30"></head><body><h1>测试市2023年政府信息公开工作年度报告</h1>
<p>详见附件。</p><a href="P020240115_report.pdf">测试市2023年政府信息公开工作年度报告.pdf</a>
<a href="/uploads/2023nb.docx">测试市2023年政府信息公开工作年度报告.docx</a></body></html>"""

    def _article_2022(self) -> str:
        body = "本報告根據《中華人民共和國政府信息公開條例》編制。" * 20
        return f"""<html><head><meta charset="gbk"><title>测试市2022年政府資訊公開工作年度報告</title></head>
<body><h1>测试市2022年政府資訊公開工作年度報告</h1><div>發布時間：2023-01-10</div><p>{body}</p>
<p>{self.tag}</p></body></html>"""

    def _article_2015(self) -> str:
        return """<html><head><meta charset="gbk"></head><body><h1>测试市2015年政府信息公开工作年度报告</h1>
<p>发布日期：2016年01月20日</p><a href="P020160120.doc">附件下载</a></body></html>"""

    # -- serving ----------------------------------------------------------

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?", 1)[0]
        with self._lock:
            self.requests.append(path)
        if path == f"{NB}redirect.htm":
            h.send_response(302)
            h.send_header("Location", "http://169.254.169.254/latest/meta-data/2018nb.pdf")
            h.end_headers()
            return
        if path == f"{NB}2017nb.pdf":
            self._serve_big(h)
            return
        if path in self.flaky and self.flaky[path] > 0:
            self.flaky[path] -= 1
            h.send_error(500)
            return
        if path == f"{NB}2019nb.pdf" and self.slow_first_s:
            delay, self.slow_first_s = self.slow_first_s, 0
            time.sleep(delay)
        doc = self.docs.get(path)
        if doc is None:
            h.send_error(404)
            return
        body, ctype = doc
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if h.headers.get("If-None-Match") == etag:
            h.send_response(304)
            h.send_header("ETag", etag)
            h.end_headers()
            return
        h.send_response(200)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.send_header("ETag", etag)
        h.end_headers()
        try:
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the slow page's first answer)

    def _serve_big(self, h: BaseHTTPRequestHandler) -> None:
        """60 MB, generated as it is sent, no Content-Length (the cap must
        work while streaming, not from the header)."""
        self.big_requests += 1
        h.send_response(200)
        h.send_header("Content-Type", "application/pdf")
        h.end_headers()
        chunk = b"%PDF-1.4\n" + b"0" * (64 * 1024 - 9)
        try:
            while self.big_sent < BIG_BYTES * self.big_requests:
                h.wfile.write(chunk)
                self.big_sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass


EXPECTED_PATHS = [
    f"{NB}202401/P020240115_report.pdf",
    "/uploads/2023nb.docx",
    f"{NB}202301/t20230110_2.htm",
    f"{NB}2020nb.pdf",
    f"{NB}2019nb.pdf",
    f"{NB}201601/P020160120.doc",
]


@pytest.fixture
def site() -> Any:
    s = GovSite()
    yield s
    s.stop()


def _registry(tmp_path: Path, source_id: str, site: GovSite) -> Path:
    path = tmp_path / f"{source_id}.yaml"
    path.write_text(
        json.dumps(
            {
                "sources": [
                    {
                        "id": source_id,
                        "name": "测试市人民政府",
                        "region": "测试省测试市",
                        "level": "city",
                        "urls": [f"{site.url}{NB}index.htm"],
                        "allow_private": True,
                    }
                ]
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return path


def _env(registry: Path, **extra: str) -> dict[str, str]:
    env = {
        "OGI_INGEST_REGISTRY": str(registry),
        "OGI_INGEST_POLL_INTERVAL_S": "2",
        "OGI_INGEST_POLL_JITTER": "0.1",
        "OGI_INGEST_HOST_DELAY_S": "0.05",
        "OGI_INGEST_READ_TIMEOUT_S": "1",
        "OGI_INGEST_BACKOFF_BASE_S": "0.2",
        "OGI_INGEST_BACKOFF_MAX_S": "1",
        "OGI_INGEST_WORKERS": "2",
    }
    env.update(extra)
    return env


def _events(service: Service, event: str, **match: Any) -> list[dict[str, Any]]:
    out = []
    for line in service.log_path.read_text(errors="replace").splitlines():  # also after stop()
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") == event and all(record.get(k) == v for k, v in match.items()):
            out.append(record)
    return out


def _raw(settings: Settings, source_id: str) -> list[RawReport]:
    # the session's raw topic also holds other tests' records, some of them
    # deliberately malformed: pick this source's by key before validating
    return [
        RawReport.model_validate_json(r.value)
        for r in read_topic(RAW, settings)
        if r.key == source_id.encode()
    ]


def test_monitor_publishes_each_report_once_and_refuses_the_rest(
    platform: Settings, site: GovSite, tmp_path: Path
) -> None:
    source_id = f"it-{uuid.uuid4().hex[:8]}"
    registry = _registry(tmp_path, source_id, site)
    monitor = Service("monitor", platform, tmp_path, **_env(registry))
    try:
        wait_for(
            lambda: len(_events(monitor, "poll done", source=source_id)) >= 2,
            120,
            "two complete polls of the test site",
            monitor.log,
        )
    finally:
        assert monitor.stop() == 0, monitor.log()[-4000:]

    raws = _raw(platform, source_id)
    by_url = Counter(r.source_url for r in raws)
    expected = {f"{site.url}{p}" for p in EXPECTED_PATHS}
    assert set(by_url) == expected, monitor.log()[-6000:]
    assert all(n == 1 for n in by_url.values()), by_url  # exactly once, over two polls

    for raw in raws:
        path = raw.source_url.removeprefix(site.url)
        assert raw.content == site.docs[path][0]  # byte for byte
        assert raw.sha256 == hashlib.sha256(raw.content).hexdigest()
        assert (raw.agency_name, raw.region, raw.level) == ("测试市人民政府", "测试省测试市", "city")
    docs = {r.source_url.removeprefix(site.url): r for r in raws}
    pdf = docs[f"{NB}202401/P020240115_report.pdf"]
    assert pdf.content_type == "application/pdf"  # served as octet-stream: sniffed
    assert (pdf.year, str(pdf.published_at)) == (2023, "2024-01-15")
    assert pdf.page_url == f"{site.url}{NB}202401/t20240115_1.htm"
    assert docs["/uploads/2023nb.docx"].content_type.endswith("wordprocessingml.document")
    assert docs[f"{NB}201601/P020160120.doc"].content_type == "application/msword"
    assert docs[f"{NB}201601/P020160120.doc"].year == 2015  # found through page 2
    page = docs[f"{NB}202301/t20230110_2.htm"]
    assert (page.content_type, page.encoding, page.year) == ("text/html", "gb18030", 2022)
    assert str(page.published_at) == "2023-01-10"

    # robots: never asked for; the non-report link: never followed
    assert site.count("/private/2021nb.pdf") == 0
    assert site.count(f"{NB}notice.htm") == 0
    assert site.count(f"{NB}2020nb.pdf") >= 2  # 500, then 200
    assert site.count(f"{NB}index_1.htm") >= 2  # the second list page too
    # the 60 MB attachment: refused while streaming, once (remembered), logged with the reason
    assert site.big_requests == 1
    assert site.big_sent < BIG_BYTES // 2
    refused = _events(monitor, "fetch", outcome="refused")
    reasons = {r["url"].removeprefix(site.url): r for r in refused}
    assert "cap while streaming" in reasons[f"{NB}2017nb.pdf"]["reason"]
    assert reasons[f"{NB}2017nb.pdf"]["error_class"] == "TooLarge"
    assert reasons[f"{NB}redirect.htm"]["error_class"] == "BlockedAddress"
    assert "169.254.169.254" in reasons[f"{NB}redirect.htm"]["final_url"]
    assert "link-local" in reasons[f"{NB}redirect.htm"]["reason"]
    assert reasons["/private/2021nb.pdf"]["error_class"] == "RobotsDisallowed"
    assert not any("169.254" in r.source_url or "/private/" in r.source_url for r in raws)
    slow = [
        e for e in _events(monitor, "fetch") if e["url"].endswith("2019nb.pdf") and e.get("status") == 200
    ]
    assert slow and slow[0]["attempts"] >= 2  # timed out once, retried

    statuses = [s for s in read_topic(INGEST_STATUS, platform, SourceStatus) if s.agency_id == source_id]
    latest = statuses[-1]
    assert (latest.reports_found, latest.published_total, latest.last_error) == (8, 6, None)
    assert latest.refused_total >= 3 and latest.last_success is not None

    out = subprocess.run(
        [sys.executable, "-m", "ogi.cli", "status", "--all", "--registry", str(registry)],
        env=service_env(platform),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    row = next(line for line in out.stdout.splitlines() if line.startswith(source_id))
    assert row.split()[3:6] == ["8", "6", str(latest.refused_total)]


def test_restart_publishes_nothing_twice_and_an_update_is_a_new_version(
    platform: Settings, site: GovSite, tmp_path: Path
) -> None:
    source_id = f"it-{uuid.uuid4().hex[:8]}"
    registry = _registry(tmp_path, source_id, site)
    # slow enough to stop it half-way; old reports on an unchanged list page
    # are re-checked every 4 s (the default is weekly), so the in-place
    # correction below is found on the "rarely" path of the re-check policy
    env = _env(registry, OGI_INGEST_HOST_DELAY_S="0.5", OGI_INGEST_RECHECK_OLD_S="4")
    first = Service("monitor", platform, tmp_path, **env)
    try:
        wait_for(
            lambda: len(_events(first, "published", source=source_id)) >= 2,
            120,
            "the first documents",
            first.log,
        )
    finally:
        assert first.stop() == 0, first.log()[-4000:]
    before = _raw(platform, source_id)
    assert 2 <= len(before) < len(EXPECTED_PATHS), "the first run was not interrupted half-way"

    second = Service("monitor", platform, tmp_path, **env)
    try:
        wait_for(
            lambda: len(_events(second, "poll done", source=source_id)) >= 2,
            150,
            "two complete polls after the restart",
            second.log,
        )
        after = _raw(platform, source_id)
        counts = Counter(r.source_url for r in after)
        assert set(counts) == {f"{site.url}{p}" for p in EXPECTED_PATHS}
        assert all(n == 1 for n in counts.values()), counts
        republished = {e["url"] for e in _events(second, "published")} & {r.source_url for r in before}
        assert not republished

        # the agency replaces the PDF at the same URL
        path = f"{NB}202401/P020240115_report.pdf"
        url = f"{site.url}{path}"
        corrected = _pdf(site.tag, "2023 report, corrected")
        site.docs[path] = (corrected, "application/pdf")
        wait_for(
            lambda: sum(r.source_url == url for r in _raw(platform, source_id)) >= 2,
            90,
            "the corrected PDF",
            second.log,
        )
        time.sleep(1)
    finally:
        assert second.stop() == 0, second.log()[-4000:]

    final = _raw(platform, source_id)
    versions = [r for r in final if r.source_url == url]
    assert len(versions) == 2
    assert versions[0].sha256 != versions[1].sha256 and versions[1].content == corrected
    others = Counter(r.source_url for r in final if r.source_url != url)
    assert all(n == 1 for n in others.values()) and len(others) == len(EXPECTED_PATHS) - 1
    seen = [s for s in read_topic(INGEST_SEEN, platform, SeenDocument) if s.url == url]
    assert seen[-1].version == 2 and seen[-1].sha256 == versions[1].sha256


def test_backfill_walks_back_to_a_year(platform: Settings, site: GovSite, tmp_path: Path) -> None:
    source_id = f"it-{uuid.uuid4().hex[:8]}"
    registry = _registry(tmp_path, source_id, site)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ogi.cli",
            "ingest",
            "backfill",
            source_id,
            "--since",
            "2020",
            "--registry",
            str(registry),
        ],
        env=service_env(platform, **_env(registry)),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "2 list page(s), 8 report link(s)" in out.stdout
    assert "report/s" in out.stderr  # the progress bar
    published = {r.source_url.removeprefix(site.url) for r in _raw(platform, source_id)}
    assert published == {
        f"{NB}202401/P020240115_report.pdf",
        "/uploads/2023nb.docx",
        f"{NB}202301/t20230110_2.htm",
        f"{NB}2020nb.pdf",
    }
    for older in (f"{NB}2019nb.pdf", f"{NB}redirect.htm", f"{NB}2017nb.pdf", f"{NB}201601/t20160120_9.htm"):
        assert site.count(older) == 0, older
    status = [s for s in read_topic(INGEST_STATUS, platform, SourceStatus) if s.agency_id == source_id][-1]
    assert status.published_total == 4 and status.last_success is not None
