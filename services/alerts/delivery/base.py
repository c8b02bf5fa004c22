"""The sink interface.

A sink has a ``name`` (the ``sink`` of a delivery record) and two hooks:

``applies(subscription)``
    whether the subscription has a destination of this kind;
``send(alert, subscription, idempotency_key)``
    deliver once; return on success, raise ``DeliveryError`` to be retried
    with backoff or ``PermanentDeliveryError`` to give up at once.

Sinks keep no state: retries, idempotency and isolation are the
deliverer's business (``service.py``).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from ogi.settings import Settings
from schemas import Alert
from schemas.events import Subscription


def idempotency_key(alert: Alert) -> str:
    """Same alert revision, same key: a receiver that has seen it may drop it."""
    return f"{alert.alert_id}:{alert.revision}"


def payload(alert: Alert, subscription: Subscription, key: str) -> bytes:
    """The JSON body every sink sends (the webhook signs exactly these bytes)."""
    body: dict[str, Any] = {
        "idempotency_key": key,
        "subscription_id": subscription.subscription_id,
        "alert": alert.model_dump(mode="json"),
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


class Sink:
    name: ClassVar[str] = ""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def applies(self, subscription: Subscription) -> bool:
        raise NotImplementedError

    def send(self, alert: Alert, subscription: Subscription, key: str) -> None:
        raise NotImplementedError
