from __future__ import annotations

import email
from email import policy

import pytest

from ogi.settings import Settings
from schemas import Alert, Severity
from services.alerts.delivery.email import EmailSink
from services.alerts.errors import DeliveryError, PermanentDeliveryError
from services.alerts.subscriptions import new_subscription

from .receivers import smtp_receiver


def alert() -> Alert:
    return Alert(
        alert_id="a1",
        rule="broken_identity",
        agency="某局",
        agency_id=None,
        year=2023,
        severity=Severity.CRITICAL,
        title="某局 2023: report fails intake_balance",
        message="m",
        figures={"failed_checks": 1.0},
        report_url="https://example.gov.cn/r.html",
        revision=3,
    )


def settings(port: int, host: str = "127.0.0.1") -> Settings:
    return Settings(
        kafka_bootstrap="127.0.0.1:1",
        es_url="http://127.0.0.1:1",
        smtp_host=host,
        smtp_port=port,
        deliver_timeout_s=3,
    )


def test_sends_mail_with_idempotency_key() -> None:
    with smtp_receiver() as box:
        sub = new_subscription(email_to=["ops@example.org", "b@example.org"])
        EmailSink(settings(box.port)).send(alert(), sub, "a1:3")
    [(_, rcpts, data)] = box.messages
    assert rcpts == ["ops@example.org", "b@example.org"]
    msg = email.message_from_bytes(data, policy=policy.default)
    assert msg["X-OGI-Idempotency-Key"] == "a1:3"
    assert msg["Subject"].startswith("[ogi critical]")
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "https://example.gov.cn/r.html" in text and "failed_checks = 1" in text


def test_disabled_without_smtp_host() -> None:
    sub = new_subscription(email_to=["ops@example.org"])
    assert not EmailSink(settings(25, host="")).applies(sub)
    assert EmailSink(settings(25)).applies(sub)
    assert not EmailSink(settings(25)).applies(new_subscription(webhook_url="http://127.0.0.1/x"))


def test_refused_recipient_is_permanent() -> None:
    with smtp_receiver(reject_rcpt=True) as box, pytest.raises(PermanentDeliveryError):
        EmailSink(settings(box.port)).send(alert(), new_subscription(email_to=["x@example.org"]), "a1:3")


def test_unreachable_server_is_retryable() -> None:
    with pytest.raises(DeliveryError) as info:
        EmailSink(settings(9)).send(alert(), new_subscription(email_to=["x@example.org"]), "a1:3")
    assert not isinstance(info.value, PermanentDeliveryError)
