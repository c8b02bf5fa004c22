"""Topics on the real broker: created idempotently with the table's configs,
and a maximum-size raw document passes producer, broker and consumer."""

from __future__ import annotations

import os

import pytest
from kafka.admin import ConfigResource, ConfigResourceType

from ogi.broker import ensure_topics, make_admin, make_producer, publish
from ogi.settings import Settings
from ogi.topics import ALERTS, RAW, TOPICS
from schemas import RawReport
from tests.support import read_topic

pytestmark = pytest.mark.integration


def test_topics_are_created_once_with_their_configs(platform: Settings) -> None:
    assert ensure_topics(platform) == []  # the fixture created them; a second call is a no-op
    admin = make_admin(platform)
    try:
        names = set(admin.list_topics())
        assert {s.name(platform) for s in TOPICS.values()} <= names
        resources = [ConfigResource(ConfigResourceType.TOPIC, s.name(platform)) for s in (RAW, ALERTS)]
        result = admin.describe_configs(resources)
        configs = {}
        for response in result:
            for res in response.resources:
                configs[res[3]] = {entry[0]: entry[1] for entry in res[4]}
        assert configs[RAW.name(platform)]["max.message.bytes"] == str(platform.max_message_bytes)
        assert configs[ALERTS.name(platform)]["cleanup.policy"] == "compact"
        parts = admin.describe_topics([RAW.name(platform)])[0]["partitions"]
        assert len(parts) == platform.topic_partitions
    finally:
        admin.close()


def test_a_20_mb_document_passes(platform: Settings) -> None:
    content = os.urandom(platform.max_document_bytes)
    raw = RawReport.from_bytes(content, agency_id="big-agency", source_url="file:///big.pdf")
    producer = make_producer(platform)
    try:
        meta = publish(producer, RAW, raw, platform).get(timeout=120)
    finally:
        producer.close()
    records = [
        r for r in read_topic(RAW, platform) if r.partition == meta.partition and r.offset == meta.offset
    ]
    assert len(records) == 1
    assert records[0].key == b"big-agency"
    back = RawReport.model_validate_json(records[0].value)
    assert back.content == content and back.sha256 == raw.sha256
