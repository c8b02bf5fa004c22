"""Kafka adapter, the one place that builds Kafka clients: kafka-python
admin, producers and consumers for the plain (non-Faust) services, and the
credentials Faust/aiokafka use (:func:`faust_credentials`, called by
ogi.streams). Every client gets the same security settings
(``OGI_KAFKA_SECURITY_PROTOCOL``, SASL user, CA, client certificate), so a
setting cannot be missing in one of them. Services call these functions and
never build clients themselves.

:func:`check_kafka` is the start-up check: a refused password or an
unverifiable certificate stops a service at once with a message that says
which, an unreachable broker after ``OGI_CONNECT_TIMEOUT_S``."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterable
from typing import Any, TypeVar

import structlog
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, NoBrokersAvailable, TopicAlreadyExistsError
from pydantic import BaseModel

from ogi import telemetry
from ogi.errors import BrokerConfigError, BrokerError
from ogi.settings import Settings, get_settings
from ogi.signals import pause
from ogi.topics import TOPICS, TopicSpec, min_insync_replicas

log = structlog.get_logger("ogi.broker")


# --- security --------------------------------------------------------------


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context of every Kafka connection (None without TLS):
    certificate verification always, host name verification unless turned
    off, the client certificate for mutual TLS."""
    if settings.kafka_security_protocol not in ("SSL", "SASL_SSL"):
        return None
    context = ssl.create_default_context(
        cafile=str(settings.kafka_ca_file) if settings.kafka_ca_file else None
    )
    context.check_hostname = settings.kafka_check_hostname
    if settings.kafka_cert_file and settings.kafka_key_file:
        context.load_cert_chain(
            str(settings.kafka_cert_file),
            str(settings.kafka_key_file),
            password=settings.kafka_key_password.get_secret_value() or None,
        )
    return context


def client_security(settings: Settings) -> dict[str, Any]:
    """kafka-python arguments for the configured security settings."""
    config: dict[str, Any] = {"security_protocol": settings.kafka_security_protocol}
    context = tls_context(settings)
    if context is not None:
        config["ssl_context"] = context
    if settings.kafka_security_protocol.startswith("SASL"):
        config.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_username,
            sasl_plain_password=settings.kafka_password.get_secret_value(),
        )
    return config


def faust_credentials(settings: Settings) -> Any:
    """The same settings as Faust ``broker_credentials`` (aiokafka)."""
    from faust.auth import SASLCredentials, SSLCredentials

    context = tls_context(settings)
    if settings.kafka_security_protocol.startswith("SASL"):
        return SASLCredentials(
            username=settings.kafka_username,
            password=settings.kafka_password.get_secret_value(),
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=context,
        )
    if context is not None:
        return SSLCredentials(context)
    return None


def _base_config(settings: Settings, bootstrap: list[str] | None = None) -> dict[str, Any]:
    return {"bootstrap_servers": bootstrap or settings.bootstrap_servers, **client_security(settings)}


ClientT = TypeVar("ClientT", KafkaConsumer, KafkaProducer, KafkaAdminClient)


def kafka_client(kind: type[ClientT], settings: Settings | None = None, **config: Any) -> ClientT:
    """A kafka-python client of ``kind`` with the configured brokers and
    security, built at once (no retry): for callers that handle an
    unreachable broker themselves. ``config`` may name other brokers
    (``bootstrap_servers``: one node of a local cluster)."""
    settings = settings or get_settings()
    return kind(**{**_base_config(settings), **config})


def check_kafka(settings: Settings | None = None, timeout_s: float | None = None) -> None:
    """Fail fast, naming the cause: an unreachable broker (after
    ``timeout_s``), a certificate the CA does not verify, a refused login.
    Each step is tried by itself so the message can say which failed."""
    settings = settings or get_settings()
    timeout_s = settings.connect_timeout_s if timeout_s is None else timeout_s
    deadline = time.monotonic() + timeout_s
    context = tls_context(settings)
    reached = None
    while reached is None:
        errors = []
        for server in settings.bootstrap_servers:
            host, _, port = server.rpartition(":")
            try:
                with socket.create_connection((host, int(port)), timeout=5.0) as sock:
                    if context is not None:
                        try:
                            context.wrap_socket(sock, server_hostname=host).close()
                        except ssl.SSLCertVerificationError as exc:
                            raise BrokerConfigError(
                                f"Kafka {server}: TLS certificate not verified ({exc.verify_message}); check "
                                "OGI_KAFKA_CA_FILE (the CA that signed the brokers' certificates)"
                            ) from exc
                        except ssl.SSLError as exc:
                            raise BrokerConfigError(
                                f"Kafka {server}: TLS handshake failed ({exc.reason}); does "
                                "the listener speak TLS (OGI_KAFKA_SECURITY_PROTOCOL)?"
                            ) from exc
                reached = server
                break
            except (OSError, ValueError) as exc:  # refused, timed out, no such host, a bad port
                errors.append(f"{server}: {exc}")
        if reached is None:
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"Kafka unreachable after {timeout_s:.0f}s ({'; '.join(errors)}); "
                    "check OGI_KAFKA_BOOTSTRAP"
                )
            pause(0.5, "Kafka")
    # the address answers (with TLS verified): now the protocol and the login
    try:
        answer_ms = int(max(timeout_s, 10.0) * 1000)  # timeout_s 0 = one attempt, not no time to answer
        admin = KafkaAdminClient(
            **_base_config(settings, [reached]),
            request_timeout_ms=answer_ms,
            api_version_auto_timeout_ms=answer_ms,
        )
    except KafkaError as exc:
        raise BrokerConfigError(_refusal(settings, reached, exc)) from exc
    try:
        admin.describe_cluster()
    except KafkaError as exc:
        raise BrokerConfigError(_refusal(settings, reached, exc)) from exc
    finally:
        admin.close()


def _refusal(settings: Settings, server: str, exc: Exception) -> str:
    protocol = settings.kafka_security_protocol
    if protocol.startswith("SASL"):
        return (
            f"Kafka {server}: login refused or impossible for user {settings.kafka_username!r} "
            f"({settings.kafka_sasl_mechanism}): check OGI_KAFKA_USERNAME, OGI_KAFKA_PASSWORD and "
            f"OGI_KAFKA_SASL_MECHANISM ({type(exc).__name__}: {exc})"
        )
    return (
        f"Kafka {server} reached but did not answer as a {protocol} listener: check "
        f"OGI_KAFKA_SECURITY_PROTOCOL ({type(exc).__name__}: {exc})"
    )


# --- clients ---------------------------------------------------------------


def _retry_connect(factory: Any, what: str, timeout_s: float) -> Any:
    """Build a client, waiting out a broker that is (re)starting."""
    deadline = time.monotonic() + timeout_s
    delay = 0.5
    while True:
        try:
            return factory()
        except (NoBrokersAvailable, KafkaError, OSError) as exc:
            telemetry.error(exc)
            if time.monotonic() > deadline:
                raise BrokerError(f"cannot reach Kafka for {what}: {exc}") from exc
            log.warning("kafka unavailable, retrying", what=what, error=str(exc), delay=delay)
            pause(delay, f"Kafka ({what})")  # a stop must not wait for the broker
            delay = min(delay * 2, 10)


def topic_replication(settings: Settings, brokers: int) -> int:
    """Replicas per topic: the setting, or (0) three where the cluster has
    three brokers, else as many as it has."""
    return settings.topic_replication or max(1, min(3, brokers))


def ensure_topics(settings: Settings | None = None, specs: Iterable[TopicSpec] | None = None) -> list[str]:
    """Create the topics that do not exist yet (idempotent); returns the
    names created. Existing topics are left as they are."""
    settings = settings or get_settings()
    specs = list(specs if specs is not None else TOPICS.values())
    admin = make_admin(settings)
    try:
        existing = set(admin.list_topics())
        replication = topic_replication(settings, len(admin.describe_cluster().get("brokers") or []))
        durability = {"min.insync.replicas": str(min_insync_replicas(replication))}
        new = [
            NewTopic(
                name=s.name(settings),
                num_partitions=settings.topic_partitions,
                replication_factor=replication,
                topic_configs={**s.config(settings), **durability},
            )
            for s in specs
            if s.name(settings) not in existing
        ]
        created = []
        for topic in new:
            try:
                admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass  # another process won the race: fine
        return created
    finally:
        admin.close()


def make_admin(
    settings: Settings | None = None,
    *,
    bootstrap: str | None = None,
    timeout_s: float = 120,
    **overrides: Any,
) -> KafkaAdminClient:
    """An admin client (``bootstrap`` overrides the configured brokers: the
    local server's health check asks one particular broker)."""
    settings = settings or get_settings()
    config = _base_config(settings, [bootstrap] if bootstrap else None)
    config.update({"request_timeout_ms": 30000, **overrides})
    if timeout_s <= 0:
        return KafkaAdminClient(**config)
    return _retry_connect(lambda: KafkaAdminClient(**config), "admin", timeout_s)


def make_reader(settings: Settings | None = None, client_id: str = "ogi", **overrides: Any) -> KafkaConsumer:
    """A consumer without a group, for reading topics by assignment (the
    compacted tables, end offsets, tests): it commits nothing."""
    settings = settings or get_settings()
    config: dict[str, Any] = {
        **_base_config(settings),
        "group_id": None,
        "enable_auto_commit": False,
        "max_partition_fetch_bytes": settings.max_message_bytes,
        "fetch_max_bytes": settings.max_message_bytes * 2,
        "receive_message_max_bytes": settings.max_message_bytes * 2 + 1024 * 1024,
        "client_id": client_id,
    }
    config.update(overrides)
    return _retry_connect(lambda: KafkaConsumer(**config), f"reader {client_id}", 120)


def make_producer(settings: Settings | None = None, **overrides: Any) -> KafkaProducer:
    """An idempotent, acks=all producer that accepts raw documents up to the
    configured size. Sends retry through a broker restart for up to
    ``delivery_timeout_ms`` before failing loudly."""
    settings = settings or get_settings()
    config: dict[str, Any] = {
        **_base_config(settings),
        "acks": "all",
        "enable_idempotence": True,
        "max_request_size": settings.max_message_bytes,
        "buffer_memory": max(settings.max_message_bytes * 2, 33554432),
        "linger_ms": 5,
        "delivery_timeout_ms": 300_000,
        "request_timeout_ms": 60_000,
        "retry_backoff_ms": 500,
        "client_id": "ogi",
    }
    config.update(overrides)
    return _retry_connect(lambda: KafkaProducer(**config), "producer", 120)


def make_consumer(
    group_id: str, topics: Iterable[TopicSpec], settings: Settings | None = None, **overrides: Any
) -> KafkaConsumer:
    """A consumer with manual commits: the caller commits only after its work
    is durable, so a crash or restart replays instead of losing records."""
    settings = settings or get_settings()
    config: dict[str, Any] = {
        **_base_config(settings),
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_partition_fetch_bytes": settings.max_message_bytes,
        "fetch_max_bytes": settings.max_message_bytes * 2,
        # kafka-python refuses network frames above this (default 1 MB)
        "receive_message_max_bytes": settings.max_message_bytes * 2 + 1024 * 1024,
        "max_poll_records": 200,
        # a bulk write may wait out an Elasticsearch restart
        "max_poll_interval_ms": 900_000,
        "client_id": f"ogi-{group_id}",
    }
    config.update(overrides)
    consumer = _retry_connect(lambda: KafkaConsumer(**config), f"consumer {group_id}", 120)
    consumer.subscribe([t.name(settings) for t in topics])
    return consumer


def encode(model: BaseModel) -> bytes:
    return model.model_dump_json().encode("utf-8")


def key_of(spec: TopicSpec, model: BaseModel) -> bytes | None:
    value = getattr(model, spec.key, None)
    if value is None:
        return None
    return str(getattr(value, "value", value)).encode("utf-8")


def publish(
    producer: KafkaProducer, spec: TopicSpec, model: BaseModel, settings: Settings | None = None
) -> Any:
    """Send one model to its topic, keyed as the topic table says; returns
    the future (``.get()`` it to wait for the broker's acknowledgement)."""
    if not isinstance(model, spec.model):
        raise TypeError(f"{spec.suffix} carries {spec.model.__name__}, not {type(model).__name__}")
    name = spec.name(settings)
    telemetry.RECORDS_PRODUCED.labels(name).inc()
    return producer.send(name, value=encode(model), key=key_of(spec, model))
