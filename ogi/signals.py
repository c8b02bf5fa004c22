"""Graceful stop for the plain (non-Faust) services: SIGTERM and SIGINT ask
the service to finish the record in hand and return, instead of killing it
between a write and its commit."""

from __future__ import annotations

import signal
from collections.abc import Callable

import structlog

log = structlog.get_logger("ogi.signals")


def stop_on_signals(stop: Callable[[], None]) -> None:
    """Call ``stop`` on SIGTERM or SIGINT (once the main loop sees it, the
    service returns)."""

    def _handler(signum: int, frame: object) -> None:
        log.info("signal", signal=signal.Signals(signum).name)
        stop()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)
