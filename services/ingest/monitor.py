"""The site monitor: polls every registry source on a jittered schedule and
publishes each new document (or new version of one) to the raw topic, once.

One poll of a source::

    list page(s) ──parse_list_page──> report links ──┬─ attachment ──> document
       (pagination, up to max_pages;                 └─ article page ─┬─ its attachments ──> documents
        backfill: back to a year)                                     └─ none: the page is the document

Every poll re-reads the list pages it covers and re-checks every report
link on them with conditional requests (ETag / Last-Modified; list and
article pages are cached with their validators in process memory, known
documents in the ``ingest.seen`` state), so an unchanged site costs a few
304s. A document is published when its URL is new, or its content changed
(a new ``version`` of the URL; for HTML pages "content" is the visible
text), unless the same bytes were already published for the agency from
another URL.

Refused fetches (robots, private address, size, not a document) are logged
with their reason and counted in the source's status. They are not
dead-lettered: there is no record of ours to keep, only the site's URL,
and the log event plus ``ogi status`` say what an operator needs. A refused
URL is remembered and asked for again only after ``ingest_refused_retry_s``,
so a 60 MB file is not downloaded to the cap on every poll. A column page
that cannot be read makes the poll fail (``last_error``).
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from kafka import KafkaProducer

from ogi import telemetry
from ogi.broker import ensure_topics, make_producer, publish
from ogi.net import redact_url
from ogi.settings import Settings, get_settings
from ogi.signals import in_hand, stop_on_signals
from ogi.topics import DEADLETTER, INGEST_SEEN, INGEST_STATUS, RAW
from schemas.events import RawReport, SeenDocument, SourceStatus, utcnow
from services.ingest.discovery import (
    Link,
    ListPage,
    is_attachment_url,
    page_fingerprint,
    parse_article,
    parse_list_page,
)
from services.ingest.errors import (
    FetchError,
    InvalidURL,
    NotADocument,
    Refused,
    RegistryError,
    RobotsDisallowed,
)
from services.ingest.fetch import Fetched, Fetcher
from services.ingest.registry import Source, load_registry, my_sources, registry_path, runtime_file
from services.ingest.sniff import DOCUMENT_TYPES, HTML, TEXT, decode_text
from services.ingest.state import SeenState, StatusTable

log = structlog.get_logger("ogi.ingest")

_INDEX_PAGE = re.compile(r"/(?:index|default)\.s?html?$", re.IGNORECASE)
BACKFILL_MAX_PAGES = 1000


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
    stopped: bool = False


@dataclass
class Progress:
    """Callbacks for a progress display (``ogi ingest backfill``)."""

    on_page: Callable[[str, int], None] = lambda url, links: None
    on_link: Callable[[Link], None] = lambda link: None


def _page_key(url: str) -> str:
    return _INDEX_PAGE.sub("/", url)


class Monitor:
    """Polls sources and publishes what is new. ``sources`` fixes the source
    list (otherwise the registry is read, and re-read when it changes)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        sources: list[Source] | None = None,
        fetcher: Fetcher | None = None,
        producer: KafkaProducer | None = None,
        seen: SeenState | None = None,
        status: StatusTable | None = None,
    ) -> None:
        self.settings = settings = settings or get_settings()
        self.fetcher = fetcher or Fetcher(settings)
        self._own_producer = producer is None
        self.producer = producer or make_producer(settings)
        self.seen = seen or SeenState(settings, self.producer)
        self.status = status or StatusTable(settings, self.producer)
        loaded = self.seen.catch_up()
        self.status.catch_up()
        log.info("state loaded", urls=loaded)
        self.stop_event = threading.Event()
        self._fixed_sources = sources
        self._registry_stamp: tuple[float, float] | None = None
        self.sources: list[Source] = sources or []
        # list and article pages by URL: validators and the parse, for
        # conditional re-reads (process memory: a restart reads them afresh)
        self._pages: dict[str, tuple[tuple[str | None, str | None], Any]] = {}
        self._rng = random.Random()
        if sources is None:
            self.reload_registry()

    # -- registry ---------------------------------------------------------

    def reload_registry(self) -> bool:
        """Re-read the registry if it (or the sample site's address) changed."""
        if self._fixed_sources is not None:
            return False
        path = registry_path(self.settings)
        stamp = (_mtime(path), _mtime(runtime_file(self.settings)))
        if stamp == self._registry_stamp:
            return False
        self._registry_stamp = stamp
        try:
            sources = my_sources(load_registry(path, self.settings), self.settings.ingest_shard,
                                 self.settings.ingest_only)
        except RegistryError as exc:
            log.error("registry invalid, keeping the previous sources", error=str(exc), path=str(path))
            return False
        self.sources = sources
        log.info("registry loaded", path=str(path), sources=[s.id for s in sources])
        return True

    # -- one source -------------------------------------------------------

    def poll(
        self,
        source: Source,
        *,
        max_pages: int | None = None,
        since_year: int | None = None,
        progress: Progress | None = None,
    ) -> PollResult:
        """Read the source's list pages and follow every report link on them
        (conditional requests keep re-checks cheap); publish what is new. A
        backfill (``since_year``) reads every page back to that year."""
        progress = progress or Progress()
        result = PollResult(source.id)
        self.seen.catch_up()
        backfill = since_year is not None
        limit = max_pages or (BACKFILL_MAX_PAGES if backfill else source.hints.max_pages or self.settings.ingest_max_pages)
        queue = deque(source.urls)
        visited: set[str] = set()
        followed: set[str] = set()
        while queue and result.pages < limit:
            if self.stop_event.is_set():
                result.stopped = True
                break
            page_url = queue.popleft()
            if _page_key(page_url) in visited:
                continue
            visited.add(_page_key(page_url))
            try:
                listing, final_url = self._list_page(source, page_url)
            except Refused as exc:
                # a column we may not read is a broken source, not a skipped document
                result.refused.append(f"{exc.url}: {exc}")
                result.errors.append(f"list page refused: {exc.url}: {exc}")
                continue
            except FetchError as exc:
                result.errors.append(f"{exc.url}: {exc}")
                continue
            result.pages += 1
            result.found += len(listing.reports)
            self._note_invalid(source, page_url, listing.invalid, result)
            progress.on_page(page_url, len(listing.reports))
            queue.extend(p for p in listing.pages if _page_key(p) not in visited)
            if backfill and listing.reports and all(
                link.year is not None and link.year < since_year for link in listing.reports  # type: ignore[operator]
            ):
                queue.clear()  # everything further back is older still
            for link in listing.reports:
                if self.stop_event.is_set():
                    result.stopped = True
                    break
                if link.url in followed:
                    continue
                followed.add(link.url)
                if since_year is not None and link.year is not None and link.year < since_year:
                    continue
                self._follow_safely(source, link, final_url, result)
                progress.on_link(link)
        return result

    def ingest_url(self, source: Source, url: str) -> PollResult:
        """One URL given by hand: a document, or an article whose
        attachments (or the page itself) are the documents."""
        result = PollResult(source.id)
        self.seen.catch_up()
        link = Link(url=url, title="", is_attachment=is_attachment_url(url, tuple(source.hints.attachments)))
        self._follow_safely(source, link, None, result)
        return result

    # -- pages ------------------------------------------------------------

    def _cached_fetch(self, source: Source, url: str, kind: str) -> tuple[Fetched, Any]:
        """Fetch a list or article page conditionally against this process's
        page cache; returns the response and the cached parse on a 304."""
        cached = self._pages.get(url)
        got = self._fetch(source, url, kind=kind, validators=cached[0] if cached else None)
        return got, (cached[1] if got.not_modified and cached else None)

    def _list_page(self, source: Source, url: str) -> tuple[ListPage, str]:
        got, cached = self._cached_fetch(source, url, "list")
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        text, _ = decode_text(got.content, got.charset, source.hints.encoding)
        listing = parse_list_page(
            text,
            got.final_url,
            link_pattern=source.hints.link_pattern,
            exclude_pattern=source.hints.exclude_pattern,
            list_selector=source.hints.list_selector,
            extra_attachments=tuple(source.hints.attachments),
        )
        self._remember(url, got, (listing, got.final_url))
        return listing, got.final_url

    def _remember(self, url: str, got: Fetched, parsed: Any) -> None:
        if got.etag or got.last_modified:
            self._pages[url] = ((got.etag, got.last_modified), parsed)

    # -- documents --------------------------------------------------------

    def _note_invalid(self, source: Source, page_url: str, invalid: list[str], result: PollResult) -> None:
        """Broken hrefs on a page: refused one by one, logged with the reason; the page's other links go on."""
        for problem in invalid:
            result.refused.append(f"invalid link on {page_url}: {problem}")
            log.warning("link refused", source=source.id, page=redact_url(page_url), reason=problem,
                        error_class="InvalidLink")

    def _follow_safely(self, source: Source, link: Link, page_url: str | None, result: PollResult) -> None:
        try:
            self._follow(source, link, page_url, result)
        except Refused as exc:
            result.refused.append(f"{redact_url(exc.url or link.url)}: {exc}")
            if not isinstance(exc, (RobotsDisallowed, InvalidURL)):
                # remembered, so the next polls do not download it again to refuse it again
                seen = self.seen.get(link.url)
                base = seen or SeenDocument(url=link.url, agency_id=source.id)
                self.seen.put(base.model_copy(update={"refused": str(exc)[:500], "seen_at": utcnow()}))
        except FetchError as exc:
            result.errors.append(f"{redact_url(exc.url or link.url)}: {exc}")
        except Exception as exc:
            log.exception("link failed", source=source.id, url=redact_url(link.url), error_class=type(exc).__name__)
            result.errors.append(f"{redact_url(link.url)}: {type(exc).__name__}: {exc}")

    def _fetch(self, source: Source, url: str, *, kind: str,
               validators: tuple[str | None, str | None] | None = None) -> Fetched:
        etag, modified = validators or (None, None)
        try:
            got = self.fetcher.fetch(
                url,
                allow_private=source.allow_private,
                etag=etag,
                last_modified=modified,
                delay_s=source.hints.delay_s,
                kind=kind,
                source=source.id,
            )
        except Refused as exc:
            telemetry.FETCHES.labels(kind, "refused").inc()
            telemetry.error(exc)
            raise
        except FetchError as exc:
            telemetry.FETCHES.labels(kind, "error").inc()
            telemetry.error(exc)
            raise
        telemetry.FETCHES.labels(kind, "not_modified" if got.not_modified else "ok").inc()
        return got

    def _follow(self, source: Source, link: Link, page_url: str | None, result: PollResult) -> None:
        seen = self.seen.get(link.url)
        if seen is not None and seen.refused and not self._retry_refused(seen):
            log.debug("skip refused", source=source.id, url=link.url, reason=seen.refused)
            return
        extra = tuple(source.hints.attachments)
        # a URL published before and not in this process's page cache (a
        # restart): ask with its stored validators; HTML still goes the article way
        if link.is_attachment or (seen is not None and link.url not in self._pages):
            got = self._fetch(source, link.url, kind="document",
                              validators=(seen.etag, seen.last_modified) if seen else None)
            cached = None
        else:
            got, cached = self._cached_fetch(source, link.url, "article")
        if got.not_modified and cached is None:
            result.unchanged.append(link.url)  # a document that did not change
            return
        if cached is not None:
            article, fingerprint = cached
        elif got.content_type == HTML and not link.is_attachment:
            text, _ = decode_text(got.content, got.charset, source.hints.encoding)
            article, fingerprint = parse_article(text, got.final_url, extra_attachments=extra), page_fingerprint(text)
            self._note_invalid(source, got.final_url, article.invalid, result)
        else:
            self._document(source, link, got, seen, page_url, result)
            return
        title = link.title or article.title
        year = link.year or article.year
        published_at = link.published_at or article.published_at
        if not article.attachments:
            # the article page is the report (a cached parse means a 304:
            # it was published or found unchanged when it was cached)
            if cached is None:
                if seen is not None and seen.fingerprint == fingerprint:
                    self._touch(seen, got)
                    result.unchanged.append(link.url)
                else:
                    self._publish(source, got, link.url, seen, fingerprint, result, page_url=page_url,
                                  title=title, year=year, published_at=published_at)
                self._remember(link.url, got, (article, fingerprint))
            return
        if cached is None:
            self._remember(link.url, got, (article, fingerprint))
        for attachment in article.attachments:
            if self.stop_event.is_set():
                break
            doc = Link(url=attachment.url, title=attachment.title, year=attachment.year or year,
                       published_at=published_at, is_attachment=True)
            self._follow_safely(source, doc, got.final_url, result)

    def _retry_refused(self, seen: SeenDocument) -> bool:
        return (utcnow() - seen.seen_at).total_seconds() > self.settings.ingest_refused_retry_s

    def _document(self, source: Source, link: Link, got: Fetched, seen: SeenDocument | None,
                  page_url: str | None, result: PollResult) -> None:
        ctype = got.content_type
        if ctype not in DOCUMENT_TYPES or (ctype == HTML and link.is_attachment):
            raise NotADocument(f"content is {ctype}, not a report document", url=got.final_url)
        if seen is not None and seen.fingerprint == got.sha256:
            self._touch(seen, got)
            result.unchanged.append(link.url)
            return
        self._publish(source, got, link.url, seen, got.sha256, result, page_url=page_url,
                      title=link.title or None, year=link.year, published_at=link.published_at)

    def _touch(self, seen: SeenDocument, got: Fetched) -> None:
        """Same content as before: keep the new validators, publish nothing."""
        if (seen.etag, seen.last_modified) != (got.etag, got.last_modified) or seen.refused:
            self.seen.put(seen.model_copy(update={"etag": got.etag, "last_modified": got.last_modified,
                                                  "refused": None, "seen_at": utcnow()}))

    def _publish(
        self,
        source: Source,
        got: Fetched,
        url: str,
        seen: SeenDocument | None,
        fingerprint: str,
        result: PollResult,
        **fields: Any,
    ) -> None:
        record = SeenDocument(url=url, agency_id=source.id, kind="page" if fingerprint != got.sha256 else "document",
                              etag=got.etag,
                              last_modified=got.last_modified, sha256=got.sha256, fingerprint=fingerprint,
                              version=(seen.version if seen else 0) + 1)
        if seen is None and self.seen.has_content(source.id, got.sha256):
            log.info("duplicate content", source=source.id, url=url, sha256=got.sha256[:12])
            result.unchanged.append(url)
            self.seen.put(record.model_copy(update={"version": 0}))
            return
        ctype = got.content_type
        encoding = decode_text(got.content, got.charset, source.hints.encoding)[1] if ctype in (HTML, TEXT) else None
        raw = RawReport.from_bytes(
            got.content,
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
        log.info("published", source=source.id, url=url, version=record.version, sha256=raw.sha256[:12],
                 size=raw.size, content_type=ctype, year=raw.year, partition=meta.partition, offset=meta.offset)

    # -- status -----------------------------------------------------------

    def record_status(self, source: Source, result: PollResult | None, error: str | None = None) -> SourceStatus:
        now = utcnow()
        prev = self.status.get(source.id) or SourceStatus(agency_id=source.id)
        update: dict[str, Any] = {"agency_name": source.name, "last_poll": now}
        if result is not None:
            update["published_total"] = prev.published_total + len(result.published)
            update["refused_total"] = prev.refused_total + len(result.refused)
            if result.refused:
                update["last_refusal"] = result.refused[-1][:1000]
            if not result.errors and not result.stopped:
                update["last_success"] = now
                update["reports_found"] = result.found
                update["failed_polls"] = 0
                if result.found:
                    update["last_found_at"] = now
            error = error or (result.errors[-1] if result.errors else None)
        if error:
            update["last_error"] = error[:1000]
            update["last_error_at"] = now
            # counted here, judged by the detector's source_unhealthy rule
            update["failed_polls"] = prev.failed_polls + 1
        status = prev.model_copy(update=update)
        self.status.put(status)
        return status

    def poll_and_record(self, source: Source, **kwargs: Any) -> PollResult | None:
        """:meth:`poll`, then the source's status; never raises (the
        scheduler must outlive any one source)."""
        started = time.monotonic()
        try:
            result = self.poll(source, **kwargs)
        except Exception as exc:
            log.exception("poll failed", source=source.id)
            try:
                self.record_status(source, None, f"{type(exc).__name__}: {exc}")
            except Exception:
                log.exception("status not recorded", source=source.id)
            return None
        self.record_status(source, result)
        log.info("poll done", source=source.id, pages=result.pages, found=result.found,
                 published=len(result.published), refused=len(result.refused), errors=len(result.errors),
                 stopped=result.stopped,
                 elapsed_s=round(time.monotonic() - started, 2))
        return result

    # -- schedule ---------------------------------------------------------

    def next_delay(self) -> float:
        """Seconds until a source's next poll: the interval +- jitter."""
        s = self.settings
        return s.ingest_poll_interval_s * (1 + self._rng.uniform(-s.ingest_poll_jitter, s.ingest_poll_jitter))

    def first_delay(self) -> float:
        """New sources start within a jittered minute (or interval) so a
        monitor with hundreds of sources does not start them all at once."""
        s = self.settings
        return self._rng.uniform(0, min(60.0, s.ingest_poll_interval_s) * s.ingest_poll_jitter)

    def run(self) -> None:
        """Poll until :meth:`stop`; a stop lets the polls in hand finish the
        document they are on."""
        due: dict[str, float] = {}
        running: dict[str, Future[PollResult | None]] = {}
        with ThreadPoolExecutor(self.settings.ingest_workers, thread_name_prefix="ogi-poll") as pool:
            while not self.stop_event.is_set():
                self.reload_registry()
                now = time.monotonic()
                for source in self.sources:
                    due.setdefault(source.id, now + self.first_delay())
                    if source.id not in running and now >= due[source.id]:
                        running[source.id] = pool.submit(self.poll_and_record, source)
                for source_id, future in list(running.items()):
                    if future.done():
                        del running[source_id]
                        due[source_id] = time.monotonic() + self.next_delay()
                self.stop_event.wait(0.25)
            log.info("monitor stopping", polls_in_hand=len(running))
            with in_hand(f"polls of {sorted(running)} (what they did not publish, the next poll finds again)"):
                pool.shutdown(wait=True)

    def stop(self) -> None:
        self.stop_event.set()

    def close(self) -> None:
        self.fetcher.close()
        self.seen.close()
        self.status.close()
        if self._own_producer:
            self.producer.flush()
            self.producer.close()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def run_monitor() -> None:
    """``ogi serve monitor``: poll the registry's sources until SIGTERM/SIGINT."""
    settings = get_settings()
    ensure_topics(settings, [RAW, DEADLETTER, INGEST_SEEN, INGEST_STATUS])
    monitor = Monitor(settings)
    stop_on_signals(monitor.stop)
    try:
        monitor.run()
    finally:
        monitor.close()
