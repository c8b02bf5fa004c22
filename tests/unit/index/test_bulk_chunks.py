"""How the indexer cuts a poll into bulk requests: by documents and by bytes."""

from __future__ import annotations

from services.index.store import Action, bulk_chunks


def _doc(i: int, size: int) -> Action:
    return Action("ogi-metrics", f"id-{i}", {"text": "x" * size})


def test_small_documents_fill_a_request_up_to_the_document_limit() -> None:
    actions = [_doc(i, 10) for i in range(25)]
    chunks = bulk_chunks(actions, max_docs=10, max_bytes=1_000_000)
    assert [len(c) for c in chunks] == [10, 10, 5]
    assert [a for c in chunks for a in c] == actions  # order kept


def test_large_documents_are_cut_by_bytes() -> None:
    actions = [_doc(i, 400_000) for i in range(5)]
    chunks = bulk_chunks(actions, max_docs=500, max_bytes=1_000_000)
    assert [len(c) for c in chunks] == [2, 2, 1]
    assert [a for c in chunks for a in c] == actions


def test_a_document_larger_than_the_limit_goes_alone() -> None:
    actions = [_doc(0, 10), _doc(1, 3_000_000), _doc(2, 10)]
    assert [len(c) for c in bulk_chunks(actions, max_docs=500, max_bytes=1_000_000)] == [1, 1, 1]
