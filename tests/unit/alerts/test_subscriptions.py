from __future__ import annotations

import pytest

from schemas import Alert, Severity
from services.alerts.subscriptions import matches, new_subscription


def alert(**kw) -> Alert:  # type: ignore[no-untyped-def]
    base = {
        "alert_id": "a",
        "rule": "refusal_spike",
        "agency": "杭州市拱墅区市场监督管理局",
        "agency_id": "hz-gs-scjg",
        "region": "浙江省杭州市拱墅区",
        "year": 2023,
        "severity": Severity.WARNING,
        "title": "t",
        "message": "m",
    }
    base.update(kw)
    return Alert(**base)


def sub(**kw):  # type: ignore[no-untyped-def]
    return new_subscription(webhook_url="http://127.0.0.1/x", **kw)


def test_empty_filter_matches_everything() -> None:
    assert matches(sub(), alert())
    assert matches(sub(), alert(severity=Severity.INFO, region=None, agency=None))


def test_min_severity() -> None:
    s = sub(min_severity="warning")
    assert matches(s, alert(severity=Severity.WARNING))
    assert matches(s, alert(severity=Severity.CRITICAL))
    assert not matches(s, alert(severity=Severity.INFO))


def test_rules_agencies_regions() -> None:
    assert not matches(sub(rules=["broken_identity"]), alert())
    assert matches(sub(rules=["broken_identity", "refusal_spike"]), alert())
    assert matches(sub(agencies=["hz-gs-scjg"]), alert())
    assert matches(sub(agencies=["杭州市拱墅区市场监督管理局"]), alert())
    assert not matches(sub(agencies=["杭州市"]), alert())  # agencies are exact
    assert matches(sub(regions=["浙江省杭州市"]), alert())  # regions are prefixes
    assert not matches(sub(regions=["江苏省"]), alert())
    assert not matches(sub(regions=["浙江省"]), alert(region=None))
    assert not matches(sub(regions=["浙江省"], rules=["yoy_jump"]), alert())  # all filters must pass


def test_a_region_is_a_place_read_like_a_reports_region() -> None:
    assert matches(sub(regions=["杭州"]), alert())  # a city without its province still finds its agencies
    assert matches(sub(regions=["浙江"]), alert())
    assert matches(sub(regions=["浙江杭州"]), alert())
    assert matches(sub(regions=["杭州市拱墅區"]), alert())  # traditional characters
    assert not matches(sub(regions=["杭州"]), alert(region="浙江省湖州市吴兴区"))


def test_destination_required_and_secret_generated() -> None:
    with pytest.raises(ValueError):
        new_subscription()
    s = sub()
    assert s.webhook_secret and len(s.webhook_secret) == 64
    assert new_subscription(email_to=["a@example.org"]).webhook_secret is None
