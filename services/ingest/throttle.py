"""Politeness per host: at most ``concurrency`` requests in flight, at
least ``delay`` seconds between two request starts, and at least ``delay``
after a request ends before the next one starts, whichever source (and
thread) asks. Sources that share a host share its budget.

Why the second rule: a slot is taken before the request leaves (a new
connection, the first client's set-up, a slow DNS answer all happen inside
it), so spacing slot starts alone let a late-leaving request and the next
one reach the site a few milliseconds apart; the scale test saw exactly
that. Counting from the end keeps the site's view of the gap at least the delay."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class _Host:
    def __init__(self, concurrency: int) -> None:
        self.slots = threading.BoundedSemaphore(concurrency)
        self.lock = threading.Lock()
        self.next_start = 0.0


class HostThrottle:
    def __init__(
        self,
        concurrency: int,
        delay_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.concurrency = concurrency
        self.delay_s = delay_s
        self._clock = clock
        self._sleep = sleep
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()

    def _host(self, host: str) -> _Host:
        with self._lock:
            if host not in self._hosts:
                self._hosts[host] = _Host(self.concurrency)
            return self._hosts[host]

    @contextmanager
    def slot(self, host: str, delay_s: float | None = None) -> Iterator[float]:
        """Hold one of the host's slots, started no sooner than ``delay_s``
        after the previous start; yields how long it waited."""
        delay = self.delay_s if delay_s is None else delay_s
        state = self._host(host.lower())
        began = self._clock()
        with state.slots:
            with state.lock:
                wait = state.next_start - self._clock()
                if wait > 0:
                    self._sleep(wait)
                state.next_start = self._clock() + delay
            try:
                yield self._clock() - began
            finally:
                with state.lock:
                    state.next_start = max(state.next_start, self._clock() + delay)
