"""Index templates and bulk writes on the real Elasticsearch."""

from __future__ import annotations

import pytest

from ogi.elastic import index_name, install_templates
from ogi.settings import Settings
from schemas import ExtractedReport, Template
from services.extract.events import to_metric_events
from services.index.documents import metric_doc
from services.index.store import Action, bulk_write

pytestmark = pytest.mark.integration


def test_templates_install_idempotently_with_explicit_mappings(platform: Settings, es) -> None:  # type: ignore[no-untyped-def]
    assert install_templates(es, platform) == install_templates(es, platform)
    mapping = es.indices.get_mapping(index=index_name("metrics", platform))
    props = next(iter(mapping.body.values()))["mappings"]["properties"]
    assert props["value"]["type"] == "double"
    assert props["metric"]["type"] == "keyword"
    assert props["published_at"]["type"] == "date"


def test_bulk_write_twice_leaves_one_copy(platform: Settings, es) -> None:  # type: ignore[no-untyped-def]
    report = ExtractedReport(
        report_id="bulk-r1",
        agency="乙局",
        year=2021,
        template=Template.GB2019,
        metrics={"applications.granted": 1, "applications.new_received": 2},
    )
    index = index_name("metrics", platform)
    actions = [Action(index, *metric_doc(e)) for e in to_metric_events(report)]
    for _ in range(2):
        result = bulk_write(es, actions, refresh=True)
        assert result.written == len(actions) and not result.rejected
    assert es.count(index=index, query={"term": {"agency": "乙局"}})["count"] == len(actions)


def test_a_document_the_mapping_refuses_is_reported_not_raised(platform: Settings, es) -> None:  # type: ignore[no-untyped-def]
    index = index_name("metrics", platform)
    good = Action(index, "ok-doc", {"metric": "m", "value": 1.0})
    bad = Action(index, "bad-doc", {"metric": "m", "value": "not a number"})
    unknown = Action(index, "strict-doc", {"metric": "m", "surprise": 1})
    result = bulk_write(es, [good, bad, unknown], refresh=True)
    assert result.written == 1
    assert sorted(a.doc_id for a, _ in result.rejected) == ["bad-doc", "strict-doc"]
    assert all(reason for _, reason in result.rejected)


def test_a_report_with_dotted_metric_keys_is_accepted(platform: Settings, es) -> None:  # type: ignore[no-untyped-def]
    from ogi.topics import EXTRACTED
    from services.index.documents import to_action

    report = ExtractedReport(
        report_id="dotted-r1",
        agency="丙局",
        year=2020,
        template=Template.GB2021,
        metrics={
            "applications.new_received": 3,
            "applications.refused.total": 1,
            "litigation.total": 0,
            "litigation.direct.total": 0,
            "rates.refusal": 1 / 3,
        },
        breakdown={"applications.new_received": {"natural_person": 3, "total": 3}},
        checks={"intake_balance": True, "outcome_sum": False},
    )
    action = to_action(EXTRACTED.name(platform), report.model_dump_json().encode(), platform)
    result = bulk_write(es, [action], refresh=True)
    assert result.rejected == [] and result.written == 1

    # the session's reports index is shared with other tests: look at this agency only
    def ids(clause: dict) -> list[str]:  # type: ignore[type-arg]
        query = {"bool": {"filter": [{"term": {"agency": "丙局"}}, clause]}}
        return [
            h["_id"] for h in es.search(index=index_name("reports", platform), query=query)["hits"]["hits"]
        ]

    assert ids({"range": {"metrics.rates.refusal": {"gt": 0.3}}}) == ["dotted-r1"]
    assert ids({"range": {"metrics.rates.refusal": {"gt": 0.4}}}) == []
    assert ids({"term": {"checks.outcome_sum": False}}) == ["dotted-r1"]
    assert ids({"term": {"checks.intake_balance": False}}) == []


def test_an_index_created_before_a_field_was_added_gets_it(platform: Settings, es) -> None:  # type: ignore[no-untyped-def]
    # an alerts index from before alerts had a status: install_templates adds the new fields
    old = Settings(**{**platform.model_dump(), "index_prefix": f"{platform.index_prefix}old-"})
    name = index_name("alerts", old)
    es.indices.create(
        index=name, mappings={"dynamic": "strict", "properties": {"alert_id": {"type": "keyword"}}}
    )
    try:
        install_templates(es, old)
        properties = es.indices.get_mapping(index=name)[name]["mappings"]["properties"]
        assert properties["status"] == {"type": "keyword"} and properties["resolved_at"]["type"] == "date"
    finally:
        for kind in ("reports", "metrics", "alerts", "deadletters"):
            es.indices.delete(index=index_name(kind, old), ignore_unavailable=True)
