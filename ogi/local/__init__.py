"""Local Kafka and Elasticsearch servers: fetched from Maven Central, cached
under ``$OGI_HOME``, started on free loopback ports.

``up()`` is idempotent: servers that already answer are left alone. Where
they listen is written to one file (``$OGI_HOME/run/endpoints.json``) that
the settings, the services and the tests read.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import structlog

from ogi.local._process import LocalServerError, free_port, port_is_free
from ogi.local.elasticsearch import LocalElasticsearch
from ogi.local.kafka import LocalKafka
from ogi.settings import Settings, endpoints_file, read_endpoints

__all__ = ["Endpoints", "LocalServerError", "down", "status", "up"]

log = structlog.get_logger("ogi.local")


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap: str
    es_url: str


@contextmanager
def _lock(settings: Settings) -> Iterator[None]:
    """One ``up``/``down`` at a time per OGI_HOME (tests and `make up` may race)."""
    path = settings.home / "run" / ".lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _port(previous: Any) -> int:
    """Keep the port of the previous run when it is free, so clients that
    cached an address keep working across a restart."""
    if isinstance(previous, int) and port_is_free(previous):
        return previous
    return free_port()


def up(settings: Settings | None = None) -> Endpoints:
    """Start whatever is not running and wait until both servers are healthy."""
    settings = settings or Settings()
    with _lock(settings):
        prev = read_endpoints(settings.home)
        ports = dict(prev.get("ports", {}))
        kafka, es = LocalKafka(settings), LocalElasticsearch(settings)

        bootstrap = prev.get("kafka_bootstrap", "")
        if not (kafka.pid() and bootstrap and kafka.healthy(bootstrap)):
            kafka.stop()
            ports["kafka"], ports["kafka_controller"] = _port(ports.get("kafka")), _port(
                ports.get("kafka_controller")
            )
            bootstrap = f"127.0.0.1:{ports['kafka']}"
            log.info("starting", server="kafka", bootstrap=bootstrap)
            kafka.start(ports["kafka"], ports["kafka_controller"])
        es_url = prev.get("es_url", "")
        if not (es.pid() and es_url and es.healthy(es_url)):
            es.stop()
            ports["es_http"], ports["es_transport"] = _port(ports.get("es_http")), _port(
                ports.get("es_transport")
            )
            es_url = f"http://127.0.0.1:{ports['es_http']}"
            log.info("starting", server="elasticsearch", url=es_url)
            es.start(ports["es_http"], ports["es_transport"])
        path = endpoints_file(settings.home)
        path.write_text(
            json.dumps(
                {
                    "kafka_bootstrap": bootstrap,
                    "es_url": es_url,
                    "ports": ports,
                    "kafka_version": settings.kafka_version,
                    "es_version": settings.es_version,
                },
                indent=2,
            )
        )
        return Endpoints(bootstrap, es_url)


def down(settings: Settings | None = None) -> list[str]:
    """Stop both servers; returns the names of those that were running.
    Data stays, so the next ``up`` finds the topics and indices again."""
    settings = settings or Settings()
    with _lock(settings):
        stopped = [s.name for s in (LocalKafka(settings), LocalElasticsearch(settings)) if s.stop()]
        return stopped


def status(settings: Settings | None = None) -> dict[str, dict[str, Any]]:
    settings = settings or Settings()
    prev = read_endpoints(settings.home)
    kafka, es = LocalKafka(settings), LocalElasticsearch(settings)
    bootstrap, es_url = prev.get("kafka_bootstrap", ""), prev.get("es_url", "")
    return {
        "kafka": {
            "pid": kafka.pid(),
            "address": bootstrap or None,
            "healthy": bool(kafka.pid() and bootstrap and kafka.healthy(bootstrap)),
        },
        "elasticsearch": {
            "pid": es.pid(),
            "address": es_url or None,
            "healthy": bool(es.pid() and es_url and es.healthy(es_url)),
        },
    }
