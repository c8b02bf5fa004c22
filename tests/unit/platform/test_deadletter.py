"""A consumed record's dead letter says where the record was read."""

from __future__ import annotations

import pytest
from faust.types.tuples import Message
from kafka.consumer.fetcher import ConsumerRecord

from ogi.deadletter import ConsumedRecord, dead_letter_of
from schemas import Stage

# what both clients say of a record; each adds fields of its own
_READ = {"topic": "ogi.alerts", "partition": 2, "offset": 41, "key": b"agency-\xe5\x8e\xbf"}


def _kafka_python(value: bytes) -> ConsumerRecord:
    sizes = {"serialized_key_size": 10, "serialized_value_size": len(value), "serialized_header_size": 0}
    return ConsumerRecord(
        **_READ,
        value=value,
        leader_epoch=0,
        timestamp=0,
        timestamp_type=0,
        headers=[],
        checksum=None,
        **sizes,
    )


def _faust(value: bytes) -> Message:
    return Message(**_READ, value=value, timestamp=0.0, timestamp_type=0, headers=None, checksum=None)


@pytest.mark.parametrize("make", [_kafka_python, _faust], ids=["kafka-python", "faust"])
def test_the_letter_carries_the_record_and_where_it_was_read(make) -> None:  # type: ignore[no-untyped-def]
    record: ConsumedRecord = make(b'{"not": "an alert"}')
    letter = dead_letter_of(Stage.DELIVER, ValueError("undecodable"), record)
    assert letter.original == b'{"not": "an alert"}'
    assert (letter.source_topic, letter.partition, letter.offset) == ("ogi.alerts", 2, 41)
    assert letter.key == "agency-县"
    assert (letter.stage, letter.error_class, letter.error) == (Stage.DELIVER, "ValueError", "undecodable")
