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
from ogi.local.kafka import LocalKafka, LocalKafkaCluster
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


def _kafka(settings: Settings, brokers: int) -> LocalKafka | LocalKafkaCluster:
    return LocalKafkaCluster(settings, brokers) if brokers > 1 else LocalKafka(settings)


def _servers(settings: Settings, kafka_brokers: int | None = None) -> tuple[Any, LocalElasticsearch]:
    """The local servers; Kafka as ``kafka_brokers`` nodes (default: as many
    as the last ``up`` started)."""
    brokers = kafka_brokers or int(read_endpoints(settings.home).get("kafka_brokers", 1))
    return _kafka(settings, brokers), LocalElasticsearch(settings)


def up(settings: Settings | None = None, kafka_brokers: int | None = None) -> Endpoints:
    """Start whatever is not running and wait until both servers are healthy.
    ``kafka_brokers`` > 1 starts a replicated Kafka cluster on loopback
    (default: as many brokers as the last ``up`` started, else one)."""
    settings = settings or Settings()
    with _lock(settings):
        prev = read_endpoints(settings.home)
        ports = dict(prev.get("ports", {}))
        addresses: dict[str, str] = {}
        brokers = kafka_brokers or int(prev.get("kafka_brokers", 1))
        if brokers != int(prev.get("kafka_brokers", 1)):
            _kafka(settings, int(prev.get("kafka_brokers", 1))).stop()  # one Kafka layout at a time
        for server in _servers(settings, brokers):
            address = prev.get(server.endpoint_key, "")
            if not (server.pid() and address and server.healthy(address)):
                server.stop()
                for name in server.port_names:
                    ports[name] = _port(ports.get(name))
                address = server.address(ports)
                log.info("starting", server=server.name, address=address)
                server.start(*(ports[name] for name in server.port_names))
            addresses[server.endpoint_key] = address
        endpoints = Endpoints(**addresses)
        endpoints_file(settings.home).write_text(
            json.dumps(
                {
                    **addresses,
                    "ports": ports,
                    "kafka_brokers": brokers,
                    "kafka_version": settings.kafka_version,
                    "es_version": settings.es_version,
                },
                indent=2,
            )
        )
        return endpoints


def down(settings: Settings | None = None) -> list[str]:
    """Stop both servers; returns the names of those that were running.
    Data stays, so the next ``up`` finds the topics and indices again."""
    settings = settings or Settings()
    with _lock(settings):
        return [server.name for server in _servers(settings) if server.stop()]


def status(settings: Settings | None = None) -> dict[str, dict[str, Any]]:
    settings = settings or Settings()
    prev = read_endpoints(settings.home)
    report = {}
    for server in _servers(settings):
        pid, address = server.pid(), prev.get(server.endpoint_key) or None
        report[server.name] = {
            "pid": pid,
            "address": address,
            "healthy": bool(pid and address and server.healthy(address)),
        }
    return report
