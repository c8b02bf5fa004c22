"""The shipped rules.yaml is the parameter classes' defaults, written out."""

from __future__ import annotations

import re

import yaml

from services.alerts.rules import RULES, build_rules, read_parameters
from services.alerts.rules.shipped import SHIPPED_PATH, render

# a commented-out parameter line ("    # min_base: 10.0  # ...") and the lines
# of its block value ("    # - a", "    #   key: 3.0")
_PARAMETER = re.compile(r"^    # ([a-z0-9_]+:(?: |$).*)$")
_CONTINUATION = re.compile(r"^    # ((?:- |  ).*)$")


def _uncommented(text: str) -> str:
    lines, in_value = [], False
    for line in text.splitlines():
        match = _PARAMETER.match(line) or (_CONTINUATION.match(line) if in_value else None)
        in_value = match is not None
        lines.append(f"    {match.group(1)}" if match else line)
    return "\n".join(lines)


def test_shipped_file_is_written_from_the_classes() -> None:
    assert SHIPPED_PATH.read_text("utf-8") == render(), "defaults drifted: run `make rules-yaml`"


def test_every_parameter_is_shown_with_its_class_default() -> None:
    shown = yaml.safe_load(_uncommented(render()))["rules"]
    assert set(shown) == set(RULES)
    for name, rule in RULES.items():
        assert set(shown[name]) == set(rule.Params.model_fields), name
        assert rule.Params.model_validate(shown[name]) == rule.Params(), name


def test_shipped_file_runs_every_rule_with_its_defaults() -> None:
    rules = build_rules(read_parameters())
    assert set(rules) == set(RULES)
    for name, rule in rules.items():
        assert rule.params == RULES[name].Params(), name
