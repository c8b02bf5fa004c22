"""The engine's keys are the catalogue's keys (shared/metrics.md is the contract)."""

from __future__ import annotations

import re

import pytest

from services.extract.engine import catalogue, prose, tables


@pytest.fixture(scope="module")
def metrics_md(corpus) -> str:  # type: ignore[no-untyped-def]
    return (corpus.parent / "metrics.md").read_text(encoding="utf-8")


def emitted_keys() -> set[str]:
    keys = {r.key for r in catalogue.APPLICATION_ROWS}
    keys |= {f"{b}.{c}" for b in catalogue.REVIEW_BLOCKS for c in catalogue.REVIEW_COLUMNS}
    for r in catalogue.PROACTIVE_ROWS:
        keys |= {f"{r.prefix}.{c}" for c in r.cols2021 + r.cols2019}
    keys |= {r.key for r in prose.RULES} | {k for k, _ in tables.LEGACY_ROWS}
    return keys


def test_application_keys_are_listed_verbatim(metrics_md: str) -> None:
    listed = set(re.findall(r"applications\.[a-z_.]+[a-z]", metrics_md))
    for key in emitted_keys():
        if key.startswith("applications.") and not key.startswith(("applications.channel.",
                                                                  "applications.applicant.")):
            assert key in listed, key


def test_every_key_segment_is_in_the_catalogue(metrics_md: str) -> None:
    words = set(re.findall(r"[a-z_]+", metrics_md))
    for key in emitted_keys():
        assert all(seg in words for seg in key.split(".")), key


def test_labels_are_ordered_like_the_standard_table() -> None:
    keys = [r.key for r in catalogue.APPLICATION_ROWS]
    assert keys[0] == "applications.new_received" and keys[-1] == "applications.carried_forward"
    assert keys.index("applications.refused.total") < keys.index("applications.refused.state_secret")
    for parent, children in catalogue.PARENTS.items():
        assert all(keys.index(parent) < keys.index(c) for c in children)
