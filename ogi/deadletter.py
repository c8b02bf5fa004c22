"""Building dead letters: every stage that gives up on a record sends it,
whole, to the dead-letter topic with the stage, the error class and the
reason, then goes on with the next record."""

from __future__ import annotations

from typing import Protocol

import structlog

from ogi import telemetry
from schemas import DeadLetter, Stage

log = structlog.get_logger("ogi.deadletter")

MAX_REASON_CHARS = 4000


def dead_letter(
    stage: Stage,
    error: BaseException | str,
    original: bytes,
    *,
    source_topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
    key: bytes | str | None = None,
) -> DeadLetter:
    """The dead letter for ``original``; logs the failure as one event."""
    if isinstance(error, BaseException):
        error_class, reason = type(error).__name__, str(error) or repr(error)
    else:
        error_class, reason = "Rejected", error
    telemetry.DEAD_LETTERS.labels(stage.value).inc()
    telemetry.error(error_class)
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[:MAX_REASON_CHARS] + "…"
    if isinstance(key, bytes):
        key = key.decode("utf-8", "replace")
    letter = DeadLetter(
        stage=stage,
        error_class=error_class,
        error=reason,
        source_topic=source_topic,
        partition=partition,
        offset=offset,
        key=key,
        original=original,
    )
    log.error(
        "dead letter",
        stage=stage.value,
        error_class=error_class,
        error=reason,
        topic=source_topic,
        partition=partition,
        offset=offset,
        size=len(original),
    )
    return letter


class ConsumedRecord(Protocol):
    """A record as a Kafka consumer hands it over: kafka-python's
    ``ConsumerRecord`` and Faust's ``Message`` both are one."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


def dead_letter_of(stage: Stage, error: BaseException | str, record: ConsumedRecord) -> DeadLetter:
    """The dead letter for a consumed record: its value, whole, and where it
    was read (topic, partition, offset, key), so it can be found and replayed."""
    return dead_letter(
        stage,
        error,
        record.value or b"",
        source_topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
    )
