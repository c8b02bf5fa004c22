"""Lines of a PDF page re-joined into paragraphs (readers/pdf.py)."""

from __future__ import annotations

from services.extract.engine.readers import pdf


def _line(text: str, top: float, x1: float) -> dict[str, object]:
    return {"text": text, "top": top, "bottom": top + 10.0, "x1": x1, "chars": []}


def test_a_wrapped_row_of_figures_goes_on_a_heading_after_a_full_line_starts_anew() -> None:
    # 500 is the right margin: the first and third lines are full (wrapped there)
    lines = [
        _line("5.属于三类内部事务信息0", 0, 500),
        _line("0000006.属于四类过程性信息0000000", 12, 300),
        _line("本机关已按要求办理完毕全部申请事项", 24, 500),
        _line("2.没有现成信息需要另行制作0000000", 36, 320),
    ]
    texts = [text for _, text, _ in pdf._paragraphs(lines)]
    assert texts == [
        "5.属于三类内部事务信息00000006.属于四类过程性信息0000000",
        "本机关已按要求办理完毕全部申请事项",
        "2.没有现成信息需要另行制作0000000",
    ]


def test_a_scanned_pages_margin_is_that_of_all_its_scanned_pages() -> None:
    # seed 004 scanned: a page of one cell a line, whose longest label ends far
    # short of the margin the prose pages reach
    prose = [_line("本年度我局进一步完善工作机制专人负责政务信息", 0, 535), _line("公开工作。", 12, 120)]
    cells = [_line("1.本机关不掌握相关政府信息", 0, 202), _line("3", 12, 76)]
    gap = pdf._scan_right_gap([(595.0, prose), (595.0, cells)])
    assert gap == 60.0
    assert [t for _, t, _ in pdf._paragraphs(cells, 595.0 - gap)] == ["1.本机关不掌握相关政府信息", "3"]
    # alone, the page's own longest line is its margin: the label looks wrapped
    assert [t for _, t, _ in pdf._paragraphs(cells)] == ["1.本机关不掌握相关政府信息3"]
    assert [t for _, t, _ in pdf._paragraphs(prose, 595.0 - gap)] == [
        "本年度我局进一步完善工作机制专人负责政务信息公开工作。"
    ]
    assert pdf._scan_right_gap([]) is None


def _blank_pdf(pages: int) -> bytes:
    import io

    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument.new()
    for _ in range(pages):
        doc.new_page(595, 842)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def test_a_scanned_paragraph_wrapped_at_a_pages_last_line_goes_on_on_the_next(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from services.extract.engine.readers import ocr

    # dev-07 scanned: "…其中：1.同意公" ends page 1 at the margin, "开答复数条00…" starts page 2
    lines = {
        1: [("本年度共收到申请七条对申请的答复总数条零其中：1.同意公", 100)],
        2: [("开答复数条00。", 100), ("平潭县人民政府", 140)],
    }

    def page_objects(page, page_number, doctop, find_cells):  # type: ignore[no-untyped-def]
        words = [
            ocr.Word(text, 250, top * 300 / 72, len(text) * 40, 40, 95.0, top * 300 / 72, 40)
            for text, top in lines[page_number]
        ]
        chars, _ = ocr.to_chars(words, page_number, doctop, 842.0, 300 / 72)
        return {"char": chars, "rect": [], "line": []}, ocr.Doubts()

    monkeypatch.setattr(ocr, "available", lambda: True)
    monkeypatch.setattr(ocr, "page_objects", page_objects)
    texts = [b.text for b in pdf.read(_blank_pdf(2)).blocks]
    assert texts == ["本年度共收到申请七条对申请的答复总数条零其中：1.同意公开答复数条00。", "平潭县人民政府"]
    # a line that ends a sentence ends its paragraph at the page's end too
    lines[1] = [("本年度共收到申请七条对申请的答复总数条零其中有一条。", 100)]
    texts = [b.text for b in pdf.read(_blank_pdf(2)).blocks]
    assert texts[0] == "本年度共收到申请七条对申请的答复总数条零其中有一条。"
