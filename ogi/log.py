"""structlog set-up shared by every process: one event per line, JSON when
the output is not a terminal (so logs can be shipped), readable otherwise.

The client libraries (kafka-python, aiokafka, Faust, mode, the
Elasticsearch transport, httpx) log through the standard library; their
records go through the same structlog processors, so a log file holds
only JSON lines and never a terminal control sequence."""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

import structlog

from ogi.net.redact import strip_userinfo

#: libraries that are chatty at INFO about every reconnect
NOISY = ("kafka", "aiokafka", "elastic_transport", "httpx", "faust", "mode")


def configure(level: str | None = None, *, json_output: bool | None = None) -> None:
    """Set up logging for this process: level and format from the arguments,
    else from the settings (``OGI_LOG_LEVEL``, ``OGI_LOG_JSON``)."""
    from ogi.settings import get_settings

    settings = get_settings()
    level_name = (level or settings.log_level).upper()
    level_no = logging.getLevelName(level_name)
    if json_output is None:
        json_output = settings.log_json if settings.log_json is not None else not sys.stderr.isatty()
    mask_secrets = _secret_masker(settings.secrets())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json_output
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    stamp = structlog.processors.TimeStamper(fmt="iso", utc=True)

    # One handler renders everything: our events and the standard library's
    # records (the client libraries). One writer, one write per line: two
    # writers on one stream interleave their lines under load.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, structlog.stdlib.add_log_level, stamp],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                _strip_userinfo,  # after the traceback is text, so URLs quoted in it are covered too
                mask_secrets,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level_no)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, level_no))
    _route_uncaught_exceptions()

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            stamp,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level_no),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )


def _strip_userinfo(
    _logger: structlog.typing.WrappedLogger, _method: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """Last line of defence: no ``user:password@`` of any URL in any string
    field of any event (call sites redact the URLs they know; this catches
    the ones quoted inside exception messages, and the client libraries'
    records)."""
    for key, value in event.items():
        if isinstance(value, str) and "@" in value:
            event[key] = strip_userinfo(value)
    return event


def _secret_masker(secrets: list[str]) -> structlog.typing.Processor:
    """Last line of defence for the configured secrets (passwords, API
    keys): their values never reach a log line, whichever library quotes
    them (a client's repr, an exception carrying a request's headers)."""
    from ogi.net.redact import scrub

    def mask(
        _logger: structlog.typing.WrappedLogger, _method: str, event: structlog.typing.EventDict
    ) -> structlog.typing.EventDict:
        if secrets:
            for key, value in event.items():
                if isinstance(value, str):
                    event[key] = scrub(value, secrets=secrets)
        return event

    return mask


def _route_uncaught_exceptions() -> None:
    """What Python prints by itself (an uncaught exception, in the main
    thread or another; an exception ignored in a finalizer; a warning) goes
    through logging too, so it is a JSON line like the rest."""
    logging.captureWarnings(True)
    crash = logging.getLogger("ogi.uncaught")

    def _main(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
        crash.critical("uncaught exception", exc_info=(exc_type, exc, tb))

    def _thread(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        crash.error(
            "uncaught exception in thread %s",
            getattr(args.thread, "name", "?"),
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )

    def _unraisable(args: Any) -> None:
        crash.warning(
            "exception ignored in %r: %s",
            args.object,
            args.err_msg or "",
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback) if args.exc_value else None,
        )

    sys.excepthook = _main
    threading.excepthook = _thread
    sys.unraisablehook = _unraisable
