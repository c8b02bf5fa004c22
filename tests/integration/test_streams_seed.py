"""ogi.streams.seed_committed_offsets on the real Kafka: before a Faust app
starts, every input partition its group never committed gets its first
offset committed (Faust's end-of-recovery seek then covers every partition;
see the function's doc), and a partition with a committed offset keeps it."""

from __future__ import annotations

import uuid

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from ogi.broker import kafka_client
from ogi.settings import Settings
from ogi.streams import app_input_topics, seed_committed_offsets
from ogi.topics import EXTRACTED, INGEST_STATUS
from services.alerts.app import create_app

pytestmark = pytest.mark.integration


def committed(settings: Settings, group: str) -> dict[str, int]:
    admin = kafka_client(KafkaAdminClient, settings)
    try:
        offsets = admin.list_consumer_group_offsets(group)
    finally:
        admin.close()
    return {f"{tp.topic}/{tp.partition}": meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


def test_unstarted_partitions_get_their_first_offset_and_started_ones_keep_theirs(platform: Settings) -> None:
    group = f"{platform.topic_prefix}seed-{uuid.uuid4().hex[:6]}"
    settings = platform.model_copy(update={"detect_app_id": group})
    app = create_app(settings)
    extracted, status = EXTRACTED.name(settings), INGEST_STATUS.name(settings)
    assert app_input_topics(app) == sorted([extracted, status])

    # the group has read partition 0 of the extracted reports up to offset 7 before
    consumer = kafka_client(KafkaConsumer, settings, group_id=group, enable_auto_commit=False)
    try:
        consumer.commit({TopicPartition(extracted, 0): OffsetAndMetadata(7, "", -1)})
        partitions = {t: sorted(consumer.partitions_for_topic(t) or ()) for t in (extracted, status)}
        starts = consumer.beginning_offsets(
            [TopicPartition(t, p) for t, ps in partitions.items() for p in ps]
        )
    finally:
        consumer.close()

    seeded = seed_committed_offsets(app, settings)

    expected = {f"{tp.topic}/{tp.partition}": off for tp, off in starts.items()} | {f"{extracted}/0": 7}
    assert committed(settings, group) == expected
    assert f"{extracted}/0" not in seeded and len(seeded) == len(expected) - 1
    assert seed_committed_offsets(app, settings) == {}  # nothing left to seed
