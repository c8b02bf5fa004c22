"""The synthetic gb2021 reports the end-to-end tests use read back exactly
through the real extraction engine."""

from __future__ import annotations

from services.extract.engine import extract
from tests.gb2021_samples import consistent, render_gb2021


def test_consistent_figures_read_back_with_all_checks_passing() -> None:
    figures = consistent(
        60,
        granted=30,
        partially_granted=5,
        refused={"third_party_rights": 3},
        unable={"not_held": 10},
        other={"other": 5},
        review=(1, 1, 0, 0),
        litigation_direct=(0, 1, 0, 0),
        carried_over=2,
    )
    report = extract(render_gb2021("某市某区城市管理局", 2023, figures).encode(), filename="r.txt")
    assert (report.agency, report.year, report.template.value) == ("某市某区城市管理局", 2023, "gb2021")
    assert report.failed_checks == []
    for key, value in figures.items():
        assert report.metrics.get(key) == value, key
    assert report.metrics["rates.refusal"] == 3 / figures["applications.total_handled"]


def test_an_altered_total_breaks_the_identities() -> None:
    figures = consistent(60, granted=30, refused={"third_party_rights": 3})
    figures["applications.total_handled"] += 6
    report = extract(render_gb2021("某市某区城市管理局", 2023, figures).encode(), filename="r.txt")
    assert "intake_balance" in report.failed_checks
