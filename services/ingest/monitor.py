"""The site monitor: polls every source (the registry YAML's and the
imported ones) on a jittered schedule and publishes each new document (or
new version of one) to the raw topic, once.

:class:`Monitor` wires three parts together and is what ``ogi serve
monitor`` and ``ogi ingest`` run:

- crawl (:mod:`services.ingest.crawl`): one poll of one source — list
  pages, second requests, articles, documents; the page cache and what a
  poll re-checks;
- publish (:mod:`services.ingest.publish`): raw records and seen-state;
- schedule (:mod:`services.ingest.schedule`): when each source is polled,
  and its status afterwards;

with the sources and their columns from :mod:`services.ingest.sources`
(a source with only a home page has its column found, remembered, and
found again when it stops yielding reports).
"""

from __future__ import annotations

import threading
from typing import Any

import structlog
from kafka import KafkaProducer

from ogi.broker import ensure_topics, make_producer
from ogi.settings import Settings, get_settings
from ogi.signals import stop_on_signals
from ogi.topics import DEADLETTER, INGEST_SEEN, INGEST_SOURCES, INGEST_STATUS, RAW
from schemas.events import SourceStatus
from services.ingest.crawl import Crawler, Progress
from services.ingest.fetch import Fetcher
from services.ingest.publish import PollResult, Publisher
from services.ingest.registry import Source, my_sources
from services.ingest.schedule import Scheduler
from services.ingest.sources import SourceBook, SourceTable
from services.ingest.state import SeenState, StatusTable

__all__ = ["Monitor", "PollResult", "Progress", "run_monitor"]

log = structlog.get_logger("ogi.ingest")


class Monitor:
    """Polls sources and publishes what is new. ``sources`` fixes the source
    list (otherwise the registry and the imported sources are read, and
    re-read when they change)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        sources: list[Source] | None = None,
        fetcher: Fetcher | None = None,
        producer: KafkaProducer | None = None,
        seen: SeenState | None = None,
        status: StatusTable | None = None,
        source_table: SourceTable | None = None,
    ) -> None:
        self.settings = settings = settings or get_settings()
        self.fetcher = fetcher or Fetcher(settings)
        self._own_producer = producer is None
        self.producer = producer or make_producer(settings)
        self.seen = seen or SeenState(settings, self.producer)
        self.status = status or StatusTable(settings, self.producer)
        # a fixed source list (ad-hoc commands, tests) keeps discovered columns in memory only
        self.source_table = source_table or SourceTable(settings, self.producer, memory=sources is not None)
        loaded = self.seen.catch_up()
        self.status.catch_up()
        self.source_table.catch_up()
        log.info("state loaded", urls=loaded)
        self.stop_event = threading.Event()
        self._fixed_sources = sources
        self.book = SourceBook(settings, self.source_table, self.fetcher)
        self.publisher = Publisher(settings, self.producer, self.seen)
        self.crawler = Crawler(
            settings, self.fetcher, self.publisher, self.seen, self.stop_event, columns=self.book.columns
        )
        self.scheduler = Scheduler(
            settings,
            self.status,
            self.crawler.poll,
            self.active_sources,
            self.stop_event,
            after_poll=self._after_poll,
        )
        self.sources: list[Source] = self.active_sources()

    def active_sources(self) -> list[Source]:
        """This monitor's sources: the fixed list, or its shard of the book."""
        if self._fixed_sources is not None:
            return self._fixed_sources
        self.sources = my_sources(self.book.sources(), self.settings.ingest_shard, self.settings.ingest_only)
        return self.sources

    def _after_poll(self, source: Source, result: PollResult) -> None:
        if not result.stopped and result.found == 0:
            self.book.forget_column(source)

    # -- the parts' entry points, as the commands and tests use them -------

    def poll(self, source: Source, **kwargs: Any) -> PollResult:
        return self.crawler.poll(source, **kwargs)

    def ingest_url(self, source: Source, url: str) -> PollResult:
        return self.crawler.ingest_url(source, url)

    def record_status(
        self, source: Source, result: PollResult | None, error: str | None = None
    ) -> SourceStatus:
        return self.scheduler.record_status(source, result, error)

    def poll_and_record(self, source: Source, **kwargs: Any) -> PollResult | None:
        return self.scheduler.poll_and_record(source, **kwargs)

    def run(self) -> None:
        self.scheduler.run()

    def stop(self) -> None:
        self.stop_event.set()

    def close(self) -> None:
        self.fetcher.close()
        self.seen.close()
        self.status.close()
        self.source_table.close()
        if self._own_producer:
            self.producer.flush()
            self.producer.close()


def run_monitor() -> None:
    """``ogi serve monitor``: poll the registry's sources until SIGTERM/SIGINT."""
    settings = get_settings()
    ensure_topics(settings, [RAW, DEADLETTER, INGEST_SEEN, INGEST_STATUS, INGEST_SOURCES])
    monitor = Monitor(settings)
    stop_on_signals(monitor.stop)
    try:
        monitor.run()
    finally:
        monitor.close()
