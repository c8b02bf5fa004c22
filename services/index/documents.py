"""How each topic's records become Elasticsearch documents: which index,
which deterministic id, which source. Writing the same record twice
overwrites one document, so replays never duplicate."""

from __future__ import annotations

import hashlib
from typing import Any

from ogi.elastic import index_name
from ogi.settings import Settings
from ogi.topics import ALERTS, DEADLETTER, EXTRACTED, METRICS, TopicSpec
from schemas import Alert, DeadLetter, ExtractedReport, MetricEvent, UndecodableRecord, decode
from services.index.errors import DocumentRejected
from services.index.store import Action


def report_doc(r: ExtractedReport) -> tuple[str, dict[str, Any]]:
    source = r.model_dump(mode="json")
    source["failed_checks"] = r.failed_checks
    source["metric_count"] = len(r.metrics)
    return r.report_id, source


def metric_doc(m: MetricEvent) -> tuple[str, bytes]:
    # the document is the event as it is: serialised once, by pydantic, never as a dict
    # (nearly every document the indexer writes is a metric event)
    return m.event_id, m.model_dump_json().encode()


def alert_doc(a: Alert) -> tuple[str, dict[str, Any]]:
    source = a.model_dump(mode="json", exclude={"bundled"})  # digests never reach the alerts topic
    source["severity_rank"] = a.severity.rank
    return a.alert_id, source


def deadletter_doc(d: DeadLetter) -> tuple[str, dict[str, Any]]:
    source = d.model_dump(mode="json", exclude={"original"})
    source["original_size"] = len(d.original)
    source["original_sha256"] = hashlib.sha256(d.original).hexdigest()
    doc_id = hashlib.sha256(
        f"{d.stage.value}|{d.source_topic}|{d.partition}|{d.offset}|{source['original_sha256']}".encode()
    ).hexdigest()[:40]
    return doc_id, source


#: topic -> (model, index kind, converter)
ROUTES: dict[str, tuple[TopicSpec, str, Any]] = {
    EXTRACTED.suffix: (EXTRACTED, "reports", report_doc),
    METRICS.suffix: (METRICS, "metrics", metric_doc),
    ALERTS.suffix: (ALERTS, "alerts", alert_doc),
    DEADLETTER.suffix: (DEADLETTER, "deadletters", deadletter_doc),
}


def to_action(topic: str, value: bytes, settings: Settings) -> Action:
    """The write for one consumed record; ``DocumentRejected`` if the record
    cannot be decoded."""
    suffix = topic.removeprefix(settings.topic_prefix)
    if suffix not in ROUTES:
        raise DocumentRejected(f"no index for topic {topic!r}")
    spec, kind, convert = ROUTES[suffix]
    try:
        model = decode(spec.model, value)
    except UndecodableRecord as exc:
        raise DocumentRejected(str(exc)) from exc
    doc_id, source = convert(model)
    return Action(index_name(kind, settings), doc_id, source)
