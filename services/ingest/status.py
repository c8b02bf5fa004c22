"""``ogi status``: per source, the last success, the last error and how
many reports its column listed, from the ``ingest.status`` topic, and the
``source_unhealthy`` finding the detector raises for it (same rule, same
parameters: ``services/alerts/rules/source_unhealthy.py``).

Readable at a thousand sources: a summary line, then only the sources that
need a look (failing now, never polled, or a column that lists no report),
unless ``--all``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime

from schemas.events import SourceStatus
from services.ingest.registry import Source


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _problem(row: SourceStatus | None) -> str | None:
    """Why a source needs a look, or None when it is healthy."""
    if row is None or row.last_poll is None:
        return "never polled"
    if row.last_error and (
        row.last_success is None or (row.last_error_at or row.last_success) > row.last_success
    ):
        return "failing"
    if row.reports_found == 0:
        return "no reports listed"
    return None


def render_status(
    sources: list[Source],
    rows: list[SourceStatus],
    unhealthy: Callable[[SourceStatus], str | None] = lambda row: None,
    *,
    show_all: bool = False,
) -> str:
    """A summary line, then a table of the sources with problems (every
    registry source, and any source that reported status but left the
    registry since, with ``show_all``); ``unhealthy`` names what the
    ``source_unhealthy`` rule finds wrong with a source (the alert's title),
    appended as ``UNHEALTHY: ...``."""
    by_id = {row.agency_id: row for row in rows}
    ids = [s.id for s in sources] + sorted(set(by_id) - {s.id for s in sources})
    names = {s.id: s.name for s in sources}
    verdicts = {i: unhealthy(by_id[i]) if i in by_id else None for i in ids}
    problems = {i: _problem(by_id.get(i)) or ("unhealthy" if verdicts[i] else None) for i in ids}
    counts = Counter(p or "ok" for p in problems.values())
    published = sum(row.published_total for row in by_id.values())
    summary = (
        f"{len(ids)} sources: {counts['ok']} ok, {counts['failing']} failing, "
        f"{counts['no reports listed']} listing no report, {counts['never polled']} never polled, "
        f"{sum(1 for v in verdicts.values() if v)} unhealthy; "
        f"{published} documents published"
    )
    shown = ids if show_all else [i for i in ids if problems[i]]
    if not shown:
        return summary
    header = f"{'source':24} {'last success':16} {'found':>5} {'published':>9} {'refused':>7}  last error"
    lines = [summary, "", header, "-" * len(header)]
    for source_id in shown:
        row = by_id.get(source_id)
        if row is None:
            lines.append(f"{source_id:24} {'never polled':16} {'-':>5} {'-':>9} {'-':>7}  -")
            continue
        error = "-"
        if row.last_error and (
            row.last_success is None or (row.last_error_at or row.last_success) > row.last_success
        ):
            error = f"{_when(row.last_error_at)} {row.last_error}"
        elif row.last_error:
            error = f"(recovered) {_when(row.last_error_at)} {row.last_error}"
        lines.append(
            f"{source_id:24} {_when(row.last_success):16} {row.reports_found:>5} {row.published_total:>9} "
            f"{row.refused_total:>7}  {error[:160]}"
        )
        if names.get(source_id) is None and row.agency_name:
            lines[-1] += f"  [{row.agency_name}; not in the registry]"
        if verdicts[source_id]:
            lines[-1] += f"  UNHEALTHY: {verdicts[source_id]}"
    if not show_all and len(shown) < len(ids):
        lines.append(f"({len(ids) - len(shown)} healthy sources not shown; --all lists every source)")
    return "\n".join(lines)
