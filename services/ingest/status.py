"""``ogi status``: per source, the last success, the last error and how
many reports its column listed, from the ``ingest.status`` topic, and the
``source_unhealthy`` finding the detector raises for it (same rule, same
parameters: ``services/alerts/rules/source_unhealthy.py``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from schemas.events import SourceStatus
from services.ingest.registry import Source


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def render_status(sources: list[Source], rows: list[SourceStatus],
                  unhealthy: Callable[[SourceStatus], str | None] = lambda row: None) -> str:
    """A table of every registry source (and any source that reported
    status but left the registry since); ``unhealthy`` names what is wrong
    with a source (the alert's title), appended as ``UNHEALTHY: ...``."""
    by_id = {row.agency_id: row for row in rows}
    ids = [s.id for s in sources] + sorted(set(by_id) - {s.id for s in sources})
    names = {s.id: s.name for s in sources}
    header = f"{'source':24} {'last success':16} {'found':>5} {'published':>9} {'refused':>7}  last error"
    lines = [header, "-" * len(header)]
    for source_id in ids:
        row = by_id.get(source_id)
        if row is None:
            lines.append(f"{source_id:24} {'never polled':16} {'-':>5} {'-':>9} {'-':>7}  -")
            continue
        error = "-"
        if row.last_error and (row.last_success is None or (row.last_error_at or row.last_success) > row.last_success):
            error = f"{_when(row.last_error_at)} {row.last_error}"
        elif row.last_error:
            error = f"(recovered) {_when(row.last_error_at)} {row.last_error}"
        lines.append(
            f"{source_id:24} {_when(row.last_success):16} {row.reports_found:>5} {row.published_total:>9} "
            f"{row.refused_total:>7}  {error[:160]}"
        )
        if names.get(source_id) is None and row.agency_name:
            lines[-1] += f"  [{row.agency_name}; not in the registry]"
        problem = unhealthy(row)
        if problem:
            lines[-1] += f"  UNHEALTHY: {problem}"
    return "\n".join(lines)
