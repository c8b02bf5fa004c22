"""Subscriptions: who gets which alerts.

A subscription is a filter (agencies, regions, rules, minimum severity) and
destinations (a webhook with its HMAC secret, e-mail addresses). They live
on a compacted Kafka topic keyed by subscription id (``alerts.subscriptions``
in the topic table; removal is a tombstone):

* every process sees the same set — ``ogi subscribe`` on a laptop, the
  deliverer on a server — with no shared disk and no extra database;
* changes reach a running deliverer within a poll, without a restart;
* Kafka already is the system of record here and is replicated; a local
  file or SQLite under ``settings.home`` would exist on one machine only.

The secret travels in the record: anyone who can read that topic can forge
signatures, so restrict the topic with ACLs on a shared cluster.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterable

from kafka import KafkaConsumer, TopicPartition

from ogi.broker import make_producer
from ogi.gazetteer import region_matches
from ogi.net import AddressPolicy, NetRefusal, check_url
from ogi.settings import Settings, get_settings
from ogi.topics import SUBSCRIPTIONS
from schemas import Alert, Severity
from schemas.events import Subscription


def matches(sub: Subscription, alert: Alert) -> bool:
    """Does ``alert`` pass ``sub``'s filter? Empty lists match anything;
    agencies match the agency name or id exactly; a region matches every
    place within it (``浙江`` matches ``浙江省杭州市``, see ``ogi.gazetteer``)."""
    if alert.severity.rank < sub.min_severity.rank:
        return False
    if sub.rules and alert.rule not in sub.rules:
        return False
    if sub.agencies and not ({alert.agency, alert.agency_id} & set(sub.agencies)):
        return False
    return not sub.regions or region_matches(alert.region, sub.regions)


def new_subscription(*, webhook_url: str | None = None, secret: str | None = None,
                     email_to: Iterable[str] = (), agencies: Iterable[str] = (), regions: Iterable[str] = (),
                     rules: Iterable[str] = (), min_severity: Severity | str = Severity.INFO,
                     name: str | None = None) -> Subscription:
    email_to = list(email_to)
    if not webhook_url and not email_to:
        raise ValueError("a subscription needs a webhook URL or an e-mail address")
    if webhook_url:
        try:
            # the shape only (scheme, host, length, never a link-local literal): which
            # addresses it may reach is the deliverer's policy, checked at every connect
            check_url(webhook_url, AddressPolicy(allow_private=True))
        except NetRefusal as exc:
            raise ValueError(f"webhook URL refused: {exc}") from exc
    if any("\r" in a or "\n" in a for a in email_to):
        raise ValueError("an e-mail address may not contain CR or LF")
    return Subscription(
        subscription_id=uuid.uuid4().hex[:16],
        name=name,
        agencies=list(agencies),
        regions=list(regions),
        rules=list(rules),
        min_severity=Severity(min_severity),
        webhook_url=webhook_url,
        webhook_secret=(secret or secrets.token_hex(32)) if webhook_url else None,
        email_to=email_to,
    )


class SubscriptionStore:
    """Read and write the subscriptions topic."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.topic = SUBSCRIPTIONS.name(self.settings)
        self._consumer: KafkaConsumer | None = None
        self._current: dict[str, Subscription] = {}

    def _write(self, key: str, value: bytes | None) -> None:
        producer = make_producer(self.settings)
        try:
            producer.send(self.topic, key=key.encode(), value=value).get(timeout=60)
        finally:
            producer.close()

    def add(self, sub: Subscription) -> Subscription:
        self._write(sub.subscription_id, sub.model_dump_json().encode())
        return sub

    def remove(self, subscription_id: str) -> bool:
        """Tombstone the subscription; False if there was none."""
        if subscription_id not in self.load():
            return False
        self._write(subscription_id, None)
        return True

    def _open(self) -> KafkaConsumer:
        if self._consumer is None:
            consumer = KafkaConsumer(bootstrap_servers=self.settings.bootstrap_servers, enable_auto_commit=False,
                                     client_id="ogi-subscriptions")
            deadline = time.monotonic() + 60
            parts = consumer.partitions_for_topic(self.topic)
            while not parts and time.monotonic() < deadline:
                time.sleep(0.5)
                parts = consumer.partitions_for_topic(self.topic)
            tps = [TopicPartition(self.topic, p) for p in sorted(parts or [])]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            self._consumer = consumer
        return self._consumer

    def refresh(self) -> dict[str, Subscription]:
        """Apply whatever arrived on the topic since the last call (catching
        up to the end offsets), and return the current subscriptions."""
        consumer = self._open()
        tps = list(consumer.assignment())
        ends = consumer.end_offsets(tps) if tps else {}
        deadline = time.monotonic() + 30
        while any(consumer.position(tp) < ends[tp] for tp in tps) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                for rec in batch:
                    key = rec.key.decode() if rec.key else None
                    if key is None:
                        continue
                    if rec.value is None:
                        self._current.pop(key, None)
                    else:
                        self._current[key] = Subscription.model_validate_json(rec.value)
        return dict(self._current)

    def load(self) -> dict[str, Subscription]:
        return self.refresh()

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
