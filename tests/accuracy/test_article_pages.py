"""Every standard-template report of the shared corpus as an agency's
article page: the site's navigation above the article with links to the
agency's reports of other years, the text as paragraphs and the three
standard tables as real HTML tables (label columns merged by
rowspans/colspans, or left as blank cells where a CMS editor lost the
merges), also through the hostile CMS shapes of ``wordproc.py``. Each page
must read exactly what the clean form reads: the same agency, year,
template, figures, applicant breakdown and checks.

Unlike ``test_word_processor_html.py`` (whose corpus texts carry their
tables flattened, one cell per line) this puts the corpus's own figures in
real table cells, as nearly every agency's article page does.
"""

from __future__ import annotations

from functools import cache

import pytest

from services.extract.engine import extract
from tests.accuracy import wordproc
from tests.accuracy.test_word_processor_html import REPORTS, _reading
from tests.unit.extract import variants

SHAPES = ["as_published", *wordproc.HOSTILE]


@cache
def _model(name: str):  # type: ignore[no-untyped-def]
    path = next(p for p in REPORTS if p.name == name)
    try:
        return variants.from_corpus(path)
    except ValueError:
        return None  # not a gb2019/gb2021 report: it has no standard tables to re-render


# the texts of the corpus in a standard template (a PDF's tables are read from positions, not text)
STANDARD = [p.name for p in REPORTS if p.suffix == ".txt" and _model(p.name) is not None]


def test_most_of_the_corpus_has_standard_tables() -> None:
    assert len(STANDARD) >= 6


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("merged", [True, False], ids=["merged_cells", "merges_lost"])
@pytest.mark.parametrize("name", STANDARD)
def test_article_page_reads_as_the_clean_form(name: str, merged: bool, shape: str) -> None:
    tables, clean = _model(name)
    html = variants.render_article_page(tables, merged=merged, other_years=(clean.year - 1, clean.year - 2))
    if shape != "as_published":
        html = wordproc.HOSTILE[shape](html)
    assert _reading(extract(html.encode("utf-8"), filename=f"{name}.html")) == _reading(clean)


def test_the_page_has_what_it_claims() -> None:
    # the test above proves nothing if the page lacked its sidebar or its tables
    tables = variants.from_spec()
    html = variants.render_article_page(tables, other_years=(2021, 2020))
    assert html.index("2021年政府信息公开工作年度报告</a>") < html.index("<h1>")
    assert html.count("<table") == 3 and "rowspan='" in html and "colspan='3'" in html
    lost = variants.render_article_page(tables, merged=False)
    assert "rowspan='" not in lost.split("申请人情况")[1].split("</table>")[0].split("其他</td></tr>")[1]
