from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.events import AlertStatus, SourceStatus
from services.alerts.detector import Detector, Engine, MemoryStore
from services.alerts.rules import build_rules
from services.alerts.rules.source_unhealthy import SourceUnhealthy

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def status(**kw: object) -> SourceStatus:
    return SourceStatus(agency_id="site-a", agency_name="甲市人民政府", **kw)  # type: ignore[arg-type]


def test_fires_from_the_threshold_of_failed_polls() -> None:
    rule = SourceUnhealthy({"failed_polls": 3})
    assert rule.check_source(status(failed_polls=2, last_error="ConnectTimeout")) == []
    [f] = rule.check_source(status(failed_polls=3, last_error="ConnectTimeout"))
    assert f.year is None and "unreachable" in f.title and "ConnectTimeout" in f.message
    assert rule.check_source(status(failed_polls=7, last_error="ConnectTimeout")) == [f], "no churn per poll"


def test_blind_list_pages_fire_only_if_they_yielded_links_before() -> None:
    rule = SourceUnhealthy({})
    assert rule.check_source(status(last_success=T0, reports_found=0)) == []  # never found any: new source
    assert rule.check_source(status(last_success=T0, reports_found=4, last_found_at=T0)) == []
    [f] = rule.check_source(status(last_success=T0 + timedelta(days=1), reports_found=0, last_found_at=T0))
    assert "no report links" in f.title
    assert (
        SourceUnhealthy({"blind": False}).check_source(
            status(last_success=T0 + timedelta(days=1), reports_found=0, last_found_at=T0)
        )
        == []
    )


def test_engine_raises_once_and_resolves_on_recovery() -> None:
    engine = Engine(Detector(build_rules({})), MemoryStore(), MemoryStore())
    sent = []
    for n in range(1, 6):
        for o in engine.on_source(status(failed_polls=n, last_error="HTTP 503"), T0):
            engine.commit(o)
            sent.append(o.alert)
    assert [(a.rule, a.status, a.agency_id, a.year) for a in sent] == [
        ("source_unhealthy", AlertStatus.OPEN, "site-a", None)
    ]
    for o in engine.on_source(status(failed_polls=0, last_success=T0, reports_found=3, last_found_at=T0), T0):
        engine.commit(o)
        sent.append(o.alert)
    assert [(a.revision, a.status) for a in sent] == [(1, AlertStatus.OPEN), (2, AlertStatus.RESOLVED)]
    assert sent[0].alert_id == sent[1].alert_id
