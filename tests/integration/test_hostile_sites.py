"""Hostile sites and hostile subscribers against the real processes
(issue 8, deliverable 2).

A site on 127.0.0.1 lists, among three good reports, every network trick
we know: a stacked-gzip bomb, a one-layer gzip bomb, a 20 MB + 1 body
without Content-Length, a body dripped one byte a second (inside the read
timeout, past the deadline), a 300 KB response head, an unparseable link, a
200,000-character link, redirect chains to the metadata address (plainly
and in 6to4 form) and one that never ends. ``ogi serve monitor`` polls it
with this session's Kafka. Then ``ogi serve deliver`` sends one alert to
hostile webhook receivers: a bomb answer, a 20 MB answer, a dripped answer,
a redirect to the metadata address, a private address.

Checked: each process's peak RSS (VmHWM) stays within the size cap (twice,
for the body and its copy) plus its own baseline measured before the
hostile part; every case ends in a log event that names its reason; the
good reports of the same poll are on the raw topic.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ogi.broker import make_producer, publish
from ogi.settings import Settings
from ogi.topics import ALERTS, RAW
from schemas import Alert, Severity
from schemas.events import RawReport
from services.alerts.subscriptions import SubscriptionStore, new_subscription
from tests.support import Service, read_topic, wait_for

pytestmark = pytest.mark.integration

CAP = 20 * 1024 * 1024  # the default max_document_bytes
MB = 1024 * 1024
NB = "/xxgk/nb/"


def gzip_bomb(decoded_bytes: int, layers: int) -> bytes:
    """Zeros, gzipped ``layers`` times, built without holding them decoded."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * MB
    data = b"".join(packer.compress(block) for _ in range(decoded_bytes // MB)) + packer.flush()
    for _ in range(layers - 1):
        data = gzip.compress(data, 9)
    return data


STACKED = gzip_bomb(512 * MB, 2)  # a few KB on the wire
ONE_LAYER = gzip_bomb(512 * MB, 1)  # ~500 KB on the wire


def _pdf(tag: str) -> bytes:
    return f"%PDF-1.4\n% {tag}\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".encode()


def vm_kb(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    m = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    assert m, text
    return int(m.group(1))


def events(service: Service, event: str) -> list[dict[str, Any]]:
    out = []
    for line in service.log_path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") == event:
            out.append(record)
    return out


class HostileSite:
    """The site: ``/`` paths serve the cases; the list page waits for
    :attr:`release` so the test can take the monitor's baseline first."""

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex
        self.release = threading.Event()
        self.list_asked = threading.Event()
        self.requests: list[str] = []
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                site.serve(self)

            def do_POST(self) -> None:  # webhook receivers share the server
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                site.serve(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def list_page(self) -> bytes:
        rows = [
            ("good-first.pdf", 2023),
            ("stacked.pdf", 2022),
            ("bomb.pdf", 2021),
            ("big.pdf", 2020),
            ("drip.pdf", 2019),
            ("headers.pdf", 2018),
            ("http://[bad/2017.pdf", 2017),
            (f"/{'a' * 200_000}.pdf", 2016),
            ("to-metadata.pdf", 2015),
            ("to-6to4.pdf", 2014),
            ("loop-0.pdf", 2013),
            ("chain-0.pdf", 2012),
            ("good-last.pdf", 2011),
        ]
        items = "".join(f'<li><a href="{h}">测试市{y}年政府信息公开工作年度报告</a></li>' for h, y in rows)
        return f"<html><head><meta charset='utf-8'></head><body><ul>{items}</ul></body></html>".encode()

    def serve(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?", 1)[0]
        with self.lock:
            self.requests.append(path[:100])
        name = path.rsplit("/", 1)[-1]
        try:
            if path == "/robots.txt":
                return self.send(h, b"User-agent: *\nAllow: /\n", "text/plain")
            if path == f"{NB}index.htm":
                self.list_asked.set()
                self.release.wait(60)
                return self.send(h, self.list_page(), "text/html; charset=utf-8")
            if name in ("good-first.pdf", "good-last.pdf", "chain-3.pdf"):
                return self.send(h, _pdf(f"{self.tag} {name}"), "application/pdf")
            if name in ("stacked.pdf", "hook-stacked"):
                return self.send(h, STACKED, "application/pdf", encoding="gzip, gzip")
            if name in ("bomb.pdf", "hook-bomb"):
                return self.send(h, ONE_LAYER, "application/pdf", encoding="gzip")
            if name in ("big.pdf", "hook-big"):
                return self.big(h)
            if name in ("drip.pdf", "hook-drip"):
                return self.drip(h)
            if name in ("headers.pdf", "hook-headers"):
                return self.huge_head(h)
            if name in ("to-metadata.pdf", "hook-redirect"):
                return self.redirect(h, "http://169.254.169.254/latest/meta-data/")
            if name == "to-6to4.pdf":
                return self.redirect(h, "http://[2002:a9fe:a9fe::]/latest/meta-data/")
            if name.startswith("loop-"):
                return self.redirect(h, f"loop-{int(name[5:-4]) + 1}.pdf")
            if name.startswith("chain-"):
                return self.redirect(h, f"chain-{int(name[6:-4]) + 1}.pdf")
            h.send_response(404)
            h.send_header("Content-Length", "0")
            h.end_headers()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on us: that is the point

    @staticmethod
    def send(h: BaseHTTPRequestHandler, body: bytes, ctype: str, encoding: str | None = None) -> None:
        h.send_response(200)
        h.send_header("Content-Type", ctype)
        if encoding:
            h.send_header("Content-Encoding", encoding)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    @staticmethod
    def redirect(h: BaseHTTPRequestHandler, location: str) -> None:
        h.send_response(302)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    @staticmethod
    def big(h: BaseHTTPRequestHandler) -> None:
        """CAP + 1 bytes, no Content-Length: the cap must hold while streaming."""
        h.send_response(200)
        h.send_header("Content-Type", "application/pdf")
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True
        chunk = b"%PDF-1.4\n" + b"0" * (MB - 9)
        for _ in range(CAP // MB):
            h.wfile.write(chunk)
        h.wfile.write(b"0")

    @staticmethod
    def drip(h: BaseHTTPRequestHandler) -> None:
        """One byte a second for a minute: never silent for the read timeout."""
        h.send_response(200)
        h.send_header("Content-Type", "application/pdf")
        h.send_header("Content-Length", "60")
        h.end_headers()
        for _ in range(60):
            h.wfile.write(b"0")
            h.wfile.flush()
            time.sleep(1)

    @staticmethod
    def huge_head(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        for i in range(3000):  # ~300 KB of head
            h.send_header(f"X-Filler-{i}", "a" * 90)
        h.send_header("Content-Length", "8")
        h.end_headers()
        h.wfile.write(b"%PDF-1.4")


@pytest.fixture
def site() -> Iterator[HostileSite]:
    s = HostileSite()
    yield s
    s.stop()


def _registry(tmp_path: Path, source_id: str, site: HostileSite) -> Path:
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
                        "allow_private": True,  # the site is on loopback: the registry's narrow allowance for test sites
                    }
                ]
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return path


def test_hostile_site_is_refused_case_by_case_in_bounded_memory(
    platform: Settings, site: HostileSite, tmp_path: Path
) -> None:
    source_id = f"hostile-{uuid.uuid4().hex[:8]}"
    monitor = Service(
        "monitor",
        platform,
        tmp_path,
        OGI_INGEST_REGISTRY=str(_registry(tmp_path, source_id, site)),
        OGI_INGEST_POLL_INTERVAL_S="3600",
        OGI_INGEST_POLL_JITTER="0.01",
        OGI_INGEST_HOST_DELAY_S="0.01",
        OGI_INGEST_READ_TIMEOUT_S="3",
        OGI_INGEST_FETCH_DEADLINE_S="6",
        OGI_INGEST_RETRIES="1",
        OGI_INGEST_BACKOFF_BASE_S="0.1",
        OGI_INGEST_BACKOFF_MAX_S="0.2",
        OGI_INGEST_WORKERS="1",
    )
    try:
        wait_for(site.list_asked.is_set, 120, "the monitor to ask for the list page", monitor.log, [monitor])
        baseline_kb = vm_kb(
            monitor.proc.pid, "VmRSS"
        )  # everything imported and connected, nothing hostile read
        site.release.set()
        wait_for(
            lambda: events(monitor, "poll done"), 240, "the hostile poll to finish", monitor.log, [monitor]
        )
        peak_kb = vm_kb(monitor.proc.pid, "VmHWM")
    finally:
        assert monitor.stop() == 0, monitor.log()[-4000:]

    print(f"monitor: baseline {baseline_kb // 1024} MB, peak {peak_kb // 1024} MB")
    # memory: about the cap (the body, and its copy into the raw record) over the baseline
    assert (peak_kb - baseline_kb) * 1024 < 2 * CAP + 48 * MB, (baseline_kb, peak_kb)

    fetches = {e["url"].removeprefix(site.url + NB): e for e in events(monitor, "fetch")}

    def ended(name: str, error_class: str, reason: str) -> None:
        event = fetches[name]
        assert event.get("error_class") == error_class and reason in event["reason"], event

    ended("stacked.pdf", "BadEncoding", "2 layers")
    ended("bomb.pdf", "TooLarge", "decoded body passed the 20971520-byte cap")
    ended("big.pdf", "TooLarge", "cap while streaming")
    ended("drip.pdf", "TransportFailure", "deadline passed while waiting for data")
    ended("headers.pdf", "TooLarge", "response headers")
    ended("to-metadata.pdf", "BlockedAddress", "link-local")
    ended("to-6to4.pdf", "BlockedAddress", "6to4 address carrying 169.254.169.254")
    ended("loop-0.pdf", "TooManyRedirects", "redirects")
    assert fetches["drip.pdf"]["elapsed_ms"] < 6000 + 3000  # the deadline, not the minute of dripping
    links = events(monitor, "link refused")
    assert len(links) == 2 and all(e["error_class"] == "InvalidLink" for e in links), links
    assert any("Invalid IPv6 URL" in e["reason"] for e in links)
    assert any("200005 characters" in e["reason"] for e in links)
    assert all(len(line) < 20_000 for line in monitor.log_path.read_text().splitlines())  # no 200 KB lines

    # the good reports of the same poll, the one behind a 3-hop redirect chain included
    raws = [
        RawReport.model_validate_json(r.value)
        for r in read_topic(RAW, platform)
        if r.key == source_id.encode()
    ]
    assert sorted(r.source_url.removeprefix(site.url + NB) for r in raws) == [
        "chain-3.pdf",
        "good-first.pdf",
        "good-last.pdf",
    ]
    assert all(site.tag.encode() in r.content for r in raws)


def test_hostile_webhook_receivers_cannot_exhaust_or_stall_the_deliverer(
    platform: Settings, site: HostileSite, tmp_path: Path
) -> None:
    site.release.set()
    agency = f"敌意测试局-{uuid.uuid4().hex[:6]}"
    hooks = {
        name: f"{site.url}/hooks/{name}"
        for name in ("hook-stacked", "hook-bomb", "hook-big", "hook-drip", "hook-headers", "hook-redirect")
    }
    hooks["hook-private"] = "http://10.255.255.1/hooks/hook-private"
    store = SubscriptionStore(platform)
    subs = {
        name: store.add(new_subscription(webhook_url=url, agencies=[agency], name=name))
        for name, url in hooks.items()
    }
    store.close()
    deliverer = Service(
        "deliver",
        platform,
        tmp_path,
        OGI_DELIVER_GROUP=f"{platform.topic_prefix}hostile",
        OGI_DELIVER_ALLOW_PRIVATE_NETWORKS="127.0.0.0/8",
        OGI_DELIVER_TIMEOUT_S="4",
        OGI_DELIVER_MAX_ATTEMPTS="2",
        OGI_DELIVER_BACKOFF_BASE_S="0.1",
        OGI_DELIVER_BACKOFF_MAX_S="0.2",
    )
    try:
        wait_for(
            lambda: events(deliverer, "deliverer started"), 120, "the deliverer", deliverer.log, [deliverer]
        )
        time.sleep(2)  # its consumer joins the group
        baseline_kb = vm_kb(deliverer.proc.pid, "VmRSS")
        producer = make_producer(platform)
        alert = Alert(
            alert_id=f"hostile-{uuid.uuid4().hex[:8]}",
            rule="refusal_spike",
            agency=agency,
            agency_id=None,
            year=2023,
            severity=Severity.WARNING,
            title="t",
            message="m",
            revision=1,
        )
        publish(producer, ALERTS, alert, platform).get(timeout=60)
        producer.close()

        def finished() -> set[str]:
            ids = {s.subscription_id: n for n, s in subs.items()}
            done = {
                ids[e["subscription"]] for e in events(deliverer, "delivered") if e["subscription"] in ids
            }
            failed = {
                ids[e["subscription"]]
                for e in events(deliverer, "delivery failed")
                if e["subscription"] in ids and (e["permanent"] or e["attempt"] >= 2)
            }
            return done | failed if len(done | failed) == len(subs) else set()

        wait_for(finished, 120, "every hostile receiver to be dealt with", deliverer.log, [deliverer])
        peak_kb = vm_kb(deliverer.proc.pid, "VmHWM")
    finally:
        assert deliverer.stop() == 0, deliverer.log()[-4000:]

    print(f"deliverer: baseline {baseline_kb // 1024} MB, peak {peak_kb // 1024} MB")
    assert (peak_kb - baseline_kb) * 1024 < 48 * MB, (baseline_kb, peak_kb)  # answers are read up to 64 KB
    by_sub = {s.subscription_id: n for n, s in subs.items()}
    delivered = {
        by_sub[e["subscription"]] for e in events(deliverer, "delivered") if e["subscription"] in by_sub
    }
    failures = {
        by_sub[e["subscription"]]: e
        for e in events(deliverer, "delivery failed")
        if e["subscription"] in by_sub
    }
    refused_answers = [e for e in events(deliverer, "webhook answer refused") if e["subscription"] in by_sub]
    # a 2xx is a delivery whatever its body; the body itself is refused with the reason
    assert {"hook-stacked", "hook-bomb", "hook-big"} <= delivered
    reasons = " | ".join(e["reason"] for e in refused_answers)
    assert "2 layers" in reasons and "decoded body passed the 65536-byte cap" in reasons
    assert "body passed the 65536-byte cap" in reasons
    assert "deadline passed" in failures["hook-drip"]["error"]
    assert "response headers" in failures["hook-headers"]["error"]
    assert (
        failures["hook-redirect"]["error"].startswith("HTTP 302") and failures["hook-redirect"]["permanent"]
    )
    assert "BlockedAddress" in failures["hook-private"]["error"] and failures["hook-private"]["permanent"]
    assert not ({"hook-drip", "hook-headers", "hook-redirect", "hook-private"} & delivered)
    # the receivers' paths (where hooks keep their tokens) are in no log line
    assert "/hooks/" not in deliverer.log_path.read_text()
