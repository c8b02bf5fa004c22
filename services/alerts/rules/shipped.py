"""The shipped ``services/alerts/rules.yaml``, written from the rules'
parameter classes.

The defaults live once, in each rule's ``Params`` model (typed, validated,
documented). The shipped YAML is only their rendering for operators: every
parameter of every rule as a commented-out line with its default and its
description, so that reading the file tells every knob and uncommenting a
line is all it takes to change one. ``make rules-yaml`` rewrites the file;
``tests/unit/alerts/test_rules_yaml.py`` fails when it drifts from the
classes.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml
from pydantic_core import PydanticUndefined

from services.alerts.rules import RULES
from services.alerts.rules.base import Rule

SHIPPED_PATH = Path(__file__).resolve().parent.parent / "rules.yaml"

_HEADER = """\
# Parameters of the alert rules (services/alerts/rules/). Override the whole
# file with OGI_ALERT_RULES=/path/to/rules.yaml. A rule left out, or a
# parameter left commented out, runs with the default shown here;
# `enabled: false` turns a rule off. Unknown keys are an error.
#
# Written by `make rules-yaml` from each rule's parameter class, where the
# defaults are stated (once); edit the class, not this file.
"""

#: a flow-style value longer than this is written in block style instead
_FLOW_WIDTH = 40
_INDENT = "    "


def _yaml_value(value: Any) -> str:
    """``value`` as YAML, flow style (``[1, 31]``, ``{a: 3.0}``, ``true``)."""
    text: str = yaml.safe_dump(
        value, default_flow_style=True, sort_keys=False, allow_unicode=True, width=1 << 16
    )
    return text.removesuffix("\n").removesuffix("\n...").strip()


def _default(field: Any) -> Any:
    value = field.default_factory() if field.default is PydanticUndefined else field.default
    return list(value) if isinstance(value, tuple) else value


def _parameter_lines(name: str, field: Any) -> list[str]:
    value = _default(field)
    flow = _yaml_value(value)
    note = f"  # {field.description}" if field.description else ""
    if len(flow) <= _FLOW_WIDTH or not isinstance(value, list | dict):
        return [f"{_INDENT}# {f'{name}: {flow}':<34}{note}".rstrip()]
    block = yaml.safe_dump({name: value}, default_flow_style=False, sort_keys=False, allow_unicode=True)
    first, *rest = block.splitlines()
    return [f"{_INDENT}# {first:<34}{note}".rstrip(), *(f"{_INDENT}# {line}" for line in rest)]


def _summary(rule: type[Rule]) -> list[str]:
    """The first paragraph of the rule module's docstring, as comment lines."""
    doc = sys.modules[rule.__module__].__doc__ or ""
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    return [f"{_INDENT}# {line}" for line in textwrap.wrap(paragraph, 74)]


def render() -> str:
    """The shipped rules.yaml text."""
    lines = [_HEADER.rstrip("\n"), "rules:"]
    for name, rule in RULES.items():
        lines.append(f"  {name}:")
        lines += _summary(rule)
        for field_name, field in rule.Params.model_fields.items():
            lines += _parameter_lines(field_name, field)
    return "\n".join(lines) + "\n"


def main() -> None:
    SHIPPED_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {SHIPPED_PATH}")


if __name__ == "__main__":
    main()
