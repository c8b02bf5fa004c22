"""Pydantic models of every event that crosses a topic or lands in an index.

The data path and the model each hop carries::

    ingest  --RawReport-------->  ogi.raw.reports
    extract --ExtractedReport-->  ogi.reports.extracted
            --MetricEvent------>  ogi.metrics
    detect  --Alert------------>  ogi.alerts
    any     --DeadLetter------->  ogi.deadletter

Every model carries ``schema_version``; a consumer that meets a newer major
version than it knows sends the record to the dead-letter topic instead of
guessing. Metric keys follow ``../shared/metrics.md`` (the catalogue): a key
the report does not state is absent, never 0.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, date, datetime
from enum import Enum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationError,
)

SCHEMA_VERSION = 1
_M = TypeVar("_M", bound=BaseModel)


def _b64decode(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return base64.b64decode(value, validate=True)
    raise ValueError("expected bytes or a base64 string")


# Raw bytes travel as standard base64 in JSON (pydantic's default bytes
# serialisation is UTF-8 text, which corrupts binary documents).
Base64Bytes = Annotated[
    bytes,
    PlainValidator(_b64decode),
    PlainSerializer(lambda b: base64.b64encode(b).decode("ascii"), return_type=str, when_used="json"),
]


class UndecodableRecord(ValueError):
    """A record that is not a valid instance of the model its topic carries,
    or that was written by a newer schema version than this code knows."""


def decode(model: type[_M], value: bytes) -> _M:
    """Validate one record's JSON against ``model``; raises
    ``UndecodableRecord`` with the reason."""
    try:
        obj = model.model_validate_json(value)
    except ValidationError as exc:
        raise UndecodableRecord(
            f"not a valid {model.__name__}: {exc.error_count()} errors: {exc.errors()[:3]}"
        ) from exc
    version = getattr(obj, "schema_version", SCHEMA_VERSION)
    if version > SCHEMA_VERSION:
        raise UndecodableRecord(f"{model.__name__} schema_version {version} is newer than {SCHEMA_VERSION}")
    return obj


def utcnow() -> datetime:
    return datetime.now(UTC)


def stable_id(*parts: object) -> str:
    """A deterministic document id: the same inputs always give the same id,
    so re-processing a record overwrites its document instead of adding one."""
    joined = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:40]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")

    schema_version: int = SCHEMA_VERSION


class Template(str, Enum):
    """Report shapes, as the catalogue defines them."""

    GB2021 = "gb2021"
    GB2019 = "gb2019"
    FREETEXT = "freetext"
    NONE = "none"


class Script(str, Enum):
    SIMPLIFIED = "simplified"
    TRADITIONAL = "traditional"


# ---------------------------------------------------------------------------
# ingest -> extract


class RawReport(_Event):
    """One fetched document, exactly as the site served it."""

    agency_id: str = Field(description="registry id of the source agency, or 'file' for ad-hoc input")
    agency_name: str | None = Field(None, description="agency name from the registry, if known")
    region: str | None = None
    level: str | None = None
    source_url: str = Field(description="where the bytes came from (file:// for local files)")
    page_url: str | None = Field(None, description="article page that linked the attachment")
    title: str | None = Field(None, description="link or page title the monitor saw")
    published_at: date | None = Field(None, description="publication date the site gave")
    year: int | None = Field(None, description="reporting year the link or page title gave")
    fetched_at: datetime = Field(default_factory=utcnow)
    content_type: str | None = Field(None, description="sniffed media type, e.g. application/pdf")
    encoding: str | None = Field(None, description="declared or detected text encoding")
    filename: str | None = None
    sha256: str = Field(description="hex sha256 of content")
    size: int = Field(ge=0)
    content: Base64Bytes

    @classmethod
    def from_bytes(cls, content: bytes, *, sha256: str | None = None, **fields: Any) -> RawReport:
        """``sha256``: the content's hash when the caller has it already
        (a 20 MB document is hashed once, not at every step)."""
        return cls(
            content=content,
            sha256=sha256 or hashlib.sha256(content).hexdigest(),
            size=len(content),
            **fields,
        )

    @property
    def report_id(self) -> str:
        """Id of the report this document becomes: one per distinct content."""
        return self.sha256[:40]


# ---------------------------------------------------------------------------
# extract -> index / detect


class Provenance(BaseModel):
    """Where in the document one figure was read."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["table", "text"]
    page: int | None = Field(None, description="1-based page for paged formats")
    table: int | None = Field(None, description="0-based table index in the document")
    row: str | None = Field(None, description="row label as printed")
    column: str | None = Field(None, description="column label or applicant column")
    span: tuple[int, int] | None = Field(None, description="character span in the normalised text")
    text: str | None = Field(None, description="the cell or sentence the figure came from")
    via: Literal["ocr"] | None = Field(
        None, description="'ocr' when read by OCR from a page image (a scan); absent for a text layer"
    )
    confidence: float | None = Field(
        None,
        ge=0,
        le=100,
        description="OCR only: the lowest word confidence (0-100) of the cells or sentence read",
    )


class ExtractedReport(_Event):
    """Everything read from one document. Metric keys follow the catalogue."""

    report_id: str = Field(description="deterministic id: the content sha256 prefix")
    file: str | None = Field(None, description="path or filename given to the extractor")
    agency: str | None = Field(None, description="agency name as printed, simplified")
    agency_id: str | None = None
    region: str | None = Field(
        None, description="administrative path from the province down (浙江省杭州市拱墅区)"
    )
    level: str | None = None
    year: int | None = Field(None, description="reporting year, not the publication year")
    template: Template = Template.NONE
    script: Script | None = None
    format: str | None = Field(None, description="reader used: html, pdf, docx, doc, wps, text")
    source_url: str | None = None
    published_at: date | None = None
    content_sha256: str | None = None
    extracted_at: datetime = Field(default_factory=utcnow)
    metrics: dict[str, float] = Field(default_factory=dict)
    breakdown: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="key -> applicant column -> value"
    )
    checks: dict[str, bool] = Field(default_factory=dict)
    provenance: dict[str, Provenance] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    incomplete_sections: list[str] = Field(
        default_factory=list,
        description="template sections (proactive, applications, review_litigation, fees) printed in the "
        "document whose figures could not be read: absent, never zero; the warnings say why",
    )

    @property
    def failed_checks(self) -> list[str]:
        return sorted(name for name, ok in self.checks.items() if not ok)

    @property
    def agency_key(self) -> str:
        """Who the report is about: the printed agency (a registry source may
        host several agencies' reports), else the source, else the document."""
        return self.agency or self.agency_id or f"report:{self.report_id}"

    @property
    def series_key(self) -> str:
        """Identity of the agency-year this document reports on; documents
        without both fall back to their own id so they never merge."""
        if self.agency and self.year:
            return f"{self.agency}|{self.year}"
        return f"report:{self.report_id}"


class MetricEvent(_Event):
    """One Elasticsearch-friendly record per report x metric x applicant type.

    ``event_id`` is keyed by (agency, year, metric, applicant), not by
    document: the HTML page and the PDF attachment of one report, or a
    corrected re-upload, converge on one value instead of double-counting.
    """

    event_id: str
    report_id: str
    agency: str | None
    agency_id: str | None
    region: str | None = None
    level: str | None = None
    year: int | None
    template: Template
    metric: str = Field(description="catalogue key, e.g. applications.refused.total")
    section: str = Field(description="first part of the key: applications, review, ...")
    applicant: str = Field("total", description="applicant column; 'total' for the 总计 column")
    value: float
    derived: bool = Field(False, description="computed (rates.*), not read")
    source_url: str | None = None
    published_at: date | None = None
    extracted_at: datetime
    failed_checks: list[str] = Field(default_factory=list)
    incomplete_sections: list[str] = Field(
        default_factory=list, description="the report's sections printed but not read (ExtractedReport)"
    )
    provenance: str | None = Field(None, description="short human-readable location")

    @property
    def agency_key(self) -> str:
        return self.agency or self.agency_id or f"report:{self.report_id}"

    @staticmethod
    def make_id(series_key: str, metric: str, applicant: str) -> str:
        return stable_id("metric", series_key, metric, applicant)


# ---------------------------------------------------------------------------
# detect -> index / subscribers


class Severity(str, Enum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return ["info", "warning", "critical"].index(self.value)


class AlertStatus(str, Enum):
    """An alert is open while its finding holds; ``resolved`` when the
    finding disappeared (a corrected report balances, the late report
    arrived, a re-test no longer fires, a source recovered)."""

    OPEN = "open"
    RESOLVED = "resolved"


class Alert(_Event):
    """A finding about an agency-year (or, for ``source_unhealthy``, about a
    source; ``year`` is then empty). One finding is one alert: a later
    observation of the same finding updates it (same ``alert_id``), and its
    disappearance is a last revision with ``status`` ``resolved``."""

    alert_id: str
    rule: str
    agency: str | None
    agency_id: str | None
    region: str | None = None
    level: str | None = None
    year: int | None
    severity: Severity
    title: str
    message: str
    figures: dict[str, float | None] = Field(default_factory=dict)
    report_id: str | None = None
    report_url: str | None = None
    first_seen: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    revision: int = Field(1, description="bumped each time the finding is updated")
    status: AlertStatus = Field(AlertStatus.OPEN, description="open while the finding holds, then resolved")
    resolved_at: datetime | None = Field(None, description="when the finding was seen to be gone")
    bundled: list[Alert] = Field(
        default_factory=list,
        description="a digest message only (rule 'digest', never on the alerts topic): the alerts it bundles",
    )

    @staticmethod
    def make_id(rule: str, agency_key: str | None, year: int | None, detail: str = "") -> str:
        return stable_id("alert", rule, agency_key, year, detail)


# ---------------------------------------------------------------------------
# ingest's own state (compacted topics; see services/ingest/state.py)


class SeenDocument(_Event):
    """What the monitor last saw at one URL: the latest record per URL is
    kept by compaction, so a restarted monitor knows what it has published."""

    url: str = Field(description="the URL as linked (before redirects); the record key")
    agency_id: str
    kind: Literal["document", "page"] = Field(
        "document", description="document: a file; page: an HTML article page that is itself the report"
    )
    etag: str | None = None
    last_modified: str | None = Field(None, description="Last-Modified header, verbatim")
    sha256: str | None = Field(None, description="hex sha256 of the last content seen at this URL")
    fingerprint: str | None = Field(
        None,
        description="what change detection compares: the sha256, or for HTML pages a hash of the visible text",
    )
    version: int = Field(0, ge=0, description="how many distinct contents were published from this URL")
    refused: str | None = Field(None, description="why the last fetch was refused (retried after a while)")
    seen_at: datetime = Field(default_factory=utcnow)


class SourceStatus(_Event):
    """One source's health, for ``ogi status``; the latest per source is kept."""

    agency_id: str
    agency_name: str | None = None
    last_poll: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    reports_found: int = Field(0, ge=0, description="report links recognised on the last successful poll")
    failed_polls: int = Field(0, ge=0, description="polls that failed in a row (0 after a success)")
    last_found_at: datetime | None = Field(
        None, description="last poll whose list pages yielded at least one report link"
    )
    published_total: int = Field(0, ge=0, description="documents published from this source, all time")
    refused_total: int = Field(0, ge=0, description="fetches refused by policy, all time")
    last_refusal: str | None = None


class SourceRecord(_Event):
    """A source imported with ``ogi sources import`` (or its discovered
    column): ``entry`` is a registry entry in the registry YAML's format,
    validated by the registry's own model when it is read. The latest record
    per source id is kept, so every monitor process sees the same sources."""

    id: str = Field(description="the registry id; the record key")
    entry: dict[str, Any] | None = Field(
        description="the source as a registry entry (name, region, level, urls/home, ...); "
        "None for a source of the registry YAML whose discovered column alone is kept here"
    )
    column: str | None = Field(None, description="column URL found from the home page (ogi sources discover)")
    column_path: list[str] = Field(default_factory=list, description="the links followed from the home page")
    discovered_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


# ---------------------------------------------------------------------------
# detector state (Faust table changelogs) and alert delivery


class YearRecord(BaseModel):
    """What the detector keeps of one agency-year: the figures of the last
    report seen for it and when it was first seen."""

    model_config = ConfigDict(extra="forbid")

    year: int
    report_id: str
    source_url: str | None = None
    published_at: date | None = None
    received_at: datetime = Field(description="when the detector first saw a report for this year")
    template: Template = Template.NONE
    metrics: dict[str, float] = Field(default_factory=dict)
    failed_checks: list[str] = Field(default_factory=list)
    incomplete_sections: list[str] = Field(
        default_factory=list, description="sections printed but not read: their figures are absent, not zero"
    )


class AgencyHistory(_Event):
    """One agency's reports by year: the detector's per-agency table value
    (changelog keyed by ``agency_key``)."""

    agency_key: str
    agency: str | None = None
    agency_id: str | None = None
    region: str | None = None
    level: str | None = None
    first_seen: datetime = Field(default_factory=utcnow)
    years: dict[int, YearRecord] = Field(default_factory=dict)


class EmittedAlert(_Event):
    """The detector's memory of one alert it emitted (changelog keyed by
    ``alert_id``): an unchanged finding is not re-emitted, a changed one
    bumps ``revision``, a vanished one is resolved from the ``alert`` kept
    here (records written before resolution existed lack it)."""

    alert_id: str
    fingerprint: str
    revision: int = 1
    first_seen: datetime
    updated_at: datetime
    agency_key: str | None = Field(None, description="whose alert: the detector resolves by agency")
    status: AlertStatus = AlertStatus.OPEN
    alert: Alert | None = Field(None, description="the last revision sent")


class Silence(BaseModel):
    """Mute a subscription's alerts of some agencies, rules or regions until
    a moment. Every non-empty list must match (an empty one matches all);
    a silence with all lists empty mutes everything."""

    model_config = ConfigDict(extra="forbid")

    agencies: list[str] = Field(default_factory=list, description="agency names or ids")
    rules: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list, description="region prefixes")
    until: datetime


class Subscription(_Event):
    """Who wants which alerts, and where (compacted topic keyed by
    ``subscription_id``; a tombstone removes it). Empty filter lists match
    everything."""

    subscription_id: str
    name: str | None = None
    agencies: list[str] = Field(default_factory=list, description="agency names or agency ids")
    regions: list[str] = Field(default_factory=list, description="region names; a prefix matches")
    rules: list[str] = Field(default_factory=list)
    min_severity: Severity = Severity.INFO
    webhook_url: str | None = None
    webhook_secret: str | None = Field(None, description="HMAC-SHA256 key for the X-OGI-Signature header")
    email_to: list[str] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)
    resolutions: bool = Field(
        True, description="also send the resolution of an alert this subscriber was sent"
    )
    digest_s: float | None = Field(
        None,
        gt=0,
        description="bundle alerts into one message per this many seconds; empty = one message each",
    )
    silences: list[Silence] = Field(default_factory=list)


class DeliveryStatus(str, Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Delivery(_Event):
    """State of one alert revision for one subscription and sink (compacted
    topic keyed by ``delivery_key``). A pending record carries the alert so
    a restarted deliverer can resume without re-reading the alerts topic."""

    delivery_key: str = Field(description="subscription_id|sink|alert_id")
    subscription_id: str
    sink: str = Field(description="webhook or email")
    alert_id: str
    revision: int
    idempotency_key: str = Field(description="alert_id:revision, sent to the subscriber")
    status: DeliveryStatus
    attempts: int = 0
    last_error: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)
    alert: Alert | None = None
    digest: bool = Field(False, description="waits for the subscription's next digest message")

    @staticmethod
    def make_key(subscription_id: str, sink: str, alert_id: str) -> str:
        return f"{subscription_id}|{sink}|{alert_id}"


# ---------------------------------------------------------------------------
# any stage -> dead letter


class Stage(str, Enum):
    EXTRACT = "extract"
    INDEX = "index"
    DETECT = "detect"
    DELIVER = "deliver"


class LeaderLease(_Event):
    """Written by a service instance when it becomes its group's leader (see
    ``ogi/leader.py``): who leads, since when. Informational; leadership
    itself is the Kafka group membership."""

    group: str
    holder: str = Field(description="host:pid of the leading process")
    acquired_at: datetime = Field(default_factory=utcnow)


class DeadLetter(_Event):
    """A record a stage could not process, kept whole with the reason."""

    stage: Stage
    error_class: str = Field(description="exception class name, e.g. UnsupportedFormat")
    error: str = Field(description="human-readable reason")
    source_topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    key: str | None = None
    original: Base64Bytes = Field(description="the record value exactly as consumed")
    failed_at: datetime = Field(default_factory=utcnow)


ALL_MODELS: dict[str, type[BaseModel]] = {
    "raw_report": RawReport,
    "extracted_report": ExtractedReport,
    "metric_event": MetricEvent,
    "alert": Alert,
    "dead_letter": DeadLetter,
    "seen_document": SeenDocument,
    "source_status": SourceStatus,
    "source_record": SourceRecord,
    "agency_history": AgencyHistory,
    "emitted_alert": EmittedAlert,
    "subscription": Subscription,
    "delivery": Delivery,
    "leader_lease": LeaderLease,
}
