from __future__ import annotations

import pytest

from ogi.cli import build_parser
from services.alerts.cli import alerts_query


def test_commands_are_registered() -> None:
    parser = build_parser()
    args = parser.parse_args(
        [
            "subscribe",
            "add",
            "--webhook",
            "http://127.0.0.1/x",
            "--rule",
            "yoy_jump",
            "--agency",
            "甲局",
            "--min-severity",
            "critical",
        ]
    )
    assert args.rule == ["yoy_jump"] and args.agency == ["甲局"] and args.min_severity == "critical"
    assert parser.parse_args(["subscribe", "remove", "abc"]).subscription_id == "abc"
    assert parser.parse_args(["alerts", "--rule", "refusal_spike", "--json"]).json
    args = parser.parse_args(["subscribe", "add", "--email", "a@b.c", "--digest", "1h", "--no-resolutions"])
    assert args.digest == "1h" and args.no_resolutions
    args = parser.parse_args(
        ["subscribe", "silence", "abc", "--agency", "甲局", "--rule", "yoy_jump", "--until", "2027-01-31"]
    )
    assert (args.agency, args.rule, args.until) == (["甲局"], ["yoy_jump"], "2027-01-31")
    assert parser.parse_args(["subscribe", "digest", "abc", "off"]).every == "off"
    assert parser.parse_args(["subscribe", "unsilence", "abc"]).subscription_id == "abc"
    with pytest.raises(SystemExit):
        parser.parse_args(["alerts", "--min-severity", "fatal"])


def test_alerts_query_filters() -> None:
    q = alerts_query(
        agency="甲局",
        region="杭州",
        rule=["refusal_spike"],
        min_severity="warning",
        year=2023,
        since_days=7,
        status="open",
    )
    filters = q["bool"]["filter"]
    assert {"range": {"severity_rank": {"gte": 1}}} in filters
    # a place matches the full paths stored (浙江省杭州市…), and as typed for regions no gazetteer placed
    assert {
        "bool": {
            "should": [{"prefix": {"region": "杭州"}}, {"prefix": {"region": "浙江省杭州市"}}],
            "minimum_should_match": 1,
        }
    } in filters
    assert {"terms": {"rule": ["refusal_spike"]}} in filters
    assert {"term": {"year": 2023}} in filters
    assert {"term": {"status": "open"}} in filters
    assert any("updated_at" in f.get("range", {}) for f in filters)
    assert alerts_query()["bool"]["filter"] == [{"range": {"severity_rank": {"gte": 0}}}]
