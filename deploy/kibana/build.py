"""Write ``ogi.ndjson``: the Kibana saved objects (data views, legacy
aggregation-based visualizations, a saved search and a dashboard).

Legacy agg-based visualizations are used on purpose: their ``visState``
names every aggregation and field explicitly, so
``tests/integration/test_kibana_saved_objects.py`` can check each field
against the real Elasticsearch mapping and run the same aggregation. Kibana
8.x imports them as they are (and can convert them to Lens in the UI).

Index names use the default prefix ``ogi-``; for another prefix, replace
``ogi-`` in the data view titles (see README.md).

    python deploy/kibana/build.py   # rewrites deploy/kibana/ogi.ndjson
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.catalogue import OUTCOME_KEYS, PARENTS

HERE = Path(__file__).resolve().parent
VERSION = "8.19.7"
INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"

DATA_VIEWS = {
    # id: (title, time field, display name)
    "ogi-reports": ("ogi-reports", "extracted_at", "ogi reports"),
    "ogi-metrics": ("ogi-metrics", "extracted_at", "ogi metrics"),
    "ogi-alerts": ("ogi-alerts", "updated_at", "ogi alerts"),
}

OUTCOMES = list(OUTCOME_KEYS)
REASONS = PARENTS["applications.refused.total"]
REVIEW_LITIGATION = [
    f"{p}.{o}"
    for p in ("review", "litigation.direct", "litigation.after_review")
    for o in ("upheld", "corrected", "other", "pending")
]


def phrase(key: str, value: str) -> dict[str, Any]:
    return {
        "meta": {
            "alias": None,
            "negate": False,
            "disabled": False,
            "type": "phrase",
            "key": key,
            "params": {"query": value},
        },
        "query": {"match_phrase": {key: value}},
        "$state": {"store": "appState"},
    }


def phrases(key: str, values: list[str]) -> dict[str, Any]:
    return {
        "meta": {
            "alias": None,
            "negate": False,
            "disabled": False,
            "type": "phrases",
            "key": key,
            "params": values,
            "value": ", ".join(values),
        },
        "query": {
            "bool": {"should": [{"match_phrase": {key: v}} for v in values], "minimum_should_match": 1}
        },
        "$state": {"store": "appState"},
    }


def exists(key: str) -> dict[str, Any]:
    return {
        "meta": {
            "alias": None,
            "negate": False,
            "disabled": False,
            "type": "exists",
            "key": key,
            "value": "exists",
        },
        "query": {"exists": {"field": key}},
        "$state": {"store": "appState"},
    }


def search_source(filters: list[dict[str, Any]]) -> tuple[str, list[dict[str, str]], str]:
    """searchSourceJSON with index and filter indices as references."""
    refs = []
    out = []
    for i, f in enumerate(filters):
        f = json.loads(json.dumps(f))
        f["meta"]["indexRefName"] = f"kibanaSavedObjectMeta.searchSourceJSON.filter[{i}].meta.index"
        out.append(f)
        refs.append(f["meta"]["indexRefName"])
    body = {"query": {"query": "", "language": "kuery"}, "filter": out, "indexRefName": INDEX_REF}
    return json.dumps(body, ensure_ascii=False), refs, INDEX_REF


def xy_params(kind: str, horizontal: bool = False) -> dict[str, Any]:
    cat_pos, val_pos = ("left", "bottom") if horizontal else ("bottom", "left")
    return {
        "type": kind,
        "grid": {"categoryLines": False},
        "addTooltip": True,
        "addLegend": True,
        "legendPosition": "right",
        "times": [],
        "addTimeMarker": False,
        "truncateLegend": True,
        "maxLegendLines": 1,
        "thresholdLine": {"show": False, "value": 10, "width": 1, "style": "full", "color": "#E7664C"},
        "labels": {"show": False},
        "palette": {"type": "palette", "name": "default"},
        "categoryAxes": [
            {
                "id": "CategoryAxis-1",
                "type": "category",
                "position": cat_pos,
                "show": True,
                "style": {},
                "scale": {"type": "linear"},
                "labels": {"show": True, "filter": True, "truncate": 100},
                "title": {},
            }
        ],
        "valueAxes": [
            {
                "id": "ValueAxis-1",
                "name": "LeftAxis-1",
                "type": "value",
                "position": val_pos,
                "show": True,
                "style": {},
                "scale": {"type": "linear", "mode": "normal"},
                "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100},
                "title": {"text": ""},
            }
        ],
        "seriesParams": [
            {
                "show": True,
                "type": "histogram",
                "mode": "stacked",
                "data": {"label": "", "id": "1"},
                "valueAxis": "ValueAxis-1",
                "drawLinesBetweenPoints": True,
                "lineWidth": 2,
                "showCircles": True,
                "circlesRadius": 1,
            }
        ],
    }


def terms(
    agg_id: str,
    field: str,
    schema: str,
    size: int = 10,
    order_by: str = "1",
    order: str = "desc",
    label: str = "",
) -> dict[str, Any]:
    return {
        "id": agg_id,
        "enabled": True,
        "type": "terms",
        "schema": schema,
        "params": {
            "field": field,
            "orderBy": order_by,
            "order": order,
            "size": size,
            "otherBucket": False,
            "otherBucketLabel": "Other",
            "missingBucket": False,
            "missingBucketLabel": "Missing",
            "customLabel": label,
        },
    }


def metric(agg_id: str, kind: str, field: str | None = None, label: str = "") -> dict[str, Any]:
    params: dict[str, Any] = {"customLabel": label} if label else {}
    if field:
        params["field"] = field
    return {"id": agg_id, "enabled": True, "type": kind, "schema": "metric", "params": params}


def _reports_by(
    vid: str, title: str, description: str, *, field: str, size: int, label: str
) -> dict[str, Any]:
    """A table of the reports that have ``field``, by agency, year and the field's values."""
    return {
        "id": vid,
        "title": title,
        "description": description,
        "index": "ogi-reports",
        "filters": [exists(field)],
        "type": "table",
        "params": {
            "perPage": 20,
            "showPartialRows": False,
            "showMetricsAtAllLevels": False,
            "showTotal": False,
            "totalFunc": "sum",
            "percentageCol": "",
            "autoFitRowToContent": False,
        },
        "aggs": [
            metric("1", "count", None, "reports"),
            {**terms("2", "agency", "bucket", size=100, label="agency")},
            {**terms("3", "year", "bucket", size=30, order_by="_key", order="desc", label="year")},
            {**terms("4", field, "bucket", size=size, label=label)},
        ],
    }


VISUALIZATIONS: list[dict[str, Any]] = [
    {
        "id": "ogi-requests-outcomes-by-year",
        "title": "Requests and outcomes by reporting year",
        "description": "Sum over agencies of new requests and of each outcome (总计 column), per reporting year.",
        "index": "ogi-metrics",
        "filters": [
            phrase("applicant", "total"),
            phrases("metric", ["applications.new_received", *OUTCOMES]),
        ],
        "type": "histogram",
        "params": xy_params("histogram"),
        "aggs": [
            metric("1", "sum", "value", "requests"),
            terms("2", "year", "segment", size=30, order_by="_key", order="asc", label="year"),
            terms("3", "metric", "group", size=10, label="metric"),
        ],
    },
    {
        "id": "ogi-refusal-rate-by-agency",
        "title": "Refusal rate by agency",
        "description": "rates.refusal = refused / total handled, averaged over the selected years; highest first.",
        "index": "ogi-metrics",
        "filters": [phrase("metric", "rates.refusal"), phrase("applicant", "total")],
        "type": "horizontal_bar",
        "params": xy_params("histogram", horizontal=True),
        "aggs": [
            metric("1", "avg", "value", "refusal rate"),
            terms("2", "agency", "segment", size=25, label="agency"),
        ],
    },
    {
        "id": "ogi-refusal-reasons",
        "title": "Refusal reasons",
        "description": "不予公开 by reason (sum over agencies and years).",
        "index": "ogi-metrics",
        "filters": [phrase("applicant", "total"), phrases("metric", REASONS)],
        "type": "pie",
        "params": {
            "type": "pie",
            "addTooltip": True,
            "addLegend": True,
            "legendPosition": "right",
            "isDonut": True,
            "palette": {"type": "palette", "name": "default"},
            "labels": {"show": True, "values": True, "last_level": True, "truncate": 100},
        },
        "aggs": [
            metric("1", "sum", "value", "refusals"),
            terms("2", "metric", "segment", size=10, label="reason"),
        ],
    },
    {
        "id": "ogi-review-litigation-outcomes",
        "title": "Review and litigation outcomes",
        "description": "行政复议 and 行政诉讼 outcomes (维持 / 纠正 / 其他 / 尚未审结) per reporting year.",
        "index": "ogi-metrics",
        "filters": [phrase("applicant", "total"), phrases("metric", REVIEW_LITIGATION)],
        "type": "histogram",
        "params": xy_params("histogram"),
        "aggs": [
            metric("1", "sum", "value", "cases"),
            terms("2", "metric", "segment", size=12, order_by="_key", order="asc", label="outcome"),
            terms("3", "year", "group", size=30, order_by="_key", order="asc", label="year"),
        ],
    },
    _reports_by(
        "ogi-broken-identity-reports",
        "Reports that break their own identities (勾稽)",
        "Reports whose tables fail a check, by agency, year and failed check.",
        field="failed_checks",
        size=20,
        label="failed check",
    ),
    _reports_by(
        "ogi-incomplete-reports",
        "Incomplete reports: sections printed but not read",
        "Reports with a template section (proactive, applications, review_litigation, fees) whose "
        "heading or table is in the document but whose figures could not be read. Their figures "
        "are missing from the other panels, not zero.",
        field="incomplete_sections",
        size=10,
        label="section not read",
    ),
    {
        "id": "ogi-alerts-by-rule-severity",
        "title": "Alerts by rule and severity",
        "description": "Open findings of the detector (one document per alert, latest revision; "
        "resolved ones are filtered out: toggle the status filter to see them).",
        "index": "ogi-alerts",
        "filters": [phrase("status", "open")],
        "type": "histogram",
        "params": xy_params("histogram"),
        "aggs": [
            metric("1", "count", None, "alerts"),
            terms("2", "rule", "segment", size=10, label="rule"),
            terms("3", "severity", "group", size=3, label="severity"),
        ],
    },
]

SAVED_SEARCHES = [
    {
        "id": "ogi-alert-list",
        "title": "Alert list",
        "description": "Latest alerts, newest first, open and resolved (the status column says which).",
        "index": "ogi-alerts",
        "filters": [],
        "columns": [
            "status",
            "severity",
            "rule",
            "agency",
            "region",
            "year",
            "title",
            "revision",
            "report_url",
        ],
        "sort": [["updated_at", "desc"]],
    },
    {
        "id": "ogi-open-alert-list",
        "title": "Open alerts",
        "description": "Alerts whose finding still holds, newest first (negate the status filter for resolved).",
        "index": "ogi-alerts",
        "filters": [phrase("status", "open")],
        "columns": ["severity", "rule", "agency", "region", "year", "title", "revision", "first_seen"],
        "sort": [["updated_at", "desc"]],
    },
]


def data_view(view_id: str) -> dict[str, Any]:
    title, time_field, name = DATA_VIEWS[view_id]
    return {
        "attributes": {
            "fieldAttrs": "{}",
            "fieldFormatMap": "{}",
            "fields": "[]",
            "name": name,
            "runtimeFieldMap": "{}",
            "sourceFilters": "[]",
            "timeFieldName": time_field,
            "title": title,
            "typeMeta": "{}",
            "allowHidden": False,
        },
        "coreMigrationVersion": "8.8.0",
        "id": view_id,
        "managed": False,
        "references": [],
        "type": "index-pattern",
        "typeMigrationVersion": "8.0.0",
    }


def visualization(v: dict[str, Any]) -> dict[str, Any]:
    source, filter_refs, index_ref = search_source(v["filters"])
    refs = [{"id": v["index"], "name": index_ref, "type": "index-pattern"}]
    refs += [{"id": v["index"], "name": r, "type": "index-pattern"} for r in filter_refs]
    vis_state = {"title": v["title"], "type": v["type"], "aggs": v["aggs"], "params": v["params"]}
    return {
        "attributes": {
            "description": v["description"],
            "kibanaSavedObjectMeta": {"searchSourceJSON": source},
            "title": v["title"],
            "uiStateJSON": "{}",
            "version": 1,
            "visState": json.dumps(vis_state, ensure_ascii=False),
        },
        "coreMigrationVersion": "8.8.0",
        "id": v["id"],
        "managed": False,
        "references": refs,
        "type": "visualization",
        "typeMigrationVersion": "8.5.0",
    }


def saved_search(s: dict[str, Any]) -> dict[str, Any]:
    source, filter_refs, index_ref = search_source(s["filters"])
    refs = [{"id": s["index"], "name": index_ref, "type": "index-pattern"}]
    refs += [{"id": s["index"], "name": r, "type": "index-pattern"} for r in filter_refs]
    return {
        "attributes": {
            "columns": s["columns"],
            "description": s["description"],
            "grid": {},
            "hideChart": False,
            "isTextBasedQuery": False,
            "kibanaSavedObjectMeta": {"searchSourceJSON": source},
            "sort": s["sort"],
            "title": s["title"],
        },
        "coreMigrationVersion": "8.8.0",
        "id": s["id"],
        "managed": False,
        "references": refs,
        "type": "search",
        "typeMigrationVersion": "8.0.0",
    }


def dashboard() -> dict[str, Any]:
    panels, refs = [], []
    layout = [  # (object id, type, x, y, w, h)
        ("ogi-requests-outcomes-by-year", "visualization", 0, 0, 24, 15),
        ("ogi-refusal-rate-by-agency", "visualization", 24, 0, 24, 15),
        ("ogi-refusal-reasons", "visualization", 0, 15, 16, 15),
        ("ogi-review-litigation-outcomes", "visualization", 16, 15, 32, 15),
        ("ogi-broken-identity-reports", "visualization", 0, 30, 24, 15),
        ("ogi-alerts-by-rule-severity", "visualization", 24, 30, 24, 15),
        ("ogi-incomplete-reports", "visualization", 0, 45, 48, 15),
        ("ogi-open-alert-list", "search", 0, 60, 48, 18),
        ("ogi-alert-list", "search", 0, 78, 48, 18),
    ]
    for i, (oid, kind, x, y, w, h) in enumerate(layout, start=1):
        panels.append(
            {
                "version": VERSION,
                "type": kind,
                "gridData": {"x": x, "y": y, "w": w, "h": h, "i": str(i)},
                "panelIndex": str(i),
                "embeddableConfig": {"enhancements": {}},
                "panelRefName": f"panel_{i}",
            }
        )
        refs.append({"name": f"{i}:panel_{i}", "type": kind, "id": oid})
    return {
        "attributes": {
            "description": "Annual reports on open government information: requests, outcomes, "
            "refusals, review and litigation, broken identities, incomplete reports and "
            "alerts.",
            "kibanaSavedObjectMeta": {
                "searchSourceJSON": json.dumps({"query": {"query": "", "language": "kuery"}, "filter": []})
            },
            "optionsJSON": json.dumps(
                {
                    "useMargins": True,
                    "syncColors": False,
                    "syncCursor": True,
                    "syncTooltips": False,
                    "hidePanelTitles": False,
                }
            ),
            "panelsJSON": json.dumps(panels, ensure_ascii=False),
            "refreshInterval": {"pause": True, "value": 0},
            "timeRestore": True,
            "timeFrom": "now-15y",
            "timeTo": "now",
            "title": "ogi — open government information reports",
            "version": 1,
        },
        "coreMigrationVersion": "8.8.0",
        "id": "ogi-overview",
        "managed": False,
        "references": refs,
        "type": "dashboard",
        "typeMigrationVersion": "8.9.0",
    }


def build() -> list[dict[str, Any]]:
    return (
        [data_view(v) for v in DATA_VIEWS]
        + [visualization(v) for v in VISUALIZATIONS]
        + [saved_search(s) for s in SAVED_SEARCHES]
        + [dashboard()]
    )


def main() -> None:
    lines = [json.dumps(obj, ensure_ascii=False, sort_keys=True) for obj in build()]
    (HERE / "ogi.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} saved objects to {HERE / 'ogi.ndjson'}")


if __name__ == "__main__":
    main()
