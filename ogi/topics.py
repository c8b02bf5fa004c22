"""The topic table: every topic's name, partitioning, key, value model and
configuration, in one place. Agents, producers, consumers and ``ogi setup``
read it; nothing else spells a topic name.

Keys: raw documents, extracted reports and metric events are keyed by
agency, so one agency's reports stay in order on one partition (the alert
detector relies on that to see an agency's years in order).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from ogi.settings import Settings, get_settings
from schemas import Alert, DeadLetter, ExtractedReport, MetricEvent, RawReport
from schemas.events import (
    AgencyHistory,
    Delivery,
    EmittedAlert,
    LeaderLease,
    SeenDocument,
    SourceRecord,
    SourceStatus,
    Subscription,
)

DAY_MS = 24 * 3600 * 1000


def min_insync_replicas(replication: int) -> int:
    """Replicas that must have a record before acks=all succeeds: 2 of 3 (a
    record survives the loss of any one broker, and writes go on while one
    is down); 1 when there are fewer than 3 replicas (2 of 2 would stop every
    write while one broker is down)."""
    return 2 if replication >= 3 else 1


@dataclass(frozen=True)
class TopicSpec:
    suffix: str
    model: type[BaseModel]
    key: str
    description: str
    compacted: bool = False
    large_records: bool = False
    retention_ms: int = -1
    extra_config: dict[str, str] = field(default_factory=dict)

    def name(self, settings: Settings | None = None) -> str:
        return f"{(settings or get_settings()).topic_prefix}{self.suffix}"

    def config(self, settings: Settings | None = None) -> dict[str, str]:
        settings = settings or get_settings()
        cfg = {
            "cleanup.policy": "compact" if self.compacted else "delete",
            "retention.ms": str(self.retention_ms),
        }
        if self.large_records:
            cfg["max.message.bytes"] = str(settings.max_message_bytes)
        cfg.update(self.extra_config)
        return cfg


RAW = TopicSpec(
    "raw.reports",
    RawReport,
    key="agency_id",
    description="every fetched document, bytes included, as the site served it",
    large_records=True,
    # keep raw documents for 30 days: long enough to re-extract after a fix
    retention_ms=30 * DAY_MS,
)
EXTRACTED = TopicSpec(
    "reports.extracted",
    ExtractedReport,
    key="agency_key",
    description="one extracted report per document: metadata, metrics, checks, provenance",
)
METRICS = TopicSpec(
    "metrics",
    MetricEvent,
    key="agency_key",
    description="one event per report x metric x applicant type",
)
ALERTS = TopicSpec(
    "alerts",
    Alert,
    key="alert_id",
    description="findings; compacted so the latest revision of each alert is kept",
    compacted=True,
)
DEADLETTER = TopicSpec(
    "deadletter",
    DeadLetter,
    key="stage",
    description="records a stage could not process, whole, with the reason",
    large_records=True,
)
# The monitor's memory: compacted, so the latest record per key survives
# forever and a restarted (or second) monitor rebuilds its state by reading
# the topic from the start (services/ingest/state.py explains the choice).
INGEST_SEEN = TopicSpec(
    "ingest.seen",
    SeenDocument,
    key="url",
    description="what the monitor last saw and published at each URL (etag, last-modified, sha256)",
    compacted=True,
)
INGEST_STATUS = TopicSpec(
    "ingest.status",
    SourceStatus,
    key="agency_id",
    description="per source: last poll, last success, last error, reports found (ogi status)",
    compacted=True,
)
INGEST_SOURCES = TopicSpec(
    "ingest.sources",
    SourceRecord,
    key="id",
    description="sources added with `ogi sources import` and the columns discovered for them",
    compacted=True,
)

# --- alerts: detector table changelogs (Faust tables; the table names the
# topic explicitly so the topic table, not Faust, creates it), subscriptions
# and delivery state. All compacted: the latest value per key is the state.
DETECT_HISTORY = TopicSpec(
    "detect.history-changelog",
    AgencyHistory,
    key="agency_key",
    description="detector table: each agency's figures by year (co-partitioned with reports.extracted)",
    compacted=True,
)
DETECT_EMITTED = TopicSpec(
    "detect.emitted-changelog",
    EmittedAlert,
    key="alert_id",
    description="detector table: fingerprint and revision of every alert emitted",
    compacted=True,
)
SUBSCRIPTIONS = TopicSpec(
    "alerts.subscriptions",
    Subscription,
    key="subscription_id",
    description="alert subscriptions (filter + destination); a tombstone removes one",
    compacted=True,
)
DELIVERIES = TopicSpec(
    "alerts.deliveries",
    Delivery,
    key="delivery_key",
    description="per subscription x sink x alert: pending / delivered / failed, with attempts",
    compacted=True,
)
# Leader election (ogi/leader.py): instances join a consumer group on this
# topic and the holder of partition 0 leads; the records only say who led when.
LEASES = TopicSpec(
    "leases",
    LeaderLease,
    key="group",
    description="leader election groups of the detector and the deliverer; records: who became leader, when",
    compacted=True,
)

TOPICS: dict[str, TopicSpec] = {
    "raw": RAW,
    "extracted": EXTRACTED,
    "metrics": METRICS,
    "alerts": ALERTS,
    "deadletter": DEADLETTER,
    "ingest_seen": INGEST_SEEN,
    "ingest_status": INGEST_STATUS,
    "ingest_sources": INGEST_SOURCES,
    "detect_history": DETECT_HISTORY,
    "detect_emitted": DETECT_EMITTED,
    "subscriptions": SUBSCRIPTIONS,
    "deliveries": DELIVERIES,
    "leases": LEASES,
}
