"""The crawl part of the monitor: one poll of one source.

::

    list page(s) ──read_list_page──> report links ──┬─ attachment ──> document
       (pagination, items loaded by                  └─ article page ─┬─ its attachments ──> documents
        a second request, up to max_pages;                            └─ none: the page is the document
        backfill: back to a year)

List and article pages are cached with their validators in process memory,
known documents in the ``ingest.seen`` state, so re-reads are conditional
requests (ETag / Last-Modified). What a poll re-checks (a poll costs what is
new): every link on a list page that changed, and on an unchanged list page
(a 304) only the recent links (published within
``ingest_recheck_recent_days``) plus old links not checked for
``ingest_recheck_old_s``. A corrected re-upload of an old report changes
its list page (a new date or link), so it is still found on the next poll.

What is new is handed to :class:`services.ingest.publish.Publisher`.
Refused fetches (robots, private address, size, not a document) are logged
with their reason and counted; a refused URL is asked for again only after
``ingest_refused_retry_s``. A column page that cannot be read makes the
poll fail (``errors``).
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import structlog

from ogi import telemetry
from ogi.net import redact_url
from ogi.settings import Settings
from schemas.events import SeenDocument, utcnow
from services.ingest.discovery import Link, ListPage, is_attachment_url, page_fingerprint, parse_article
from services.ingest.errors import FetchError, InvalidURL, NotADocument, Refused, RobotsDisallowed
from services.ingest.feeds import read_list_page
from services.ingest.fetch import Fetched, Fetcher
from services.ingest.publish import PollResult, Publisher
from services.ingest.registry import Source
from services.ingest.sniff import DOCUMENT_TYPES, HTML, decode_text
from services.ingest.state import SeenState

log = structlog.get_logger("ogi.ingest")

_INDEX_PAGE = re.compile(r"/(?:index|default)\.s?html?$", re.IGNORECASE)
BACKFILL_MAX_PAGES = 1000


@dataclass
class Progress:
    """Callbacks for a progress display (``ogi ingest backfill``)."""

    on_page: Callable[[str, int], None] = lambda url, links: None
    on_link: Callable[[Link], None] = lambda link: None


def _page_key(url: str) -> str:
    return _INDEX_PAGE.sub("/", url)


def link_date(link: Link) -> date | None:
    """When a report link was published: its date, or the end of the year
    after its reporting year (reports come out early in the next year)."""
    if link.published_at is not None:
        return link.published_at
    return date(link.year + 1, 12, 31) if link.year is not None else None


class Crawler:
    """Reads sources' columns and follows report links; ``columns`` gives a
    source's list pages (its ``urls``, or the column discovered from its home page)."""

    def __init__(
        self,
        settings: Settings,
        fetcher: Fetcher,
        publisher: Publisher,
        seen: SeenState,
        stop_event: threading.Event,
        columns: Callable[[Source], list[str]] | None = None,
    ) -> None:
        self.settings = settings
        self.fetcher = fetcher
        self.publisher = publisher
        self.seen = seen
        self.stop_event = stop_event
        self.columns = columns or (lambda source: list(source.urls))
        # list and article pages by URL: validators and the parse, for
        # conditional re-reads (process memory: a restart reads them afresh)
        self._pages: dict[str, tuple[tuple[str | None, str | None], Any]] = {}
        # report link -> when this process last checked it (a restart re-checks everything once)
        self._checked: dict[str, float] = {}
        # list page -> sha256 of its last body: "unchanged" for sites that send no validators
        self._list_bodies: dict[str, str] = {}

    # -- one source -------------------------------------------------------

    def poll(
        self,
        source: Source,
        *,
        max_pages: int | None = None,
        since_year: int | None = None,
        progress: Progress | None = None,
    ) -> PollResult:
        """Read the source's list pages and follow the report links on them
        that may have changed; publish what is new. A backfill
        (``since_year``) reads every page back to that year and every link."""
        progress = progress or Progress()
        result = PollResult(source.id)
        self.seen.catch_up()
        backfill = since_year is not None
        limit = max_pages or (
            BACKFILL_MAX_PAGES if backfill else source.hints.max_pages or self.settings.ingest_max_pages
        )
        queue = deque(self.columns(source))
        if not queue:
            result.errors.append(
                "no column: the source has no list page URL and none was found from its home page"
            )
            return result
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
                listing, final_url, unchanged = self._list_page(source, page_url, result)
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
            if (
                backfill
                and since_year is not None
                and listing.reports
                and all(link.year is not None and link.year < since_year for link in listing.reports)
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
                if not backfill and unchanged and self._rests(link):
                    result.skipped_old += 1
                    continue
                self._checked[link.url] = time.monotonic()
                self.follow_safely(source, link, final_url, result)
                progress.on_link(link)
        return result

    def _rests(self, link: Link) -> bool:
        """On an unchanged list page: is this an old link checked recently
        enough to leave alone this poll?"""
        checked = self._checked.get(link.url)
        if checked is None:
            return False
        published = link_date(link)
        if published is None or published >= date.today() - timedelta(
            days=self.settings.ingest_recheck_recent_days
        ):
            return False  # recent (or undated): re-checked every poll
        return time.monotonic() - checked < self.settings.ingest_recheck_old_s

    def ingest_url(self, source: Source, url: str) -> PollResult:
        """One URL given by hand: a document, or an article whose
        attachments (or the page itself) are the documents."""
        result = PollResult(source.id)
        self.seen.catch_up()
        link = Link(url=url, title="", is_attachment=is_attachment_url(url, tuple(source.hints.attachments)))
        self.follow_safely(source, link, None, result)
        return result

    # -- pages ------------------------------------------------------------

    def _cached_fetch(self, source: Source, url: str, kind: str, result: PollResult) -> tuple[Fetched, Any]:
        """Fetch a list or article page conditionally against this process's
        page cache; returns the response and the cached parse on a 304."""
        cached = self._pages.get(url)
        got = self._fetch(source, url, kind=kind, validators=cached[0] if cached else None, result=result)
        return got, (cached[1] if got.not_modified and cached else None)

    def _list_page(self, source: Source, url: str, result: PollResult) -> tuple[ListPage, str, bool]:
        """The page's parse, its final URL, and whether it is unchanged since the last read."""
        got, cached = self._cached_fetch(source, url, "list", result)
        if cached is not None:
            listing, final_url = cached
            return listing, final_url, True
        unchanged = self._list_bodies.get(url) == got.sha256
        self._list_bodies[url] = got.sha256
        text, _ = decode_text(got.content, got.charset, source.hints.encoding)
        listing = read_list_page(
            text,
            got.final_url,
            link_pattern=source.hints.link_pattern,
            exclude_pattern=source.hints.exclude_pattern,
            list_selector=source.hints.list_selector,
            extra_attachments=tuple(source.hints.attachments),
        )
        self._remember(url, got, (listing, got.final_url))
        return listing, got.final_url, unchanged

    def _remember(self, url: str, got: Fetched, parsed: Any) -> None:
        if got.etag or got.last_modified:
            self._pages[url] = ((got.etag, got.last_modified), parsed)

    def _fetch(
        self,
        source: Source,
        url: str,
        *,
        kind: str,
        result: PollResult,
        validators: tuple[str | None, str | None] | None = None,
    ) -> Fetched:
        etag, modified = validators or (None, None)
        result.requests += 1
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

    # -- documents --------------------------------------------------------

    def _note_invalid(self, source: Source, page_url: str, invalid: list[str], result: PollResult) -> None:
        """Broken hrefs on a page: refused one by one, logged with the reason; the page's other links go on."""
        for problem in invalid:
            result.refused.append(f"invalid link on {page_url}: {problem}")
            log.warning(
                "link refused",
                source=source.id,
                page=redact_url(page_url),
                reason=problem,
                error_class="InvalidLink",
            )

    def follow_safely(self, source: Source, link: Link, page_url: str | None, result: PollResult) -> None:
        try:
            self._follow(source, link, page_url, result)
        except Refused as exc:
            result.refused.append(f"{redact_url(exc.url or link.url)}: {exc}")
            if not isinstance(exc, (RobotsDisallowed, InvalidURL)):
                self.publisher.remember_refusal(source, link.url, str(exc))
        except FetchError as exc:
            result.errors.append(f"{redact_url(exc.url or link.url)}: {exc}")
        except Exception as exc:
            log.exception(
                "link failed", source=source.id, url=redact_url(link.url), error_class=type(exc).__name__
            )
            result.errors.append(f"{redact_url(link.url)}: {type(exc).__name__}: {exc}")

    def _follow(self, source: Source, link: Link, page_url: str | None, result: PollResult) -> None:
        seen = self.seen.get(link.url)
        if seen is not None and seen.refused and not self._retry_refused(seen):
            log.debug("skip refused", source=source.id, url=link.url, reason=seen.refused)
            return
        extra = tuple(source.hints.attachments)
        # a URL published before and not in this process's page cache (a
        # restart): ask with its stored validators; HTML still goes the article way
        if link.is_attachment or (seen is not None and link.url not in self._pages):
            got = self._fetch(
                source,
                link.url,
                kind="document",
                result=result,
                validators=(seen.etag, seen.last_modified) if seen else None,
            )
            cached = None
        else:
            got, cached = self._cached_fetch(source, link.url, "article", result)
        if got.not_modified and cached is None:
            result.unchanged.append(link.url)  # a document that did not change
            return
        encoding = None
        if cached is not None:
            article, fingerprint = cached
        elif got.content_type == HTML and not link.is_attachment:
            text, encoding = decode_text(got.content, got.charset, source.hints.encoding)
            article, fingerprint = (
                parse_article(text, got.final_url, extra_attachments=extra),
                page_fingerprint(text),
            )
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
                    self.publisher.touch(seen, got)
                    result.unchanged.append(link.url)
                else:
                    self.publisher.publish(
                        source,
                        got,
                        link.url,
                        seen,
                        fingerprint,
                        result,
                        encoding=encoding,
                        page_url=page_url,
                        title=title,
                        year=year,
                        published_at=published_at,
                    )
                self._remember(link.url, got, (article, fingerprint))
            return
        if cached is None:
            self._remember(link.url, got, (article, fingerprint))
        for attachment in article.attachments:
            if self.stop_event.is_set():
                break
            doc = Link(
                url=attachment.url,
                title=attachment.title,
                year=attachment.year or year,
                published_at=published_at,
                is_attachment=True,
            )
            self.follow_safely(source, doc, got.final_url, result)

    def _retry_refused(self, seen: SeenDocument) -> bool:
        return (utcnow() - seen.seen_at).total_seconds() > self.settings.ingest_refused_retry_s

    def _document(
        self,
        source: Source,
        link: Link,
        got: Fetched,
        seen: SeenDocument | None,
        page_url: str | None,
        result: PollResult,
    ) -> None:
        ctype = got.content_type
        if ctype not in DOCUMENT_TYPES or (ctype == HTML and link.is_attachment):
            raise NotADocument(f"content is {ctype}, not a report document", url=got.final_url)
        if seen is not None and seen.fingerprint == got.sha256:
            self.publisher.touch(seen, got)
            result.unchanged.append(link.url)
            return
        self.publisher.publish(
            source,
            got,
            link.url,
            seen,
            got.sha256,
            result,
            page_url=page_url,
            title=link.title or None,
            year=link.year,
            published_at=link.published_at,
        )
