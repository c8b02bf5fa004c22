"""robots.txt rules and their caching."""

from __future__ import annotations

from services.ingest.robots import RobotsCache, robots_url, rules_from_response

ROBOTS = b"User-agent: *\nDisallow: /private/\nCrawl-delay: 5\n\nUser-agent: badbot\nDisallow: /\n"


def test_rules_by_status() -> None:
    ok = rules_from_response(200, ROBOTS, now=0, ttl_s=10, retry_s=1)
    assert ok.allowed("http://x/zwgk/a.htm", "ogi-monitor")
    assert not ok.allowed("http://x/private/a.pdf", "ogi-monitor")
    assert not ok.allowed("http://x/zwgk/a.htm", "badbot")
    assert ok.crawl_delay("ogi-monitor") == 5
    assert rules_from_response(404, b"", now=0, ttl_s=10, retry_s=1).allowed("http://x/a", "ogi-monitor")
    down = rules_from_response(503, b"", now=0, ttl_s=10, retry_s=1)
    assert not down.allowed("http://x/a", "ogi-monitor") and down.expires == 1
    assert down.problem == "robots.txt answered HTTP 503"
    assert not rules_from_response(None, b"", now=0, ttl_s=10, retry_s=1).allowed("http://x/a", "ogi-monitor")


def test_cache_per_origin_and_expiry() -> None:
    now = [0.0]
    fetched: list[str] = []

    def fetch(url: str) -> tuple[int | None, bytes, str | None]:
        fetched.append(url)
        return 200, ROBOTS, None

    cache = RobotsCache("ogi-monitor", fetch, ttl_s=100, clock=lambda: now[0])
    assert cache.allowed("http://a.gov.cn/x") and not cache.allowed("http://a.gov.cn/private/y")
    assert cache.allowed("https://b.gov.cn:8443/x")
    assert fetched == ["http://a.gov.cn/robots.txt", "https://b.gov.cn:8443/robots.txt"]
    now[0] = 101
    cache.allowed("http://a.gov.cn/x")
    assert len(fetched) == 3


def test_robots_url() -> None:
    assert (
        robots_url("https://www.pingtan.gov.cn/zwgk/zfxxgk/index.htm?x=1#f")
        == "https://www.pingtan.gov.cn/robots.txt"
    )
