"""Stopping a service: SIGTERM or SIGINT asks it to finish the record in
hand and return, instead of killing it between a write and its commit.

A stop must not wait on a server that does not answer. Every wait for
Kafka or Elasticsearch is a :func:`pause`, which a stop interrupts with
:class:`StopRequested`; and if the service has still not returned
``OGI_STOP_GRACE_S`` after the signal (a send, a commit or a close blocked
on an unreachable broker), the process logs what it abandons and exits with
:data:`EXIT_ABANDONED`. Nothing is lost either way: every service commits
an offset only after its work is durable, so what it abandons is replayed
by the next instance.

What a service is busy with is declared with :func:`in_hand`, so that the
last log line of a stopped service says what it left unfinished.
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import structlog

log = structlog.get_logger("ogi.signals")

#: exit status of a service that hit the stop deadline (EX_TEMPFAIL: the
#: abandoned work is retried by the next instance)
EXIT_ABANDONED = 75

_stop = threading.Event()
_lock = threading.Lock()
_callbacks: list[Callable[[], None]] = []
_in_hand: dict[int, str] = {}
_tokens = itertools.count()
_installed = False
_deadline: threading.Thread | None = None
_stopper: threading.Thread | None = None


class StopRequested(Exception):
    """A stop (SIGTERM/SIGINT) interrupted a wait; ``abandoned`` says what
    was left unfinished."""

    def __init__(self, abandoned: list[str]) -> None:
        super().__init__("stop requested; abandoned: " + ("; ".join(abandoned) or "nothing"))
        self.abandoned = abandoned


def stopping() -> bool:
    """Has a stop been requested?"""
    return _stop.is_set()


def in_hand_now() -> list[str]:
    with _lock:
        return list(_in_hand.values())


@contextmanager
def in_hand(what: str) -> Iterator[None]:
    """Declare the work in hand for as long as the block runs (what a stop
    now would abandon)."""
    with _lock:
        token = next(_tokens)
        _in_hand[token] = what
    try:
        yield
    finally:
        with _lock:
            _in_hand.pop(token, None)


def pause(seconds: float, waiting_for: str) -> None:
    """Sleep, unless a stop is (or gets) requested: then raise
    StopRequested naming the work in hand and ``waiting_for``."""
    if _stop.wait(seconds):
        raise StopRequested([*in_hand_now(), f"waiting for {waiting_for}"])


def request_stop(signame: str = "SIGTERM", *, shutdown: str | None = None) -> None:
    """Ask the service to stop: interrupt every pause at once, then (in a
    thread: a signal handler must not write to a stream the main thread may
    be writing to) log, run the registered callbacks and start the stop
    deadline. ``shutdown`` names work the shutdown itself still has to do
    (in hand until the process ends)."""
    global _stopper
    first = not _stop.is_set()
    _stop.set()
    if shutdown:
        with _lock:
            _in_hand[next(_tokens)] = shutdown
    thread = threading.Thread(target=_on_stop, args=(signame, first), name="ogi-stop", daemon=True)
    if first:
        _stopper = thread
    thread.start()


def _on_stop(signame: str, first: bool) -> None:
    if not first:
        log.warning("second stop signal; the stop deadline still applies", signal=signame)
        return
    _arm_deadline()
    log.info("stopping", signal=signame, in_hand=in_hand_now())
    with _lock:
        callbacks = list(_callbacks)
    for stop in callbacks:
        stop()


def _arm_deadline() -> None:
    global _deadline
    from ogi.settings import get_settings

    grace = get_settings().stop_grace_s

    def _expire() -> None:
        abandoned = in_hand_now() or ["the shutdown itself (a server that does not answer)"]
        log.error(
            "stop deadline passed, exiting without a clean shutdown",
            grace_s=grace,
            abandoned=abandoned,
            replay="work not committed is done again by the next instance",
        )
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(EXIT_ABANDONED)

    with _lock:
        if _deadline is not None:
            return
        _deadline = threading.Timer(grace, _expire)
        _deadline.daemon = True
        _deadline.name = "ogi-stop-deadline"
    _deadline.start()


def stop_on_signals(stop: Callable[[], None] | None = None) -> None:
    """Stop on SIGTERM or SIGINT: call ``stop`` (once the main loop sees it,
    the service returns) and start the stop deadline. The handlers are
    installed explicitly, so a SIGINT ignored by inheritance (a background
    job) still stops the service."""
    global _installed
    with _lock:
        if stop is not None:
            _callbacks.append(stop)
        if _installed:
            return
        _installed = True

    def _handler(signum: int, frame: object) -> None:
        request_stop(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)


def report_stopped(service: str, abandoned: list[str] | None = None) -> None:
    """The last line of a service that returned on a stop."""
    abandoned = abandoned or []
    if _stopper is not None:
        _stopper.join(timeout=1)  # its "stopping" line comes first
    (log.warning if abandoned else log.info)("stopped", service=service, abandoned=abandoned)
