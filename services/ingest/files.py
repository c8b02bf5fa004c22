"""``ogi ingest file``: publish local report files to the raw topic, the
same envelope the site monitor produces."""

from __future__ import annotations

import mimetypes
from pathlib import Path

import structlog

from ogi.broker import make_producer, publish
from ogi.localfiles import FileTooLarge, NotARegularFile, read_document_file  # noqa: F401 - re-exported
from ogi.settings import Settings, get_settings
from ogi.topics import RAW
from schemas import RawReport

log = structlog.get_logger("ogi.ingest")


def raw_from_file(
    path: Path, *, agency_id: str = "file", agency_name: str | None = None, settings: Settings | None = None
) -> RawReport:
    settings = settings or get_settings()
    content = read_document_file(path, settings.max_document_bytes)
    return RawReport.from_bytes(
        content,
        agency_id=agency_id,
        agency_name=agency_name,
        source_url=path.resolve().as_uri(),
        filename=path.name,
        content_type=mimetypes.guess_type(path.name)[0],
    )


def publish_files(
    paths: list[Path],
    *,
    agency_id: str = "file",
    agency_name: str | None = None,
    settings: Settings | None = None,
) -> list[RawReport]:
    """Publish each file and wait for the broker's acknowledgement (acks=all,
    idempotent producer). Returns what was published."""
    settings = settings or get_settings()
    producer = make_producer(settings)
    sent: list[tuple[RawReport, object]] = []
    try:
        for path in paths:
            raw = raw_from_file(path, agency_id=agency_id, agency_name=agency_name, settings=settings)
            sent.append((raw, publish(producer, RAW, raw, settings)))
        for raw, future in sent:
            meta = future.get(timeout=300)  # type: ignore[attr-defined]
            log.info(
                "published",
                file=raw.filename,
                sha256=raw.sha256[:12],
                size=raw.size,
                topic=meta.topic,
                partition=meta.partition,
                offset=meta.offset,
            )
    finally:
        producer.close()
    return [raw for raw, _ in sent]
