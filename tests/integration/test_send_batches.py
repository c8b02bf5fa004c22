"""ogi.streams.send_unacked on the real Kafka: a consumed record's outputs
go to the broker as whole producer batches on the partition the default
partitioner gives their key. More values than one batch holds arrive all,
in order, on that one partition, each batch with its own acknowledgement,
so per-key order holds across batches (the extract worker's metric events)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from kafka import KafkaConsumer
from kafka.partitioner import DefaultPartitioner

from ogi.broker import kafka_client
from ogi.settings import Settings
from ogi.streams import PRODUCER_BATCH_BYTES, bytes_topic, make_app, send_acked, send_unacked
from ogi.topics import METRICS
from tests.support import read_topic

pytestmark = pytest.mark.integration


async def _produce(settings: Settings, key: str, values: list[bytes]) -> int:
    """Send ``values`` under ``key``; how many acknowledgements (batches) it took."""
    app = make_app(f"{settings.topic_prefix}send-{uuid.uuid4().hex[:6]}", settings)
    topic = bytes_topic(app, METRICS, settings)
    await app.producer.start()
    try:
        acks = await send_unacked(topic, key, *values)
        await asyncio.gather(*acks)
        await send_acked(topic, key, b"last")  # the waiting variant, after the others
        return len(acks)
    finally:
        await app.producer.stop()


def test_values_beyond_one_batch_arrive_in_order_on_the_keys_partition(platform: Settings) -> None:
    key = f"agency-{uuid.uuid4().hex[:8]}"
    value_size = 1000
    count = 3 * PRODUCER_BATCH_BYTES // value_size  # three batches' worth
    values = [f"{key}:{i:06d}:".encode().ljust(value_size, b"x") for i in range(count)]

    batches = asyncio.run(_produce(platform, key, values))

    assert batches >= 3  # cut into batches, each acknowledged
    mine = [r for r in read_topic(METRICS, platform) if r.key == key.encode()]
    assert [r.value for r in mine] == [*values, b"last"]
    partitions = {r.partition for r in mine}
    assert len(partitions) == 1
    # the partition aiokafka's per-record send (and kafka-python, and Java) would have chosen
    reader = kafka_client(KafkaConsumer, platform)
    try:
        all_partitions = sorted(reader.partitions_for_topic(METRICS.name(platform)) or ())
    finally:
        reader.close()
    assert partitions == {DefaultPartitioner()(key.encode(), all_partitions, all_partitions)}
