"""Builders for hand-made histories and reports (no Kafka needed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from schemas import ExtractedReport
from schemas.events import AgencyHistory, YearRecord

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def make_record(
    year: int,
    refused: float | None = None,
    handled: float | None = None,
    *,
    failed: list[str] | None = None,
    published_at: date | None = None,
    received_at: datetime = NOW,
    **metrics: float,
) -> YearRecord:
    m = {k.replace("__", "."): v for k, v in metrics.items()}
    if refused is not None:
        m["applications.refused.total"] = refused
    if handled is not None:
        m["applications.total_handled"] = handled
    return YearRecord(
        year=year,
        report_id=f"rep{year}",
        source_url=f"https://example.gov.cn/{year}.html",
        published_at=published_at,
        received_at=received_at,
        template="gb2021",
        metrics=m,
        failed_checks=failed or [],
    )


def make_history(
    *records: YearRecord,
    agency: str = "某市某区市场监督管理局",
    region: str = "某市某区",
    level: str | None = None,
    first_seen: datetime = datetime(2020, 1, 1, tzinfo=UTC),
) -> AgencyHistory:
    return AgencyHistory(
        agency_key=agency,
        agency=agency,
        region=region,
        level=level,
        first_seen=first_seen,
        years={r.year: r for r in records},
    )


def make_report(
    year: int,
    refused: float,
    handled: float,
    *,
    agency: str = "某市某区市场监督管理局",
    region: str = "某市某区",
    checks: dict[str, bool] | None = None,
    **metrics: Any,
) -> ExtractedReport:
    m = {k.replace("__", "."): float(v) for k, v in metrics.items()}
    m.update({"applications.refused.total": refused, "applications.total_handled": handled})
    if handled:
        m["rates.refusal"] = refused / handled
    return ExtractedReport(
        report_id=f"{agency}-{year}",
        agency=agency,
        region=region,
        year=year,
        template="gb2021",
        metrics=m,
        checks=checks or {"intake_balance": True},
        source_url=f"https://example.gov.cn/{agency}/{year}.html",
    )


@pytest.fixture
def record() -> Callable[..., YearRecord]:
    return make_record


@pytest.fixture
def history() -> Callable[..., AgencyHistory]:
    return make_history


@pytest.fixture
def report() -> Callable[..., ExtractedReport]:
    return make_report
