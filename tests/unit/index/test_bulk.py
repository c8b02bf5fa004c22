"""bulk_write's pairing of response items with documents and its handling
of per-document statuses (issue 8 #4). The real Elasticsearch producing
these statuses is in tests/integration/test_index_retry.py; here a stub
answers exactly what a test needs (out of order, 429 then 201)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from elasticsearch import ConnectionTimeout

from services.index.errors import StoreUnavailable
from services.index.store import Action, bulk_write

Answer = Callable[[list[tuple[str, str]]], list[tuple[str, str, int]]]


class StubES:
    """Answers each bulk request with ``answers[n]`` applied to the
    (index, id) pairs it was sent; records what was sent."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[list[tuple[str, str]]] = []

    def bulk(self, operations: list[bytes], refresh: bool = False, **_: object) -> dict[str, Any]:
        headers = [json.loads(lines.split(b"\n", 1)[0]) for lines in operations]  # header, then source
        sent = [(op["index"]["_index"], op["index"]["_id"]) for op in headers]
        self.requests.append(sent)
        items = []
        for index, doc_id, status in self.answers.pop(0)(sent):
            result: dict[str, Any] = {"_index": index, "_id": doc_id, "status": status}
            if status >= 300:
                kind = {
                    429: "es_rejected_execution_exception",
                    400: "document_parsing_exception",
                    403: "cluster_block_exception",
                }.get(status, "error")
                result["error"] = {"type": kind, "reason": f"{kind} for {doc_id}"}
            items.append({"index": result})
        return {"errors": any(i["index"]["status"] >= 300 for i in items), "items": items}


def _actions(*ids: str, index: str = "i") -> list[Action]:
    return [Action(index, i, {"n": i}, origin=f"record-{i}") for i in ids]


def test_items_are_paired_by_index_and_id_not_by_position() -> None:
    # answered in reverse order, as a client that retried some items would
    es = StubES(lambda sent: [(i, d, 400 if d == "b" else 201) for i, d in reversed(sent)])
    result = bulk_write(es, _actions("a", "b", "c"))  # type: ignore[arg-type]
    assert result.written == 2
    assert [(a.origin, "document_parsing_exception" in reason) for a, reason in result.rejected] == [
        ("record-b", True)
    ]


def test_a_per_document_429_is_retried_and_never_rejected() -> None:
    es = StubES(
        lambda sent: [(i, d, 429 if d == "b" else 201) for i, d in sent],
        lambda sent: [(i, d, 201) for i, d in sent],
    )
    result = bulk_write(es, _actions("a", "b", "c"), backoff_s=0.001)  # type: ignore[arg-type]
    assert (result.written, result.rejected) == (3, [])
    assert es.requests[1] == [("i", "b")]  # only the refused document again


def test_an_index_write_block_is_the_store_s_state_not_the_document_s() -> None:
    es = StubES(lambda sent: [(i, d, 403) for i, d in sent], lambda sent: [(i, d, 201) for i, d in sent])
    result = bulk_write(es, _actions("a"), backoff_s=0.001)  # type: ignore[arg-type]
    assert (result.written, result.rejected) == (1, [])


def test_a_429_that_persists_is_store_unavailable_with_nothing_rejected() -> None:
    es = StubES(
        *[lambda sent: [(i, d, 429 if d == "b" else (400 if d == "c" else 201)) for i, d in sent]] * 3
    )
    with pytest.raises(StoreUnavailable, match="not written after 3 attempts"):
        bulk_write(es, _actions("a", "b", "c"), attempts=3, backoff_s=0.001)  # type: ignore[arg-type]


def test_the_same_id_twice_in_a_batch_pairs_each_item_once() -> None:
    es = StubES(lambda sent: [(sent[0][0], sent[0][1], 201), (sent[1][0], sent[1][1], 400)])
    actions = [Action("i", "x", {}, origin="first"), Action("i", "x", {}, origin="second")]
    result = bulk_write(es, actions)  # type: ignore[arg-type]
    assert result.written == 1 and [a.origin for a, _ in result.rejected] == ["second"]


def test_an_item_missing_from_the_response_is_sent_again() -> None:
    es = StubES(lambda sent: [(i, d, 201) for i, d in sent[:1]], lambda sent: [(i, d, 201) for i, d in sent])
    result = bulk_write(es, _actions("a", "b"), backoff_s=0.001)  # type: ignore[arg-type]
    assert result.written == 2 and es.requests[1] == [("i", "b")]


def test_a_response_naming_the_concrete_index_behind_an_alias_still_pairs() -> None:
    es = StubES(lambda sent: [("i-000001", d, 400 if d == "b" else 201) for _, d in sent])
    result = bulk_write(es, _actions("a", "b"))  # type: ignore[arg-type]
    assert result.written == 1 and [a.origin for a, _ in result.rejected] == ["record-b"]


def test_a_timeout_is_store_unavailable() -> None:
    class TimingOut:
        def bulk(self, **_: object) -> None:
            raise ConnectionTimeout("timed out")

    with pytest.raises(StoreUnavailable):
        bulk_write(TimingOut(), _actions("a"))  # type: ignore[arg-type]
