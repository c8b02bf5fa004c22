"""All configuration in one place.

Every setting is an environment variable with the ``OGI_`` prefix (e.g.
``OGI_KAFKA_BOOTSTRAP``). Sources override each other in this order, first
wins:

1. environment variables (``OGI_KAFKA_BOOTSTRAP=broker:9092``);
2. the endpoints file that ``ogi up`` / ``make up`` writes for the local
   servers (``$OGI_HOME/run/endpoints.json``), for the two addresses only;
3. the defaults below.

So pointing the services at an existing cluster is a matter of exporting
``OGI_KAFKA_BOOTSTRAP`` and ``OGI_ES_URL`` (and, for a secured one, the
``OGI_KAFKA_SECURITY_PROTOCOL``/``OGI_KAFKA_SASL_*``/``OGI_ES_API_KEY``...
settings below).

Secrets (the ``SecretStr`` fields) may also come from a file:
``OGI_<NAME>_FILE=/run/secrets/x`` reads the value from that file, as
container orchestrators mount them; setting both is an error. ``ogi config``
prints them masked, and the log pipeline masks their values in every line.

An ``OGI_*`` variable that is neither a setting, nor a secret's ``_FILE``,
nor in :data:`OTHER_VARIABLES`, nor reserved for the tests (``OGI_TEST_*``)
stops every program at start: a misspelled security setting must not be
silently ignored (the connection would then be made without it).
"""

from __future__ import annotations

import difflib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PREFIX = "OGI_"
#: ``OGI_*`` variables that are not settings, read by the tools named here
OTHER_VARIABLES: dict[str, str] = {
    "OGI_IMAGE": "deploy/compose.yaml: the image the stack runs (read by the compose tool)",
    "OGI_ENV_FILE": "deploy/compose.yaml: the env file with the services' settings and secrets",
    "OGI_SHARED": "benchmarks/bench_ocr.py: where the shared corpus lives",
    "OGI_KEEP_SERVERS": "tests/conftest.py: leave the local servers running after the test session",
    "OGI_STRESS_RUNS": "scripts/test-stress.sh: how many times the e2e tests run",
    "OGI_HYGIENE_PIDS": "tests/e2e/test_process_hygiene.py: where the deliberately failing test writes its pids",
    "OGI_HYGIENE_MARKER": "tests/e2e/test_process_hygiene.py: marks the processes the failing test starts",
}
#: variables beginning with this are the test suite's own and never checked
TEST_PREFIX = "OGI_TEST_"


class SettingsError(ValueError):
    """The configuration cannot be used: an unknown ``OGI_*`` variable, a
    secret given twice or whose file cannot be read."""


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


class _SecretFiles(PydanticBaseSettingsSource):
    """``OGI_<SECRET>_FILE``: a secret setting read from a file (trailing
    newline stripped). Only the ``SecretStr`` fields have one."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ does the work

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name in secret_fields(self.settings_cls):
            var = f"{PREFIX}{name.upper()}_FILE"
            path = os.environ.get(var)
            if not path:
                continue
            if os.environ.get(f"{PREFIX}{name.upper()}"):
                raise SettingsError(f"{PREFIX}{name.upper()} and {var} are both set: keep one")
            try:
                found[name] = Path(path).read_text("utf-8").rstrip("\r\n")
            except OSError as exc:
                raise SettingsError(f"{var}: cannot read {path}: {exc.strerror or exc}") from exc
        return found


def secret_fields(cls: type[BaseSettings]) -> list[str]:
    return [n for n, f in cls.model_fields.items() if f.annotation in (SecretStr, SecretStr | None)]


def check_environment(cls: type[BaseSettings], environ: dict[str, str] | None = None) -> None:
    """Refuse ``OGI_*`` variables that nothing reads (see the module doc)."""
    environ = dict(os.environ) if environ is None else environ
    known = {f"{PREFIX}{n.upper()}" for n in cls.model_fields}
    known |= {f"{PREFIX}{n.upper()}_FILE" for n in secret_fields(cls)}
    known |= set(OTHER_VARIABLES)
    unknown = sorted(
        v for v in environ if v.startswith(PREFIX) and v not in known and not v.startswith(TEST_PREFIX)
    )
    if unknown:
        hints = []
        for var in unknown:
            close = difflib.get_close_matches(var, sorted(known), n=1)
            hints.append(f"{var} (did you mean {close[0]}?)" if close else var)
        raise SettingsError(
            f"unknown environment variable{'s' if len(unknown) > 1 else ''}: {', '.join(hints)}; "
            f"`ogi config` lists every setting (test-only variables begin with {TEST_PREFIX})"
        )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore")

    def __init__(self, **values: Any) -> None:
        check_environment(type(self))
        super().__init__(**values)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _SecretFiles(settings_cls)

    # --- where things live -------------------------------------------------
    home: Path = Field(default_factory=default_home, description="cache, server data, run state")

    # --- Kafka -------------------------------------------------------------
    kafka_bootstrap: str = Field("", description="host:port[,host:port]; empty = local servers")
    topic_prefix: str = Field("ogi.", description="prefix of every topic name (tests use a unique one)")
    topic_partitions: int = Field(3, ge=1)
    topic_replication: int = Field(
        0,
        ge=0,
        description="replicas per topic; 0 = 3 on a cluster of 3 or more brokers, else one per broker "
        "(min.insync.replicas is 2 with 3 or more replicas, else 1)",
    )
    max_document_bytes: int = Field(
        20 * 1024 * 1024, description="largest raw document that passes end to end"
    )
    # Security: applied by ogi.broker to every client (kafka-python and Faust).
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "SCRAM-SHA-512", description="with SASL_*: how the user name and password are checked"
    )
    kafka_username: str = Field("", description="SASL user")
    kafka_password: SecretStr = Field(SecretStr(""), description="SASL password")
    kafka_ca_file: Path | None = Field(
        None, description="CA bundle that verifies the brokers; empty = the system's"
    )
    kafka_cert_file: Path | None = Field(None, description="client certificate (PEM) for mutual TLS")
    kafka_key_file: Path | None = Field(None, description="its private key (PEM)")
    kafka_key_password: SecretStr = Field(SecretStr(""), description="passphrase of the private key, if any")
    kafka_check_hostname: bool = Field(True, description="verify that a broker's certificate names its host")

    # --- Elasticsearch -----------------------------------------------------
    es_url: str = Field("", description="http(s)://host:port; empty = local servers")
    index_prefix: str = Field("ogi-", description="prefix of every index and template name")
    es_bulk_size: int = Field(2000, ge=1, description="most documents in one bulk request")
    es_bulk_max_bytes: int = Field(
        5 * 1024 * 1024,
        ge=1024,
        description="largest bulk request body; a larger poll is written in several requests",
    )
    # a report makes ~230 metric events: 500 records a poll was two reports a commit
    index_poll_records: int = Field(4000, ge=1, description="records the indexer takes from Kafka at a time")
    # Security: applied by ogi.elastic to every client.
    es_api_key: SecretStr = Field(
        SecretStr(""), description="API key (the base64 'id:key' Elasticsearch returns)"
    )
    es_username: str = Field("", description="basic-auth user (when no API key)")
    es_password: SecretStr = Field(SecretStr(""), description="basic-auth password")
    es_ca_certs: Path | None = Field(
        None, description="CA bundle that verifies https://; empty = the system's"
    )
    es_ssl_fingerprint: str = Field(
        "", description="SHA-256 fingerprint the server certificate must have (instead of a CA)"
    )
    es_verify_certs: bool = Field(True, description="verify the server certificate and host name (https)")
    connect_timeout_s: float = Field(
        15.0,
        gt=0,
        description="at start, how long a service waits for an unreachable Kafka or Elasticsearch; "
        "a refused password or certificate stops it at once",
    )

    # --- workers -----------------------------------------------------------
    extract_timeout_s: float = Field(60.0, gt=0, description="wall-clock limit per document")
    extract_max_memory_mb: int = Field(1536, ge=128, description="address-space limit per document")
    extract_children: int = Field(0, ge=0, description="extraction processes per worker; 0 = one per core")
    extract_resident_office: bool = Field(
        True,
        description="each extraction process keeps one LibreOffice running for DOC/WPS/RTF "
        "(needs python3-uno); off = a LibreOffice per document",
    )
    extract_child_max_rss_mb: int = Field(
        200,
        ge=64,
        description="an extraction process still larger than this after a document (its garbage "
        "freed) is replaced by a fresh one",
    )
    extract_office_max_rss_mb: int = Field(
        300,
        ge=64,
        description="a resident LibreOffice larger than this after a document is restarted",
    )
    faust_app_id: str = Field("ogi-extract", description="consumer group of the extract worker")
    index_group: str = Field("ogi-index", description="consumer group of the indexer")

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
    ingest_backoff_max_s: float = Field(
        120.0, ge=0, description="longest retry delay (also caps Retry-After)"
    )
    ingest_max_redirects: int = Field(5, ge=0)
    ingest_poll_interval_s: float = Field(6 * 3600.0, gt=0, description="time between two polls of a source")
    ingest_poll_jitter: float = Field(0.2, ge=0, le=1, description="poll interval varies by +-this fraction")
    ingest_max_pages: int = Field(3, ge=1, description="list pages read per poll (backfill reads all)")
    ingest_refused_retry_s: float = Field(
        24 * 3600.0, ge=0, description="a refused document is asked for again after this long"
    )
    # a poll costs what is new: on an unchanged list page, only recent links are re-checked every poll
    ingest_recheck_recent_days: int = Field(
        365, ge=0, description="links published within this many days are re-checked on every poll"
    )
    ingest_recheck_old_s: float = Field(
        7 * 24 * 3600.0, ge=0, description="older links on an unchanged list page are re-checked this often"
    )
    ingest_discovery_max_pages: int = Field(
        25, ge=1, description="pages a column discovery may read from an agency's home page"
    )
    ingest_shard: str = Field(
        "0/1",
        pattern=r"^\d+/[1-9]\d*$",
        description="i/n: this monitor polls the sources whose id hashes to i mod n",
    )
    ingest_only: str = Field(
        "",
        description="comma-separated source ids to poll; empty = every source "
        "(OGI_INGEST_ONLY=sample-site keeps make run offline)",
    )

    # --- alerts (detector, subscriptions, delivery) ------------------------
    # Rule parameters (thresholds, minimum counts, deadlines) live in a YAML
    # file, one block per rule: ``alert_rules`` or the shipped
    # services/alerts/rules.yaml. Everything else is here.
    alert_rules: Path | None = Field(None, description="rule parameters YAML; empty = the shipped one")
    detect_app_id: str = Field("ogi-detect", description="Faust app id / consumer group of the detector")
    detect_overdue_interval_s: float = Field(
        3600.0, gt=0, description="how often overdue reports are checked"
    )
    detect_overdue_wait_s: float = Field(
        600.0, gt=0, description="longest wait for the detector to reach the overdue check's offset snapshot"
    )
    detect_reread_idle_s: float = Field(
        10.0, gt=0, description="after this long without input a detector agent re-reads records it never got"
    )
    leader_session_timeout_s: float = Field(
        20.0, ge=6, description="a dead detector/deliverer leader loses its leadership after this long"
    )
    deliver_group: str = Field("ogi-deliver", description="consumer group of the alert deliverer")
    deliver_max_attempts: int = Field(
        8, ge=1, description="attempts per alert and sink before it is dead-lettered"
    )
    deliver_backoff_base_s: float = Field(1.0, ge=0, description="first retry delay; doubles each time")
    deliver_backoff_max_s: float = Field(300.0, ge=0, description="longest retry delay")
    deliver_timeout_s: float = Field(10.0, gt=0, description="per-request timeout of a webhook or SMTP send")
    deliver_allow_private_networks: str = Field(
        "",
        description="comma-separated networks webhooks may reach although loopback or private (e.g. "
        "127.0.0.0/8 for a receiver on this host); empty = public addresses only; "
        "link-local (metadata) addresses never",
    )
    smtp_host: str = Field("", description="SMTP server for e-mail alerts; empty = e-mail disabled")
    smtp_port: int = Field(25, ge=1)
    smtp_from: str = "ogi-alerts@localhost"
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = Field(
        False, description="upgrade with STARTTLS, certificate and host name verified"
    )
    smtp_tls: bool | None = Field(
        None, description="implicit TLS (SMTPS), verified; empty = on when the port is 465"
    )
    smtp_ca_file: Path | None = Field(
        None, description="CA bundle that verifies the SMTP server; empty = the system's"
    )
    smtp_allow_plain_auth: bool = Field(
        False,
        description="allow AUTH (the password) over an unencrypted connection: a trusted local relay only",
    )

    # --- every service -----------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_json: bool | None = Field(
        None, description="JSON log lines; empty = JSON unless stderr is a terminal"
    )
    metrics_port: int = Field(
        9470,
        ge=0,
        le=65535 - 4,
        description="base port of /metrics, /healthz, /readyz; each service adds its offset (extract +0, "
        "index +1, monitor +2, detect +3, deliver +4); 0 = off",
    )
    metrics_host: str = Field(
        "127.0.0.1", description="address the metrics endpoint binds (0.0.0.0 in a container)"
    )
    stop_grace_s: float = Field(
        8.0,
        gt=0,
        description="after SIGTERM/SIGINT a service that has not finished by then (a server that "
        "does not answer) logs what it abandons and exits (replayed by the next one)",
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

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _client_files_pair(self) -> Settings:
        if bool(self.kafka_cert_file) != bool(self.kafka_key_file):
            raise ValueError("OGI_KAFKA_CERT_FILE and OGI_KAFKA_KEY_FILE go together (mutual TLS)")
        if self.kafka_security_protocol.startswith("SASL") and not self.kafka_username:
            raise ValueError(
                f"OGI_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs OGI_KAFKA_USERNAME"
            )
        return self

    def secrets(self) -> list[str]:
        """The values of every secret setting that is set (the log masks them)."""
        values = (getattr(self, n) for n in secret_fields(type(self)))
        return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]

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
