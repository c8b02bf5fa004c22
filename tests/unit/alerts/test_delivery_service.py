"""The dispatcher against local HTTP receivers on 127.0.0.1: retries with
backoff, per-subscriber isolation, idempotency, restore after a restart."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest

from ogi.backoff import backoff_delay
from ogi.settings import Settings
from schemas import Alert, Severity
from schemas.events import Delivery, DeliveryStatus, Subscription
from services.alerts.delivery.service import Dispatcher
from services.alerts.delivery.webhook import IDEMPOTENCY_KEY, SIGNATURE, TIMESTAMP, WebhookSink, verify
from services.alerts.subscriptions import new_subscription

from .receivers import http_receiver

SETTINGS = Settings(
    kafka_bootstrap="127.0.0.1:1",
    es_url="http://127.0.0.1:1",
    deliver_timeout_s=5,
    deliver_allow_private_networks="127.0.0.0/8",  # the receivers run on this host
    deliver_backoff_base_s=0.05,
    deliver_backoff_max_s=0.2,
    deliver_max_attempts=4,
)


def alert(aid: str = "a1", revision: int = 1, severity: Severity = Severity.WARNING) -> Alert:
    return Alert(
        alert_id=aid,
        rule="refusal_spike",
        agency="某局",
        agency_id=None,
        region="某市",
        year=2023,
        severity=severity,
        title=f"t{revision}",
        message="m",
        revision=revision,
    )


class Harness:
    def __init__(self, subs: list[Subscription], settings: Settings = SETTINGS) -> None:
        self.subs = {s.subscription_id: s for s in subs}
        self.records: list[Delivery] = []
        self.failed: list[Delivery] = []
        self._lock = threading.Lock()
        self.dispatcher = Dispatcher(
            settings,
            {"webhook": WebhookSink(settings)},
            self.persist,
            lambda: dict(self.subs),
            on_failed=self.failed.append,
        )

    def persist(self, d: Delivery) -> None:
        with self._lock:
            self.records.append(d)

    def final(self, key: str) -> Delivery:
        return self.dispatcher.states[key]

    def wait_idle(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.dispatcher.idle():
                return
            time.sleep(0.02)
        raise AssertionError("dispatcher did not go idle")


@pytest.fixture
def harness() -> Iterator[list[Harness]]:
    made: list[Harness] = []
    yield made
    for h in made:
        h.dispatcher.stop()


def test_delivered_once_with_valid_signature(harness: list[Harness]) -> None:
    with http_receiver() as rx:
        sub = new_subscription(webhook_url=rx.url, secret="k")
        h = Harness([sub])
        harness.append(h)
        [key] = h.dispatcher.submit(alert())
        # the same revision again (a replayed record) is not queued twice
        assert h.dispatcher.submit(alert()) == []
        h.wait_idle()
        [req] = rx.wait(1)
        time.sleep(0.2)
        assert len(rx.received) == 1
    assert verify("k", req.body, req.headers[TIMESTAMP], req.headers[SIGNATURE])
    assert req.headers[IDEMPOTENCY_KEY] == "a1:1"
    assert h.final(key).status == DeliveryStatus.DELIVERED and h.final(key).attempts == 1
    # the pending record (with the alert) was persisted before the delivered one
    assert [r.status for r in h.records] == [DeliveryStatus.PENDING, DeliveryStatus.DELIVERED]
    assert h.records[0].alert is not None


def test_retries_with_backoff_then_succeeds(harness: list[Harness]) -> None:
    with http_receiver([500, 503]) as rx:
        h = Harness([new_subscription(webhook_url=rx.url)])
        harness.append(h)
        [key] = h.dispatcher.submit(alert())
        reqs = rx.wait(3)
        h.wait_idle()
    assert len(reqs) == 3
    assert {r.headers[IDEMPOTENCY_KEY] for r in reqs} == {"a1:1"}  # same key on every retry
    assert h.final(key).status == DeliveryStatus.DELIVERED and h.final(key).attempts == 3


def test_gives_up_after_max_attempts_and_reports_failure(harness: list[Harness]) -> None:
    with http_receiver([500] * 10) as rx:
        h = Harness([new_subscription(webhook_url=rx.url)])
        harness.append(h)
        [key] = h.dispatcher.submit(alert())
        rx.wait(4)
        h.wait_idle()
        assert len(rx.received) == SETTINGS.deliver_max_attempts
    assert h.final(key).status == DeliveryStatus.FAILED
    assert [d.delivery_key for d in h.failed] == [key]


def test_permanent_error_is_not_retried(harness: list[Harness]) -> None:
    with http_receiver([404, 404]) as rx:
        h = Harness([new_subscription(webhook_url=rx.url)])
        harness.append(h)
        [key] = h.dispatcher.submit(alert())
        rx.wait(1)
        h.wait_idle()
        time.sleep(0.3)
        assert len(rx.received) == 1
    assert h.final(key).status == DeliveryStatus.FAILED and "404" in (h.final(key).last_error or "")


def test_failing_subscriber_never_blocks_others(harness: list[Harness]) -> None:
    slow = Settings(**{**SETTINGS.model_dump(), "deliver_max_attempts": 50, "deliver_timeout_s": 5})
    with http_receiver([500] * 100, delay_s=0.5) as bad, http_receiver() as good:
        bad_sub, good_sub = new_subscription(webhook_url=bad.url), new_subscription(webhook_url=good.url)
        h = Harness([bad_sub, good_sub], slow)
        harness.append(h)
        t0 = time.monotonic()
        for i in range(5):
            h.dispatcher.submit(alert(f"a{i}"))
        got = good.wait(5, timeout=5)
        elapsed = time.monotonic() - t0
        assert len(got) == 5, "healthy subscriber did not get its alerts"
        # five alerts reached the healthy subscriber while the failing one was still retrying its first
        assert elapsed < 2.0
        assert len(bad.received) < 25
    keys = [Delivery.make_key(good_sub.subscription_id, "webhook", f"a{i}") for i in range(5)]
    assert all(h.final(k).status == DeliveryStatus.DELIVERED for k in keys)


def test_newer_revision_supersedes_and_both_keys_differ(harness: list[Harness]) -> None:
    with http_receiver() as rx:
        h = Harness([new_subscription(webhook_url=rx.url)])
        harness.append(h)
        h.dispatcher.submit(alert(revision=1))
        h.wait_idle()
        h.dispatcher.submit(alert(revision=2))
        h.wait_idle()
        h.dispatcher.submit(alert(revision=1))  # an old revision arriving late is ignored
        h.wait_idle()
        reqs = rx.wait(2)
        time.sleep(0.2)
    assert [r.headers[IDEMPOTENCY_KEY] for r in rx.received] == ["a1:1", "a1:2"]
    assert json.loads(reqs[1].body)["alert"]["title"] == "t2"


def test_filters_are_applied(harness: list[Harness]) -> None:
    with http_receiver() as rx:
        only_critical = new_subscription(webhook_url=rx.url, min_severity="critical")
        h = Harness([only_critical])
        harness.append(h)
        assert h.dispatcher.submit(alert(severity=Severity.WARNING)) == []
        assert len(h.dispatcher.submit(alert("a2", severity=Severity.CRITICAL))) == 1
        h.wait_idle()


def test_restore_resumes_pending_and_skips_delivered(harness: list[Harness]) -> None:
    with http_receiver() as rx:
        sub = new_subscription(webhook_url=rx.url)
        pending = Delivery(
            delivery_key=Delivery.make_key(sub.subscription_id, "webhook", "p"),
            subscription_id=sub.subscription_id,
            sink="webhook",
            alert_id="p",
            revision=1,
            idempotency_key="p:1",
            status=DeliveryStatus.PENDING,
            attempts=2,
            alert=alert("p"),
        )
        done = pending.model_copy(
            update={
                "delivery_key": Delivery.make_key(sub.subscription_id, "webhook", "d"),
                "alert_id": "d",
                "idempotency_key": "d:1",
                "status": DeliveryStatus.DELIVERED,
                "alert": None,
            }
        )
        h = Harness([sub])
        harness.append(h)
        assert h.dispatcher.restore([pending, done]) == 1
        rx.wait(1)
        h.wait_idle()
        # a replay of the delivered alert after the restart is not sent again
        assert h.dispatcher.submit(alert("d")) == []
        time.sleep(0.2)
        assert [r.headers[IDEMPOTENCY_KEY] for r in rx.received] == ["p:1"]
    assert h.final(pending.delivery_key).attempts == 3


def test_removed_subscription_stops_retries(harness: list[Harness]) -> None:
    with http_receiver([500] * 100) as rx:
        sub = new_subscription(webhook_url=rx.url)
        h = Harness([sub], Settings(**{**SETTINGS.model_dump(), "deliver_max_attempts": 100}))
        harness.append(h)
        [key] = h.dispatcher.submit(alert())
        rx.wait(2)
        del h.subs[sub.subscription_id]
        h.wait_idle()
    assert h.final(key).status == DeliveryStatus.FAILED and h.final(key).last_error == "subscription removed"


def test_backoff_grows_and_is_capped() -> None:
    class Half:
        def random(self) -> float:
            return 1.0

    delays = [backoff_delay(n, 1.0, 30.0, rng=Half()) for n in range(8)]  # type: ignore[arg-type]
    assert delays[:5] == [1, 2, 4, 8, 16] and delays[-1] == 30
    assert 0.5 <= backoff_delay(0, 1.0, 30.0) <= 1.0
