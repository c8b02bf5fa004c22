"""services/index/documents.py and the index templates it writes into."""

from __future__ import annotations

import json

import pytest

from ogi.deadletter import dead_letter
from ogi.elastic import INDICES, template_body
from ogi.settings import Settings
from ogi.topics import ALERTS, DEADLETTER, EXTRACTED, METRICS, RAW
from schemas import Alert, ExtractedReport, Severity, Stage, Template
from services.extract.events import to_metric_events
from services.index.documents import to_action
from services.index.errors import DocumentRejected

S = Settings(kafka_bootstrap="x:1", es_url="http://x", topic_prefix="p.", index_prefix="q-")


def _report() -> ExtractedReport:
    return ExtractedReport(
        report_id="r1",
        agency="甲",
        year=2022,
        template=Template.GB2021,
        metrics={"applications.granted": 3},
        checks={"outcome_sum": False},
    )


def test_report_goes_to_reports_index_by_report_id() -> None:
    action = to_action(EXTRACTED.name(S), _report().model_dump_json().encode(), S)
    assert (action.index, action.doc_id) == ("q-reports", "r1")
    assert action.source["failed_checks"] == ["outcome_sum"]


def test_metric_and_alert_ids_are_deterministic() -> None:
    ev = to_metric_events(_report())[0]
    a1 = to_action(METRICS.name(S), ev.model_dump_json().encode(), S)
    a2 = to_action(METRICS.name(S), ev.model_dump_json().encode(), S)
    assert a1.doc_id == a2.doc_id == ev.event_id and a1.index == "q-metrics"
    alert = Alert(
        alert_id="al",
        rule="broken_identity",
        agency="甲",
        agency_id=None,
        year=2022,
        severity=Severity.WARNING,
        title="t",
        message="m",
    )
    act = to_action(ALERTS.name(S), alert.model_dump_json().encode(), S)
    assert act.doc_id == "al" and act.source["severity_rank"] == 1


def test_dead_letter_document_omits_bytes_but_keeps_their_hash() -> None:
    letter = dead_letter(Stage.EXTRACT, ValueError("bad"), b"\x00" * 10, source_topic="t", offset=3)
    act = to_action(DEADLETTER.name(S), letter.model_dump_json().encode(), S)
    assert "original" not in act.source and act.source["original_size"] == 10
    assert act.source["error_class"] == "ValueError" and act.source["error"] == "bad"


@pytest.mark.parametrize("value", [b"not json", b"{}", b'{"report_id": 5}'])
def test_unreadable_records_are_rejected(value: bytes) -> None:
    with pytest.raises(DocumentRejected):
        to_action(EXTRACTED.name(S), value, S)


def test_records_from_unindexed_topics_are_rejected() -> None:
    with pytest.raises(DocumentRejected):
        to_action(RAW.name(S), b"{}", S)


def test_newer_schema_version_is_rejected() -> None:
    doc = json.loads(_report().model_dump_json())
    doc["schema_version"] = 99
    with pytest.raises(DocumentRejected, match="newer"):
        to_action(EXTRACTED.name(S), json.dumps(doc).encode(), S)


@pytest.mark.parametrize("kind", INDICES)
def test_templates_are_strict_and_cover_the_documents(kind: str) -> None:
    body = template_body(kind)
    mapping = body["template"]["mappings"]
    assert mapping["dynamic"] == "strict"
    assert body["index_patterns"] == [f"{{prefix}}{kind}*"]


def test_every_top_level_field_of_each_document_is_mapped() -> None:
    ev = to_metric_events(_report())[0]
    alert = Alert(
        alert_id="al",
        rule="r",
        agency="甲",
        agency_id=None,
        year=2022,
        severity=Severity.INFO,
        title="t",
        message="m",
        figures={"x": 1.0},
    )
    letter = dead_letter(Stage.INDEX, "why", b"x")
    for topic, model, kind in [
        (EXTRACTED, _report(), "reports"),
        (METRICS, ev, "metrics"),
        (ALERTS, alert, "alerts"),
        (DEADLETTER, letter, "deadletters"),
    ]:
        source = to_action(topic.name(S), model.model_dump_json().encode(), S).document()
        mapped = set(template_body(kind)["template"]["mappings"]["properties"])
        assert set(source) <= mapped, f"{kind}: unmapped {set(source) - mapped}"


def test_incomplete_sections_reach_report_and_metric_documents() -> None:
    report = _report().model_copy(update={"incomplete_sections": ["review_litigation"]})
    action = to_action(EXTRACTED.name(S), report.model_dump_json().encode(), S)
    assert action.source["incomplete_sections"] == ["review_litigation"]
    [ev] = to_metric_events(report)
    action = to_action(METRICS.name(S), ev.model_dump_json().encode(), S)
    assert action.document()["incomplete_sections"] == ["review_litigation"]
    for kind in ("reports", "metrics"):  # the strict mappings know the field
        assert template_body(kind)["template"]["mappings"]["properties"]["incomplete_sections"] == {
            "type": "keyword"
        }
