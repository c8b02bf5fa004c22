"""Readers: format sniffing, each reader on small inputs, and property-based
fuzzing: random and mutated documents never raise anything but the typed
errors."""

from __future__ import annotations

import io
import zipfile

import pytest
import reportgen
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.extract import errors
from services.extract.engine import extract, readers
from services.extract.engine.readers import html, text

FUZZ = settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def samples() -> dict[str, bytes]:
    return {
        "pdf": reportgen.pdf_bytes(),
        "docx": reportgen.docx_bytes(),
        "html": reportgen.html_gbk(),
        "text": reportgen.flattened_text().encode(),
    }


def test_sniff_by_magic_not_name(samples: dict[str, bytes]) -> None:
    assert readers.sniff(samples["pdf"], "report.doc") == "pdf"
    assert readers.sniff(samples["docx"], "x.bin") == "docx"
    assert readers.sniff(samples["html"], None) == "html"
    assert readers.sniff(samples["text"], "a.txt") == "text"
    assert readers.sniff(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "a.wps") == "wps"
    with pytest.raises(errors.UnsupportedFormat):
        readers.sniff(b"", "a.pdf")
    with pytest.raises(errors.UnsupportedFormat):
        readers.sniff(b"\x00\x01\x02\x03binary", None)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.txt", "x")
    with pytest.raises(errors.UnsupportedFormat, match="not a DOCX"):
        readers.sniff(buf.getvalue(), "a.docx")


def test_text_encodings() -> None:
    s = "某局2020年政府信息公开工作年度报告\n共收到政府信息公开申请5件。\n" * 20
    for enc in ("utf-8", "gb18030", "utf-16"):
        raw = text.read(s.encode(enc))
        assert "政府信息公开" in raw.blocks[0].text


def test_html_rowspan_colspan_columns() -> None:
    raw = html.read(
        b"<table><tr><td rowspan=2>a</td><td colspan=2>b</td></tr><tr><td>c</td><td>d</td></tr></table>"
    )
    cells = [(b.text, b.row, b.col) for b in raw.blocks if b.table is not None]
    assert cells == [("a", 0, 0), ("b", 0, 1), ("c", 1, 1), ("d", 1, 2)]


def test_scanned_pdf_is_template_none_with_warning() -> None:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.rect(100, 100, 300, 300, fill=1)  # an "image": no text at all
    c.showPage()
    c.save()
    r = extract(buf.getvalue(), filename="scan.pdf")
    assert r.template.value == "none" and r.metrics == {}
    assert any("no text layer" in w for w in r.warnings)


def _only_typed(data: bytes, name: str | None) -> None:
    try:
        extract(data, filename=name)
    except errors.ExtractError as e:
        assert str(e)  # a clear message for the dead-letter topic


@FUZZ
@given(st.binary(max_size=4096), st.sampled_from([None, "a.pdf", "a.docx", "a.html", "a.txt", "a.wps"]))
def test_random_bytes_only_typed_errors(data: bytes, name: str | None) -> None:
    _only_typed(data, name)


@FUZZ
@given(st.text(max_size=3000))
def test_random_text_only_typed_errors(s: str) -> None:
    _only_typed(s.encode("utf-8"), "a.txt")
    _only_typed(("<html><table><tr><td>" + s + "</td></tr></table></html>").encode("utf-8"), "a.html")


def _mutate(data: bytes, cuts: list[tuple[int, int, bytes]]) -> bytes:
    b = bytearray(data)
    for pos, length, junk in cuts:
        p = pos % max(len(b), 1)
        b[p : p + length] = junk
    return bytes(b)


MUT = st.lists(
    st.tuples(st.integers(0, 1 << 20), st.integers(0, 64), st.binary(max_size=16)), min_size=1, max_size=4
)


@FUZZ
@given(MUT)
def test_mutated_pdf_only_typed_errors(samples: dict[str, bytes], cuts: list) -> None:
    _only_typed(_mutate(samples["pdf"], cuts), "a.pdf")


@FUZZ
@given(MUT)
def test_mutated_docx_only_typed_errors(samples: dict[str, bytes], cuts: list) -> None:
    _only_typed(_mutate(samples["docx"], cuts), "a.docx")


@FUZZ
@given(MUT)
def test_mutated_html_and_text_only_typed_errors(samples: dict[str, bytes], cuts: list) -> None:
    _only_typed(_mutate(samples["html"], cuts), "a.html")
    _only_typed(_mutate(samples["text"], cuts), "a.txt")


@settings(max_examples=40, deadline=None, database=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "本年新收政府信息公开申请数量",
                "（七）总计",
                "1.属于国家秘密",
                "0",
                "12",
                "640020470",
                "/",
                "行政复议",
                "复议后起诉",
                "规章",
                "本年制发件数",
                " ",
                "\n",
                "2.",
                "+5",
                "3.其他",
            ]
        ),
        max_size=80,
    )
)
def test_label_soup_never_crashes(parts: list[str]) -> None:
    r = extract(("某局2021年政府信息公开工作年度报告\n" + "".join(parts)).encode(), filename="soup.txt")
    # whatever it reads must come from the catalogue's key space
    assert all(
        k.split(".")[0] in {"applications", "review", "litigation", "proactive", "fees", "rates"}
        for k in r.metrics
    )


@pytest.fixture(scope="module")
def doc_sample() -> bytes:
    return reportgen.doc_bytes()


@settings(
    max_examples=3,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(MUT)
def test_mutated_doc_through_libreoffice_only_typed_errors(doc_sample: bytes, cuts: list) -> None:
    _only_typed(_mutate(doc_sample, cuts), "a.doc")


def test_deeply_nested_html_tables_are_refused_before_parsing() -> None:
    # issue 8 #12: 5,000 nested tables took 18 s before the recursion limit refused them
    import time

    from services.extract.engine.readers import html
    from services.extract.errors import CorruptDocument

    page = (
        "<html><body>" + "<table><tr><td>" * 5000 + "x" + "</td></tr></table>" * 5000 + "</body></html>"
    ).encode()
    start = time.perf_counter()
    with pytest.raises(CorruptDocument, match="nest more than"):
        html.read(page)
    assert time.perf_counter() - start < 3


def test_layout_tables_a_few_deep_are_read() -> None:
    from services.extract.engine.readers import html

    page = (
        "<html><body>" + "<table><tr><td>" * 5 + "<p>正文</p>" + "</td></tr></table>" * 5 + "</body></html>"
    ).encode()
    assert any("正文" in b.text for b in html.read(page).blocks)


def _generated_docx_with(rewrite) -> bytes:  # type: ignore[no-untyped-def]
    """The generated report's DOCX with ``word/document.xml`` passed through ``rewrite``."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(reportgen.docx_bytes())) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        for info in zin.infolist():
            body = zin.read(info)
            zout.writestr(info, rewrite(body) if info.filename == "word/document.xml" else body)
    return out.getvalue()


def test_a_huge_docx_grid_span_is_clamped_not_expanded() -> None:
    # found by the fuzz campaign: python-docx repeats a cell once per spanned
    # column, and gridSpan="99999999" held a worker for its whole timeout
    import re
    import time

    from services.extract.engine.readers import docx as docx_reader

    def span(body: bytes) -> bytes:
        body = re.sub(rb"<w:tcPr>", b'<w:tcPr><w:gridSpan w:val="99999999"/>', body, count=3)
        assert b"99999999" in body
        return body

    data = _generated_docx_with(span)
    start = time.perf_counter()
    raw = docx_reader.read(data)
    assert time.perf_counter() - start < 10
    assert any(b.table is not None for b in raw.blocks)


def test_a_long_vertically_merged_column_is_read_in_linear_time() -> None:
    # found by the fuzz campaign: python-docx resolves each merge continuation
    # by searching the rows above, so 1,000 continued rows took minutes
    import re
    import time

    from services.extract.engine.readers import docx as docx_reader

    def merge(body: bytes) -> bytes:
        row = re.search(rb"<w:tr[ >].*?</w:tr>", body, re.DOTALL)
        assert row is not None and b"<w:tcPr>" in row.group(0)
        first = row.group(0).replace(b"<w:tcPr>", b'<w:tcPr><w:vMerge w:val="restart"/>')
        continued = row.group(0).replace(b"<w:tcPr>", b"<w:tcPr><w:vMerge/>")
        return body[: row.start()] + first + continued * 1000 + body[row.end() :]

    data = _generated_docx_with(merge)
    start = time.perf_counter()
    raw = docx_reader.read(data)
    assert time.perf_counter() - start < 15
    assert sum(1 for b in raw.blocks if b.table == 0 and b.row == 0) >= 1
    assert not [
        b for b in raw.blocks if b.table == 0 and 1 <= (b.row or 0) <= 1000
    ]  # continuations carry no text
