"""The schedule part of the monitor: when each source is polled, and what
its status says afterwards.

Each source is polled every ``ingest_poll_interval_s`` +- jitter, new
sources first within a jittered minute, so a monitor with thousands of
sources spreads them out; ``ingest_workers`` sources are crawled at once
(the per-host throttle in the fetcher keeps each site's politeness
whatever the number of workers). A poll never raises into the loop.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import structlog

from ogi.settings import Settings
from ogi.signals import in_hand
from schemas.events import SourceStatus, utcnow
from services.ingest.publish import PollResult
from services.ingest.registry import Source
from services.ingest.state import StatusTable

log = structlog.get_logger("ogi.ingest")


class Scheduler:
    """Runs ``poll`` for each source of ``sources()`` on its schedule and
    records each source's status. ``after_poll`` sees every finished poll
    (the monitor uses it to rediscover a column that went quiet)."""

    def __init__(
        self,
        settings: Settings,
        status: StatusTable,
        poll: Callable[..., PollResult],
        sources: Callable[[], list[Source]],
        stop_event: threading.Event,
        after_poll: Callable[[Source, PollResult], None] = lambda source, result: None,
    ) -> None:
        self.settings = settings
        self.status = status
        self._poll = poll
        self._sources = sources
        self.stop_event = stop_event
        self._after_poll = after_poll
        self._rng = random.Random()

    # -- status -----------------------------------------------------------

    def record_status(
        self, source: Source, result: PollResult | None, error: str | None = None
    ) -> SourceStatus:
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
        """Poll, then the source's status; never raises (the scheduler must
        outlive any one source)."""
        started = time.monotonic()
        try:
            result = self._poll(source, **kwargs)
            self._after_poll(source, result)
        except Exception as exc:
            log.exception("poll failed", source=source.id)
            try:
                self.record_status(source, None, f"{type(exc).__name__}: {exc}")
            except Exception:
                log.exception("status not recorded", source=source.id)
            return None
        self.record_status(source, result)
        log.info(
            "poll done",
            source=source.id,
            pages=result.pages,
            found=result.found,
            published=len(result.published),
            refused=len(result.refused),
            errors=len(result.errors),
            requests=result.requests,
            skipped_old=result.skipped_old,
            stopped=result.stopped,
            elapsed_s=round(time.monotonic() - started, 2),
        )
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
        """Poll until the stop event; a stop lets the polls in hand finish
        the document they are on."""
        due: dict[str, float] = {}
        running: dict[str, Future[PollResult | None]] = {}
        with ThreadPoolExecutor(self.settings.ingest_workers, thread_name_prefix="ogi-poll") as pool:
            while not self.stop_event.is_set():
                now = time.monotonic()
                for source in self._sources():
                    due.setdefault(source.id, now + self.first_delay())
                    if source.id not in running and now >= due[source.id]:
                        running[source.id] = pool.submit(self.poll_and_record, source)
                for source_id, future in list(running.items()):
                    if future.done():
                        del running[source_id]
                        due[source_id] = time.monotonic() + self.next_delay()
                self.stop_event.wait(0.25)
            log.info("monitor stopping", polls_in_hand=len(running))
            with in_hand(
                f"polls of {sorted(running)} (what they did not publish, the next poll finds again)"
            ):
                pool.shutdown(wait=True)
