"""robots.txt, read with protego and cached per origin.

As RFC 9309 says: a 4xx robots.txt means no restrictions; a 5xx or an
unreachable one means the whole site is off limits until it can be read
again (we try again after ``retry_s``). A ``Crawl-delay`` stretches the
per-host delay (up to ``MAX_CRAWL_DELAY_S``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from protego import Protego

MAX_ROBOTS_BYTES = 512 * 1024
MAX_CRAWL_DELAY_S = 60.0


@dataclass
class RobotsRules:
    parser: Protego | None
    """None with ``allow_all`` False means "site unreachable: disallow all"."""
    allow_all: bool
    expires: float
    problem: str | None = None
    """Why robots.txt could not be read (then nothing is allowed)."""

    def allowed(self, url: str, agent: str) -> bool:
        if self.parser is not None:
            return bool(self.parser.can_fetch(url, agent))
        return self.allow_all

    def crawl_delay(self, agent: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(agent)
        return min(float(delay), MAX_CRAWL_DELAY_S) if delay is not None else None


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))


def rules_from_response(
    status: int | None, body: bytes, *, now: float, ttl_s: float, retry_s: float, problem: str | None = None
) -> RobotsRules:
    """Rules for a robots.txt answer (``status`` None: could not be fetched,
    ``problem`` says why)."""
    if status is not None and 200 <= status < 300:
        text = body[:MAX_ROBOTS_BYTES].decode("utf-8", "replace")
        return RobotsRules(Protego.parse(text), True, now + ttl_s)
    if status is not None and 400 <= status < 500:
        return RobotsRules(None, True, now + ttl_s)
    return RobotsRules(
        None,
        False,
        now + retry_s,
        problem or (f"robots.txt answered HTTP {status}" if status else "robots.txt unreachable"),
    )


class RobotsCache:
    """robots.txt rules per origin; ``fetch(url) -> (status | None, body,
    problem)`` is how the fetcher reads them (through the same guard and
    throttle)."""

    def __init__(
        self,
        agent: str,
        fetch: Callable[[str], tuple[int | None, bytes, str | None]],
        *,
        ttl_s: float = 24 * 3600,
        retry_s: float = 600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.agent = agent
        self._fetch = fetch
        self.ttl_s = ttl_s
        self.retry_s = retry_s
        self._clock = clock
        self._rules: dict[str, RobotsRules] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def rules(self, url: str) -> RobotsRules:
        key = robots_url(url)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one fetch per origin even when several threads ask
            rules = self._rules.get(key)
            if rules is None or rules.expires <= self._clock():
                status, body, problem = self._fetch(key)
                rules = rules_from_response(
                    status, body, now=self._clock(), ttl_s=self.ttl_s, retry_s=self.retry_s, problem=problem
                )
                self._rules[key] = rules
            return rules

    def allowed(self, url: str) -> bool:
        return self.rules(url).allowed(url, self.agent)

    def cached(self, url: str) -> RobotsRules | None:
        """The rules already read for ``url``'s origin, without fetching."""
        return self._rules.get(robots_url(url))
