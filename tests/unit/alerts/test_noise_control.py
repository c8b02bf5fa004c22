"""Silences, resolutions and digests in the dispatcher, against a local
HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from schemas import Alert, Severity
from schemas.events import AlertStatus, DeliveryStatus, Silence
from services.alerts.delivery.service import bundle, next_boundary
from services.alerts.delivery.webhook import IDEMPOTENCY_KEY
from services.alerts.subscriptions import new_subscription, parse_duration, parse_until, silenced

from .receivers import http_receiver
from .test_delivery_service import Harness

FUTURE = datetime.now(UTC) + timedelta(days=30)


def alert(
    aid: str = "a1",
    revision: int = 1,
    status: AlertStatus = AlertStatus.OPEN,
    agency: str = "某局",
    rule: str = "refusal_spike",
    region: str = "某市",
) -> Alert:
    return Alert(
        alert_id=aid,
        rule=rule,
        agency=agency,
        agency_id=None,
        region=region,
        year=2023,
        severity=Severity.WARNING,
        title=f"{aid} r{revision}",
        message="m",
        revision=revision,
        status=status,
    )


@pytest.fixture
def harness() -> Iterator[list[Harness]]:
    made: list[Harness] = []
    yield made
    for h in made:
        h.dispatcher.stop()


def test_silence_matches_agency_rule_region_until_a_moment() -> None:
    sub = new_subscription(webhook_url="http://127.0.0.1:1/")
    sub.silences = [
        Silence(agencies=["某局"], until=FUTURE),
        Silence(rules=["yoy_jump"], regions=["乙市"], until=FUTURE),
    ]
    assert silenced(sub, alert())
    assert not silenced(sub, alert(agency="他局"))
    assert silenced(sub, alert(agency="他局", rule="yoy_jump", region="乙市丙区"))
    assert not silenced(sub, alert(agency="他局", rule="yoy_jump", region="甲市"))
    assert not silenced(sub, alert(), now=FUTURE + timedelta(seconds=1)), "a silence ends"


def test_until_and_duration_parsing() -> None:
    assert parse_duration("90") == 90 and parse_duration("30m") == 1800 and parse_duration("1d") == 86400
    with pytest.raises(ValueError):
        parse_duration("soon")
    # a date silences through that whole China day
    assert parse_until("2027-01-31") == datetime(2027, 1, 31, 16, tzinfo=UTC)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_until("7d", now) == now + timedelta(days=7)


def test_silenced_alerts_are_not_delivered(harness: list[Harness]) -> None:
    with http_receiver() as rx:
        sub = new_subscription(webhook_url=rx.url)
        sub.silences = [Silence(agencies=["某局"], until=FUTURE)]
        h = Harness([sub])
        harness.append(h)
        assert h.dispatcher.submit(alert()) == []
        assert len(h.dispatcher.submit(alert("a2", agency="他局"))) == 1
        h.wait_idle()
        assert [r.headers[IDEMPOTENCY_KEY] for r in rx.wait(1)] == ["a2:1"]


def test_resolution_goes_to_who_got_the_alert_unless_opted_out(harness: list[Harness]) -> None:
    with http_receiver() as rx, http_receiver() as quiet, http_receiver() as late:
        told = new_subscription(webhook_url=rx.url)
        opted_out = new_subscription(webhook_url=quiet.url, resolutions=False)
        h = Harness([told, opted_out])
        harness.append(h)
        h.dispatcher.submit(alert())
        h.wait_idle()
        newcomer = new_subscription(webhook_url=late.url)  # subscribed after the alert was raised
        h.subs[newcomer.subscription_id] = newcomer
        queued = h.dispatcher.submit(alert(revision=2, status=AlertStatus.RESOLVED))
        h.wait_idle()
        got = rx.wait(2)
        time.sleep(0.2)
        assert [r.headers[IDEMPOTENCY_KEY] for r in got] == ["a1:1", "a1:2"]
        assert json.loads(got[1].body)["alert"]["status"] == "resolved"
        assert [r.headers[IDEMPOTENCY_KEY] for r in quiet.received] == ["a1:1"]
        assert late.received == []
        assert len(queued) == 1


def test_digest_bundles_alerts_into_one_message_per_interval(harness: list[Harness]) -> None:
    with http_receiver() as rx:
        sub = new_subscription(webhook_url=rx.url, digest_s=1.0)
        h = Harness([sub])
        harness.append(h)
        keys = [k for i in range(4) for k in h.dispatcher.submit(alert(f"a{i}"))]
        assert len(keys) == 4
        [msg] = rx.wait(1, timeout=5)
        h.wait_idle()
        body = json.loads(msg.body)
        assert body["alert"]["rule"] == "digest"
        assert sorted(a["alert_id"] for a in body["alert"]["bundled"]) == ["a0", "a1", "a2", "a3"]
        assert msg.headers[IDEMPOTENCY_KEY].startswith("digest:")
        assert all(h.final(k).status == DeliveryStatus.DELIVERED for k in keys)
        # the next one waits for the next boundary, alone
        h.dispatcher.submit(alert("a9"))
        got = rx.wait(2, timeout=5)
        h.wait_idle()
        assert len(got) == 2 and [a["alert_id"] for a in json.loads(got[1].body)["alert"]["bundled"]] == [
            "a9"
        ]


def test_digest_key_is_stable_and_retried(harness: list[Harness]) -> None:
    with http_receiver([503]) as rx:
        sub = new_subscription(webhook_url=rx.url, digest_s=0.5)
        h = Harness([sub])
        harness.append(h)
        h.dispatcher.submit(alert("a1"))
        h.dispatcher.submit(alert("a2"))
        got = rx.wait(2, timeout=5)
        h.wait_idle()
        assert len(got) == 2 and got[0].headers[IDEMPOTENCY_KEY] == got[1].headers[IDEMPOTENCY_KEY]
    pending = [d for d in h.dispatcher.states.values()]
    assert bundle(sub, pending)[1] == bundle(sub, list(reversed(pending)))[1]


def test_next_boundary() -> None:
    assert next_boundary(3599.0, 3600) == 3600 and next_boundary(3600.0, 3600) == 7200
