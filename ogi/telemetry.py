"""The operator's view of a long-running service (``ogi serve NAME``):
Prometheus metrics, ``/healthz`` and ``/readyz`` on one HTTP port.

Ports: ``OGI_METRICS_PORT`` is a base; each service adds its offset from
``SERVICE_PORT_OFFSETS`` (extract +0, index +1, monitor +2, detect +3,
deliver +4), so the five services of one host (``make run``) never collide
and one setting configures them all; ``OGI_METRICS_PORT=0`` turns the
endpoint off. A port that is taken does not stop the service (the pipeline
matters more than its dashboard); it is logged as an error, and a probe of
``/readyz`` then fails, which is how an orchestrator notices.

- ``/healthz``: 200 while the process serves requests (liveness);
- ``/readyz``: 200 when the service reaches its Kafka (and Elasticsearch,
  for the indexer), else 503 with what is missing;
- ``/metrics``: the counters below, plus the client library's process_*
  metrics (CPU, memory, open files).

Consumer lag is measured from outside the consumer, as an operator's tool
would: the group's committed offsets against the partitions' end offsets,
every ``LAG_INTERVAL_S``. The same function prints the lag in ``ogi status``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from ogi.settings import Settings
from ogi.topics import ALERTS, DEADLETTER, EXTRACTED, METRICS, RAW, TopicSpec

log = structlog.get_logger("ogi.telemetry")

SERVICE_PORT_OFFSETS: dict[str, int] = {"extract": 0, "index": 1, "monitor": 2, "detect": 3, "deliver": 4}
#: seconds between two lag measurements (they also prove Kafka reachable)
LAG_INTERVAL_S = 10.0
RETRY_S = 2.0
#: Kafka counts as reachable while the last successful measurement is this recent
KAFKA_STALE_S = 3 * LAG_INTERVAL_S + 5

disable_created_metrics()  # type: ignore[no-untyped-call]  # the *_created series double the output and no alert uses them

RECORDS_CONSUMED = Counter("ogi_records_consumed", "records read from a topic", ["topic"])
RECORDS_PRODUCED = Counter("ogi_records_produced", "records sent to a topic", ["topic"])
ERRORS = Counter("ogi_errors", "errors met (retried or dead-lettered), by exception class", ["error_class"])
DEAD_LETTERS = Counter("ogi_dead_letters", "records given up on and sent to the dead-letter topic", ["stage"])
CONSUMER_LAG = Gauge(
    "ogi_consumer_lag",
    "records on a partition not yet committed by the group",
    ["group", "topic", "partition"],
)
BULK_SECONDS = Histogram(
    "ogi_bulk_duration_seconds",
    "time of one Elasticsearch bulk request",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
BULK_DOCUMENTS = Histogram(
    "ogi_bulk_documents",
    "documents in one Elasticsearch bulk request",
    buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 2500),
)
FETCHES = Counter("ogi_fetches", "HTTP fetches of the site monitor, by kind and outcome", ["kind", "outcome"])
DELIVERIES = Counter(
    "ogi_alert_deliveries", "alert delivery attempts, by sink and outcome", ["sink", "outcome"]
)
READY = Gauge("ogi_ready", "1 when the service reaches its Kafka (and Elasticsearch)")
SERVICE = Gauge("ogi_service_info", "the service this process runs", ["service"])


def error(exc: BaseException | str) -> None:
    """Count one error by its class (a string names a class that has no exception)."""
    ERRORS.labels(exc if isinstance(exc, str) else type(exc).__name__).inc()


def consumer_groups(settings: Settings) -> dict[str, tuple[str, list[TopicSpec]]]:
    """service -> (consumer group, topics it consumes); the monitor has none
    (it reads its state topic without a group)."""
    return {
        "extract": (settings.faust_app_id, [RAW]),
        "index": (settings.index_group, [EXTRACTED, METRICS, ALERTS, DEADLETTER]),
        "detect": (settings.detect_app_id, [EXTRACTED]),
        "deliver": (settings.deliver_group, [ALERTS]),
    }


class LagReader:
    """Committed offsets of a group against end offsets, with long-lived
    clients (rebuilt after a failure). A partition the group never committed
    counts from the partition's start (the services read from the earliest)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._admin: Any = None
        self._consumer: Any = None

    def _clients(self) -> tuple[Any, Any]:
        from kafka import KafkaAdminClient, KafkaConsumer

        from ogi.broker import kafka_client  # here: ogi.broker counts its errors in this module

        if self._admin is None:
            self._admin = kafka_client(
                KafkaAdminClient,
                self.settings,
                request_timeout_ms=10000,
                client_id="ogi-lag",
            )
        if self._consumer is None:
            self._consumer = kafka_client(
                KafkaConsumer,
                self.settings,
                enable_auto_commit=False,
                request_timeout_ms=15000,
                client_id="ogi-lag",
            )
        return self._admin, self._consumer

    def lag(self, group: str, topics: list[TopicSpec]) -> dict[tuple[str, int], int]:
        from kafka import TopicPartition

        admin, consumer = self._clients()
        try:
            committed = {tp: meta.offset for tp, meta in admin.list_consumer_group_offsets(group).items()}
            names = {t.name(self.settings) for t in topics}
            tps = [
                TopicPartition(name, p)
                for name in sorted(names)
                for p in sorted(consumer.partitions_for_topic(name) or ())
            ]
            ends = consumer.end_offsets(tps) if tps else {}
            starts = consumer.beginning_offsets(tps) if tps else {}
        except Exception:
            self.close()  # a broker change may leave a client stuck; the next call starts afresh
            raise
        result = {}
        for tp in tps:
            position = committed.get(tp, -1)
            if position is None or position < 0:
                position = starts[tp]
            result[(tp.topic, tp.partition)] = max(0, ends[tp] - position)
        return result

    def close(self) -> None:
        for client in (self._admin, self._consumer):
            if client is not None:
                try:
                    client.close()
                except Exception as exc:
                    log.debug("closing a Kafka client failed", error=str(exc))
        self._admin = self._consumer = None


def render_lag(settings: Settings) -> str:
    """``ogi status``: every service's consumer group with its lag per partition."""
    reader = LagReader(settings)
    lines = [f"{'consumer group':28} {'topic':32} {'partition':>9} {'lag':>8}"]
    lines.append("-" * len(lines[0]))
    try:
        for group, topics in consumer_groups(settings).values():
            try:
                lag = reader.lag(group, topics)
            except Exception as exc:
                lines.append(f"{group:28} (lag unavailable: {type(exc).__name__}: {exc})")
                continue
            for (topic, partition), value in sorted(lag.items()):
                lines.append(f"{group:28} {topic:32} {partition:>9} {value:>8}")
            lines.append(f"{group:28} {'total':32} {'':>9} {sum(lag.values()):>8}")
    finally:
        reader.close()
    return "\n".join(lines)


class Telemetry:
    """The endpoint and the lag poller of one service process."""

    def __init__(self, service: str, settings: Settings) -> None:
        self.service = service
        self.settings = settings
        self.group = consumer_groups(settings).get(service)
        self.needs_elasticsearch = service == "index"
        self.kafka_ok_at: float | None = None
        self._es_checked: tuple[float, bool] = (0.0, False)
        self._es: Any = None
        self._stop = threading.Event()
        self.server: ThreadingHTTPServer | None = None
        SERVICE.labels(service).set(1)

    @property
    def port(self) -> int:
        base = self.settings.metrics_port
        return base + SERVICE_PORT_OFFSETS.get(self.service, 0) if base else 0

    # -- readiness ----------------------------------------------------------

    def _kafka_ready(self) -> bool:
        return self.kafka_ok_at is not None and time.monotonic() - self.kafka_ok_at < KAFKA_STALE_S

    def _elasticsearch_ready(self) -> bool:
        checked_at, ok = self._es_checked
        if time.monotonic() - checked_at > 5:  # a probe every second must not mean a request every second
            try:
                if self._es is None:
                    from ogi.elastic import make_client

                    self._es = make_client(self.settings).options(request_timeout=5)
                # _cluster/health, not a ping: some distributions do not answer GET /
                ok = self._es.cluster.health(timeout="2s")["status"] in ("green", "yellow")
            except Exception:
                ok = False
            self._es_checked = (time.monotonic(), ok)
        return ok

    def readiness(self) -> dict[str, bool]:
        checks = {"kafka": self._kafka_ready()}
        if self.needs_elasticsearch:
            checks["elasticsearch"] = self._elasticsearch_ready()
        READY.set(1 if all(checks.values()) else 0)
        return checks

    # -- lag ----------------------------------------------------------------

    def _poll_lag(self) -> None:
        reader = LagReader(self.settings)
        try:
            while not self._stop.is_set():
                try:
                    if self.group is not None:
                        group, topics = self.group
                        for (topic, partition), value in reader.lag(group, topics).items():
                            CONSUMER_LAG.labels(group, topic, str(partition)).set(value)
                    else:
                        admin, _ = reader._clients()
                        if not admin.describe_cluster().get("brokers"):
                            raise ConnectionError("no brokers in the cluster metadata")
                    self.kafka_ok_at = time.monotonic()
                    wait = LAG_INTERVAL_S
                except Exception as exc:
                    log.warning(
                        "kafka unreachable for the lag measurement", error=f"{type(exc).__name__}: {exc}"
                    )
                    wait = RETRY_S  # a coordinator still loading answers a moment later
                self._stop.wait(wait)
        finally:
            reader.close()

    # -- HTTP ---------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        telemetry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the http.server name
                path = self.path.split("?", 1)[0]
                routes: dict[str, Callable[[], tuple[int, str, bytes]]] = {
                    "/metrics": lambda: (200, CONTENT_TYPE_LATEST, generate_latest(REGISTRY)),
                    "/healthz": lambda: (200, "application/json", b'{"status": "ok"}'),
                    "/readyz": telemetry._readyz,
                }
                route = routes.get(path)
                status, ctype, body = route() if route else (404, "text/plain", b"not found\n")
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # scrapes are not events
                pass

        return Handler

    def _readyz(self) -> tuple[int, str, bytes]:
        checks = self.readiness()
        ready = all(checks.values())
        body = json.dumps({"service": self.service, "ready": ready, "checks": checks}).encode()
        return (200 if ready else 503), "application/json", body

    def start(self) -> Telemetry:
        """Serve the endpoint and measure lag in daemon threads; nothing when
        the port is 0 (off)."""
        if not self.port:
            return self
        try:
            self.server = ThreadingHTTPServer((self.settings.metrics_host, self.port), self._handler())
        except OSError as exc:
            log.error(
                "metrics endpoint not started: port unavailable",
                port=self.port,
                host=self.settings.metrics_host,
                error=str(exc),
                setting="OGI_METRICS_PORT",
            )
            return self
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="ogi-telemetry-http", daemon=True).start()
        threading.Thread(target=self._poll_lag, name="ogi-telemetry-lag", daemon=True).start()
        log.info("metrics endpoint", url=f"http://{self.settings.metrics_host}:{self.port}/metrics")
        return self

    def stop(self) -> None:
        self._stop.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
