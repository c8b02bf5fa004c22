"""Elasticsearch adapter: the client, the index templates (data files in
``schemas/elasticsearch/``), and bulk writes with deterministic ids."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import structlog
from elasticsearch import ApiError, Elasticsearch
from elasticsearch import ConnectionError as ESConnectionError
from elasticsearch.helpers import BulkIndexError, streaming_bulk

from ogi.settings import Settings, get_settings
from ogi.signals import pause
from services.index.errors import StoreUnavailable

log = structlog.get_logger("ogi.index")

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


def make_client(settings: Settings | None = None) -> Elasticsearch:
    settings = settings or get_settings()
    return Elasticsearch(settings.es_url, request_timeout=60, retry_on_timeout=True, max_retries=3)


def wait_for_store(es: Elasticsearch, timeout_s: float = 120) -> None:
    """Block until the cluster answers ``_cluster/health`` (``GET /`` does not
    exist on every distribution)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if es.cluster.health(wait_for_status="yellow", timeout="5s")["status"] in ("green", "yellow"):
                return
        except (ESConnectionError, ApiError) as exc:
            if time.monotonic() > deadline:
                raise StoreUnavailable(f"Elasticsearch not reachable: {exc}") from exc
        pause(1, "Elasticsearch")  # a stop must not wait for the store


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
        names.append(name)
    return names


@dataclass(frozen=True)
class Action:
    """One document to write: where, under which id, and what."""

    index: str
    doc_id: str
    source: dict[str, Any]
    origin: Any = None  # what to dead-letter if Elasticsearch rejects it


@dataclass(frozen=True)
class BulkResult:
    written: int
    rejected: list[tuple[Action, str]]


def bulk_write(es: Elasticsearch, actions: list[Action], *, refresh: bool = False) -> BulkResult:
    """Index ``actions`` (overwriting by id). Per-document rejections are
    returned; a cluster that cannot be reached raises ``StoreUnavailable``."""
    if not actions:
        return BulkResult(0, [])
    ops = ({"_op_type": "index", "_index": a.index, "_id": a.doc_id, "_source": a.source} for a in actions)
    written, rejected = 0, []
    try:
        for action, (ok, item) in zip(
            actions,
            streaming_bulk(es, ops, raise_on_error=False, raise_on_exception=True, max_retries=3,
                           chunk_size=500, refresh=refresh),
        ):
            if ok:
                written += 1
            else:
                error = item.get("index", {}).get("error", item)
                rejected.append((action, json.dumps(error, ensure_ascii=False)[:2000]))
    except (ESConnectionError, BulkIndexError) as exc:
        raise StoreUnavailable(str(exc)) from exc
    except ApiError as exc:
        if exc.meta.status in (429, 502, 503, 504):
            raise StoreUnavailable(str(exc)) from exc
        raise
    return BulkResult(written, rejected)
