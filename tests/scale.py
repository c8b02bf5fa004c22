"""The ingest scale scenario, shared by the reduced scale test
(tests/integration/test_ingest_scale.py, 100 sites) and the benchmark
(benchmarks/bench_ingest_scale.py, 1,000 sites).

One local server (:class:`services.ingest.sample_site.ManySites`, in a
child process so its timestamps are not the test process's) answers as
``count`` sites on distinct loopback addresses 127.0.x.y, each with two list
pages and ten reports. A real monitor (real Kafka) polls them all; the
figures say whether every site was polled within one interval, how polite
the monitor was per host, what was published, and what a second poll of an
unchanged site costs with and without the re-check policy.
"""

from __future__ import annotations

import resource
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ogi.broker import ensure_topics
from ogi.settings import Settings
from ogi.topics import RAW
from schemas.events import RawReport
from services.ingest.monitor import Monitor
from services.ingest.registry import Source
from services.ingest.sample_site import ManySitesProcess
from tests.support import read_topic, wait_for

REPORTS = 10


@dataclass
class ScaleFigures:
    sites: int
    interval_s: float
    first_round_s: float = 0.0
    requests: int = 0
    published: int = 0
    distinct_published: int = 0
    min_gap_s: float = 0.0
    max_in_flight: int = 0
    requests_per_poll_before: float = 0.0
    requests_per_poll_after: float = 0.0
    max_rss_mb: float = 0.0
    problems: list[str] = field(default_factory=list)


def run_scale(
    settings: Settings,
    count: int,
    *,
    delay_s: float = 0.5,
    workers: int = 25,
    interval_s: float = 600.0,
    sample: int = 10,
) -> ScaleFigures:
    """Poll ``count`` local sites once with a real monitor; then re-poll
    ``sample`` of them with and without the re-check policy."""
    run = uuid.uuid4().hex[:6]
    settings = settings.model_copy(
        update={
            # topics of its own: the session's raw topic also holds other tests' (garbage) records
            "topic_prefix": f"{settings.topic_prefix}scale{run}.",
            "ingest_host_delay_s": delay_s,
            "ingest_host_concurrency": 1,
            "ingest_workers": workers,
            "ingest_poll_interval_s": interval_s,
            "ingest_poll_jitter": 0.01,  # first polls start within 0.6 s: the round's time is the crawl's
        }
    )
    figures = ScaleFigures(sites=count, interval_s=interval_s)
    sites = ManySitesProcess(count, reports=REPORTS).start()
    sources = [
        Source(id=f"scale-{run}-{n}", name=f"测试{n}局", urls=[sites.url(n)], allow_private=True)
        for n in range(count)
    ]
    ensure_topics(settings)
    monitor = Monitor(settings, sources=sources)
    runner = threading.Thread(target=monitor.run, name="scale-monitor", daemon=True)
    started = time.monotonic()
    try:
        runner.start()

        def polled() -> bool:
            return all(
                (status := monitor.status.get(s.id)) is not None and status.last_poll is not None
                for s in sources
            )

        wait_for(polled, interval_s, f"a first poll of all {count} sites")
        figures.first_round_s = round(time.monotonic() - started, 1)
        monitor.stop()
        runner.join(timeout=300)
        # the monitor's memory after a round of every site (before this
        # scenario reads the raw topic back to check it, which is not the monitor's)
        figures.max_rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        for source in sources:
            status = monitor.status.get(source.id)
            if status is None or status.last_error:
                figures.problems.append(f"{source.id}: {status.last_error if status else 'no status'}")
        sites.stats()
        figures.requests = sites.requests
        gaps = [
            b - a
            for arrivals in sites.arrivals.values()
            for a, b in zip(sorted(arrivals), sorted(arrivals)[1:], strict=False)
        ]
        figures.min_gap_s = round(min(gaps), 3) if gaps else 0.0
        figures.max_in_flight = max(sites.max_in_flight)

        # a second poll of unchanged sites: with the re-check policy, then as before it (every link re-checked)
        # (sites in parallel: each is its own host, so the per-host delay paces each one alone)
        monitor.stop_event.clear()
        with ThreadPoolExecutor(sample) as pool:
            after = [r.requests for r in pool.map(monitor.poll, sources[:sample])]
            monitor.crawler.settings = settings.model_copy(update={"ingest_recheck_recent_days": 10**5})
            before = [r.requests for r in pool.map(monitor.poll, sources[sample : 2 * sample])]
        figures.requests_per_poll_after = sum(after) / len(after)
        figures.requests_per_poll_before = sum(before) / len(before)

        ids = {s.id for s in sources}
        raws = [r for r in read_topic(RAW, settings, RawReport) if r.agency_id in ids]
        figures.published = len(raws)
        figures.distinct_published = len({(r.agency_id, r.source_url) for r in raws})
    finally:
        monitor.stop()
        runner.join(timeout=300)
        monitor.close()
        sites.stop()
    return figures
