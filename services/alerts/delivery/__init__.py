"""Alert delivery: one sink per file, registered by name in ``SINKS``;
``service.py`` runs them with retries, backoff and per-subscriber
isolation."""

from __future__ import annotations

from services.alerts.delivery.base import Sink, payload
from services.alerts.delivery.email import EmailSink
from services.alerts.delivery.webhook import WebhookSink, sign, verify

SINKS: dict[str, type[Sink]] = {
    WebhookSink.name: WebhookSink,
    EmailSink.name: EmailSink,
}

__all__ = ["SINKS", "EmailSink", "Sink", "WebhookSink", "payload", "sign", "verify"]
