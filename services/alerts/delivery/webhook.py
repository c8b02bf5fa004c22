"""Webhook sink: a JSON POST signed with HMAC-SHA256.

Headers:

* ``X-OGI-Timestamp``: Unix seconds when the request was signed;
* ``X-OGI-Signature``: ``sha256=`` + hex HMAC-SHA256(secret, ``timestamp + "." + body``);
* ``X-OGI-Idempotency-Key``: ``alert_id:revision`` — the same for every
  retry of one alert revision, so a receiver can drop repeats.

Signing the timestamp with the body lets a receiver reject replays older
than a few minutes (``verify(..., tolerance_s=300)``).
"""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx

from schemas import Alert
from schemas.events import Subscription
from services.alerts.delivery.base import Sink, payload
from services.alerts.errors import DeliveryError, PermanentDeliveryError

TIMESTAMP = "X-OGI-Timestamp"
SIGNATURE = "X-OGI-Signature"
IDEMPOTENCY_KEY = "X-OGI-Idempotency-Key"


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, body: bytes, timestamp: str | None, signature: str | None, *,
           tolerance_s: float = 300, now: float | None = None) -> bool:
    """Receiver side: the signature matches and the timestamp is recent."""
    if not timestamp or not signature:
        return False
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


class WebhookSink(Sink):
    name = "webhook"

    def applies(self, subscription: Subscription) -> bool:
        return bool(subscription.webhook_url)

    def send(self, alert: Alert, subscription: Subscription, key: str) -> None:
        assert subscription.webhook_url
        body = payload(alert, subscription, key)
        ts = int(time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            TIMESTAMP: str(ts),
            SIGNATURE: sign(subscription.webhook_secret or "", ts, body),
            IDEMPOTENCY_KEY: key,
            "User-Agent": "ogi-alerts/0.1",
        }
        try:
            resp = httpx.post(subscription.webhook_url, content=body, headers=headers,
                              timeout=self.settings.deliver_timeout_s, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if 200 <= resp.status_code < 300:
            return
        reason = f"HTTP {resp.status_code} from {subscription.webhook_url}"
        if resp.status_code in (408, 425, 429) or resp.status_code >= 500:
            raise DeliveryError(reason)
        raise PermanentDeliveryError(reason)
