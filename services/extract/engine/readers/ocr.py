"""OCR of a PDF page that has no text layer (a scan), in pdfplumber's object
format, so the PDF reader finds its tables and text lines exactly as it does
on a page with text (see pdf_objects, which does the same for PDFium).

- The page is rasterised with PDFium (pypdfium2, already the PDF reader's
  parser) at :data:`DPI`.
- Ruling lines are found on the image (long runs of dark pixels) and become
  ``line`` objects: pdfplumber's ruling-line table finder then recovers the
  cells. They are painted white before recognition, because Tesseract reads
  a cell border as ``1`` or ``|`` ("0|10101010" for a row of zeros).
- Tesseract (the Debian ``tesseract-ocr`` and ``tesseract-ocr-chi-sim``
  packages; ``tesseract-ocr-chi-tra`` for a page the simplified model reads
  as traditional, see :func:`script_pass`) is called as a program with TSV
  output: one word a line with its box and confidence. A child process is bounded like the LibreOffice
  converter: it stays in the extraction child's process group (killed with
  it on timeout), inherits its address-space limit, and has a timeout of its
  own. Python bindings would load the model into the extraction process
  and could not be stopped from Python while in C.
- Each word's box is divided evenly among its characters (Chinese text is
  set on a fixed pitch); every character carries ``ocr_conf``.
- A word containing a digit that Tesseract is unsure of (confidence under
  :data:`MIN_CONFIDENCE`) is not guessed: each of its characters becomes
  :data:`UNREADABLE` (〓, the printer's mark for an illegible character), so
  no parser reads a figure there and the figure stays absent.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pypdfium2 as pdfium

from services.extract.engine.document import UNREADABLE
from services.extract.engine.readers.pdf_objects import Objects, _obj
from services.extract.errors import ConversionFailed

if TYPE_CHECKING:
    from services.extract.engine.readers import ocr_glyphs

DPI = 300
# Tesseract's word confidence (0-100) under which a word with a digit is left
# unread. Measured on the rasterised corpus (make bench-ocr): correct figures
# sit at 85-96; the misreads (a cell border taken for "1", "0" read as "o")
# mostly under 60.
MIN_CONFIDENCE = 60.0
LANGUAGES = "chi_sim"
# the traditional model (Debian tesseract-ocr-chi-tra), for a page the
# simplified one reads as traditional (see looks_traditional)
TRADITIONAL = "chi_tra"
# The simplified model's Chinese words on a page of a simplified scan of the
# corpus average 91-93 confidence (dev-12's table pages 86.3-90), on the
# traditional seed 001 83-89 (its pages over 86 hold characters t2s changes,
# or few words). Under this, the page is read again by the traditional model,
# and the surer reading kept: a wrong hint costs time, not accuracy.
TRADITIONAL_HINT_CONF = 86.0
MIN_CHINESE_WORDS = 20
# A reading of a clean page averages this confidence at least over its
# Chinese words (the simplified scans by chi_sim 91-93, seed 001 by chi_tra
# 91.4-93.5): a traditional reading under it is not taken.
CLEAN_READING_CONF = 88.0
PAGE_TIMEOUT_S = 120.0  # one page; the document's own limit (bounded.py) usually ends it first
# A ruling line is at least this long (points): longer than any stroke of a
# glyph at report sizes, shorter than the narrowest table cell border.
MIN_RULE_PT = 28.0
# A line of text is at least this high (points): a digit at 5 pt, higher than
# a speck or the fringe a painted-out ruling line leaves.
MIN_LINE_PT = 3.5
_DARK = 160  # grey level under which a pixel is ink
Box = tuple[float, float, float, float]  # x0, top, x1, bottom in points
Rule = tuple[int, int, int, int]  # first, last pixel row (column) of a ruling line, and its start, end
_DIGIT = re.compile(r"[0-9０-９]")
_CJK = re.compile(r"[\u3400-\u9fff]")
_DASH = re.compile(r"[-－—–/／\\、]+")
_PAD = 12
# Tesseract's Latin model reads a lone digit surely at about this ink height
# (a 10.5 pt figure at 150 dpi); at 300 dpi the same "1" scored 56-60 of 100.
DIGIT_PX = 24
# The height a run the two models read differently at DIGIT_PX is read at
# again (by both): the Chinese model's misreadings depend on the scale (dev-10:
# "5 0 0 0 0 0 5" read "2525000005" at 24 px, as printed at 20, 28 and 32).
RETRY_DIGIT_PX = 28
# A cell of text with an unsure Chinese word is read again at this share of
# its size (dev-12: 收费 read 收缆 at 0 at 300 dpi, 收费 at 97 at 0.6-0.8).
RESCALE = 0.8
# The glyphs Tesseract dropped at a line's start are read with the words
# that begin within this many line heights of them (see line_starts).
_CONTEXT = 4


@dataclass(frozen=True)
class Word:
    text: str
    left: float  # pixels
    top: float
    width: float
    height: float
    conf: float
    line_top: float  # the box of the text line the word is on: its characters get this height,
    line_height: float  # so a flat "一" and a tall "总" are on one line for pdfplumber
    line_width: float = 0.0  # 0: not known


def available() -> bool:
    return shutil.which("tesseract") is not None


def page_objects(
    page: pdfium.PdfPage,
    page_number: int,
    doctop: float,
    find_cells: Callable[[list[dict[str, Any]]], list[Box]],
) -> tuple[Objects, Doubts]:
    """The page's characters and ruling lines read from its image, and what
    was left unread or unsettled (:class:`Doubts`). ``find_cells`` gives the
    table cells (boxes in points) the ruling lines make: each cell is
    recognised on its own, because whole-page layout analysis takes a
    column of lone "0"s for noise and drops it."""
    import numpy as np

    _, height_pt = page.get_size()
    scale = DPI / 72
    bitmap = page.render(scale=scale, grayscale=True)
    try:
        image = np.array(bitmap.to_pil().convert("L"))
    finally:
        bitmap.close()
    ink = image < _DARK
    min_run = int(MIN_RULE_PT * scale)
    rules_h, rules_v = _merge(_runs(ink, min_run)), _merge(_runs(ink.T, min_run))
    rules_h += _closing_rules(rules_h, rules_v)
    # painted out with a margin: the anti-aliased fringe of a border left
    # behind reads as "一" or "|"
    for first, last, start, end in rules_h:
        image[max(first - 2, 0) : last + 3, max(start - 2, 0) : end + 2] = 255
    for first, last, start, end in rules_v:
        image[max(start - 2, 0) : end + 2, max(first - 2, 0) : last + 3] = 255

    lines: list[dict[str, Any]] = []
    for first, last, start, end in rules_h:
        y = height_pt - (first + last) / 2 / scale
        lines.append(_obj("line", page_number, doctop, height_pt, start / scale, y, end / scale, y))
    for first, last, start, end in rules_v:
        x = (first + last) / 2 / scale
        lines.append(
            _obj(
                "line",
                page_number,
                doctop,
                height_pt,
                x,
                height_pt - end / scale,
                x,
                height_pt - start / scale,
            )
        )
    cells = find_cells(lines) if lines else []

    image = np.where(image < _DARK, 0, 255).astype(np.uint8)  # a grey cell background is no ink
    crops: list[Any] = []
    origins: list[tuple[int, int]] = []
    for x0, top, x1, bottom in cells:
        left, upper = int(x0 * scale) + 2, int(top * scale) + 2
        right, lower = int(x1 * scale) - 2, int(bottom * scale) - 2
        if right - left < 8 or lower - upper < 8:
            continue
        crop = image[upper:lower, left:right]
        if not (crop == 0).any():
            continue  # an empty cell: nothing to recognise
        # a white border: Tesseract reads glyphs touching the image edge badly
        crops.append(np.pad(crop, _PAD, constant_values=255))
        origins.append((left - _PAD, upper - _PAD))
    # a column of lone figures is sometimes taken for a line of vertical text
    # and read as characters (a column of "0"s as "口局呈虽"): no report sets
    # its body vertically, so such words are dropped and their lines read below
    page_words, languages, no_traditional = script_pass(image)
    free_words = [w for w in page_words if not _inside(w, cells, scale)]
    # lines of ink the page's layout analysis left without a word (a figure
    # alone on its line, like a column of lone "0"s, is taken for noise) are
    # read like cells: on their own, a figure twice
    for left, upper, right, lower in [
        *unread_lines(image, page_words, cells, scale),
        *line_ends(image, free_words, cells, scale),
    ]:
        crops.append(np.pad(image[upper:lower, left:right], _PAD, constant_values=255))
        origins.append((left - _PAD, upper - _PAD))
    # the glyphs before a line's first word are read with that word, which
    # gives them context (a lone "二" is read as nothing); only what lies
    # before the word is kept
    before: dict[int, float] = {}
    for (left, upper, right, lower), end in line_starts(image, free_words, cells, scale):
        before[len(crops)] = end - left + _PAD
        crops.append(np.pad(image[upper:lower, left:right], _PAD, constant_values=255))
        origins.append((left - _PAD, upper - _PAD))
    cell_words = recognise(crops, "6", languages=languages)
    for i, limit in before.items():
        cell_words[i] = leading(cell_words[i], limit)
    # A cell of figures is read again, at the text height Tesseract reads
    # digits best, by the Latin and the Chinese model both restricted to
    # digits: at 300 dpi the Chinese model reads a serif "5" as "3" with
    # confidence, and both are unsure of a lone "1". Two readings that differ
    # are not trusted (confidence 0); that agree, take the surer confidence.
    # (not a line's start: its digit is an item number read with its label,
    # and the crop holds that label)
    numeric = [i for i, found in enumerate(cell_words) if i not in before and _is_figure_cell(found)]
    scaled = [_digit_height(crops[i]) for i in numeric]
    images = [im for im, _ in scaled]
    latin = recognise(images, "7", digits=True)
    chinese = recognise(images, "7", digits=True, languages=LANGUAGES)
    for i, (_, factor), by_latin, by_chinese in zip(numeric, scaled, latin, chinese, strict=True):
        agree = "".join(w.text for w in by_latin) == "".join(w.text for w in by_chinese)
        best = max((w.conf for w in by_chinese), default=0.0) if agree else 0.0
        cell_words[i] = [_scaled_back(w, factor, conf=max(w.conf, best) if agree else 0.0) for w in by_latin]
    _reread_unsure_text(crops, cell_words, set(numeric) | set(before), languages)
    words = list(free_words)
    for (dx, dy), found in zip(origins, cell_words, strict=True):
        words += [
            dataclasses.replace(w, left=w.left + dx, top=w.top + dy, line_top=w.line_top + dy) for w in found
        ]
    words, miscounted = recount(words, image)
    words = item_numbers(words, image)

    chars, unsure = to_chars(words, page_number, doctop, height_pt, scale)
    return {"char": chars, "rect": [], "line": lines}, Doubts(
        unsure, miscounted, traditional=languages == TRADITIONAL, no_traditional=no_traditional
    )


def script_pass(image: Any) -> tuple[list[Word], str, bool]:
    """The page's words (Tesseract's own layout analysis), the model that
    read them, and whether the page looked traditional while the
    traditional model is not installed. The simplified model reads first;
    only a page it reads as traditional script (:func:`looks_traditional`)
    is read again by :data:`TRADITIONAL`, whose reading is taken when its
    Chinese words are surer, and sure on the whole (a poor scan of a
    simplified page read by the traditional model is not surer by much,
    and garbled: seed 004 at 150 dpi, 61 → 66). A simplified scan pays
    nothing more."""
    first = [w for w in recognise([image], "3")[0] if not _on_a_vertical_line(w)]
    if not looks_traditional(first):
        return first, LANGUAGES, False
    if TRADITIONAL not in installed_languages():
        return first, LANGUAGES, True
    second = [w for w in recognise([image], "3", languages=TRADITIONAL)[0] if not _on_a_vertical_line(w)]
    surer = _chinese_confidence(second)
    if surer >= CLEAN_READING_CONF and surer > _chinese_confidence(first):
        return second, TRADITIONAL, False
    return first, LANGUAGES, False


def looks_traditional(words: list[Word]) -> bool:
    """The simplified model's reading of a page says it is traditional
    script: a character that t2s changes (the simplified model knows a few
    traditional ones: 於, 於是; none appeared on the 48 simplified pages of
    the scanned corpus), or Chinese words read unsurely on the whole (mean
    confidence under :data:`TRADITIONAL_HINT_CONF`), or almost none read."""
    from ogi.vocabulary import t2s_changing_characters

    han = "".join(_CJK.findall("".join(w.text for w in words)))
    if not t2s_changing_characters().isdisjoint(han):
        return True
    chinese = [w for w in words if _CJK.search(w.text)]
    if len(chinese) < MIN_CHINESE_WORDS:
        return bool(words)  # marks and figures only: a table page, or a script the model does not know
    return _chinese_confidence(words) < TRADITIONAL_HINT_CONF


def _chinese_confidence(words: list[Word]) -> float:
    confs = [w.conf for w in words if _CJK.search(w.text)]
    return sum(confs) / len(confs) if confs else 0.0


@functools.cache
def installed_languages() -> frozenset[str]:
    """The models Tesseract has (``tesseract --list-langs``)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
    try:
        out = _tesseract(["--list-langs"], env)
    except ConversionFailed:
        return frozenset()
    return frozenset(line.strip() for line in out.splitlines()[1:] if line.strip())


def _reread_unsure_text(
    crops: list[Any], cell_words: list[list[Word]], skip: set[int], languages: str
) -> None:
    """A cell (or line) of text with a Chinese word Tesseract is unsure of is
    read again at :data:`RESCALE` of its size, and that reading is taken
    (in place) when it is sure throughout and :func:`confirms` the first (dev-12:
    行政事业性收费 read 收缆 at 0, then 收费 at 97; the fee row was not found).
    Anything else stays as first read. ``skip``: crops read otherwise (figure
    cells, line starts)."""
    import numpy as np
    from PIL import Image

    unsure = [
        i
        for i, found in enumerate(cell_words)
        if i not in skip and any(_CJK.search(w.text) and w.conf < MIN_CONFIDENCE for w in found)
    ]
    if not unsure:
        return
    images = []
    for i in unsure:
        img = Image.fromarray(crops[i])
        size = (max(int(img.width * RESCALE), 1), max(int(img.height * RESCALE), 1))
        images.append(np.asarray(img.resize(size, Image.Resampling.LANCZOS)))
    for i, again in zip(unsure, recognise(images, "6", languages=languages), strict=True):
        if confirms(cell_words[i], again):
            cell_words[i] = [_scaled_back(w, RESCALE, line_width=w.line_width / RESCALE) for w in again]


def _scaled_back(w: Word, factor: float, **changes: Any) -> Word:
    """A word read on a crop scaled by ``factor``, its box and line box in the
    crop's own pixels again (``changes`` on top)."""
    return dataclasses.replace(
        w,
        left=w.left / factor,
        top=w.top / factor,
        width=w.width / factor,
        height=w.height / factor,
        line_top=w.line_top / factor,
        line_height=w.line_height / factor,
        **changes,
    )


def confirms(first: list[Word], again: list[Word]) -> bool:
    """``again`` is sure throughout (every word at :data:`MIN_CONFIDENCE` or
    over), has as many characters as ``first``, and differs from it only in
    Chinese characters of words ``first`` was unsure of (never in a figure)."""
    if not again or any(w.conf < MIN_CONFIDENCE for w in again):
        return False
    free: list[bool] = []  # per character of first: may differ
    for w in first:
        doubtful = w.conf < MIN_CONFIDENCE and not _DIGIT.search(w.text)
        free += [doubtful] * len(w.text)
    a, b = "".join(w.text for w in first), "".join(w.text for w in again)
    if len(a) != len(b):
        return False
    # only a Chinese character for a Chinese character: a bracket or a mark read
    # otherwise at the other size is no confirmation of anything
    return all(
        x == y or (ok and bool(_CJK.match(x)) and bool(_CJK.match(y)))
        for x, y, ok in zip(a, b, free, strict=True)
    )


@dataclass(frozen=True)
class Doubts:
    """What OCR left unread on a page: figure words under
    :data:`MIN_CONFIDENCE` (``unsure``, become :data:`UNREADABLE`), and runs
    of figures whose digits Tesseract miscounted that a glyph-by-glyph
    reading could not settle (``miscounted``, left as Tesseract read them:
    the table identities decide)."""

    unsure: int = 0
    miscounted: int = 0
    traditional: bool = False  # read by the traditional model
    no_traditional: bool = False  # looked traditional, and that model is not installed


# A word of figures: what it holds before and after them (a quote, a full
# stop Tesseract joined to it), and the figures and points between.
_FIGURE_WORD = re.compile(r"([^0-9.]*)([0-9.]*[0-9][0-9.]*)([^0-9.]*)")


def recount(words: list[Word], image: Any) -> tuple[list[Word], int]:
    """The words with every run of figures Tesseract read with a digit
    count (or spacing) the page image contradicts, or under
    :data:`MIN_CONFIDENCE`, read again glyph by glyph (see ocr_glyphs), and
    how many runs that reading could not settle. A run is read again by the
    Latin and the Chinese model, digits only, each digit on its own a digit's
    height apart; it is taken when both give one digit a glyph and agree.
    Otherwise its words stay as Tesseract read them (an unsure one becomes
    :data:`UNREADABLE` in :func:`to_chars`): a count the image and Tesseract
    disagree on is not guessed either way. A run's figures become one word,
    with a space where the image shows one between two digits (the text
    reader splits a row's figures there)."""
    from services.extract.engine.readers import ocr_glyphs

    ink = image == 0
    runs: dict[tuple[int, int], tuple[ocr_glyphs.Run, set[int]]] = {}
    for i, w in enumerate(words):
        m = _FIGURE_WORD.fullmatch(w.text)
        if m is None:
            continue
        run = _run_of(ink, w, m)
        if run is not None:
            runs.setdefault((run.left, run.top), (run, set()))[1].add(i)
    doubtful: list[tuple[ocr_glyphs.Run, list[int], tuple[str, str, str]]] = []
    settled: list[tuple[ocr_glyphs.Run, list[int], tuple[str, str, str], str]] = []
    for run, found_by in runs.values():
        # every word of figures boxed over the run's glyphs is read with it: a
        # word left beside a run replaced would repeat its figures. (A word of
        # text whose box reaches over a figure, "信息" over the "7" after it,
        # has no figure to repeat.)
        members = sorted(
            found_by | {i for i, w in enumerate(words) if _FIGURE_WORD.fullmatch(w.text) and _covers(w, run)},
            key=lambda i: (words[i].left, -words[i].width),
        )
        if not members:
            continue
        if any(i not in found_by and not _within(words[i], run) for i in members):
            continue  # a word over this run and another: not settled here
        joined = _joined([words[i].text for i in members])
        if joined is None:
            continue  # text between the figures: not one run
        read = joined[1]
        pattern = "".join("." if c == "." else "d" for c in read)
        if pattern != run.pattern.replace(" ", "") or min(words[i].conf for i in members) < MIN_CONFIDENCE:
            doubtful.append((run, members, joined))
        elif run.pattern != _spaced_pattern([words[i] for i in members]):
            # the digits and their count are Tesseract's, sure and confirmed
            # by the glyphs; only the spaces between them are the image's
            settled.append((run, members, joined, read.replace(".", "")))
    if not doubtful and not settled:
        return words, 0
    replaced: dict[int, Word | None] = {}
    for digit_px in (DIGIT_PX, RETRY_DIGIT_PX):
        strips = [ocr_glyphs.strip(image, run, digit_px) for run, _, _ in doubtful]
        latin = recognise(strips, "7", digits=True)
        chinese = recognise(strips, "7", digits=True, languages=LANGUAGES)
        unsettled = []
        for (run, members, joined), by_latin, by_chinese in zip(doubtful, latin, chinese, strict=True):
            digits = "".join(w.text for w in by_latin).replace(".", "")
            n = run.pattern.count("d")
            if digits != "".join(w.text for w in by_chinese).replace(".", "") or len(digits) != n:
                unsettled.append((run, members, joined))
                continue
            conf = max(min(w.conf for w in by_latin), min(w.conf for w in by_chinese))
            replaced.update(_one_word(words, run, members, joined, digits, conf, ink))
        doubtful = unsettled
        if not doubtful:
            break
    miscounted = sum(1 for run, _, joined in doubtful if len(joined[1]) != len(run.pattern.replace(" ", "")))
    for run, members, joined, digits in settled:
        conf = min(words[i].conf for i in members)
        replaced.update(_one_word(words, run, members, joined, digits, conf, ink))
    out = [replaced.get(i, w) for i, w in enumerate(words)]
    return [w for w in out if w is not None], miscounted


def _run_of(ink: Any, w: Word, m: re.Match[str]) -> Any:
    """The run of figures (ocr_glyphs.Run) the figure word ``w`` is on, or
    None. A word Tesseract boxed around its bracket alone ("0000000（" over
    the "（", dev-10) finds no figure under its box: its run is looked for
    just before the box, as wide as its figures would be. Only for a word
    ending in a bracket: one ending in a character ("3月") has its figures in
    its box or is not a run."""
    from services.extract.engine.readers import ocr_glyphs

    left, top, right, bottom = int(w.left), int(w.top), round(w.left + w.width), round(w.top + w.height)
    run = ocr_glyphs.digit_run(ink, left, top, right, bottom)
    if run is not None or m[1] or not _BRACKETS.fullmatch(m[3]):
        return run
    widened = ocr_glyphs.digit_run(ink, left - len(m[2]) * (bottom - top), top, right, bottom)
    if widened is None or widened.right > left + 2:
        return None  # the figures must end where the box starts
    return widened


def _covers(w: Word, run: Any) -> bool:
    """Is the word boxed over a digit of the run (2 px of it at least)?
    Tesseract's boxes of lone figures can sit half a glyph off their ink
    ("0" boxed 5 px wide on the edge of its glyph, dev-09)."""
    from services.extract.engine.readers import ocr_glyphs

    if w.top >= run.bottom or w.top + w.height <= run.top:
        return False
    left, right = int(w.left), round(w.left + w.width)
    return any(ocr_glyphs.overlap(g, left, right) >= 2 for g in run.glyphs if g.kind == "digit")


def _within(w: Word, run: Any) -> bool:
    """Is most of the word's box on the run (half a figure height either side
    allowed)? A word reaching well beyond it holds figures of another run."""
    h = run.bottom - run.top
    inside = min(w.left + w.width, run.right + h / 2) - max(w.left, run.left - h / 2)
    return bool(inside * 2 >= w.width)


def _spaced_pattern(words: list[Word]) -> str:
    """The run's pattern as Tesseract's words give it: a space between two
    words."""
    out: list[str] = []
    for k, w in enumerate(words):
        m = _FIGURE_WORD.fullmatch(w.text)
        figures = m[2] if m else ""
        if k and out and figures:
            out.append(" ")
        out.append("".join("." if c == "." else "d" for c in figures))
    return "".join(out).strip()


def _one_word(
    words: list[Word],
    run: Any,
    members: list[int],
    joined: tuple[str, str, str],
    digits: str,
    conf: float,
    ink: Any,
) -> dict[int, Word | None]:
    """The run's words as one: its digits laid out by the run's pattern, after
    the first word's prefix and before the last one's suffix -- each kept only
    when the image shows a glyph for it beside the run (a point read as ".,"
    has no second glyph: the "," is not printed)."""
    prefix, _, suffix = joined
    first, last = words[members[0]], words[members[-1]]
    if _point_read_as_mark(run, last, suffix):
        suffix = suffix[1:]  # the run's text now has that point: not twice (dev-03 "2192.，")
    if suffix and not _glyph_beside(ink, run, int(last.left + last.width), suffix, after=True):
        suffix = ""
    if prefix and not _glyph_beside(ink, run, int(first.left), prefix, after=False):
        prefix = ""
    it = iter(digits)
    text = "".join(kind if kind in ". " else next(it) for kind in run.pattern)
    left = first.left if prefix else run.left
    right = max(last.left + last.width, run.right) if suffix else run.right
    out: dict[int, Word | None] = {i: None for i in members[1:]}
    out[members[0]] = dataclasses.replace(
        first, text=prefix + text + suffix, left=left, width=right - left, conf=conf
    )
    return out


def _glyph_beside(ink: Any, run: Any, edge: int, text: str, *, after: bool) -> bool:
    """Does the image show ``text`` (what Tesseract read in the word box beside
    the run, up to its ``edge``) there: any glyph, and for punctuation a small
    one (a character's radical inside the box, the "氵" of "没", is read as ","
    and is as tall as a character)?"""
    from services.extract.engine.readers import ocr_glyphs

    lo, hi = (run.right, edge) if after else (edge, run.left)
    if hi - lo < 2:
        return False
    h = run.bottom - run.top
    glyphs = ocr_glyphs.segments(ink, max(run.top - h // 2, 0), run.bottom + 2, lo, hi)
    if not _PUNCTUATION.fullmatch(text):
        return bool(glyphs)
    return any(g.bottom - g.top <= 0.6 * h for g in glyphs)


_BRACKETS = re.compile(r"[（(〈〔【\[]+")
_PUNCTUATION = re.compile(r"[,，.。、;；:：]+")


def _point_read_as_mark(run: ocr_glyphs.Run, last: Word, suffix: str) -> bool:
    """Tesseract read the point that ends the run as a mark after its
    figures ("2192，" for "2192.", dev-03): the suffix starts with a comma or
    point whose share of the word's box (divided evenly) is over the run's
    last glyph, a point."""
    if not suffix or suffix[0] not in _MARKS or not run.pattern.endswith("."):
        return False
    step = last.width / len(last.text)
    start = last.left + (len(last.text) - len(suffix)) * step
    dot = run.glyphs[-1]
    return bool(min(dot.right, start + step) - max(dot.left, start) > 0)


_MARKS = ",，.．、"
_ITEM_COMMA = re.compile(r"([0-9]{1,2})[，,]")


def item_numbers(words: list[Word], image: Any) -> list[Word]:
    """The words with an item number Tesseract read with a comma for its
    point ("3." as "3，", seed 004: the row is then not recognised) set right:
    a word of one or two digits and a comma, first on its line, whose mark on
    the page image is a point (a small dot on the figures' baseline; a comma
    reaches below it). Anything else stays as read."""
    from services.extract.engine.readers import ocr_glyphs

    ink = image == 0
    out = list(words)
    for i, w in enumerate(words):
        m = _ITEM_COMMA.fullmatch(w.text)
        if m is None or any(o.line_top == w.line_top and o.left < w.left for o in words if o is not w):
            continue
        left, top, right, bottom = int(w.left), int(w.top), round(w.left + w.width), round(w.top + w.height)
        rows = ocr_glyphs.band(ink, left, right, top, bottom)
        if rows is None:
            continue
        glyphs = [
            g
            for g in ocr_glyphs.segments(ink, rows[0], rows[1], left - 2, right + 2)
            if ocr_glyphs.overlap(g, left, right) * 2 >= g.right - g.left
        ]
        digits = len(m[1])
        if len(glyphs) != digits + 1:
            continue
        figures = glyphs[:digits]
        top_row, bottom_row = min(g.top for g in figures), max(g.bottom for g in figures)
        if ocr_glyphs.classify(glyphs[-1], top_row, bottom_row).kind == "dot":
            out[i] = dataclasses.replace(w, text=m[1] + ".")
    return out


def _joined(texts: list[str]) -> tuple[str, str, str] | None:
    """The words of one run of figures, left to right, as (what comes
    before the figures, the figures, what comes after); ``None`` when a word
    is not figures or there is text between them."""
    parts = [_FIGURE_WORD.fullmatch(t) for t in texts]
    if any(p is None for p in parts):
        return None
    matches = [p for p in parts if p is not None]
    if any(p[3] for p in matches[:-1]) or any(p[1] for p in matches[1:]):
        return None
    return matches[0][1], "".join(p[2] for p in matches), matches[-1][3]


def to_chars(
    words: list[Word], page_number: int, doctop: float, height_pt: float, scale: float
) -> tuple[list[dict[str, Any]], int]:
    """pdfplumber ``char`` objects (points) for Tesseract's words (pixels);
    a figure word under :data:`MIN_CONFIDENCE` becomes :data:`UNREADABLE`.
    Returns the characters and how many words were left unread."""
    chars: list[dict[str, Any]] = []
    unsure = 0
    for w in words:
        text = w.text
        if w.conf < MIN_CONFIDENCE and _DIGIT.search(text):
            text = UNREADABLE * len(text)
            unsure += 1
        step = w.width / len(text)
        top = w.line_top / scale
        bottom = (w.line_top + w.line_height) / scale
        for i, ch in enumerate(text):
            x0 = (w.left + i * step) / scale
            x1 = (w.left + (i + 1) * step) / scale
            chars.append(
                {
                    "object_type": "char",
                    "page_number": page_number,
                    "text": ch,
                    "fontname": "ocr",
                    "size": bottom - top,
                    "upright": True,
                    "x0": x0,
                    "x1": x1,
                    "y0": height_pt - bottom,
                    "y1": height_pt - top,
                    "top": top,
                    "bottom": bottom,
                    "doctop": doctop + top,
                    "width": x1 - x0,
                    "height": bottom - top,
                    "ocr_conf": w.conf,
                }
            )
    return chars, unsure


def unread_lines(
    image: Any, words: list[Word], cells: list[Box], scale: float
) -> list[tuple[int, int, int, int]]:
    """``(left, top, right, bottom)`` pixel boxes of the bands of ink, outside
    the table cells, that no recognised word covers: what whole-page layout
    analysis dropped. A band under :data:`MIN_LINE_PT` high is a speck or a
    rule's remnant, not a line of text."""
    import numpy as np

    ink = image == 0
    for x0, top, x1, bottom in cells:  # read cell by cell already
        ink[int(top * scale) : int(bottom * scale) + 1, int(x0 * scale) : int(x1 * scale) + 1] = False
    covered = np.zeros(ink.shape[0], dtype=bool)
    for w in words:
        covered[int(min(w.top, w.line_top)) : int(max(w.top + w.height, w.line_top + w.line_height)) + 1] = (
            True
        )
    rows = ink.any(axis=1) & ~covered
    out: list[tuple[int, int, int, int]] = []
    min_height = MIN_LINE_PT * scale
    bands: list[list[int]] = []
    for r in np.nonzero(rows)[0].tolist():
        if bands and r - bands[-1][1] <= 3:  # a white row or two inside a glyph ("二")
            bands[-1][1] = r
        else:
            bands.append([r, r])
    for first, last in bands:
        if last - first + 1 < min_height:
            continue
        cols = np.nonzero(ink[first : last + 1].any(axis=0))[0]
        out.append((int(cols[0]), first, int(cols[-1]) + 1, last + 1))
    return out


def line_ends(
    image: Any, words: list[Word], cells: list[Box], scale: float
) -> list[tuple[int, int, int, int]]:
    """``(left, top, right, bottom)`` pixel boxes of the glyphs after the
    last word of a text line that no word covers: Tesseract drops a lone
    figure at the end of a line (a run of run-together figures wrapped after
    its first digit, dev-09: "信息7" / "0000072."). A glyph under half the
    line's height (a full stop, a speck) is not taken, nor a table cell's
    ink (read cell by cell)."""
    from services.extract.engine.readers import ocr_glyphs

    ink = image == 0
    for x0, top, x1, bottom in cells:
        ink[int(top * scale) : int(bottom * scale) + 1, int(x0 * scale) : int(x1 * scale) + 1] = False
    ends: dict[float, Word] = {}
    for w in words:
        last = ends.get(w.line_top)
        if last is None or w.left + w.width > last.left + last.width:
            ends[w.line_top] = w
    out: list[tuple[int, int, int, int]] = []
    for w in ends.values():
        top, bottom = int(w.line_top), round(w.line_top + w.line_height)
        right = round(w.left + w.width) + 2
        # any word over the band covers its glyphs: Tesseract may set the
        # words of one printed line on lines of their own ("3." apart from
        # its label), whose glyphs must not be read twice
        beside = [o for o in words if o.top < bottom and o.top + o.height > top]
        glyphs = []
        for g in ocr_glyphs.segments(ink, top, bottom, right, ink.shape[1]):
            if any(ocr_glyphs.overlap(g, int(o.left), round(o.left + o.width)) for o in beside):
                break  # the line goes on in a word: only its end is looked at
            if g.bottom - g.top >= 0.5 * (bottom - top):
                glyphs.append(g)
        if glyphs:
            out.append((glyphs[0].left, top, glyphs[-1].right, bottom))
    return out


def line_starts(
    image: Any, words: list[Word], cells: list[Box], scale: float
) -> list[tuple[tuple[int, int, int, int], int]]:
    """Where Tesseract dropped a lone glyph at the start of a text line
    (seed 004: "二、上年结转…" read "、上年结转…", "2.其他法律…" read
    ".其他法律…"; the row label is then not found, or its figures run into
    the next label): for each line, ``((left, top, right, bottom), first)``:
    the pixel box from the glyphs before its first word that no word covers
    to a few words further (context), and where those glyphs end. The glyphs go leftwards
    from the first word while they are closer to each other than a line's
    height (a character and its neighbour, not another column); a glyph under
    half the line's height (a full stop, a speck, a flat "一") is not taken,
    nor a table cell's ink (read cell by cell)."""
    from services.extract.engine.readers import ocr_glyphs

    ink = image == 0
    for x0, top, x1, bottom in cells:
        ink[int(top * scale) : int(bottom * scale) + 1, int(x0 * scale) : int(x1 * scale) + 1] = False
    starts: dict[float, Word] = {}
    for w in words:
        first = starts.get(w.line_top)
        if first is None or w.left < first.left:
            starts[w.line_top] = w
    out: list[tuple[tuple[int, int, int, int], int]] = []
    for w in starts.values():
        top, bottom = int(w.line_top), round(w.line_top + w.line_height)
        # any word over the band covers its glyphs (as in line_ends)
        beside = [o for o in words if o.top < bottom and o.top + o.height > top]
        glyphs: list[ocr_glyphs.Glyph] = []
        edge = int(w.left)
        for g in reversed(ocr_glyphs.segments(ink, top, bottom, 0, int(w.left) - 1)):
            if edge - g.right > bottom - top:
                break  # a gap wider than a character: not this line's text
            if any(ocr_glyphs.overlap(g, int(o.left), round(o.left + o.width)) for o in beside):
                break
            if g.bottom - g.top >= 0.5 * (bottom - top):
                glyphs.append(g)
            edge = g.left
        if glyphs:
            # a few characters of context: "二、" alone is read "一一、"
            on_line = [o for o in words if o.line_top == w.line_top]
            right = max(o.left + o.width for o in on_line if o.left < w.left + _CONTEXT * (bottom - top))
            out.append(((glyphs[-1].left, top, round(right), bottom), glyphs[0].right))
    return out


def leading(words: list[Word], limit: float) -> list[Word]:
    """What of ``words`` lies before ``limit`` (pixels): each word's
    characters whose share of its box (divided evenly, as :func:`to_chars`
    sets them) has its middle there. (Tesseract's box of a lone "二" reaches
    to the "、" after it, so its end says less than its middle.)"""
    out: list[Word] = []
    for w in words:
        step = w.width / len(w.text)
        n = sum(1 for i in range(len(w.text)) if w.left + (i + 0.5) * step <= limit)
        if n:
            out.append(dataclasses.replace(w, text=w.text[:n], width=n * step))
    return out


def _on_a_vertical_line(w: Word) -> bool:
    """The word's text line is several times taller than it is wide, and than
    the word is tall: Tesseract set it in a vertical line. (A line box that
    takes in a word of the line below is tall, but wider than tall.)"""
    return w.line_height > 3 * max(w.height, w.line_width)


def _closing_rules(rules_h: list[Rule], rules_v: list[Rule]) -> list[Rule]:
    """A table cut by the page break has no border on its open side: its
    column borders end there on one row. Draw that border, so its last (or
    first) row is a row of cells, as a PDF's clipping path makes it."""
    out: list[Rule] = []

    def bottom(r: Rule) -> int:
        return int(r[3])

    def top(r: Rule) -> int:
        return int(r[2])

    for pick in (bottom, top):  # the bottom ends, then the top ends
        ends: dict[int, list[Rule]] = {}
        for r in rules_v:
            ends.setdefault(pick(r) // 8, []).append(r)
        for key, group in ends.items():
            group += ends.get(key + 1, [])
            if len(group) < 3:
                continue
            y = round(sum(pick(r) for r in group) / len(group))
            left, right = min(r[0] for r in group), max(r[1] for r in group)
            closed = any(
                abs((h[0] + h[1]) / 2 - y) <= 8 and h[2] <= left + 8 and h[3] >= right - 8
                for h in rules_h + out
            )
            if not closed:
                out.append((y, y, left, right))
    return out


def _digit_height(crop: Any) -> tuple[Any, float]:
    """The crop scaled so its ink is :data:`DIGIT_PX` high (the Latin model
    reads digits best there), and the factor (new size / old)."""
    import numpy as np
    from PIL import Image

    rows = np.nonzero((crop == 0).any(axis=1))[0]
    if not len(rows):
        return crop, 1.0
    factor = DIGIT_PX / max(rows[-1] - rows[0] + 1, 1)
    img = Image.fromarray(crop)
    size = (max(int(img.width * factor), 1), max(int(img.height * factor), 1))
    return np.array(img.resize(size, Image.Resampling.LANCZOS)), factor


def _inside(w: Word, cells: list[Box], scale: float) -> bool:
    x = (w.left + w.width / 2) / scale
    y = (w.top + w.height / 2) / scale
    return any(x0 <= x <= x1 and top <= y <= bottom for x0, top, x1, bottom in cells)


def _is_figure_cell(words: list[Word]) -> bool:
    """A cell the Chinese model read as no word at all, or as marks (a "1"
    read as "]"), a figure: no Chinese and no dash (a dash says "none")."""
    text = "".join(w.text for w in words)
    return not _CJK.search(text) and not _DASH.fullmatch(text)


def recognise(
    images: list[Any], psm: str, *, digits: bool = False, languages: str | None = None
) -> list[list[Word]]:
    """Tesseract's words of each greyscale image, in one run (the model is
    loaded once for all the cells of a page). ``psm`` is Tesseract's page
    segmentation mode (3: find the layout, 6: one block, 7: one line);
    ``digits``: digits and the decimal point only, by the Latin model unless
    ``languages`` says otherwise."""
    from PIL import Image

    if not images:
        return []
    # one thread: pages and documents are what run in parallel (bounded.py),
    # and OpenMP threads inside each would only contend for the same cores
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OMP_THREAD_LIMIT": "1", "LC_ALL": "C.UTF-8"}
    with tempfile.TemporaryDirectory(prefix="ogi-ocr-") as tmp:
        names = []
        for i, image in enumerate(images):
            name = os.path.join(tmp, f"{i}.png")
            Image.fromarray(image).save(name)
            names.append(name)
        listing = os.path.join(tmp, "images.txt")
        with open(listing, "w") as f:
            f.write("\n".join(names) + "\n")
        model = ["-l", languages or ("eng" if digits else LANGUAGES)]
        if digits:
            model += ["-c", "tessedit_char_whitelist=0123456789."]
        tsv = _tesseract([listing, "stdout", *model, "--psm", psm, "--dpi", str(DPI), "tsv"], env)
    by_image = parse_tsv(tsv)
    return [by_image.get(i + 1, []) for i in range(len(images))]


def _tesseract(args: list[str], env: dict[str, str]) -> str:
    try:
        proc = subprocess.run(
            ["tesseract", *args], capture_output=True, timeout=PAGE_TIMEOUT_S, env=env, check=False
        )
    except FileNotFoundError as e:
        raise ConversionFailed("ocr: the tesseract program is not installed (deploy/apt-packages.txt)") from e
    except subprocess.TimeoutExpired as e:
        raise ConversionFailed(f"ocr: tesseract took longer than {PAGE_TIMEOUT_S:g} s on one page") from e
    if proc.returncode != 0:
        raise ConversionFailed(
            f"ocr: tesseract failed (exit {proc.returncode}): {proc.stderr.decode('utf-8', 'replace')[-300:]}"
        )
    return proc.stdout.decode("utf-8", "replace")


def parse_tsv(tsv: str) -> dict[int, list[Word]]:
    """Words by image number (1-based, Tesseract's ``page_num``)."""
    words: dict[int, list[Word]] = {}
    line_box = (0.0, 0.0, 0.0)
    for line in tsv.splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) < 12 or cols[0] not in ("4", "5"):
            continue
        try:
            left, top, width, height = (float(c) for c in cols[6:10])
            conf = float(cols[10])
        except ValueError:
            continue
        if cols[0] == "4":  # a text line: comes before its words
            line_box = (top, height, width)
            continue
        text = cols[11].strip()
        if not text or width <= 0 or height <= 0:
            continue
        line_top, line_height, line_width = line_box
        if not (line_top <= top + height / 2 <= line_top + line_height):
            line_top, line_height, line_width = top, height, width
        on_image = words.setdefault(int(cols[1]), [])
        if (
            on_image
            and on_image[-1].line_top == line_top
            and on_image[-1].left < left < on_image[-1].left + on_image[-1].width
        ):
            # Tesseract sometimes boxes a word to the end of the line ("掌握"
            # over "相关政府"); split evenly, its characters would sort among
            # the next word's. It ends where the next word starts.
            on_image[-1] = dataclasses.replace(on_image[-1], width=left - on_image[-1].left)
        on_image.append(Word(text, left, top, width, height, conf, line_top, line_height, line_width))
    return words


def _runs(ink: Any, min_len: int) -> list[tuple[int, int, int]]:
    """``(row, start, end)`` of every horizontal run of ink at least
    ``min_len`` pixels long (pass the transposed image for vertical runs)."""
    import numpy as np

    h, w = ink.shape
    padded = np.zeros((h, w + 2), dtype=np.int8)
    padded[:, 1:-1] = ink
    step = np.diff(padded, axis=1)
    rows, starts = np.nonzero(step == 1)
    _, ends = np.nonzero(step == -1)  # row-major order: the k-th end closes the k-th start
    keep = ends - starts >= min_len
    return list(zip(rows[keep].tolist(), starts[keep].tolist(), ends[keep].tolist(), strict=True))


def _merge(runs: list[tuple[int, int, int]]) -> list[Rule]:
    """One line for the pixel rows a ruling line is thick: runs on adjacent
    rows with about the same ends merge: ``(first_row, last_row, start,
    end)``. (Keyed by the
    ends rounded, so a page of solid ink costs one pass, not pairs.)"""
    open_lines: dict[tuple[int, int], list[int]] = {}  # rounded ends -> [first_row, last_row, start, end]
    out: list[list[int]] = []
    for row, start, end in sorted(runs):
        key = (start // 16, end // 16)
        line = open_lines.get(key)
        if line is not None and row - line[1] <= 1:
            line[1] = row
            line[2], line[3] = min(line[2], start), max(line[3], end)
            continue
        line = [row, row, start, end]
        open_lines[key] = line
        out.append(line)
    return [(a, b, s, e) for a, b, s, e in out]
