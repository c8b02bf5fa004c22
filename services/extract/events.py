"""From an extracted report to the metric events the indexer and dashboards
use: one per report x metric x applicant type."""

from __future__ import annotations

from schemas import ExtractedReport, MetricEvent, Provenance


def describe(p: Provenance | None) -> str | None:
    """A short human-readable location, for a dashboard tooltip."""
    if p is None:
        return None
    parts: list[str] = []
    if p.page is not None:
        parts.append(f"page {p.page}")
    if p.kind == "table":
        if p.table is not None:
            parts.append(f"table {p.table + 1}")
        if p.row:
            parts.append(f"row {p.row}")
        if p.column:
            parts.append(f"column {p.column}")
    elif p.span is not None:
        parts.append(f"chars {p.span[0]}-{p.span[1]}")
    if p.text:
        parts.append(f"«{p.text[:80]}»")
    if p.via == "ocr":
        parts.append("OCR" + (f" confidence {p.confidence:.0f}" if p.confidence is not None else ""))
    return ", ".join(parts) or None


def to_metric_events(report: ExtractedReport) -> list[MetricEvent]:
    common = {
        "report_id": report.report_id,
        "agency": report.agency,
        "agency_id": report.agency_id,
        "region": report.region,
        "level": report.level,
        "year": report.year,
        "template": report.template,
        "source_url": report.source_url,
        "published_at": report.published_at,
        "extracted_at": report.extracted_at,
        "failed_checks": report.failed_checks,
        "incomplete_sections": report.incomplete_sections,
    }
    series = report.series_key
    events = []
    for metric, value in sorted(report.metrics.items()):
        events.append(
            MetricEvent(
                event_id=MetricEvent.make_id(series, metric, "total"),
                metric=metric,
                section=metric.split(".", 1)[0],
                applicant="total",
                value=value,
                derived=metric.startswith("rates."),
                provenance=describe(report.provenance.get(metric)),
                **common,
            )
        )
    for metric, columns in sorted(report.breakdown.items()):
        for applicant, value in sorted(columns.items()):
            if applicant == "total":
                continue  # the total column is the metric itself, above
            events.append(
                MetricEvent(
                    event_id=MetricEvent.make_id(series, metric, applicant),
                    metric=metric,
                    section=metric.split(".", 1)[0],
                    applicant=applicant,
                    value=value,
                    provenance=describe(report.provenance.get(metric)),
                    **common,
                )
            )
    return events
