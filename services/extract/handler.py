"""What the extract worker does with one raw record, without Kafka: decode
the envelope, extract within time and memory bounds, and build the events.
The Faust agent in ``app.py`` is a thin shell around ``handle_raw``."""

from __future__ import annotations

from dataclasses import dataclass

from ogi.gazetteer import full_region
from ogi.settings import Settings
from schemas import ExtractedReport, MetricEvent, RawReport, UndecodableRecord, decode
from services.extract.engine import extract_bounded
from services.extract.engine.bounded import ExtractorPool, Usage
from services.extract.errors import DocumentTooLarge, ExtractError
from services.extract.events import to_metric_events


class RejectedRecord(ExtractError):
    """The record on the raw topic is not a RawReport we can read."""


@dataclass(frozen=True)
class Extracted:
    report: ExtractedReport
    metrics: list[MetricEvent]
    usage: Usage | None = None


def decode_raw(value: bytes) -> RawReport:
    try:
        return decode(RawReport, value)
    except UndecodableRecord as exc:
        raise RejectedRecord(f"not a raw report we can read: {exc}") from exc


def handle_raw(value: bytes, settings: Settings, pool: ExtractorPool | None = None) -> Extracted:
    """Extract one raw record, in one of ``pool``'s children when given (else
    in a child of its own). Raises an ``ExtractError`` subclass for anything
    that belongs in the dead-letter topic."""
    raw = decode_raw(value)
    if raw.size > settings.max_document_bytes:
        raise DocumentTooLarge(f"{raw.size} bytes exceeds the {settings.max_document_bytes}-byte limit")
    filename = raw.filename or raw.source_url.rsplit("/", 1)[-1]
    usage = Usage()
    if pool is not None:
        report = pool.extract(raw.content, filename=filename, content_type=raw.content_type, usage=usage)
    else:
        report = extract_bounded(
            raw.content,
            filename=filename,
            content_type=raw.content_type,
            timeout_s=settings.extract_timeout_s,
            max_memory_mb=settings.extract_max_memory_mb,
            usage=usage,
        )
    report = report.model_copy(
        update={
            "file": raw.filename,
            "agency_id": raw.agency_id,
            "agency": report.agency or raw.agency_name,
            # the path from the province down: the registry places what the report prints
            "region": full_region(report.region, raw.region),
            "level": raw.level,
            "source_url": raw.source_url,
            "published_at": raw.published_at,
        }
    )
    return Extracted(report, to_metric_events(report), usage)
