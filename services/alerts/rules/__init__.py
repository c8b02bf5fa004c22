"""Alert rules: one per file, registered by name.

``RULES`` maps the name used in the parameters YAML, in ``Alert.rule`` and
in subscription filters to the rule class. ``load_rules`` builds the enabled
rules with their parameters from the YAML file that ``OGI_ALERT_RULES``
names (default: ``services/alerts/rules.yaml``).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ogi.settings import Settings, get_settings
from schemas.events import SourceStatus
from services.alerts.errors import RuleConfigError
from services.alerts.rules.base import Context, Finding, PeerRecord, Rule, RuleParams
from services.alerts.rules.broken_identity import BrokenIdentity
from services.alerts.rules.incomplete_report import IncompleteReport
from services.alerts.rules.overdue_report import OverdueReport
from services.alerts.rules.refusal_spike import RefusalSpike
from services.alerts.rules.source_unhealthy import SourceUnhealthy
from services.alerts.rules.yoy_jump import YoyJump

RULES: dict[str, type[Rule]] = {
    RefusalSpike.name: RefusalSpike,
    YoyJump.name: YoyJump,
    BrokenIdentity.name: BrokenIdentity,
    OverdueReport.name: OverdueReport,
    SourceUnhealthy.name: SourceUnhealthy,
    IncompleteReport.name: IncompleteReport,
}

__all__ = [
    "RULES",
    "Context",
    "Finding",
    "PeerRecord",
    "Rule",
    "RuleParams",
    "build_rules",
    "load_rules",
    "read_parameters",
]


def read_parameters(path: Path | None = None) -> dict[str, Any]:
    """The parameters mapping: rule name -> parameter block."""
    if path is None:
        text = resources.files("services.alerts").joinpath("rules.yaml").read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise RuleConfigError("the rule parameters file must be a mapping of rule name -> parameters")
    rules = data.get("rules", data)
    if not isinstance(rules, dict):
        raise RuleConfigError("'rules' must be a mapping")
    return rules


def build_rules(parameters: dict[str, Any]) -> dict[str, Rule]:
    """Instantiate every enabled rule; a rule not mentioned runs with its
    defaults. Unknown rule names and bad parameters raise RuleConfigError."""
    unknown = set(parameters) - set(RULES)
    if unknown:
        raise RuleConfigError(f"unknown rule(s) {sorted(unknown)}; known: {sorted(RULES)}")
    built: dict[str, Rule] = {}
    for name, cls in RULES.items():
        try:
            rule = cls(parameters.get(name) or {})
        except ValidationError as exc:
            raise RuleConfigError(f"{name}: {exc}") from exc
        if rule.enabled:
            built[name] = rule
    return built


def load_rules(settings: Settings | None = None) -> dict[str, Rule]:
    settings = settings or get_settings()
    return build_rules(read_parameters(settings.alert_rules))


def source_problem(settings: Settings | None = None) -> Callable[[SourceStatus], str | None]:
    """What the rules (``source_unhealthy``) find wrong with a source's
    status, under the operator's parameters: the alerts' titles joined, or
    None (healthy, or the rule disabled). ``ogi status`` shows it
    beside each source; the ``ogi`` entry point hands it over
    (``ogi.cli.PROVIDED``) so the ingest service does not import this one."""
    rules = load_rules(settings)

    def problem(row: SourceStatus) -> str | None:
        findings = [f for rule in rules.values() for f in rule.check_source(row)]
        return "; ".join(f.title for f in findings) or None

    return problem
