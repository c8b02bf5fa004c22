"""The event models: bytes survive JSON, ids are deterministic, the JSON
Schema files in schemas/json match the models."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas import ALL_MODELS, DeadLetter, ExtractedReport, MetricEvent, RawReport, Stage, Template
from schemas.export import JSON_DIR, render


@given(st.binary(max_size=4096))
def test_raw_report_bytes_survive_json(content: bytes) -> None:
    raw = RawReport.from_bytes(content, agency_id="a", source_url="file:///x")
    back = RawReport.model_validate_json(raw.model_dump_json())
    assert back.content == content
    assert back.sha256 == raw.sha256 and back.size == len(content)


def test_raw_report_rejects_garbage_base64() -> None:
    doc = json.loads(RawReport.from_bytes(b"abc", agency_id="a", source_url="u").model_dump_json())
    doc["content"] = "***not base64***"
    with pytest.raises(ValidationError):
        RawReport.model_validate(doc)


def test_unknown_fields_are_rejected() -> None:
    doc = json.loads(RawReport.from_bytes(b"abc", agency_id="a", source_url="u").model_dump_json())
    doc["surprise"] = 1
    with pytest.raises(ValidationError):
        RawReport.model_validate(doc)


def test_report_id_is_content_addressed() -> None:
    a = RawReport.from_bytes(b"same", agency_id="x", source_url="u1")
    b = RawReport.from_bytes(b"same", agency_id="y", source_url="u2")
    c = RawReport.from_bytes(b"other", agency_id="x", source_url="u1")
    assert a.report_id == b.report_id != c.report_id


def test_series_key_needs_agency_and_year() -> None:
    base = {"report_id": "r1"}
    assert ExtractedReport(**base, agency="甲局", year=2023).series_key == "甲局|2023"
    # without a year two documents must not merge into one series
    assert ExtractedReport(**base, agency="甲局").series_key == "report:r1"
    assert MetricEvent.make_id("甲局|2023", "m", "total") != MetricEvent.make_id("甲局|2024", "m", "total")


def test_dead_letter_keeps_original_bytes() -> None:
    original = bytes(range(256))
    letter = DeadLetter(stage=Stage.EXTRACT, error_class="X", error="why", original=original)
    assert DeadLetter.model_validate_json(letter.model_dump_json()).original == original


def test_template_values_match_catalogue() -> None:
    assert {t.value for t in Template} == {"gb2021", "gb2019", "freetext", "none"}


@pytest.mark.parametrize("name", sorted(ALL_MODELS))
def test_exported_json_schema_is_current(name: str) -> None:
    path = JSON_DIR / f"{name}.schema.json"
    assert path.exists(), f"{path} missing: run `make schemas`"
    assert path.read_text(encoding="utf-8") == render(name), f"{path} is stale: run `make schemas`"


def test_every_exported_schema_belongs_to_a_model() -> None:
    files = {p.name for p in JSON_DIR.glob("*.schema.json")}
    assert files == {f"{n}.schema.json" for n in ALL_MODELS}, os.listdir(JSON_DIR)
