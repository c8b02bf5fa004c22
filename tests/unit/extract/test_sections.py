"""A template section printed in the document but not read is named in
``incomplete_sections`` and in a warning, and its figures stay absent
(never "0 applications")."""

from __future__ import annotations

import re

import reportgen

from services.extract.engine import extract

HTML = reportgen.html_gbk().decode("gbk")


def _extract(html: str):  # type: ignore[no-untyped-def]
    return extract(html.encode("gbk"), filename="report.html")


def test_a_complete_report_has_no_incomplete_section() -> None:
    r = _extract(HTML)
    assert r.incomplete_sections == [] and not [w for w in r.warnings if "incomplete" in w]


def test_unreadable_application_table_is_named_not_zero() -> None:
    i, j = HTML.index("<p>三、收到"), HTML.index("<p>四、")
    # every cell of the table garbled the way a bad reader joins split runs ("4 0")
    garbled = re.sub(r"<td>(\d+)</td>", lambda m: "<td>" + " ".join(m.group(1) + "0") + "</td>", HTML[i:j])
    r = _extract(HTML[:i] + garbled + HTML[j:])
    assert r.incomplete_sections == ["applications"]
    assert not [k for k in r.metrics if k.startswith("applications.")]  # absent, not 0
    assert any("applications" in w and "收到和处理政府信息公开申请情况" in w for w in r.warnings)
    assert r.metrics["review.total"] == 2  # the other sections are still read


def test_review_section_printed_as_an_image() -> None:
    k = HTML.index("<p>四、")
    end = HTML.index("</table>", k) + len("</table>")
    r = _extract(
        HTML[:k] + "<p>四、政府信息公开行政复议、行政诉讼情况</p><p><img src='t.png'></p>" + HTML[end:]
    )
    assert r.incomplete_sections == ["review_litigation"]
    assert not [k for k in r.metrics if k.startswith(("review.", "litigation."))]
    assert any("review_litigation" in w and "no table" in w for w in r.warnings)


def test_proactive_table_lost() -> None:
    i = HTML.index("<table>")
    j = HTML.index("</table>", i) + len("</table>")
    r = _extract(HTML[:i] + "<p>（表格见附件）</p>" + HTML[j:])
    assert r.incomplete_sections == ["proactive"]
    assert "proactive.items_total" in r.metrics  # the prose figure alone does not complete the table section


def test_fee_amount_stated_but_not_read() -> None:
    r = _extract(HTML.replace("本年度收取政府信息公开信息处理费0元。", "信息处理费收取情况：共计120元。"))
    assert r.incomplete_sections == ["fees"]
    assert "fees.collected_yuan" not in r.metrics


def test_a_section_the_document_does_not_have_is_not_incomplete() -> None:
    k = HTML.index("<p>四、")
    end = HTML.index("</table>", k) + len("</table>")
    r = _extract(HTML[:k] + HTML[end:])
    assert r.incomplete_sections == []
