from __future__ import annotations

import json
import time

import pytest

from ogi.settings import Settings
from schemas import Alert, Severity
from services.alerts.delivery.webhook import IDEMPOTENCY_KEY, SIGNATURE, TIMESTAMP, WebhookSink, sign, verify
from services.alerts.errors import DeliveryError, PermanentDeliveryError
from services.alerts.subscriptions import new_subscription

from .receivers import http_receiver

SETTINGS = Settings(
    kafka_bootstrap="127.0.0.1:1",
    es_url="http://127.0.0.1:1",
    deliver_timeout_s=2,
    deliver_allow_private_networks="127.0.0.0/8",
)  # the receivers run on this host


def alert() -> Alert:
    return Alert(
        alert_id="a1",
        rule="refusal_spike",
        agency="某局",
        agency_id=None,
        year=2023,
        severity=Severity.WARNING,
        title="t",
        message="m",
        figures={"rate": 0.5},
        revision=2,
    )


def test_sign_and_verify() -> None:
    body = b'{"x":1}'
    sig = sign("s3cret", 1700000000, body)
    assert sig.startswith("sha256=") and len(sig) == 7 + 64
    assert verify("s3cret", body, "1700000000", sig, now=1700000100)
    assert not verify("other", body, "1700000000", sig, now=1700000100)
    assert not verify("s3cret", body + b" ", "1700000000", sig, now=1700000100)
    assert not verify("s3cret", body, "1700000001", sig, now=1700000100)  # timestamp is signed
    assert not verify("s3cret", body, "1700000000", sig, now=1700009999)  # too old: replay
    assert not verify("s3cret", body, None, sig)
    assert not verify("s3cret", body, "not-a-number", sig)


def test_post_is_signed_with_idempotency_key() -> None:
    with http_receiver() as rx:
        sub = new_subscription(webhook_url=rx.url, secret="k")
        WebhookSink(SETTINGS).send(alert(), sub, "a1:2")
        [req] = rx.wait(1)
    assert req.headers[IDEMPOTENCY_KEY] == "a1:2"
    assert verify("k", req.body, req.headers[TIMESTAMP], req.headers[SIGNATURE], now=time.time())
    body = json.loads(req.body)
    assert body["alert"]["alert_id"] == "a1" and body["alert"]["revision"] == 2
    assert body["idempotency_key"] == "a1:2" and body["subscription_id"] == sub.subscription_id


@pytest.mark.parametrize(
    "status,error",
    [
        (500, DeliveryError),
        (503, DeliveryError),
        (429, DeliveryError),
        (404, PermanentDeliveryError),
        (401, PermanentDeliveryError),
    ],
)
def test_status_classification(status: int, error: type[Exception]) -> None:
    with http_receiver([status]) as rx, pytest.raises(error) as info:
        WebhookSink(SETTINGS).send(alert(), new_subscription(webhook_url=rx.url), "a1:2")
    assert type(info.value) is error


def test_unreachable_is_retryable() -> None:
    sub = new_subscription(webhook_url="http://127.0.0.1:9/hook")
    with pytest.raises(DeliveryError) as info:
        WebhookSink(SETTINGS).send(alert(), sub, "a1:2")
    assert not isinstance(info.value, PermanentDeliveryError)
