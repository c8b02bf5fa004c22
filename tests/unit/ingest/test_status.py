"""The ``ogi status`` table."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.events import SourceStatus
from services.ingest.registry import Source
from services.ingest.status import render_status


def test_status_table() -> None:
    t = lambda h: datetime(2024, 1, 15, h, tzinfo=UTC)
    sources = [Source(id=i, name=i.upper(), urls=["http://x"]) for i in ("ok", "broken", "new")]
    rows = [
        SourceStatus(agency_id="ok", last_success=t(10), reports_found=12, published_total=14,
                     last_error="old", last_error_at=t(8)),
        SourceStatus(agency_id="broken", last_success=t(1), last_error="HTTP 503", last_error_at=t(9),
                     refused_total=2),
        SourceStatus(agency_id="gone", agency_name="Gone", last_success=t(1)),
    ]
    lines = render_status(sources, rows).splitlines()
    by_id = {line.split()[0]: line for line in lines[2:]}
    assert "2024-01-15 10:00" in by_id["ok"] and " 12 " in by_id["ok"] and "(recovered)" in by_id["ok"]
    assert "HTTP 503" in by_id["broken"] and "(recovered)" not in by_id["broken"]
    assert "never polled" in by_id["new"]
    assert "not in the registry" in by_id["gone"]
