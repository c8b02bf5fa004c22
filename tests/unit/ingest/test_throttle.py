"""Per-host delay and concurrency."""

from __future__ import annotations

import threading
import time

from services.ingest.throttle import HostThrottle


def test_delay_between_starts_on_one_host_only() -> None:
    clock = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        clock[0] += s

    throttle = HostThrottle(2, 2.0, clock=lambda: clock[0], sleep=sleep)
    with throttle.slot("a.gov.cn"):
        pass
    with throttle.slot("A.gov.cn"):  # same host, any case
        pass
    with throttle.slot("b.gov.cn"):  # another host: no wait
        pass
    with throttle.slot("a.gov.cn", delay_s=0.5):
        pass
    assert slept == [2.0, 2.0]


def test_concurrency_limit_per_host() -> None:
    throttle = HostThrottle(2, 0.0)
    active = 0
    peak = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal active, peak
        with throttle.slot("a.gov.cn"):
            with lock:
                active += 1
                peak = max(peak, active)
            time.sleep(0.05)
            with lock:
                active -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 2


def test_the_delay_also_counts_from_the_end_of_a_request() -> None:
    clock = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        clock[0] += s

    throttle = HostThrottle(1, 2.0, clock=lambda: clock[0], sleep=sleep)
    with throttle.slot("a.gov.cn"):
        clock[0] += 5.0  # a request that took 5 s to leave and answer
    with throttle.slot("a.gov.cn"):
        pass
    assert slept == [2.0]  # 2 s after it ended, not at once (its start was 5 s ago)
