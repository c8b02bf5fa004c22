"""The Kibana saved objects in deploy/kibana/ogi.ndjson, checked without
Kibana: every line parses, every reference resolves, every field a panel
uses exists in the real Elasticsearch mapping with a type its aggregation
accepts, and each panel's aggregation — translated from its visState and
filters — returns data from the real Elasticsearch.

The indices are filled through the real indexer process: reports built
from gb2021 report texts read by the real extraction engine, their metric
events, and the alerts the detector finds in them, published to the
session's topics.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from ogi.broker import make_producer, publish
from ogi.elastic import index_name
from ogi.settings import Settings
from ogi.topics import ALERTS, EXTRACTED, METRICS
from schemas import Alert, ExtractedReport
from services.alerts.detector import Detector, replay
from services.alerts.rules import load_rules
from services.extract.engine import extract
from services.extract.events import to_metric_events
from tests.gb2021_samples import consistent, render_gb2021
from tests.support import REPO, Service, wait_for

pytestmark = pytest.mark.integration

NDJSON = REPO / "deploy" / "kibana" / "ogi.ndjson"
NUMERIC = {"double", "float", "half_float", "scaled_float", "long", "integer", "short", "byte"}
AGGREGATABLE = NUMERIC | {"keyword", "boolean", "date", "ip"}
FIELD_TYPES = {  # aggregation type -> mapping types it accepts
    "sum": NUMERIC,
    "avg": NUMERIC,
    "min": NUMERIC | {"date"},
    "max": NUMERIC | {"date"},
    "cardinality": AGGREGATABLE,
    "terms": AGGREGATABLE,
    "histogram": NUMERIC,
    "date_histogram": {"date"},
}
BUCKET_AGGS = {"terms", "histogram", "date_histogram"}


def objects() -> list[dict[str, Any]]:
    return [json.loads(line) for line in NDJSON.read_text("utf-8").splitlines() if line.strip()]


def by_key() -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["type"], o["id"]): o for o in objects()}


def search_source(obj: dict[str, Any]) -> dict[str, Any]:
    return json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])


def data_view_of(obj: dict[str, Any]) -> dict[str, Any]:
    source = search_source(obj)
    [ref] = [r for r in obj["references"] if r["name"] == source["indexRefName"]]
    return by_key()[("index-pattern", ref["id"])]


def kind_of(view: dict[str, Any]) -> str:
    title = view["attributes"]["title"]
    assert title.startswith("ogi-"), f"data view {title} does not use the default ogi- prefix"
    return title[len("ogi-") :]


def panels() -> list[dict[str, Any]]:
    return [o for o in objects() if o["type"] in ("visualization", "search")]


# ---------------------------------------------------------------------------
# static checks


def test_every_line_parses_and_ids_are_unique() -> None:
    lines = [line for line in NDJSON.read_text("utf-8").splitlines() if line.strip()]
    assert lines, "empty ndjson"
    seen = set()
    for n, line in enumerate(lines, 1):
        obj = json.loads(line)  # raises on a bad line
        for key in ("id", "type", "attributes", "references"):
            assert key in obj, f"line {n} lacks {key}"
        assert (obj["type"], obj["id"]) not in seen, f"duplicate {obj['type']} {obj['id']}"
        seen.add((obj["type"], obj["id"]))
        # the embedded JSON strings parse too
        attrs = obj["attributes"]
        for key in ("visState", "uiStateJSON", "panelsJSON", "optionsJSON"):
            if key in attrs:
                json.loads(attrs[key])
        if "kibanaSavedObjectMeta" in attrs:
            json.loads(attrs["kibanaSavedObjectMeta"]["searchSourceJSON"])
    types = {t for t, _ in seen}
    assert {"index-pattern", "visualization", "search", "dashboard"} <= types


def test_data_views_cover_report_metric_and_alert_indices() -> None:
    titles = {o["attributes"]["title"] for o in objects() if o["type"] == "index-pattern"}
    assert titles == {"ogi-reports", "ogi-metrics", "ogi-alerts"}


def test_every_reference_resolves() -> None:
    known = by_key()
    for obj in objects():
        names = [r["name"] for r in obj["references"]]
        assert len(names) == len(set(names)), f"{obj['id']}: duplicate reference names"
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in known, f"{obj['id']}: unresolved {ref}"
        attrs = obj["attributes"]
        if "kibanaSavedObjectMeta" in attrs:
            source = json.loads(attrs["kibanaSavedObjectMeta"]["searchSourceJSON"])
            wanted = [source["indexRefName"]] if "indexRefName" in source else []
            wanted += [
                f["meta"]["indexRefName"] for f in source.get("filter", []) if "indexRefName" in f["meta"]
            ]
            for name in wanted:
                assert name in names, f"{obj['id']}: {name} not among references"
        if obj["type"] == "dashboard":
            for panel in json.loads(attrs["panelsJSON"]):
                ref_name = f"{panel['panelIndex']}:{panel['panelRefName']}"
                assert ref_name in names, f"dashboard panel {panel['panelIndex']} has no reference"
                [ref] = [r for r in obj["references"] if r["name"] == ref_name]
                assert ref["type"] == panel["type"]


def test_dashboard_shows_every_panel() -> None:
    [dash] = [o for o in objects() if o["type"] == "dashboard"]
    shown = {r["id"] for r in dash["references"]}
    assert shown == {o["id"] for o in panels()}


def test_built_file_is_current() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("kibana_build", REPO / "deploy" / "kibana" / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = [json.loads(json.dumps(o, ensure_ascii=False, sort_keys=True)) for o in module.build()]
    assert built == objects(), "ogi.ndjson is stale: run python deploy/kibana/build.py"


# ---------------------------------------------------------------------------
# against the real Elasticsearch


def fields_of(es, settings: Settings, kind: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """field path -> type, from the live mapping (multi-fields included)."""
    body = es.indices.get_mapping(index=index_name(kind, settings)).body
    props = next(iter(body.values()))["mappings"]["properties"]
    out: dict[str, str] = {}

    def walk(prefix: str, node: dict[str, Any]) -> None:
        for name, spec in node.items():
            path = f"{prefix}{name}"
            out[path] = spec.get("type", "object")
            for sub, sub_spec in spec.get("fields", {}).items():
                out[f"{path}.{sub}"] = sub_spec["type"]
            if "properties" in spec:
                walk(path + ".", spec["properties"])

    walk("", props)
    return out


def vis_state(obj: dict[str, Any]) -> dict[str, Any]:
    return json.loads(obj["attributes"]["visState"])


def test_every_field_exists_with_the_right_type(platform: Settings, es) -> None:  # type: ignore[no-untyped-def]
    for view in (o for o in objects() if o["type"] == "index-pattern"):
        fields = fields_of(es, platform, kind_of(view))
        assert fields.get(view["attributes"]["timeFieldName"]) == "date", view["id"]
    for obj in panels():
        fields = fields_of(es, platform, kind_of(data_view_of(obj)))
        for f in search_source(obj).get("filter", []):
            key = f["meta"]["key"]
            assert key in fields and fields[key] != "object", (
                f"{obj['id']}: filter field {key} not in mapping"
            )
            if f["meta"]["type"] in ("phrase", "phrases"):
                assert fields[key] in AGGREGATABLE, f"{obj['id']}: {key} is {fields[key]}, not exact-match"
        if obj["type"] == "visualization":
            for agg in vis_state(obj)["aggs"]:
                field = agg["params"].get("field")
                if agg["type"] == "count":
                    assert field is None
                    continue
                assert field in fields, f"{obj['id']}: {agg['type']} on {field}, not in the mapping"
                assert fields[field] in FIELD_TYPES[agg["type"]], (
                    f"{obj['id']}: {agg['type']} on {field} of type {fields[field]}"
                )
        else:
            for column in obj["attributes"]["columns"]:
                assert column in fields and fields[column] != "object", f"{obj['id']}: column {column}"
            for field, _ in obj["attributes"]["sort"]:
                assert fields.get(field) in AGGREGATABLE, f"{obj['id']}: sort on {field}"


def to_request(obj: dict[str, Any]) -> dict[str, Any]:
    """The query and aggregations Kibana runs for a panel."""
    filters = [f["query"] for f in search_source(obj).get("filter", []) if not f["meta"].get("disabled")]
    request: dict[str, Any] = {"query": {"bool": {"filter": filters}}}
    if obj["type"] == "search":
        request["sort"] = [{f: d} for f, d in obj["attributes"]["sort"]]
        return request
    aggs = [a for a in vis_state(obj)["aggs"] if a.get("enabled", True)]
    metrics = {
        a["id"]: {a["type"]: {"field": a["params"]["field"]}}
        for a in aggs
        if a["type"] not in BUCKET_AGGS and a["type"] != "count"
    }
    buckets = [a for a in aggs if a["type"] in BUCKET_AGGS]
    inner: dict[str, Any] = dict(metrics)
    for agg in reversed(buckets):
        p = agg["params"]
        if agg["type"] == "terms":
            order_by = p.get("orderBy", "_count")
            order_key = "_key" if order_by == "_key" else ("_count" if order_by not in metrics else order_by)
            body: dict[str, Any] = {
                "terms": {
                    "field": p["field"],
                    "size": p.get("size", 10),
                    "order": {order_key: p.get("order", "desc")},
                }
            }
        elif agg["type"] == "histogram":
            body = {"histogram": {"field": p["field"], "interval": p.get("interval", 1)}}
        else:
            body = {"date_histogram": {"field": p["field"], "calendar_interval": p.get("interval", "year")}}
        if inner:
            body["aggs"] = inner
        inner = {agg["id"]: body}
    request["aggs"] = inner
    return request


def leaves(aggs: dict[str, Any], result: dict[str, Any]) -> list[dict[str, Any]]:
    """The innermost buckets of a nested aggregation result."""
    out: list[dict[str, Any]] = []
    for agg_id, spec in aggs.items():
        kind = next(k for k in spec if k != "aggs")
        if kind not in BUCKET_AGGS:
            continue
        for bucket in result[agg_id]["buckets"]:
            sub = spec.get("aggs", {})
            if any(next(k for k in s if k != "aggs") in BUCKET_AGGS for s in sub.values()):
                out.extend(leaves(sub, bucket))
            else:
                out.append(bucket)
    return out


@pytest.fixture(scope="module")
def filled(platform: Settings, es, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Reports from three agencies over four years, through the real engine
    and the real indexer; one refusal spike and one broken identity."""
    now = datetime.now(UTC)
    agencies = {
        "甲市乙区交通运输局": "甲市乙区",
        "甲市乙区民政局": "甲市乙区",
        "甲市乙区人民政府": "甲市乙区",
    }
    reports: list[ExtractedReport] = []
    for agency, region in agencies.items():
        for i, year in enumerate(range(2020, 2024)):
            refused = 30 if (agency == "甲市乙区交通运输局" and year == 2022) else 2 + i
            figures = consistent(
                60 + 5 * i,
                granted=30,
                partially_granted=4,
                refused={"third_party_rights": refused // 2, "process_information": refused - refused // 2},
                unable={"not_held": 8},
                other={"other": 3},
                review=(2, 1, 0, i % 2),
                litigation_direct=(1, 0, 1, 0),
                litigation_after_review=(0, 1, 0, 0),
            )
            if agency == "甲市乙区民政局" and year == 2023:
                figures["applications.total_handled"] += 7  # breaks intake_balance and outcome_sum
            text = render_gb2021(agency, year, figures)
            report = extract(text.encode(), filename=f"{agency}-{year}.txt")
            reports.append(
                report.model_copy(
                    update={
                        "source_url": f"https://example.gov.cn/{agency}/{year}.html",
                        "region": report.region or region,
                    }
                )
            )
    # one report whose application table is an attachment: an incomplete report, not "0 applications"
    text = render_gb2021("甲市乙区财政局", 2023, consistent(10, granted=10))
    heading = text.index("\n", text.index("三、收到和处理政府信息公开申请情况"))
    text = text[: heading + 1] + "（统计表见附件）\n" + text[text.index("四、政府信息公开行政复议") :]
    report = extract(text.encode(), filename="甲市乙区财政局-2023.txt")
    reports.append(
        report.model_copy(update={"source_url": "https://example.gov.cn/甲市乙区财政局/2023.html"})
    )
    alerts = replay(Detector(load_rules(platform)), reports, now)
    assert {"refusal_spike", "broken_identity", "incomplete_report"} <= {a.rule for a in alerts}
    metrics = [m for r in reports for m in to_metric_events(r)]
    producer = make_producer(platform)
    futures = [publish(producer, EXTRACTED, r, platform) for r in reports]
    futures += [publish(producer, METRICS, m, platform) for m in metrics]
    futures += [publish(producer, ALERTS, a, platform) for a in alerts]
    for f in futures:
        f.get(timeout=60)
    producer.close()

    indexer = Service("index", platform, tmp_path_factory.mktemp("kibana-logs"))
    try:

        def indexed() -> bool:
            ok = True
            for kind, wanted in (
                ("reports", {r.report_id for r in reports}),
                ("alerts", {a.alert_id for a in alerts}),
            ):
                es.indices.refresh(index=index_name(kind, platform))
                n = es.count(index=index_name(kind, platform), query={"ids": {"values": sorted(wanted)}})[
                    "count"
                ]
                ok = ok and n == len(wanted)
            es.indices.refresh(index=index_name("metrics", platform))
            ids = sorted({m.event_id for m in metrics})
            n = es.count(index=index_name("metrics", platform), query={"ids": {"values": ids}})["count"]
            return ok and n == len(ids)

        wait_for(indexed, 180, "reports, metrics and alerts indexed", indexer.log, [indexer])
    finally:
        indexer.stop()
    yield {"reports": reports, "alerts": alerts, "metrics": metrics}


@pytest.mark.parametrize("panel_id", [o["id"] for o in panels()])
def test_each_panel_aggregation_returns_data(
    panel_id: str, filled: dict[str, Any], platform: Settings, es
) -> None:  # type: ignore[no-untyped-def]
    [obj] = [o for o in panels() if o["id"] == panel_id]
    index = index_name(kind_of(data_view_of(obj)), platform)
    request = to_request(obj)
    if obj["type"] == "search":
        resp = es.search(index=index, query=request["query"], sort=request["sort"], size=50)
        hits = resp["hits"]["hits"]
        assert hits, f"{panel_id}: no documents"
        columns = obj["attributes"]["columns"]
        assert any(all(c in h["_source"] for c in ("severity", "rule", "title")) for h in hits)
        assert set(columns) - {"report_url", "region"} <= set(hits[0]["_source"])
        return
    resp = es.search(index=index, query=request["query"], aggs=request["aggs"], size=0)
    assert resp["hits"]["total"]["value"] > 0, f"{panel_id}: its filters match nothing"
    buckets = leaves(request["aggs"], resp["aggregations"])
    assert buckets, f"{panel_id}: no buckets"
    metric_ids = [a["id"] for a in vis_state(obj)["aggs"] if a["type"] not in BUCKET_AGGS | {"count"}]
    for mid in metric_ids:
        values = [b[mid]["value"] for b in buckets]
        assert any(v is not None for v in values), f"{panel_id}: metric {mid} empty"


def test_panels_show_what_the_reports_say(filled: dict[str, Any], platform: Settings, es) -> None:  # type: ignore[no-untyped-def]
    """Not just "some data": the refusal-rate panel ranks the spiking agency
    first and the broken-identity table lists the broken report."""
    [rate] = [o for o in panels() if o["id"] == "ogi-refusal-rate-by-agency"]
    request = to_request(rate)
    request["query"]["bool"]["filter"].append(
        {"terms": {"agency": sorted({r.agency for r in filled["reports"]})}}
    )
    resp = es.search(
        index=index_name("metrics", platform), query=request["query"], aggs=request["aggs"], size=0
    )
    top = resp["aggregations"]["2"]["buckets"][0]["key"]
    assert top == "甲市乙区交通运输局"

    [broken] = [o for o in panels() if o["id"] == "ogi-broken-identity-reports"]
    request = to_request(broken)
    resp = es.search(
        index=index_name("reports", platform), query=request["query"], aggs=request["aggs"], size=0
    )
    rows = {
        (a["key"], y["key"], c["key"])
        for a in resp["aggregations"]["2"]["buckets"]
        for y in a["3"]["buckets"]
        for c in y["4"]["buckets"]
    }
    assert ("甲市乙区民政局", 2023, "intake_balance") in rows
    alerts: list[Alert] = filled["alerts"]
    assert any(a.rule == "broken_identity" and a.agency == "甲市乙区民政局" for a in alerts)

    [incomplete] = [o for o in panels() if o["id"] == "ogi-incomplete-reports"]
    request = to_request(incomplete)
    resp = es.search(
        index=index_name("reports", platform), query=request["query"], aggs=request["aggs"], size=0
    )
    rows = {
        (a["key"], y["key"], c["key"])
        for a in resp["aggregations"]["2"]["buckets"]
        for y in a["3"]["buckets"]
        for c in y["4"]["buckets"]
    }
    assert rows == {("甲市乙区财政局", 2023, "applications")}
    assert any(a.rule == "incomplete_report" and a.agency == "甲市乙区财政局" for a in alerts)
