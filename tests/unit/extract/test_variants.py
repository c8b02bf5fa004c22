"""Issue 17, deliverable 1: every report of the shared corpus that has the
standard tables, and the generated report, re-rendered as Markdown, with
full-width pipes, tab-separated, CSV-like (ASCII and full-width commas) and
space-separated rows, and in each broken layout a conversion produces, must
read exactly like its clean form: the same metrics, breakdowns and checks.

The variants are built by :mod:`variants` from the clean form's figures; the
generated report is also compared with the figures it was built from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import reportgen
import variants

from services.extract.engine import extract

STANDARD = ("gb2021", "gb2019")


@pytest.fixture(scope="module")
def reports(corpus: Path) -> dict[str, tuple[variants.Tables, object]]:
    out: dict[str, tuple[variants.Tables, object]] = {}
    spec = variants.from_spec()
    out["generated"] = (spec, extract(reportgen.flattened_text().encode("utf-8"), filename="generated.txt"))
    for folder in ("seeds", "dev"):
        truth = json.loads((corpus / folder / "truth.json").read_text(encoding="utf-8"))["reports"]
        for name, want in truth.items():
            if want.get("template") in STANDARD:
                out[name] = variants.from_corpus(corpus / folder / name)
    return out


def test_every_corpus_report_with_standard_tables_is_varied(reports: dict, corpus: Path) -> None:
    want = {
        name
        for folder in ("seeds", "dev")
        for name, r in json.loads((corpus / folder / "truth.json").read_text(encoding="utf-8"))[
            "reports"
        ].items()
        if r.get("template") in STANDARD
    }
    assert len(want) >= 7 and want <= set(reports)
    assert {t.template for t, _ in reports.values()} == set(STANDARD)


def test_the_generated_clean_form_is_the_spec(reports: dict) -> None:
    _, clean = reports["generated"]
    assert {
        k: v for k, v in clean.metrics.items() if not k.startswith("rates.")
    } == reportgen.expected_metrics()


@pytest.mark.parametrize("layout", variants.LAYOUTS)
@pytest.mark.parametrize("fmt", variants.FORMATS)
def test_variant_reads_like_the_clean_form(reports: dict, fmt: str, layout: str) -> None:
    problems = []
    for name, (tables, clean) in reports.items():
        if layout == "partial_columns" and fmt == "spaces":
            continue  # blank cells vanish between spaces: which columns were filled is not printed
        text = variants.render(tables, fmt, layout)
        got = extract(text.encode("utf-8"), filename=f"{name}.{fmt}.{layout}.txt")
        metrics, breakdown, checks = variants.expected_for(clean, layout)
        if got.metrics != metrics:
            diff = {
                k: (metrics.get(k), got.metrics.get(k))
                for k in set(metrics) | set(got.metrics)
                if metrics.get(k) != got.metrics.get(k)
            }
            problems.append(f"{name}: metrics (want, got) {sorted(diff.items())[:6]}")
        if got.breakdown != breakdown:
            keys = sorted(
                k for k in set(breakdown) | set(got.breakdown) if breakdown.get(k) != got.breakdown.get(k)
            )
            problems.append(f"{name}: breakdown differs for {keys[:6]}")
        if got.checks != checks:
            problems.append(f"{name}: checks {got.checks} (want {checks})")
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def legacy_reports(corpus: Path) -> dict[str, tuple[variants.Legacy, object]]:
    out = {}
    for folder in ("seeds", "dev"):
        for name in json.loads((corpus / folder / "truth.json").read_text(encoding="utf-8"))["reports"]:
            found = variants.legacy_from_corpus(corpus / folder / name) if name.endswith(".txt") else None
            if found is not None and len(found[0].rows) > 10:
                out[name] = found
    return out


@pytest.mark.parametrize("fmt", variants.FORMATS)
def test_legacy_statistics_table_variant_reads_like_the_clean_form(legacy_reports: dict, fmt: str) -> None:
    assert len(legacy_reports) >= 2  # dev-01 and dev-04 print the 2008-era table
    for name, (table, clean) in legacy_reports.items():
        got = extract(variants.render_legacy(table, fmt).encode("utf-8"), filename=f"{name}.{fmt}.txt")
        assert got.metrics == clean.metrics, name
        assert got.checks == clean.checks, name
