"""structlog set-up shared by every process: one event per line, JSON when
the output is not a terminal (so logs can be shipped), readable otherwise."""

from __future__ import annotations

import logging
import os
import sys

import structlog

from ogi.net.redact import strip_userinfo


def configure(level: str | None = None, *, json_output: bool | None = None) -> None:
    level_name = (level or os.environ.get("OGI_LOG_LEVEL", "INFO")).upper()
    if json_output is None:
        json_output = os.environ.get("OGI_LOG_JSON", "") == "1" or not sys.stderr.isatty()
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level_name)
    # Client libraries are chatty at INFO about every reconnect.
    for noisy in ("kafka", "aiokafka", "elastic_transport", "httpx", "faust", "mode"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level_name)))
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if json_output else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _strip_userinfo,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level_name)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def _strip_userinfo(_logger: structlog.typing.WrappedLogger, _method: str,
                    event: structlog.typing.EventDict) -> structlog.typing.EventDict:
    """Last line of defence: no ``user:password@`` of any URL in any string
    field of any event (call sites redact the URLs they know; this catches
    the ones quoted inside exception messages)."""
    for key, value in event.items():
        if isinstance(value, str) and "@" in value:
            event[key] = strip_userinfo(value)
    return event
