"""Every report of the shared corpus (and the generated gb2021 report of
``tests/unit/extract/reportgen.py``) as the HTML a word processor and a CMS
make of it (see ``wordproc.py``) reads exactly what its clean form reads:
the same agency, year, template, figures, applicant breakdown and checks.

The DOCX -> HTML conversions run once per session, in one LibreOffice run.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from schemas.events import Template
from services.extract.engine import extract, readers
from tests.accuracy import wordproc
from tests.unit.extract import reportgen

REPO = Path(__file__).resolve().parents[2]
# the corpus sits beside the repository (../shared), or beside the folder of worktrees
CORPUS = next((p / "shared" / "corpus" for p in REPO.parents if (p / "shared" / "corpus").is_dir()), None)
REPORTS = (
    sorted(p for p in CORPUS.glob("*/*") if p.name != "truth.json" and p.suffix != ".md") if CORPUS else []
)
GENERATED = "reportgen-gb2021.docx"
NAMES = [p.name for p in REPORTS] + [GENERATED]
VARIANTS = ["libreoffice", *wordproc.HOSTILE]


def _original(name: str) -> bytes:
    if name == GENERATED:
        return reportgen.docx_bytes()
    return next(p for p in REPORTS if p.name == name).read_bytes()


@pytest.fixture(scope="session")
def word_processor_html() -> dict[str, bytes]:
    if not REPORTS:
        pytest.fail(f"the shared corpus is not beside the repository ({REPO.parent}/shared/corpus)")
    docs = {
        name: wordproc.docx_from_raw(readers.read(_original(name), name))
        for name in NAMES
        if name != GENERATED
    }
    docs[GENERATED] = reportgen.docx_bytes()  # the report itself, with Word's merged cells
    return wordproc.libreoffice_html(docs)


@cache
def _clean(name: str) -> dict[str, object]:
    return _reading(extract(_original(name), filename=name))


def _reading(r) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {
        "agency": r.agency,
        "year": r.year,
        "template": r.template,
        "metrics": r.metrics,
        "breakdown": r.breakdown,
        "checks": r.checks,
    }


def test_the_shared_corpus_is_there() -> None:
    assert len(REPORTS) >= 18, f"expected the shared corpus beside the repository, found {CORPUS}"


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", NAMES)
def test_word_processor_html_reads_as_the_clean_form(
    word_processor_html: dict[str, bytes], name: str, variant: str
) -> None:
    clean = _clean(name)
    html = word_processor_html[name].decode("utf-8")
    if variant != "libreoffice":
        html = wordproc.HOSTILE[variant](html)
    got = _reading(extract(html.encode("utf-8"), filename=f"{name}.html"))
    assert got == clean


def test_generated_report_reads_its_spec_through_every_variant(word_processor_html: dict[str, bytes]) -> None:
    # the clean form could itself be wrong; the generated report's figures are known
    expected = reportgen.expected_metrics()
    for variant in VARIANTS:
        html = word_processor_html[GENERATED].decode("utf-8")
        if variant != "libreoffice":
            html = wordproc.HOSTILE[variant](html)
        r = extract(html.encode("utf-8"), filename="report.html")
        assert {k: v for k, v in r.metrics.items() if not k.startswith("rates.")} == expected, variant


def test_the_hostile_shapes_are_really_there(word_processor_html: dict[str, bytes]) -> None:
    html = word_processor_html[GENERATED].decode("utf-8")
    assert (
        "<span style='mso-bidi-font-size:10.5pt'>4</span><span style='mso-bidi-font-size:10.5pt'>6</span>"
        in wordproc.char_spans(html)
    )
    assert "4</span><span lang=EN-US" in wordproc.word_runs(html) and "MsoNormal" in wordproc.word_runs(html)
    assert "&nbsp;&nbsp;" in wordproc.nbsp_cells(html)
    continued = wordproc.page_continuation(html)
    assert continued.count("<table") == html.count("<table") + 1
    assert continued.count("三、本年度办理结果") == 2  # the row-group label repeated on the new page


@pytest.mark.parametrize("variant", ["clean", *wordproc.HOSTILE])
def test_2019_template_word_page_keeps_its_application_table(variant: str) -> None:
    # the page that started issue 20: a 2019-template report pasted from Word
    html = wordproc.gb2019_html(reportgen.html_gbk().decode("gbk"))
    if variant != "clean":
        html = wordproc.HOSTILE[variant](html)
    r = extract(html.encode("gbk"), filename="report.html")
    assert r.template == Template.GB2019 and not r.incomplete_sections
    spec = {
        k: v
        for k, v in reportgen.expected_metrics().items()
        if k.startswith(("applications.", "review.", "litigation."))
        and not k.startswith("applications.other.")
    }
    spec["applications.other.total"] = 4.0  # the 2019 table's single 其他处理 row
    assert {k: v for k, v in r.metrics.items() if k in spec or k.startswith("applications.")} == spec
    assert len(r.breakdown) == 26 and all(r.checks.values())
