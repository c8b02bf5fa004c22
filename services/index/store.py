"""Bulk writes with deterministic ids. The client, the index names and the
templates are shared by every service: ogi/elastic.py."""

from __future__ import annotations

import collections
import json
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import structlog
from elasticsearch import ApiError, Elasticsearch, TransportError

from ogi.backoff import equal_jitter
from services.index.errors import StoreUnavailable

log = structlog.get_logger("ogi.index")


@dataclass(frozen=True)
class Action:
    """One document to write: where, under which id, and what (``source``:
    the document, or its JSON already serialised)."""

    index: str
    doc_id: str
    source: dict[str, Any] | bytes
    origin: Any = None  # what to dead-letter if Elasticsearch rejects it

    @cached_property
    def ndjson(self) -> bytes:
        """The action's lines of a bulk body, serialised once: sizing the
        requests, sending them and retrying refused documents reuse it."""
        header = json.dumps({"index": {"_index": self.index, "_id": self.doc_id}}, ensure_ascii=False)
        source = self.source
        if not isinstance(source, bytes):
            source = json.dumps(source, ensure_ascii=False, separators=(",", ":"), default=str).encode()
        return header.encode() + b"\n" + source

    def document(self) -> dict[str, Any]:
        """The source as a dict, whichever form it was given in."""
        return json.loads(self.source) if isinstance(self.source, bytes) else self.source


@dataclass(frozen=True)
class BulkResult:
    written: int
    rejected: list[tuple[Action, str]]


# Per-document statuses that say the store cannot take a document *now*,
# not that the document is bad: a full write queue or a tripped circuit
# breaker (429), an unavailable shard (503), a gateway in between (502,
# 504). An index write block (cluster_block_exception: an operator's
# ``index.blocks.write`` is 403, a full disk's flood-stage block 429) is the
# store's state too. These are retried, never dead-lettered.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
BULK_CHUNK = 500
#: largest bulk request body by default (Elasticsearch's own limit is 100 MB;
#: a few MB keep one request's latency and the indexer's memory small)
BULK_MAX_BYTES = 5 * 1024 * 1024
BULK_ATTEMPTS = 5  # within one call; then StoreUnavailable, and the indexer retries the whole batch


def _retryable(status: int, error: object) -> bool:
    return status in RETRYABLE_STATUSES or (
        isinstance(error, dict) and error.get("type") == "cluster_block_exception"
    )


#: what bulk_write reads of a bulk response; the rest (versions, shards, sequence
#: numbers of every document) is not sent, nor parsed
BULK_RESPONSE_FIELDS = "errors,items.*._index,items.*._id,items.*.status,items.*.error"


def _send_bulk(es: Elasticsearch, chunk: list[Action], refresh: bool) -> dict[str, Any]:
    try:
        # the serialised lines go through the client's NDJSON serializer as they are
        response = es.bulk(
            operations=[a.ndjson for a in chunk],  # type: ignore[misc]  # bytes lines are accepted
            refresh=refresh,
            filter_path=BULK_RESPONSE_FIELDS,
        )
    except TransportError as exc:  # cannot connect, timed out
        raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc
    except ApiError as exc:
        if exc.meta.status in RETRYABLE_STATUSES:
            raise StoreUnavailable(str(exc)) from exc
        raise
    return dict(response)


class _Sent:
    """The actions of one bulk request, found again by the ``_index``/``_id``
    of each response item. Not by position: a client that retries items
    (``streaming_bulk`` does) returns the retried ones last, and a wrong
    pairing dead-letters the wrong record and counts a refused one as written."""

    def __init__(self, chunk: list[Action]) -> None:
        self._by_key: dict[tuple[str, str], collections.deque[Action]] = collections.defaultdict(
            collections.deque
        )
        for a in chunk:
            self._by_key[(a.index, a.doc_id)].append(a)  # one id twice in a batch: a replayed record

    def take(self, index: str | None, doc_id: str | None) -> Action | None:
        queue = self._by_key.get((index or "", doc_id or ""))
        if not queue:
            # written through an alias, the response names the concrete index
            matches = [q for (i, d), q in self._by_key.items() if d == doc_id and q]
            queue = matches[0] if len(matches) == 1 else None
        return queue.popleft() if queue else None

    def unanswered(self) -> list[Action]:
        return [a for q in self._by_key.values() for a in q]


def bulk_chunks(
    actions: list[Action], *, max_docs: int = BULK_CHUNK, max_bytes: int = BULK_MAX_BYTES
) -> list[list[Action]]:
    """``actions`` in order, in requests of at most ``max_docs`` documents and
    ``max_bytes`` bytes (a single larger document goes alone): a poll of
    small metric events makes few requests, one of large reports no huge one."""
    chunks: list[list[Action]] = []
    current: list[Action] = []
    size = 0
    for a in actions:
        n = len(a.ndjson) + 1
        if current and (len(current) >= max_docs or size + n > max_bytes):
            chunks.append(current)
            current, size = [], 0
        current.append(a)
        size += n
    if current:
        chunks.append(current)
    return chunks


def bulk_write(
    es: Elasticsearch,
    actions: list[Action],
    *,
    refresh: bool = False,
    attempts: int = BULK_ATTEMPTS,
    backoff_s: float = 0.5,
    backoff_cap_s: float = 10.0,
    max_docs: int = BULK_CHUNK,
    max_bytes: int = BULK_MAX_BYTES,
) -> BulkResult:
    """Index ``actions`` (overwriting by id). Documents Elasticsearch refuses
    for good (a mapping error) are returned as rejected. Documents it cannot
    take now (see ``RETRYABLE_STATUSES``) are sent again with backoff; if some
    still are not written after ``attempts``, or the cluster cannot be
    reached, ``StoreUnavailable`` is raised and nothing is reported as
    rejected: the caller keeps the batch (and its offsets) and retries."""
    if not actions:
        return BulkResult(0, [])
    pending = list(actions)
    written, rejected = 0, []
    last_refusal = ""
    for attempt in range(attempts):
        retry: list[Action] = []
        for chunk in bulk_chunks(pending, max_docs=max_docs, max_bytes=max_bytes):
            response = _send_bulk(es, chunk, refresh)
            items: list[dict[str, Any]] = response.get("items", [])
            if response.get("errors") is False and len(items) == len(chunk):
                written += len(chunk)  # every document written: nothing to pair
                continue
            sent = _Sent(chunk)
            for item in items:
                result = next(iter(item.values()))
                action = sent.take(result.get("_index"), result.get("_id"))
                if action is None:
                    log.error("bulk response item matches no document sent", item=str(item)[:500])
                    continue
                status = int(result.get("status", 0))
                if 200 <= status < 300:
                    written += 1
                    continue
                error = result.get("error", result)
                reason = json.dumps(error, ensure_ascii=False)[:2000]
                if _retryable(status, error):
                    retry.append(action)
                    last_refusal = f"{status} {reason[:300]}"
                else:
                    rejected.append((action, reason))
            missing = sent.unanswered()
            if missing:
                retry += missing
                last_refusal = f"{len(missing)} documents missing from the bulk response"
        if not retry:
            return BulkResult(written, rejected)
        pending = retry
        if attempt + 1 < attempts:
            delay = equal_jitter(attempt, backoff_s, backoff_cap_s)
            log.warning(
                "elasticsearch cannot take documents now; retrying them",
                documents=len(pending),
                refusal=last_refusal,
                attempt=attempt + 1,
                delay=round(delay, 2),
            )
            time.sleep(delay)
    raise StoreUnavailable(f"{len(pending)} documents not written after {attempts} attempts: {last_refusal}")
