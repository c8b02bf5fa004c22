"""The one compacted-table reader (ogi.table): a record that does not
decode (not JSON, a newer schema version) is skipped with a log line and
the rest is read; the subscriptions store and the delivery log built on it
keep working."""

from __future__ import annotations

import json
import uuid

import pytest

from ogi.broker import ensure_topics, make_producer
from ogi.settings import Settings
from ogi.topics import DELIVERIES, SUBSCRIPTIONS
from services.alerts.delivery.service import read_deliveries
from services.alerts.subscriptions import SubscriptionStore, new_subscription

pytestmark = pytest.mark.integration


def test_undecodable_records_are_skipped_not_raised(platform: Settings) -> None:
    # topics of its own: other tests read the session's delivery log record by record
    platform = platform.model_copy(
        update={"topic_prefix": f"{platform.topic_prefix}bad{uuid.uuid4().hex[:6]}."}
    )
    ensure_topics(platform, [SUBSCRIPTIONS, DELIVERIES])
    good = new_subscription(email_to=["a@example.org"], name="good")
    newer = json.loads(good.model_dump_json()) | {"subscription_id": "newer", "schema_version": 99}
    producer = make_producer(platform)
    try:
        for topic in (SUBSCRIPTIONS, DELIVERIES):
            name = topic.name(platform)
            producer.send(name, key=b"garbage", value=b"{not json").get(timeout=60)
            producer.send(name, key=b"newer", value=json.dumps(newer).encode()).get(timeout=60)
    finally:
        producer.close()
    store = SubscriptionStore(platform)
    try:
        store.add(good)
        subs = store.load()
    finally:
        store.close()
    assert good.subscription_id in subs and "garbage" not in subs and "newer" not in subs
    assert all(d.delivery_key not in ("garbage", "newer") for d in read_deliveries(platform))
