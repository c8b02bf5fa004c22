"""The ``ogi status`` table."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.events import SourceStatus
from services.ingest.registry import Source
from services.ingest.status import render_status


def test_status_table() -> None:
    def t(h):
        return datetime(2024, 1, 15, h, tzinfo=UTC)

    sources = [Source(id=i, name=i.upper(), urls=["http://x"]) for i in ("ok", "broken", "new")]
    rows = [
        SourceStatus(
            agency_id="ok",
            last_success=t(10),
            reports_found=12,
            published_total=14,
            last_error="old",
            last_error_at=t(8),
        ),
        SourceStatus(
            agency_id="broken", last_success=t(1), last_error="HTTP 503", last_error_at=t(9), refused_total=2
        ),
        SourceStatus(agency_id="gone", agency_name="Gone", last_success=t(1)),
    ]
    lines = render_status(sources, rows, show_all=True).splitlines()
    by_id = {line.split()[0]: line for line in lines[4:]}
    assert "2024-01-15 10:00" in by_id["ok"] and " 12 " in by_id["ok"] and "(recovered)" in by_id["ok"]
    assert "HTTP 503" in by_id["broken"] and "(recovered)" not in by_id["broken"]
    assert "never polled" in by_id["new"]
    assert "not in the registry" in by_id["gone"]


def test_status_table_names_an_unhealthy_source() -> None:
    from ogi.cli import build_parser
    from ogi.settings import Settings

    # as `ogi status` gets it: handed in by the entry point
    source_problem = build_parser().parse_args(["status"]).source_problem

    def t(h):
        return datetime(2024, 1, 15, h, tzinfo=UTC)

    sources = [Source(id=i, name=i.upper(), urls=["http://x"]) for i in ("down", "blind", "fine")]
    rows = [
        SourceStatus(
            agency_id="down",
            agency_name="DOWN",
            last_success=t(1),
            last_error="HTTP 503",
            last_error_at=t(9),
            failed_polls=3,
        ),
        SourceStatus(
            agency_id="blind", agency_name="BLIND", last_success=t(9), reports_found=0, last_found_at=t(1)
        ),
        SourceStatus(
            agency_id="fine",
            agency_name="FINE",
            last_success=t(9),
            reports_found=5,
            last_found_at=t(9),
            failed_polls=0,
        ),
    ]
    lines = render_status(sources, rows, source_problem(Settings()), show_all=True).splitlines()
    by_id = {line.split()[0]: line for line in lines[4:]}
    assert "UNHEALTHY: DOWN: source unreachable" in by_id["down"]
    assert "UNHEALTHY: BLIND: list pages yield no report links" in by_id["blind"]
    assert "UNHEALTHY" not in by_id["fine"]


def test_status_at_a_thousand_sources_is_a_summary_and_the_problems() -> None:
    t = datetime(2024, 1, 15, 10, tzinfo=UTC)
    sources = [Source(id=f"s{n:04d}", name="x", urls=["http://x"]) for n in range(1000)]
    rows = [
        SourceStatus(agency_id=f"s{n:04d}", last_poll=t, last_success=t, reports_found=10) for n in range(997)
    ]
    rows[5] = rows[5].model_copy(update={"last_error": "HTTP 404", "last_error_at": t.replace(hour=11)})
    rows[6] = rows[6].model_copy(update={"reports_found": 0})
    lines = render_status(sources, rows).splitlines()
    assert lines[0].startswith("1000 sources: 995 ok, 1 failing, 1 listing no report, 3 never polled")
    listed = [line.split()[0] for line in lines[4:-1]]
    assert listed == ["s0005", "s0006", "s0997", "s0998", "s0999"]
    assert "995 healthy sources not shown" in lines[-1]
    assert len(render_status(sources, rows, show_all=True).splitlines()) == 1004
