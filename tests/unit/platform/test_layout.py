"""The layout's import rules, read from the code: ``ogi/`` and ``schemas/``
are the shared layer and import no service; a service imports ``ogi/`` and
``schemas/``, never another service (what one command needs of another is
handed in by the ``ogi`` entry point, ``ogi.cli.PROVIDED``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SERVICES = sorted(p.name for p in (REPO / "services").iterdir() if (p / "__init__.py").exists())


def _imported(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _violations(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(REPO)} imports {name}"
        for path in sorted((REPO / folder).rglob("*.py"))
        for name in sorted(_imported(path))
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]


def test_there_are_services_to_check() -> None:
    assert {"ingest", "extract", "index", "alerts"} <= set(SERVICES)


@pytest.mark.parametrize("folder", ["ogi", "schemas"])
def test_shared_layer_imports_no_service(folder: str) -> None:
    assert _violations(folder, ("services",)) == []


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service: str) -> None:
    others = tuple(f"services.{s}" for s in SERVICES if s != service)
    assert _violations(f"services/{service}", others) == []
