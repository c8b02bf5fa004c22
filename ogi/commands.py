"""Platform commands: ``ogi servers up|down|status``, ``ogi setup``,
``ogi serve SERVICE`` and ``ogi run`` (the whole pipeline)."""

from __future__ import annotations

import argparse
import importlib
import json

from pydantic import SecretStr

from ogi.settings import get_settings

#: ``ogi serve NAME`` -> the function that runs that service in this process
SERVICES: dict[str, str] = {
    "extract": "services.extract.app:run_worker",
    "index": "services.index.indexer:run_indexer",
    "detect": "services.alerts.app:run_detector",
    "deliver": "services.alerts.delivery.service:run_deliverer",
    "monitor": "services.ingest.monitor:run_monitor",
}
#: the services that talk to Elasticsearch (checked at start like Kafka)
USES_STORE = frozenset({"index"})


def _servers(args: argparse.Namespace) -> int:
    from ogi import local

    if args.action == "up":
        endpoints = local.up(kafka_brokers=args.kafka_brokers)
        print(f"kafka          {endpoints.kafka_bootstrap}")
        print(f"elasticsearch  {endpoints.es_url}")
        return 0
    if args.action == "down":
        stopped = local.down()
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        return 0
    report = local.status()
    for name, info in report.items():
        state = "healthy" if info["healthy"] else ("running, not answering" if info["pid"] else "stopped")
        print(f"{name:14} {state:24} pid={info['pid'] or '-'} {info['address'] or ''}")
    return 0 if all(i["healthy"] for i in report.values()) else 3


def setup() -> dict[str, list[str]]:
    """Create the topics and install the index templates (idempotent)."""
    from ogi.broker import check_kafka, ensure_topics
    from ogi.elastic import check_store, install_templates

    settings = get_settings()
    check_kafka(settings)
    es = check_store(settings)
    created = ensure_topics(settings)
    indices = install_templates(es, settings)
    return {"topics_created": created, "indices": indices}


def _setup(args: argparse.Namespace) -> int:
    print(json.dumps(setup(), indent=2))
    return 0


def _config(args: argparse.Namespace) -> int:
    settings = get_settings()
    for name, field in type(settings).model_fields.items():
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = "***" if value.get_secret_value() else ""
        elif value and any(secret in name for secret in ("password", "secret", "token")):
            value = "***"
        if value is None:
            value = ""
        print(f"OGI_{name.upper():32} {str(value)!s:40} {field.description or ''}".rstrip())
    return 0


def _serve(args: argparse.Namespace) -> int:
    from ogi.log import configure
    from ogi.signals import StopRequested, report_stopped, stop_on_signals, stopping

    configure()
    stop_on_signals()  # from the start: a stop while waiting for a server is a stop too
    from ogi.telemetry import Telemetry

    Telemetry(args.service, get_settings()).start()  # daemon threads: they end with the service
    module, _, func = SERVICES[args.service].partition(":")
    abandoned: list[str] = []
    try:
        _check_servers(args.service)
        getattr(importlib.import_module(module), func)()
    except StopRequested as exc:
        abandoned = exc.abandoned
    finally:
        if stopping():
            report_stopped(args.service, abandoned)
    return 0


def _check_servers(service: str) -> None:
    """Fail at start, naming the cause, rather than retry a refused password
    or certificate for minutes (ogi.broker.check_kafka, ogi.elastic.check_store).
    A server that does not answer yet is only logged: a service waits for a
    (re)starting Kafka or Elasticsearch, and a stop meanwhile is clean."""
    import structlog

    from ogi.broker import check_kafka
    from ogi.elastic import check_store
    from ogi.errors import BrokerConfigError, BrokerError, StoreConfigError, StoreUnavailable

    log = structlog.get_logger("ogi.serve")
    try:
        check_kafka(timeout_s=0)
    except BrokerConfigError:
        raise
    except BrokerError as exc:
        log.warning("kafka not reachable at start; waiting for it", error=str(exc))
    if service in USES_STORE:
        try:
            check_store(timeout_s=0)
        except StoreConfigError:
            raise
        except StoreUnavailable as exc:
            log.warning("elasticsearch not reachable at start; waiting for it", error=str(exc))


def _run(args: argparse.Namespace) -> int:
    from ogi.pipeline import run_pipeline

    return run_pipeline(keep_running=not args.once)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("servers", help="the local Kafka and Elasticsearch (fetched and cached on first use)")
    p.add_argument("action", choices=["up", "down", "status"])
    p.add_argument(
        "--kafka-brokers",
        type=int,
        default=None,
        metavar="N",
        help="up: a Kafka cluster of N brokers on loopback (topics replicated 3 times when N >= 3); "
        "default: as many as the last up, else 1",
    )
    p.set_defaults(handler=_servers)

    p = sub.add_parser("setup", help="create topics and index templates (idempotent)")
    p.set_defaults(handler=_setup)

    p = sub.add_parser("config", help="every setting: environment variable, current value, meaning")
    p.set_defaults(handler=_config)

    p = sub.add_parser("serve", help="run one service in the foreground")
    p.add_argument("service", choices=sorted(SERVICES))
    p.set_defaults(handler=_serve)

    p = sub.add_parser("run", help="the whole pipeline on local servers, fed with the sample reports")
    p.add_argument("--once", action="store_true", help="stop once the samples are indexed (no Ctrl-C needed)")
    p.set_defaults(handler=_run)
