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
