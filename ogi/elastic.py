"""Elasticsearch adapter, the one place that builds Elasticsearch clients:
the client with the security settings (API key or user and password, CA
certificates or a certificate fingerprint, verification on by default), the
index names and their templates (data files in ``schemas/elasticsearch/``).

:func:`check_store` is the start-up check: a refused password or API key,
an unverifiable certificate or an unreachable host stops a program within
seconds with a message that says which."""

from __future__ import annotations

import json
import ssl
import time
from functools import cache
from importlib import resources
from typing import Any

import structlog
from elasticsearch import ApiError, AuthenticationException, AuthorizationException, Elasticsearch
from elasticsearch import ConnectionError as ESConnectionError
from elasticsearch import SSLError as ESSSLError

from ogi.errors import StoreConfigError, StoreUnavailable
from ogi.settings import Settings, get_settings
from ogi.signals import pause

log = structlog.get_logger("ogi.elastic")

#: index name suffix -> template file in schemas/elasticsearch/
INDICES = ("reports", "metrics", "alerts", "deadletters")


def index_name(kind: str, settings: Settings | None = None) -> str:
    if kind not in INDICES:
        raise KeyError(f"unknown index kind {kind!r}")
    return f"{(settings or get_settings()).index_prefix}{kind}"


@cache
def template_body(kind: str) -> dict[str, Any]:
    text = resources.files("schemas").joinpath("elasticsearch", f"{kind}.json").read_text("utf-8")
    body: dict[str, Any] = json.loads(text)
    body.pop("_comment", None)
    return body


def client_options(settings: Settings) -> dict[str, Any]:
    """Elasticsearch client arguments for the configured security settings."""
    options: dict[str, Any] = {}
    if settings.es_api_key.get_secret_value():
        options["api_key"] = settings.es_api_key.get_secret_value()
    elif settings.es_username:
        options["basic_auth"] = (settings.es_username, settings.es_password.get_secret_value())
    if settings.es_url.startswith("https"):
        options["verify_certs"] = settings.es_verify_certs
        if settings.es_ssl_fingerprint:
            options["ssl_assert_fingerprint"] = settings.es_ssl_fingerprint
        elif settings.es_ca_certs:
            options["ca_certs"] = str(settings.es_ca_certs)
    return options


def make_client(settings: Settings | None = None, **overrides: Any) -> Elasticsearch:
    settings = settings or get_settings()
    options: dict[str, Any] = {
        "request_timeout": 60,
        "retry_on_timeout": True,
        "max_retries": 3,
        **client_options(settings),
        **overrides,
    }
    return Elasticsearch(settings.es_url, **options)


def wait_for_store(es: Elasticsearch, timeout_s: float = 120) -> None:
    """Block until the cluster answers ``_cluster/health`` (``GET /`` does not
    exist on every distribution). A refusal of our credentials or of the
    server's certificate is raised at once (:class:`StoreConfigError`)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if es.cluster.health(wait_for_status="yellow", timeout="5s")["status"] in ("green", "yellow"):
                return
        except AuthenticationException as exc:
            raise StoreConfigError(
                f"Elasticsearch refused the credentials (HTTP {exc.meta.status}): check OGI_ES_API_KEY or "
                "OGI_ES_USERNAME/OGI_ES_PASSWORD"
            ) from exc
        except AuthorizationException as exc:
            raise StoreConfigError(
                f"Elasticsearch user lacks a privilege (HTTP {exc.meta.status}): {_reason(exc)}"
            ) from exc
        except ESSSLError as exc:
            raise StoreConfigError(
                f"Elasticsearch TLS certificate not verified ({_ssl_reason(exc)}): check "
                "OGI_ES_CA_CERTS or OGI_ES_SSL_FINGERPRINT"
            ) from exc
        except (ESConnectionError, ApiError) as exc:
            if time.monotonic() > deadline:
                raise StoreUnavailable(
                    f"Elasticsearch unreachable after {timeout_s:.0f}s: {exc}; check OGI_ES_URL"
                ) from exc
        pause(1, "Elasticsearch")  # a stop must not wait for the store


def check_store(settings: Settings | None = None, timeout_s: float | None = None) -> Elasticsearch:
    """The start-up check (see the module doc); returns the client."""
    settings = settings or get_settings()
    es = make_client(settings, max_retries=0, request_timeout=10)
    wait_for_store(es, settings.connect_timeout_s if timeout_s is None else timeout_s)
    return make_client(settings)


def _reason(exc: ApiError) -> str:
    return str(exc.message)[:300]


def _ssl_reason(exc: Exception) -> str:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return str(cause.verify_message)
        cause = cause.__cause__ or cause.__context__
    return str(exc)[:300]


def install_templates(es: Elasticsearch, settings: Settings | None = None) -> list[str]:
    """Put every index template and create its index (idempotent: a template
    is overwritten with the same body, an existing index is kept)."""
    settings = settings or get_settings()
    names = []
    for kind in INDICES:
        body = json.loads(json.dumps(template_body(kind)).replace("{prefix}", settings.index_prefix))
        name = index_name(kind, settings)
        es.indices.put_index_template(name=name, **body)
        if not es.indices.exists(index=name):
            try:
                es.indices.create(index=name)
            except ApiError as exc:
                if "resource_already_exists" not in str(exc):
                    raise
        else:
            # fields a newer template adds (e.g. the alerts' status) reach an index created
            # before it; Elasticsearch accepts additions and refuses changes, which stay manual
            try:
                es.indices.put_mapping(index=name, properties=body["template"]["mappings"]["properties"])
            except ApiError as exc:
                log.warning("index mapping not updated", index=name, error=str(exc)[:300])
        names.append(name)
    return names
