"""Hostile subscribers (issue 8, rows 1, 3, 10, 11, 12): webhook addresses
go through the outbound guard, answers through the bounded reader, every
sink error is a counted attempt, and no URL token reaches a log, the
deliveries topic or a dead letter."""

from __future__ import annotations

import gzip
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import structlog

from ogi.settings import Settings
from schemas.events import DeliveryStatus, Subscription
from services.alerts.delivery.base import Sink
from services.alerts.delivery.email import EmailSink
from services.alerts.delivery.webhook import WebhookSink, sign, verify
from services.alerts.errors import DeliveryError, PermanentDeliveryError
from services.alerts.subscriptions import new_subscription

from .receivers import http_receiver
from .test_delivery_service import SETTINGS, Harness, alert

PUBLIC_ONLY = SETTINGS.model_copy(update={"deliver_allow_private_networks": ""})


def hook(url: str) -> Subscription:
    """A subscription to ``url`` as the deliverer may find it on the topic
    (``new_subscription`` itself refuses link-local and broken URLs)."""
    return new_subscription(webhook_url="https://hooks.example.com/x").model_copy(update={"webhook_url": url})


@pytest.fixture
def harness() -> Iterator[list[Harness]]:
    made: list[Harness] = []
    yield made
    for h in made:
        h.dispatcher.stop()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",  # loopback
        "http://10.0.0.1/hook",  # RFC 1918
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://[2002:a9fe:a9fe::1]/hook",  # 6to4 of the metadata address
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
def test_webhook_may_not_reach_inside(url: str) -> None:
    sink = WebhookSink(PUBLIC_ONLY)
    with pytest.raises(PermanentDeliveryError, match="BlockedAddress"):
        sink.send(alert(), hook(url), "a1:1")


def test_the_allowance_is_exactly_the_networks_named() -> None:
    sink = WebhookSink(SETTINGS.model_copy(update={"deliver_allow_private_networks": "127.0.0.0/8"}))
    with pytest.raises(PermanentDeliveryError, match="BlockedAddress"):
        sink.send(alert(), hook("http://10.0.0.1/hook"), "a1:1")
    with pytest.raises(PermanentDeliveryError, match="link-local"):
        sink.send(alert(), hook("http://169.254.169.254/"), "a1:1")


def test_webhook_ignores_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    with http_receiver() as rx:
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # would fail to connect if honoured
        monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
        WebhookSink(SETTINGS).send(alert(), new_subscription(webhook_url=rx.url), "a1:1")
        assert len(rx.wait(1)) == 1


@contextmanager
def bomb_receiver(status: int = 200) -> Iterator[str]:
    """Answers every POST with a stacked-gzip bomb (a few hundred bytes, 256 MB decoded)."""
    bomb = gzip.compress(gzip.compress(b"\0" * (256 * 1024 * 1024), 9), 9)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(status)
            self.send_header("Content-Encoding", "gzip, gzip")
            self.send_header("Content-Length", str(len(bomb)))
            self.end_headers()
            self.wfile.write(bomb)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def test_a_bomb_answer_is_refused_and_the_status_still_counts() -> None:
    with bomb_receiver() as url, structlog.testing.capture_logs() as logs:
        tracemalloc.start()
        WebhookSink(SETTINGS).send(alert(), new_subscription(webhook_url=url), "a1:1")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024
    [refused] = [e for e in logs if e["event"] == "webhook answer refused"]
    assert refused["error_class"] == "EncodingRefused" and "2 layers" in refused["reason"]


class Exploding(Sink):
    """A sink with a bug: raises something that is not a DeliveryError."""

    name = "webhook"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.calls = 0

    def applies(self, subscription: Subscription) -> bool:
        return True

    def send(self, *args: object) -> None:
        self.calls += 1
        raise KeyError("surprise")


def test_an_unforeseen_error_is_counted_and_dead_lettered_after_the_limit(harness: list[Harness]) -> None:
    sub = new_subscription(webhook_url="https://hooks.example.com/x")
    h = Harness([sub])
    harness.append(h)
    sink = Exploding(SETTINGS)
    h.dispatcher.sinks = {"webhook": sink}
    [key] = h.dispatcher.submit(alert())
    h.wait_idle()
    final = h.final(key)
    assert final.status == DeliveryStatus.FAILED and final.attempts == SETTINGS.deliver_max_attempts
    assert sink.calls == SETTINGS.deliver_max_attempts and "KeyError" in (final.last_error or "")
    assert [d.delivery_key for d in h.failed] == [key]


@pytest.mark.parametrize("url", ["http://[bad/hook", "ftp://hooks.example.com/x", "http://h/" + "a" * 10_000])
def test_an_invalid_webhook_url_is_dead_lettered_at_once(harness: list[Harness], url: str) -> None:
    # written by an older version, or straight to the topic: new_subscription refuses it now
    h = Harness([hook(url)])
    harness.append(h)
    [key] = h.dispatcher.submit(alert())
    h.wait_idle()
    assert h.final(key).status == DeliveryStatus.FAILED and h.final(key).attempts == 1
    assert len(h.failed) == 1


def test_crlf_in_an_address_is_dead_lettered_at_once(harness: list[Harness]) -> None:
    settings = SETTINGS.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 9})
    sub = new_subscription(email_to=["a@example.org"]).model_copy(
        update={"email_to": ["a@example.org\r\nBcc: everyone@example.org"]}
    )
    h = Harness([sub], settings)
    harness.append(h)
    h.dispatcher.sinks = {"email": EmailSink(settings)}
    [key] = h.dispatcher.submit(alert())
    h.wait_idle()
    assert h.final(key).status == DeliveryStatus.FAILED and h.final(key).attempts == 1
    assert "CR/LF" in (h.final(key).last_error or "")


def test_webhook_tokens_reach_no_log_record_or_dead_letter(harness: list[Harness]) -> None:
    token = "T0KEN-9f8e7d"
    with http_receiver(statuses=[500] * 10) as rx:
        url = f"{rx.url.rsplit('/', 1)[0]}/services/{token}?access_token={token}"
        h = Harness([new_subscription(webhook_url=url, secret="k")])
        harness.append(h)
        with structlog.testing.capture_logs() as logs:
            [key] = h.dispatcher.submit(alert())
            h.wait_idle()
    assert h.final(key).status == DeliveryStatus.FAILED
    assert token not in repr(logs)
    assert all(token not in r.model_dump_json() for r in h.records)  # the deliveries topic
    assert all(token not in d.model_dump_json() for d in h.failed)  # what the dead letter carries
    assert "HTTP 500 from http://127.0.0.1:" in (h.final(key).last_error or "")


def test_verify_returns_false_on_a_non_ascii_signature() -> None:
    body = b"{}"
    ts = str(int(time.time()))
    assert not verify("k", body, ts, "sha256=ü" + "0" * 63)
    assert not verify("k", body, ts, "签名")
    assert verify("k", body, ts, sign("k", ts, body))


def test_retryable_errors_stay_retryable() -> None:
    with pytest.raises(DeliveryError) as info:
        WebhookSink(SETTINGS).send(alert(), new_subscription(webhook_url="http://127.0.0.1:9/x"), "a1:1")
    assert not isinstance(info.value, PermanentDeliveryError)


@pytest.mark.parametrize(
    "url", ["http://[bad/hook", "ftp://h/x", "http://169.254.169.254/", "http://h/" + "a" * 9000]
)
def test_subscribe_refuses_a_webhook_url_that_can_never_work(url: str) -> None:
    with pytest.raises(ValueError, match="webhook URL refused"):
        new_subscription(webhook_url=url)


def test_subscribe_refuses_crlf_in_an_address() -> None:
    with pytest.raises(ValueError, match="CR or LF"):
        new_subscription(email_to=["a@example.org\r\nBcc: b@example.org"])
