"""All configuration in one place.

Every setting is an environment variable with the ``OGI_`` prefix (e.g.
``OGI_KAFKA_BOOTSTRAP``). Sources override each other in this order, first
wins:

1. environment variables (``OGI_KAFKA_BOOTSTRAP=broker:9092``);
2. the endpoints file that ``ogi up`` / ``make up`` writes for the local
   servers (``$OGI_HOME/run/endpoints.json``), for the two addresses only;
3. the defaults below.

So pointing the services at an existing cluster is a matter of exporting
``OGI_KAFKA_BOOTSTRAP`` and ``OGI_ES_URL``.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    """Where downloads, server data and run state live: outside the work tree
    so a second start costs no download. As root we use /var/cache/ogi, not
    /root/.cache, because Elasticsearch must run as an unprivileged user who
    cannot enter /root."""
    if os.environ.get("OGI_HOME"):
        return Path(os.environ["OGI_HOME"])
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/cache/ogi")
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "ogi"


def endpoints_file(home: Path | None = None) -> Path:
    return (home or default_home()) / "run" / "endpoints.json"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OGI_", extra="ignore")

    # --- where things live -------------------------------------------------
    home: Path = Field(default_factory=default_home, description="cache, server data, run state")

    # --- Kafka -------------------------------------------------------------
    kafka_bootstrap: str = Field("", description="host:port[,host:port]; empty = local servers")
    topic_prefix: str = Field("ogi.", description="prefix of every topic name (tests use a unique one)")
    topic_partitions: int = Field(3, ge=1)
    topic_replication: int = Field(1, ge=1)
    max_document_bytes: int = Field(
        20 * 1024 * 1024, description="largest raw document that passes end to end"
    )

    # --- Elasticsearch -----------------------------------------------------
    es_url: str = Field("", description="http(s)://host:port; empty = local servers")
    index_prefix: str = Field("ogi-", description="prefix of every index and template name")
    es_bulk_size: int = Field(500, ge=1, description="documents per bulk request")

    # --- workers -----------------------------------------------------------
    extract_timeout_s: float = Field(60.0, gt=0, description="wall-clock limit per document")
    extract_max_memory_mb: int = Field(1536, ge=128, description="address-space limit per document")
    faust_app_id: str = Field("ogi-extract", description="consumer group of the extract worker")
    index_group: str = Field("ogi-index", description="consumer group of the indexer")
    worker_web_port: int = Field(0, ge=0, description="Faust web port; 0 = pick a free one")

    # --- ingest (site monitor) ---------------------------------------------
    # A registry entry may override the per-host delay (``delay_s``); the
    # size cap is ``max_document_bytes`` above.
    ingest_registry: Path | None = Field(None, description="source registry YAML; empty = the shipped one")
    ingest_user_agent: str = Field(
        "ogi-monitor/0.1 (+https://github.com/ogi-project/ogi; annual-report monitor; polite, obeys robots.txt)",
        description="User-Agent of every request; its first token is the robots.txt agent name",
    )
    ingest_host_delay_s: float = Field(2.0, ge=0, description="least time between two requests to one host")
    ingest_host_concurrency: int = Field(2, ge=1, description="requests in flight per host")
    ingest_workers: int = Field(8, ge=1, description="sources crawled in parallel")
    ingest_connect_timeout_s: float = Field(10.0, gt=0)
    ingest_read_timeout_s: float = Field(30.0, gt=0, description="longest silence while reading a body")
    ingest_fetch_deadline_s: float = Field(300.0, gt=0, description="wall-clock limit for one document")
    ingest_retries: int = Field(3, ge=0, description="retries on timeouts, 429 and 5xx")
    ingest_backoff_base_s: float = Field(1.0, ge=0, description="first retry delay; doubles each time")
    ingest_backoff_max_s: float = Field(120.0, ge=0, description="longest retry delay (also caps Retry-After)")
    ingest_max_redirects: int = Field(5, ge=0)
    ingest_poll_interval_s: float = Field(6 * 3600.0, gt=0, description="time between two polls of a source")
    ingest_poll_jitter: float = Field(0.2, ge=0, le=1, description="poll interval varies by +-this fraction")
    ingest_max_pages: int = Field(3, ge=1, description="list pages read per poll (backfill reads all)")
    ingest_refused_retry_s: float = Field(24 * 3600.0, ge=0,
                                          description="a refused document is asked for again after this long")
    ingest_shard: str = Field("0/1", pattern=r"^\d+/[1-9]\d*$",
                              description="i/n: this monitor polls the sources whose id hashes to i mod n")
    ingest_only: str = Field("", description="comma-separated source ids to poll; empty = every source "
                                             "(OGI_INGEST_ONLY=sample-site keeps make run offline)")

    # --- alerts (detector, subscriptions, delivery) ------------------------
    # Rule parameters (thresholds, minimum counts, deadlines) live in a YAML
    # file, one block per rule: ``alert_rules`` or the shipped
    # services/alerts/rules.yaml. Everything else is here.
    alert_rules: Path | None = Field(None, description="rule parameters YAML; empty = the shipped one")
    detect_app_id: str = Field("ogi-detect", description="Faust app id / consumer group of the detector")
    detect_overdue_interval_s: float = Field(3600.0, gt=0, description="how often overdue reports are checked")
    detect_overdue_wait_s: float = Field(
        600.0, gt=0, description="longest wait for the detector to reach the overdue check's offset snapshot"
    )
    detect_reread_idle_s: float = Field(
        10.0, gt=0, description="after this long without input the detector re-reads records it never got"
    )
    leader_session_timeout_s: float = Field(
        20.0, ge=6, description="a dead detector/deliverer leader loses its leadership after this long"
    )
    deliver_group: str = Field("ogi-deliver", description="consumer group of the alert deliverer")
    deliver_max_attempts: int = Field(8, ge=1, description="attempts per alert and sink before it is dead-lettered")
    deliver_backoff_base_s: float = Field(1.0, ge=0, description="first retry delay; doubles each time")
    deliver_backoff_max_s: float = Field(300.0, ge=0, description="longest retry delay")
    deliver_timeout_s: float = Field(10.0, gt=0, description="per-request timeout of a webhook or SMTP send")
    deliver_allow_private_networks: str = Field(
        "", description="comma-separated networks webhooks may reach although loopback or private (e.g. "
                        "127.0.0.0/8 for a receiver on this host); empty = public addresses only; "
                        "link-local (metadata) addresses never")
    smtp_host: str = Field("", description="SMTP server for e-mail alerts; empty = e-mail disabled")
    smtp_port: int = Field(25, ge=1)
    smtp_from: str = "ogi-alerts@localhost"
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = Field(False, description="upgrade with STARTTLS, certificate and host name verified")
    smtp_tls: bool | None = Field(None, description="implicit TLS (SMTPS), verified; empty = on when the port is 465")
    smtp_ca_file: Path | None = Field(None, description="CA bundle that verifies the SMTP server; empty = the system's")
    smtp_allow_plain_auth: bool = Field(
        False, description="allow AUTH (the password) over an unencrypted connection: a trusted local relay only")

    # --- every service -----------------------------------------------------
    stop_grace_s: float = Field(
        8.0, gt=0, description="after SIGTERM/SIGINT a service that has not finished by then (a server that "
                               "does not answer) logs what it abandons and exits (replayed by the next one)"
    )

    # --- local servers -----------------------------------------------------
    kafka_version: str = "4.1.1"
    es_version: str = "8.19.7"
    kafka_heap: str = "512m"
    es_heap: str = "512m"
    java_home: str = Field("", description="JDK for the local servers; empty = detect")

    @field_validator("deliver_allow_private_networks")
    @classmethod
    def _networks_parse(cls, value: str) -> str:
        from ogi.net.guard import parse_networks

        parse_networks(value)  # a typo must stop the program at start, not open or close a door silently
        return value

    @model_validator(mode="after")
    def _one_smtp_tls_mode(self) -> Settings:
        if self.smtp_tls and self.smtp_starttls:
            raise ValueError("OGI_SMTP_TLS (implicit TLS) and OGI_SMTP_STARTTLS exclude each other")
        return self

    @property
    def smtp_implicit_tls(self) -> bool:
        return self.smtp_tls if self.smtp_tls is not None else self.smtp_port == 465

    @model_validator(mode="after")
    def _fill_from_endpoints(self) -> Settings:
        if self.kafka_bootstrap and self.es_url:
            return self
        found = read_endpoints(self.home)
        if not self.kafka_bootstrap:
            self.kafka_bootstrap = found.get("kafka_bootstrap", "127.0.0.1:9092")
        if not self.es_url:
            self.es_url = found.get("es_url", "http://127.0.0.1:9200")
        return self

    @property
    def bootstrap_servers(self) -> list[str]:
        return [s.strip() for s in self.kafka_bootstrap.split(",") if s.strip()]

    @property
    def max_message_bytes(self) -> int:
        """Kafka record limit. A raw document travels base64 in a JSON
        envelope (4/3 of its size); its dead letter base64-encodes that
        envelope again (16/9 in all), plus metadata: twice the document."""
        return self.max_document_bytes * 2 + 1024 * 1024


def read_endpoints(home: Path | None = None) -> dict[str, Any]:
    path = endpoints_file(home)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings``)."""
    return Settings()
