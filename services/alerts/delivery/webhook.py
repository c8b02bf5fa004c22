"""Webhook sink: a JSON POST signed with HMAC-SHA256.

Headers:

* ``X-OGI-Timestamp``: Unix seconds when the request was signed;
* ``X-OGI-Signature``: ``sha256=`` + hex HMAC-SHA256(secret, ``timestamp + "." + body``);
* ``X-OGI-Idempotency-Key``: ``alert_id:revision`` — the same for every
  retry of one alert revision, so a receiver can drop repeats.

Signing the timestamp with the body lets a receiver reject replays older
than a few minutes (``verify(..., tolerance_s=300)``).

The POST goes through the shared outbound client (:mod:`ogi.net`): the
subscriber's URL may only reach public addresses (checked on every DNS
answer at connect time; ``OGI_DELIVER_ALLOW_PRIVATE_NETWORKS`` opens named
networks, e.g. a receiver on this host), proxy variables are ignored, no
redirect is followed, and the answer is read with the bounded reader (at
most ``MAX_ANSWER_BYTES``, one encoding layer) within ``OGI_DELIVER_TIMEOUT_S``
of wall-clock time. Error messages name the URL only by its origin: hooks
carry tokens in their path and query.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx
import structlog

from ogi.backoff import is_retryable_status
from ogi.net import AddressPolicy, NetRefusal, OutboundClient, read_bounded, redact_url, scrub
from ogi.settings import Settings
from schemas import Alert
from schemas.events import Subscription
from services.alerts.delivery.base import Sink, payload
from services.alerts.errors import DeliveryError, PermanentDeliveryError

TIMESTAMP = "X-OGI-Timestamp"
SIGNATURE = "X-OGI-Signature"
IDEMPOTENCY_KEY = "X-OGI-Idempotency-Key"
#: what we read of a receiver's answer (only its status matters)
MAX_ANSWER_BYTES = 64 * 1024

log = structlog.get_logger("ogi.deliver")


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    tolerance_s: float = 300,
    now: float | None = None,
) -> bool:
    """Receiver side: the signature matches and the timestamp is recent."""
    if not timestamp or not signature:
        return False
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    # bytes, not str: compare_digest raises TypeError on non-ASCII str, and a
    # forged header may hold anything
    return hmac.compare_digest(sign(secret, ts, body).encode("ascii"), signature.encode("utf-8", "replace"))


class WebhookSink(Sink):
    name = "webhook"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.client = OutboundClient(
            AddressPolicy.from_networks(settings.deliver_allow_private_networks),
            connect_timeout_s=settings.deliver_timeout_s,
            read_timeout_s=settings.deliver_timeout_s,
            headers={"User-Agent": "ogi-alerts/0.1"},
        )

    def applies(self, subscription: Subscription) -> bool:
        return bool(subscription.webhook_url)

    def send(self, alert: Alert, subscription: Subscription, key: str) -> None:
        url = subscription.webhook_url
        assert url
        shown = redact_url(url, secret_path=True)
        body = payload(alert, subscription, key)
        ts = int(time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            TIMESTAMP: str(ts),
            SIGNATURE: sign(subscription.webhook_secret or "", ts, body),
            IDEMPOTENCY_KEY: key,
        }
        try:
            with self.client.open(
                "POST", url, content=body, headers=headers, timeout_s=self.settings.deliver_timeout_s
            ) as resp:
                status = resp.status_code
                try:
                    read_bounded(resp, MAX_ANSWER_BYTES)
                except NetRefusal as exc:  # the status is the answer; its body is only refused
                    log.warning(
                        "webhook answer refused",
                        subscription=subscription.subscription_id,
                        url=shown,
                        status=status,
                        reason=str(exc),
                        error_class=type(exc).__name__,
                    )
        except NetRefusal as exc:  # a forbidden or broken URL will not get better by retrying
            raise PermanentDeliveryError(
                f"{type(exc).__name__}: {scrub(str(exc), urls=[url])} ({shown})"
            ) from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {scrub(str(exc), urls=[url])} ({shown})") from exc
        if 200 <= status < 300:
            return
        reason = f"HTTP {status} from {shown}"
        if is_retryable_status(status):
            raise DeliveryError(reason)
        raise PermanentDeliveryError(reason)
