from __future__ import annotations

from pathlib import Path

import pytest

from ogi.settings import Settings
from services.alerts.errors import RuleConfigError
from services.alerts.rules import RULES, Rule, build_rules, load_rules, read_parameters


def test_registry_names_match_classes() -> None:
    assert set(RULES) == {
        "refusal_spike",
        "yoy_jump",
        "broken_identity",
        "overdue_report",
        "incomplete_report",
        "source_unhealthy",
    }
    for name, cls in RULES.items():
        assert issubclass(cls, Rule) and cls.name == name


def test_shipped_parameters_validate_and_cover_every_rule() -> None:
    params = read_parameters()
    assert set(params) == set(RULES)
    assert set(build_rules(params)) == set(RULES)


def test_file_from_settings_overrides(tmp_path: Path) -> None:
    f = tmp_path / "rules.yaml"
    f.write_text("rules:\n  yoy_jump:\n    enabled: false\n  refusal_spike:\n    min_requests: 50\n")
    rules = load_rules(Settings(alert_rules=f, kafka_bootstrap="x:1", es_url="http://x"))
    assert "yoy_jump" not in rules
    assert rules["refusal_spike"].params.min_requests == 50  # type: ignore[attr-defined]


def test_unknown_rule_or_parameter_is_an_error() -> None:
    with pytest.raises(RuleConfigError):
        build_rules({"no_such_rule": {}})
    with pytest.raises(RuleConfigError):
        build_rules({"yoy_jump": {"ratio_hihg": 3}})
