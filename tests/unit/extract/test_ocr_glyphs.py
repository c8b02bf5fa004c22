"""Glyph segmentation of runs of figures (readers/ocr_glyphs) on generated
page images: digits rendered with PIL at the report size (10.5 pt at
300 dpi), a wide block standing in for a Chinese character."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from services.extract.engine.readers import ocr_glyphs

WQY = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"  # the benchmark's font, when installed
DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _font(size: int) -> ImageFont.FreeTypeFont:
    for path in (WQY, DEJAVU):
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default(size)  # Pillow's own scalable font


def _line(parts: list[str]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A line of text on a white page (ink ``True``): each part is figures,
    or ``"#"`` for a Chinese character (a block taller than the figures and
    as wide as it is tall). Returns the ink and each part's columns."""
    size = round(10.5 * 300 / 72)
    font = _font(size)
    img = Image.new("L", (1600, 120), 255)
    draw = ImageDraw.Draw(img)
    x, y = 20, 30
    spans = []
    for part in parts:
        if part == "#":
            draw.rectangle((x + 2, y + 2, x + size - 3, y + size - 1), fill=0)
            spans.append((x, x + size))
            x += size
            continue
        draw.text((x, y), part, font=font, fill=0)
        width = round(font.getlength(part))
        spans.append((x, x + width))
        x += width
    return np.array(img) < 160, spans


def _ink_rows(ink: np.ndarray) -> tuple[int, int]:
    rows = np.nonzero(ink.any(axis=1))[0]
    return int(rows[0]), int(rows[-1]) + 1


@pytest.mark.parametrize("figures", ["0000000", "1000001", "10000013.", "156805947.43", "00"])
def test_every_glyph_of_a_run_of_figures_is_counted(figures: str) -> None:
    ink, spans = _line(["#", figures, "#"])
    top, bottom = _ink_rows(ink)
    left, right = spans[1]
    run = ocr_glyphs.digit_run(ink, left, top, right, bottom)
    assert run is not None
    assert run.pattern == "".join("." if c == "." else "d" for c in figures)


def test_a_box_that_left_glyphs_out_finds_the_whole_run_and_stops_at_the_characters() -> None:
    # Tesseract's word box is often a glyph short at either end
    ink, spans = _line(["#", "0000000", "#", "1"])
    top, bottom = _ink_rows(ink)
    left, right = spans[1]
    step = (right - left) // 7
    run = ocr_glyphs.digit_run(ink, left + step + step // 2, top, right - 2 * step, bottom)
    assert run is not None and run.pattern == "ddddddd"
    assert left - 3 <= run.left and run.right <= right + 3


def test_a_character_at_an_end_of_the_box_is_left_out_between_figures_no_run() -> None:
    ink, spans = _line(["#", "00", "#"])
    top, bottom = _ink_rows(ink)
    run = ocr_glyphs.digit_run(ink, spans[0][0], top, spans[1][1], bottom)  # "（0000000" read as one word
    assert run is not None and run.pattern == "dd" and run.left >= spans[1][0] - 1
    between, spans = _line(["#", "00", "#", "00", "#"])
    assert ocr_glyphs.digit_run(between, spans[1][0], top, spans[3][1], bottom) is None


def test_a_lone_glyph_or_no_ink_gives_no_run() -> None:
    lone, lone_spans = _line(["#", "7", "#"])
    top, bottom = _ink_rows(lone)
    assert ocr_glyphs.digit_run(lone, *lone_spans[1][:1], top, lone_spans[1][1], bottom) is None
    blank = np.zeros((50, 200), dtype=bool)
    assert ocr_glyphs.digit_run(blank, 10, 10, 100, 40) is None


def test_a_space_ends_the_run() -> None:
    ink, spans = _line(["#", "000", "   ", "000", "#"])
    top, bottom = _ink_rows(ink)
    run = ocr_glyphs.digit_run(ink, *spans[1][:1], top, spans[1][1], bottom)
    assert run is not None and run.pattern == "ddd"


def test_the_strip_holds_each_digit_apart_at_the_reading_height() -> None:
    ink, spans = _line(["#", "000000", "#"])
    top, bottom = _ink_rows(ink)
    run = ocr_glyphs.digit_run(ink, spans[1][0], top, spans[1][1], bottom)
    assert run is not None
    image = np.where(ink, 0, 255).astype(np.uint8)
    strip = ocr_glyphs.strip(image, run, 24)
    columns = (strip < 160).any(axis=0)
    pieces = np.count_nonzero(np.diff(columns.astype(np.int8)) == 1)
    assert pieces == 6
    rows = np.nonzero((strip < 160).any(axis=1))[0]
    assert 22 <= rows[-1] - rows[0] + 1 <= 25


@pytest.mark.parametrize(("printed", "read"), [("3.", "3."), ("3,", "3，"), ("12.", "12.")])
def test_an_item_number_read_with_a_comma_gets_its_point_when_the_image_shows_one(
    printed: str, read: str
) -> None:
    from services.extract.engine.readers import ocr

    ink, spans = _line([printed, "#"])
    top, bottom = _ink_rows(ink)
    image = np.where(ink, 0, 255).astype(np.uint8)
    left, right = spans[0]
    word = ocr.Word(printed[:-1] + "，", left, top, right - left, bottom - top, 95.0, top, bottom - top)
    chinese = ocr.Word(
        "危及", spans[1][0], top, spans[1][1] - spans[1][0], bottom - top, 95.0, top, bottom - top
    )
    out = ocr.item_numbers([word, chinese], image)
    assert [w.text for w in out] == [read, "危及"]
    # not first on its line: a figure in a sentence ("共3，其中") is left as read
    before = ocr.Word("共", 0, top, 10, bottom - top, 95.0, top, bottom - top)
    assert ocr.item_numbers([before, word], image)[1].text == printed[:-1] + "，"


def test_a_figure_left_after_the_last_word_of_a_line_is_found() -> None:
    from services.extract.engine.readers import ocr

    ink, spans = _line(["#", "#", "7", "."])
    top, bottom = _ink_rows(ink)
    image = np.where(ink, 0, 255).astype(np.uint8)
    left, right = spans[0][0], spans[1][1]
    word = ocr.Word("信息", left, top, right - left, bottom - top, 95.0, top - 4, bottom - top + 8)
    (box,) = ocr.line_ends(image, [word], [], 1.0)
    assert box[0] >= right and box[2] <= spans[2][1] + 1  # the "7", not the point after it
    # inside a table cell it is the cell's to read
    assert ocr.line_ends(image, [word], [(spans[2][0] - 1, 0, spans[3][1] + 1, 120)], 1.0) == []


def test_a_line_whose_words_tesseract_set_on_lines_of_their_own_is_not_read_twice() -> None:
    from services.extract.engine.readers import ocr

    ink, spans = _line(["3.", "#", "#"])
    top, bottom = _ink_rows(ink)
    image = np.where(ink, 0, 255).astype(np.uint8)
    number = ocr.Word(
        "3.", spans[0][0], top, spans[0][1] - spans[0][0], bottom - top, 95.0, top, bottom - top
    )
    label = ocr.Word(
        "危及", spans[1][0], top, spans[2][1] - spans[1][0], bottom - top, 95.0, top - 3, bottom - top
    )
    assert ocr.line_ends(image, [number, label], [], 1.0) == []


@pytest.mark.parametrize(
    ("printed", "pattern"),
    [("23 0 00 0 023", "dd d dd d ddd"), ("0 0 0 0 0 00", "d d d d d dd"), ("500000 5", "dddddd d")],
)
def test_a_run_goes_on_over_a_space_and_its_pattern_has_it(printed: str, pattern: str) -> None:
    # the crawler's text reports print a row's cells as "23 0 00 0 023": the
    # text reader splits the figures at the spaces, so the run keeps them;
    # found whole from a box over its last figures only (a window around the
    # box cut the run, and its glyphs at the window's edge, short)
    ink, spans = _line(["#", printed, "#"])
    top, bottom = _ink_rows(ink)
    left, right = spans[1]
    run = ocr_glyphs.digit_run(ink, right - (right - left) // 3, top, right, bottom)
    assert run is not None and run.pattern == pattern
    assert abs(run.left - left) <= 5 and abs(run.right - right) <= 5


def test_two_spaces_or_a_character_end_a_spaced_run() -> None:
    ink, spans = _line(["#", "0 0", "  ", "0", "#", "0"])
    top, bottom = _ink_rows(ink)
    run = ocr_glyphs.digit_run(ink, spans[1][0], top, spans[1][1], bottom)
    assert run is not None and run.pattern == "d d"


def _words_on(ink: np.ndarray, boxes: list[tuple[str, int, int]], conf: float = 90.0) -> list[Any]:
    from services.extract.engine.readers import ocr

    top, bottom = _ink_rows(ink)
    return [ocr.Word(t, x0, top, x1 - x0, bottom - top, conf, top, bottom - top) for t, x0, x1 in boxes]


def test_a_space_tesseract_ran_together_is_put_back_from_the_image() -> None:
    """ "23 0 0" read "2300" (conf 87, dev-09's 总计 row): the digits and
    their count are Tesseract's and the glyphs', the spaces the image's."""
    from services.extract.engine.readers import ocr

    ink, spans = _line(["#", "23 0 0", "#"])
    image = np.where(ink, 0, 255).astype(np.uint8)
    words = _words_on(ink, [("2300", spans[1][0], spans[1][1])], 87.0)
    out, miscounted = ocr.recount(words, image)
    assert [w.text for w in out] == ["23 0 0"] and miscounted == 0
    # the same figures printed without spaces are left as read
    ink, spans = _line(["#", "2300", "#"])
    words = _words_on(ink, [("2300", spans[1][0], spans[1][1])], 87.0)
    assert ocr.recount(words, np.where(ink, 0, 255).astype(np.uint8))[0] == words


def test_every_figure_word_on_a_run_is_replaced_with_it_none_left_to_repeat_figures() -> None:
    """Tesseract boxed dev-09's "0 0 00 00 0" as five words, two of them a
    few pixels wide on the edge of their glyph; a run read as one word must
    take all of them, or their figures are printed twice."""
    from services.extract.engine.readers import ocr

    ink, spans = _line(["#", "0 0 00", "#"])
    image = np.where(ink, 0, 255).astype(np.uint8)
    top, bottom = _ink_rows(ink)
    run = ocr_glyphs.digit_run(ink, spans[1][0], top, spans[1][1], bottom)
    assert run is not None and run.pattern == "d d dd"
    first, second = run.glyphs[0], run.glyphs[1]
    words = _words_on(
        ink,
        [
            ("0", first.right - 4, first.right + 1),  # off its ink, 5 px wide
            ("000", second.left, spans[1][1]),  # a space run together
        ],
    )
    out, miscounted = ocr.recount(words, image)
    assert [w.text for w in out if any(c.isdigit() for c in w.text)] == ["0 0 00"]
    assert miscounted == 0


def test_a_comma_read_for_a_character_radical_in_the_box_is_dropped() -> None:
    """ "00000007." then "属" read "00000007," (the point as ",") and re-read:
    the suffix "," has no small glyph beside the run, only the next
    character's stroke inside the box."""
    from services.extract.engine.readers import ocr

    ink, spans = _line(["#", "0000000", "#"])
    top, bottom = _ink_rows(ink)
    run = ocr_glyphs.digit_run(ink, spans[1][0], top, spans[1][1], bottom)
    assert run is not None
    into_next = spans[2][0] + 6  # the box reaches into the character after the run
    word = _words_on(ink, [("0000000,", spans[1][0], into_next)])[0]
    replaced = ocr._one_word([word], run, [0], ("", "0000000", ","), "0000000", 95.0, ink)
    assert replaced[0] is not None and replaced[0].text == "0000000"
    # a real comma (a small mark on the baseline) is kept
    ink, spans = _line(["#", "0000000", ",", "#"])
    run = ocr_glyphs.digit_run(ink, spans[1][0], top, spans[1][1], bottom)
    assert run is not None
    word = _words_on(ink, [("0000000,", spans[1][0], spans[2][1])])[0]
    replaced = ocr._one_word([word], run, [0], ("", "0000000", ","), "0000000", 95.0, ink)
    assert replaced[0] is not None and replaced[0].text == "0000000,"


@pytest.mark.parametrize(("printed", "pattern"), [("210", "ddd"), ("740", "ddd"), ("7510", "dddd")])
def test_a_bold_face_set_wide_has_no_space_its_width_does_not_explain(printed: str, pattern: str) -> None:
    # DejaVu Sans Bold sets "1" after "2" 0.98 figure heights apart, as far
    # as a regular face with a space; against the digits' width it is close
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", 44)
    img = Image.new("L", (400, 120), 255)
    draw = ImageDraw.Draw(img)
    draw.rectangle((20, 32, 56, 76), fill=0)  # a Chinese character before the figures
    draw.text((60, 30), printed, font=font, fill=0)
    ink = np.array(img) < 160
    top, bottom = _ink_rows(ink)
    run = ocr_glyphs.digit_run(ink, 60, top, 400, bottom)
    assert run is not None and run.pattern == pattern
