"""Event and document schemas shared by every service (see ``events.py``)."""

from schemas.events import (
    ALL_MODELS,
    SCHEMA_VERSION,
    Alert,
    DeadLetter,
    ExtractedReport,
    MetricEvent,
    Provenance,
    RawReport,
    Script,
    Severity,
    Stage,
    Template,
    UndecodableRecord,
    decode,
    stable_id,
    utcnow,
)

__all__ = [
    "ALL_MODELS",
    "SCHEMA_VERSION",
    "Alert",
    "DeadLetter",
    "ExtractedReport",
    "MetricEvent",
    "Provenance",
    "RawReport",
    "Script",
    "Severity",
    "Stage",
    "Template",
    "UndecodableRecord",
    "decode",
    "stable_id",
    "utcnow",
]
