"""A consumed record's dead letter says where the record was read."""

from __future__ import annotations

import pytest
from faust.types.tuples import Message
from kafka.consumer.fetcher import ConsumerRecord

from ogi.deadletter import ConsumedRecord, dead_letter_of
from schemas import Stage


def _kafka_python(value: bytes) -> ConsumerRecord:
    return ConsumerRecord(
        topic="ogi.alerts",
        partition=2,
        leader_epoch=0,
        offset=41,
        timestamp=0,
        timestamp_type=0,
        key=b"agency-\xe5\x8e\xbf",
        value=value,
        headers=[],
        checksum=None,
        serialized_key_size=10,
        serialized_value_size=len(value),
        serialized_header_size=0,
    )


def _faust(value: bytes) -> Message:
    return Message(
        topic="ogi.alerts",
        partition=2,
        offset=41,
        timestamp=0.0,
        timestamp_type=0,
        headers=None,
        key=b"agency-\xe5\x8e\xbf",
        value=value,
        checksum=None,
    )


@pytest.mark.parametrize("make", [_kafka_python, _faust], ids=["kafka-python", "faust"])
def test_the_letter_carries_the_record_and_where_it_was_read(make) -> None:  # type: ignore[no-untyped-def]
    record: ConsumedRecord = make(b'{"not": "an alert"}')
    letter = dead_letter_of(Stage.DELIVER, ValueError("undecodable"), record)
    assert letter.original == b'{"not": "an alert"}'
    assert (letter.source_topic, letter.partition, letter.offset) == ("ogi.alerts", 2, 41)
    assert letter.key == "agency-县"
    assert (letter.stage, letter.error_class, letter.error) == (Stage.DELIVER, "ValueError", "undecodable")
