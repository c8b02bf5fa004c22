"""Building dead letters: every stage that gives up on a record sends it,
whole, to the dead-letter topic with the stage, the error class and the
reason, then goes on with the next record."""

from __future__ import annotations

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
