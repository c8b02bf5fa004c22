"""The publish part of the monitor: what the crawl decided is new goes to
the raw topic, and what was seen at each URL to ``ingest.seen``.

Ordering (see :mod:`services.ingest.state`): a document's raw record is
acknowledged before its ``seen`` record is written, so a restart publishes
nothing twice. The same bytes already published for the agency under
another URL are recorded as seen (version 0) but not published again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import structlog
from kafka import KafkaProducer

from ogi.broker import publish
from ogi.settings import Settings
from ogi.topics import RAW
from schemas.events import RawReport, SeenDocument, utcnow
from services.ingest.fetch import Fetched
from services.ingest.registry import Source
from services.ingest.sniff import HTML, TEXT, decode_text
from services.ingest.state import SeenState

log = structlog.get_logger("ogi.ingest")


@dataclass
class PollResult:
    """What one poll of one source did."""

    source_id: str
    pages: int = 0
    found: int = 0
    published: list[RawReport] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped_old: int = 0
    """known reports older than the re-check age left alone this poll (their list page did not change)"""
    requests: int = 0
    """requests sent for this poll (conditional ones included; robots.txt not)"""
    stopped: bool = False


class Publisher:
    """Writes raw records and seen-state for the crawl."""

    def __init__(self, settings: Settings, producer: KafkaProducer, seen: SeenState) -> None:
        self.settings = settings
        self.producer = producer
        self.seen = seen

    def touch(self, seen: SeenDocument, got: Fetched) -> None:
        """Same content as before: keep the new validators, publish nothing."""
        if (seen.etag, seen.last_modified) != (got.etag, got.last_modified) or seen.refused:
            self.seen.put(
                seen.model_copy(
                    update={
                        "etag": got.etag,
                        "last_modified": got.last_modified,
                        "refused": None,
                        "seen_at": utcnow(),
                    }
                )
            )

    def remember_refusal(self, source: Source, url: str, reason: str) -> None:
        """A refused URL is remembered, so the next polls do not download it
        again only to refuse it again (retried after ``ingest_refused_retry_s``)."""
        seen = self.seen.get(url)
        base = seen or SeenDocument(url=url, agency_id=source.id)
        self.seen.put(base.model_copy(update={"refused": reason[:500], "seen_at": utcnow()}))

    def publish(
        self,
        source: Source,
        got: Fetched,
        url: str,
        seen: SeenDocument | None,
        fingerprint: str,
        result: PollResult,
        *,
        encoding: str | None = None,
        **fields: Any,
    ) -> None:
        """Publish ``got`` as a new document (or a new version of ``url``).
        ``encoding``: the text encoding when the crawl already decoded the page."""
        sha256 = got.sha256
        ctype = got.content_type
        record = SeenDocument(
            url=url,
            agency_id=source.id,
            kind="page" if fingerprint != sha256 else "document",
            etag=got.etag,
            last_modified=got.last_modified,
            sha256=sha256,
            fingerprint=fingerprint,
            version=(seen.version if seen else 0) + 1,
        )
        if seen is None and self.seen.has_content(source.id, sha256):
            log.info("duplicate content", source=source.id, url=url, sha256=sha256[:12])
            result.unchanged.append(url)
            self.seen.put(record.model_copy(update={"version": 0}))
            return
        if encoding is None and ctype in (HTML, TEXT):
            encoding = decode_text(got.content, got.charset, source.hints.encoding)[1]
        raw = RawReport.from_bytes(
            got.content,
            sha256=sha256,
            agency_id=source.id,
            agency_name=source.name,
            region=source.region,
            level=source.level,
            source_url=got.final_url,
            content_type=ctype,
            encoding=encoding,
            filename=got.filename,
            **fields,
        )
        meta = publish(self.producer, RAW, raw, self.settings).get(timeout=120)
        self.seen.put(record)
        result.published.append(raw)
        log.info(
            "published",
            source=source.id,
            url=url,
            version=record.version,
            sha256=sha256[:12],
            size=raw.size,
            content_type=ctype,
            year=raw.year,
            partition=meta.partition,
            offset=meta.offset,
        )
