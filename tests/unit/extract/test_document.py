from services.extract.engine.document import CELL_SEP, ROW_SEP, Block, RawDocument, linearise


def test_cells_keep_their_place() -> None:
    raw = RawDocument(
        blocks=[
            Block("标题"),
            Block("一、本年新收", table=0, row=0, col=0, page=2),
            Block("12", table=0, row=0, col=1, page=2, row_end=True),
        ],
        format="pdf",
    )
    doc = linearise(raw)
    assert doc.text == "标题\n一、本年新收" + CELL_SEP + "12" + CELL_SEP + ROW_SEP + "\n"
    pos = doc.text.index("12")
    b = doc.block_at(pos)
    assert b is not None and (b.page, b.table, b.row, b.col) == (2, 0, 0, 1)
    assert [s.block.text for s in doc.cells_in(0, len(doc.text))] == ["一、本年新收", "12"]


def test_traditional_blocks_are_converted_and_flagged() -> None:
    trad = "政府信息公開工作年度報告。全年答覆政府信息公開申請共220件，予以公開49件，部分公開1件。" * 2
    doc = linearise(RawDocument(blocks=[Block(trad)], format="text"))
    assert doc.traditional and "政府信息公开工作年度报告" in doc.text
