"""The glyphs of a run of figures on a page image, to count its digits.

Tesseract's line model reads a run of equal digits with the wrong count at
high confidence ("0000000" as "000000" at 97): it reads the line as a
sequence, not glyph by glyph. Printed digits do not touch, so the run's
glyphs can be counted on the image itself: the columns of ink of the text
line, split where a column is white.

- :func:`digit_run` finds the run a word of figures is in: the line's band of
  ink around the word, its glyphs (column segments), the figure height (the
  digits' common top and bottom, lining figures), and from the glyphs under
  the word outwards every glyph of figure height and width, or a decimal
  point on the baseline, closer to the last than a space. A Chinese
  character is taller than the figures or wider, and ends the run.
  A run goes on over a space between two digits (the crawler's text reports
  print table cells as "23 0 00 0 023"): the digits' pitch says where a space
  is (:data:`SPACE_PITCH`), and the run's :attr:`Run.pattern` has it, because
  the text reader splits a row's figures at its spaces.
- :func:`strip` lays the run's digits out one by one with wide gaps, at the
  height Tesseract reads digits best, so a second reading cannot run two
  equal digits into one.

Pure functions of a binarised image (``True`` = ink): no Tesseract here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Two glyphs of one run are closer than this (figure heights): the ink of
# two "0"s of the corpus's fonts is ~0.12 of their height apart, of a "1"
# and a "0" ~0.35 (a "1" is narrow on the same advance), a space adds ~0.45.
MAX_GAP = 0.5
# The ink of a digit spans the figure height within this (figure heights, at
# least 2 px): JPEG fringes and the binarisation move an edge by a pixel, a
# round digit overshoots a flat one by about as much. A Chinese character
# beside it reaches ~0.12 higher and lower (WenQuanYi at 300 dpi: 4 px of 31).
EDGE = 0.07
# A digit is at most this wide (figure heights): "0" is ~0.6, a Chinese
# character ~1.2.
MAX_DIGIT_WIDTH = 0.85
# A decimal point is at most this high and wide (figure heights), on the
# baseline.
MAX_DOT = 0.3
# Two digits whose ink centres are further apart than this (figure heights)
# have a space between them: digits are set on one advance, so the centres of
# two neighbours are an advance apart give or take the side bearings
# (WenQuanYi at 300 dpi: 21.5-26.5 px for a figure height of 31, with a space
# 32.5-37.5; DejaVu Sans 25.5-28.5 of 32, with a space 39.5-42.5).
SPACE_PITCH = 0.97
# ... and further apart than this many widths of the run's widest digit: a bold
# face's digits are set as far apart as a regular one's with a space
# (DejaVu Sans Bold: 0.98 figure heights), but no further than 1.36 of their
# width, where a space puts them 1.40 and more (measured over every digit pair
# of WenQuanYi and the DejaVu faces at 10.5 pt, 300 dpi).
SPACE_WIDTHS = 1.38
# A run goes on over one space between two digits (figure heights, centre to
# centre: WenQuanYi's widest is 1.21, DejaVu's 1.33); two spaces, or a
# character, end it.
MAX_SPACED_PITCH = 1.4
# The rows searched for the line's band of ink around a word: the word's box
# and this much of its height above and below (rows of other lines are cut off
# at the white rows between them).
_REACH = 0.5


@dataclass(frozen=True)
class Glyph:
    """A column segment of ink on the page image, in pixels (right and bottom
    exclusive), and what its shape says it is: ``"digit"``, ``"dot"`` or
    ``"other"``."""

    left: int
    right: int
    top: int
    bottom: int
    kind: str = "other"


@dataclass(frozen=True)
class Run:
    """The glyphs of a run of figures (digits and decimal points, in order)
    and the figure height's rows."""

    glyphs: tuple[Glyph, ...]
    top: int
    bottom: int

    @property
    def pattern(self) -> str:
        """``"d"`` for a digit, ``"."`` for a point, ``" "`` for a space
        between two digits: what the run's text must look like (``"ddd.dd"``,
        ``"dd d dd"``)."""
        out = []
        widest = max((g.right - g.left for g in self.glyphs if g.kind == "digit"), default=0)
        for prev, g in zip((None, *self.glyphs), self.glyphs, strict=False):
            if prev is not None and spaced(prev, g, self.bottom - self.top, widest):
                out.append(" ")
            out.append("." if g.kind == "dot" else "d")
        return "".join(out)

    @property
    def left(self) -> int:
        return self.glyphs[0].left

    @property
    def right(self) -> int:
        return self.glyphs[-1].right


def band(ink: Any, x0: int, x1: int, y0: int, y1: int) -> tuple[int, int] | None:
    """The rows ``(top, bottom)`` of the band of ink (rows with ink between
    columns ``x0``..``x1``, white rows of one or two allowed, as inside "二")
    that the word's rows ``y0``..``y1`` are in; ``None`` without ink."""
    import numpy as np

    h = ink.shape[0]
    reach = int((y1 - y0) * _REACH) + 1
    lo, hi = max(y0 - reach, 0), min(y1 + reach, h)
    rows = ink[lo:hi, max(x0, 0) : x1].any(axis=1)
    inked = np.nonzero(rows)[0]
    if not len(inked):
        return None
    middle = (y0 + y1) // 2 - lo
    bands: list[list[int]] = []
    for r in inked.tolist():
        if bands and r - bands[-1][1] <= 3:
            bands[-1][1] = r
        else:
            bands.append([r, r])
    # the band holding the word's middle row, or else the one nearest to it
    first, last = min(
        bands, key=lambda b: 0 if b[0] <= middle <= b[1] else min(abs(b[0] - middle), abs(b[1] - middle))
    )
    return lo + first, lo + last + 1


def segments(ink: Any, top: int, bottom: int, x0: int, x1: int) -> list[Glyph]:
    """The column segments of ink between rows ``top``..``bottom`` and
    columns ``x0``..``x1``, each with its own ink rows."""
    import numpy as np

    x0, x1 = max(x0, 0), min(x1, ink.shape[1])
    area = ink[top:bottom, x0:x1]
    cols = area.any(axis=0)
    padded = np.concatenate(([False], cols, [False])).astype(np.int8)
    step = np.diff(padded)
    starts = np.nonzero(step == 1)[0]
    ends = np.nonzero(step == -1)[0]
    out = []
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        rows = np.nonzero(area[:, s:e].any(axis=1))[0]
        out.append(Glyph(x0 + s, x0 + e, top + int(rows[0]), top + int(rows[-1]) + 1))
    return out


def figure_height(glyphs: list[Glyph]) -> tuple[int, int] | None:
    """The rows ``(top, bottom)`` most of these glyphs (those under a word
    read as figures) share: lining figures all have the same top and
    bottom. ``None`` unless two glyphs of the taller half agree on it."""
    tall = [g for g in glyphs if g.bottom - g.top >= 0.5 * max(x.bottom - x.top for x in glyphs)]
    tops = sorted(g.top for g in tall)
    bottoms = sorted(g.bottom for g in tall)
    top, bottom = tops[len(tops) // 2], bottoms[len(bottoms) // 2]
    tol = max(2.0, EDGE * (bottom - top))
    agree = [g for g in tall if abs(g.top - top) <= tol and abs(g.bottom - bottom) <= tol]
    if len(agree) < 2:  # one glyph does not say whether it is a figure
        return None
    return top, bottom


def classify(g: Glyph, top: int, bottom: int) -> Glyph:
    """The glyph with its kind, by its ink against the figure height."""
    h = bottom - top
    tol = max(2.0, EDGE * h)
    width = g.right - g.left
    if abs(g.top - top) <= tol and abs(g.bottom - bottom) <= tol and width <= MAX_DIGIT_WIDTH * h:
        kind = "digit"
    elif abs(g.bottom - bottom) <= tol and g.bottom - g.top <= MAX_DOT * h and width <= MAX_DOT * h:
        kind = "dot"
    else:
        kind = "other"
    return Glyph(g.left, g.right, g.top, g.bottom, kind)


def digit_run(ink: Any, left: int, top: int, right: int, bottom: int) -> Run | None:
    """The run of figures the word boxed ``left, top, right, bottom`` (page
    pixels, right and bottom exclusive) is in, or ``None`` when the image
    does not show one (no ink, no common figure height, a glyph under the
    word that is neither a digit nor a point)."""
    # the band over the line around the word, so a Chinese character beside
    # the figures is seen whole, taller than they are; and room for the
    # glyphs Tesseract's box left out
    reach = 3 * (bottom - top)
    rows = band(ink, left - reach, right + reach, top, bottom)
    if rows is None:
        return None
    # the glyphs of the whole line: a window would cut a glyph at its edge
    # in two, and end a long run ("0 0 0 0 0 00") at it
    glyphs = segments(ink, rows[0], rows[1], 0, ink.shape[1])
    under = [i for i, g in enumerate(glyphs) if overlap(g, left, right) * 2 >= g.right - g.left]
    if not under:
        return None
    height = figure_height([glyphs[i] for i in under])
    if height is None:
        return None
    glyphs = [classify(g, *height) for g in glyphs]
    first, last = under[0], under[-1]
    # a bracket or a character Tesseract joined to the figures ("0000000（")
    # is at an end of the word; inside it, the word is not a run of figures
    while first <= last and glyphs[first].kind == "other":
        first += 1
    while last >= first and glyphs[last].kind == "other":
        last -= 1
    if first > last or any(g.kind == "other" for g in glyphs[first : last + 1]):
        return None
    # inside the word, a gap wider than a space is text Tesseract did not
    # box apart: not one run
    if any(
        not _next_in_run(a, b, height[1] - height[0])
        for a, b in zip(glyphs[first:last], glyphs[first + 1 : last + 1], strict=True)
    ):
        return None
    h = height[1] - height[0]
    while first > 0 and _next_in_run(glyphs[first - 1], glyphs[first], h):
        first -= 1
    while last + 1 < len(glyphs) and _next_in_run(glyphs[last], glyphs[last + 1], h):
        last += 1
    run = glyphs[first : last + 1]
    if run[0].kind == "dot":  # a run starts with a digit: a point before it is a full stop
        run = run[1:]
    if not run or all(g.kind == "dot" for g in run):
        return None
    return Run(tuple(run), *height)


def spaced(a: Glyph, b: Glyph, height: int, widest: int) -> bool:
    """Is there a space between the digits ``a`` and ``b`` (neighbours, left
    to right), by their pitch against the figure height and the width of the
    widest digit of their run?"""
    if a.kind != "digit" or b.kind != "digit":
        return False
    pitch = (b.left + b.right - a.left - a.right) / 2
    return pitch > SPACE_PITCH * height and pitch > SPACE_WIDTHS * widest


def _next_in_run(a: Glyph, b: Glyph, height: int) -> bool:
    """Are the neighbours ``a`` and ``b`` (left to right) of one run, given
    that one of them is: both figures, and close (a space between two digits
    is allowed)."""
    if a.kind == "other" or b.kind == "other":
        return False
    if b.left - a.right <= max(2, MAX_GAP * height):
        return True
    pitch = (b.left + b.right - a.left - a.right) / 2
    return a.kind == "digit" and b.kind == "digit" and pitch <= MAX_SPACED_PITCH * height


def strip(image: Any, run: Run, digit_px: int) -> Any:
    """The run's digits (not its points) side by side, each scaled to
    ``digit_px`` high, a digit's height apart, on white: one line for
    Tesseract (``--psm 7``) that it reads glyph by glyph."""
    import numpy as np
    from PIL import Image

    digits = [g for g in run.glyphs if g.kind == "digit"]
    factor = digit_px / max(run.bottom - run.top, 1)
    pad = digit_px
    pieces = []
    for g in digits:
        crop = image[run.top : run.bottom, g.left : g.right]
        img = Image.fromarray(crop)
        size = (max(round(img.width * factor), 1), digit_px)
        pieces.append(np.array(img.resize(size, Image.Resampling.LANCZOS)))
    width = pad * (len(pieces) + 1) + sum(p.shape[1] for p in pieces)
    out = np.full((digit_px + 2 * pad, width), 255, dtype=np.uint8)
    x = pad
    for p in pieces:
        out[pad : pad + digit_px, x : x + p.shape[1]] = p
        x += p.shape[1] + pad
    return out


def overlap(g: Glyph, left: int, right: int) -> int:
    return max(0, min(g.right, right) - max(g.left, left))
