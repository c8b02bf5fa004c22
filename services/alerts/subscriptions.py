"""Subscriptions: who gets which alerts.

A subscription is a filter (agencies, regions, rules, minimum severity) and
destinations (a webhook with its HMAC secret, e-mail addresses), plus noise
control: silences (agencies, rules or regions muted until a moment), an
optional digest (one message per interval bundling the alerts), and whether
resolutions are sent (default yes). They live
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

import re
import secrets
import uuid
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta, timezone
from datetime import time as clock_time

import structlog

from ogi.broker import make_producer
from ogi.gazetteer import region_matches
from ogi.net import AddressPolicy, NetRefusal, check_url
from ogi.settings import Settings, get_settings
from ogi.table import CompactedTable
from ogi.topics import SUBSCRIPTIONS
from schemas import Alert, Severity, utcnow
from schemas.events import Silence, Subscription

#: dates on the command line are China dates (the reports' calendar)
CHINA = timezone(timedelta(hours=8))
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``30m``, ``1h``, ``1d``, ``2w`` -> seconds."""
    m = _DURATION.match(text)
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"not a duration: {text!r} (e.g. 30m, 1h, 1d)")
    return float(m.group(1)) * _UNIT_S[m.group(2)]


def parse_until(text: str, now: datetime | None = None) -> datetime:
    """When a silence ends: an ISO date (silenced through that whole day,
    China time), an ISO date-time, or a duration from now (``7d``)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        return datetime.combine(day + timedelta(days=1), clock_time(), CHINA)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return (now or utcnow()) + timedelta(seconds=parse_duration(text))
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA)


def _agency_matches(names: list[str], alert: Alert) -> bool:
    return not names or bool({alert.agency, alert.agency_id} & set(names))


def _region_matches(places: list[str], alert: Alert) -> bool:
    # a place as typed (浙江, 杭州) matches the full paths stored (浙江省杭州市…)
    return not places or region_matches(alert.region, places)


def silenced(sub: Subscription, alert: Alert, now: datetime | None = None) -> Silence | None:
    """The silence of ``sub`` that mutes ``alert`` now, if any."""
    now = now or utcnow()
    for silence in sub.silences:
        if (
            now < silence.until
            and (not silence.rules or alert.rule in silence.rules)
            and _agency_matches(silence.agencies, alert)
            and _region_matches(silence.regions, alert)
        ):
            return silence
    return None


log = structlog.get_logger("ogi.alerts.subscriptions")


def matches(sub: Subscription, alert: Alert) -> bool:
    """Does ``alert`` pass ``sub``'s filter? Empty lists match anything;
    agencies match the agency name or id exactly; a region matches every
    place within it (``浙江`` matches ``浙江省杭州市``, see ``ogi.gazetteer``)."""
    if alert.severity.rank < sub.min_severity.rank:
        return False
    if sub.rules and alert.rule not in sub.rules:
        return False
    return _agency_matches(sub.agencies, alert) and _region_matches(sub.regions, alert)


def new_subscription(
    *,
    webhook_url: str | None = None,
    secret: str | None = None,
    email_to: Iterable[str] = (),
    agencies: Iterable[str] = (),
    regions: Iterable[str] = (),
    rules: Iterable[str] = (),
    min_severity: Severity | str = Severity.INFO,
    name: str | None = None,
    digest_s: float | None = None,
    resolutions: bool = True,
) -> Subscription:
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
        digest_s=digest_s,
        resolutions=resolutions,
    )


class SubscriptionStore:
    """Read and write the subscriptions topic (a :class:`CompactedTable`)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.table: CompactedTable[Subscription] = CompactedTable(
            SUBSCRIPTIONS, self.settings, missing_ok=True
        )

    def _write(self, change: Callable[[CompactedTable[Subscription]], None]) -> None:
        self.table.producer = make_producer(self.settings)
        try:
            change(self.table)
        finally:
            self.table.producer.close()
            self.table.producer = None

    def add(self, sub: Subscription) -> Subscription:
        self._write(lambda table: table.put(sub, timeout_s=60))
        return sub

    def update(self, subscription_id: str, **changes: object) -> Subscription | None:
        """Rewrite one subscription with ``changes`` (None if there is none);
        the compacted topic keeps the new record."""
        current = self.load().get(subscription_id)
        if current is None:
            return None
        updated = Subscription.model_validate({**current.model_dump(), **changes})
        self.add(updated)
        return updated

    def remove(self, subscription_id: str) -> bool:
        """Tombstone the subscription; False if there was none."""
        if subscription_id not in self.load():
            return False
        self._write(lambda table: table.delete(subscription_id, timeout_s=60))
        return True

    def refresh(self) -> dict[str, Subscription]:
        """Apply whatever arrived on the topic since the last call (catching
        up to the end offsets), and return the current subscriptions."""
        try:
            self.table.catch_up(timeout_s=30)
        except TimeoutError as exc:  # a slow broker: go on with what is read, the next call reads on
            log.warning("subscriptions not read to the end", error=str(exc))
        return self.table.as_dict()

    def load(self) -> dict[str, Subscription]:
        return self.refresh()

    def close(self) -> None:
        self.table.close()
