"""The reader-independent document model.

Every reader turns its format into a list of :class:`Block` (paragraphs and
table cells in reading order). :func:`linearise` normalises each block and
joins them into one string, remembering where each block landed, so every
parser works on one text and every figure can point back to its page, table,
row and column.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from services.extract.engine import normalize

CELL_SEP = "\x1f"  # after every table cell
# what OCR writes for each character of a figure it could not read surely
# (〓, the printer's mark for an illegible character): no parser reads a figure there
UNREADABLE = "〓"
ROW_SEP = "\x1e"  # after every table row


@dataclass(frozen=True)
class Block:
    """One paragraph (``table is None``) or one table cell, as the reader saw it."""

    text: str
    page: int | None = None
    table: int | None = None
    row: int | None = None
    col: int | None = None
    row_end: bool = False  # last cell of its row
    # set when OCR read the block from a page image: the lowest word confidence (0-100) in it
    confidence: float | None = None


@dataclass
class RawDocument:
    """What a reader returns: blocks plus what it learnt on the way."""

    blocks: list[Block]
    format: str
    meta: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    has_text_layer: bool = True


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    block: Block


@dataclass
class Document:
    """Normalised, linearised text plus the span of every block."""

    text: str
    spans: list[Span]
    format: str
    meta: dict[str, str]
    warnings: list[str]
    traditional: bool
    has_text_layer: bool = True
    _starts: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._starts = [s.start for s in self.spans]

    def block_at(self, pos: int) -> Block | None:
        """The block whose text contains character ``pos``."""
        i = bisect.bisect_right(self._starts, pos) - 1
        if i >= 0 and self.spans[i].start <= pos < max(self.spans[i].end, self.spans[i].start + 1):
            return self.spans[i].block
        return None

    def blocks_in(self, start: int, end: int) -> list[Block]:
        """Every block whose text overlaps ``[start, end)``."""
        i = max(bisect.bisect_right(self._starts, start) - 1, 0)
        out = []
        while i < len(self.spans) and self.spans[i].start < end:
            if self.spans[i].end > start or self.spans[i].start >= start:
                out.append(self.spans[i].block)
            i += 1
        return out

    def cells_in(self, start: int, end: int) -> list[Span]:
        """Table-cell spans that start inside ``[start, end)``."""
        i = bisect.bisect_left(self._starts, start)
        out = []
        while i < len(self.spans) and self.spans[i].start < end:
            if self.spans[i].block.table is not None:
                out.append(self.spans[i])
            i += 1
        return out


def linearise(raw: RawDocument) -> Document:
    """Normalise every block and join them: paragraphs end in ``\\n``, cells in
    :data:`CELL_SEP`, rows in :data:`ROW_SEP` + ``\\n``."""
    traditional = normalize.is_traditional("".join(b.text for b in raw.blocks[:4000]))
    parts: list[str] = []
    spans: list[Span] = []
    pos = 0
    for b in raw.blocks:
        src = b.text if b.table is None else b.text.replace("\n", " ")
        t = normalize.normalise_text(src, traditional=traditional, pdf=raw.format == "pdf")
        if b.table is None:
            t = t.replace(CELL_SEP, " ").replace(ROW_SEP, " ")
            spans.append(Span(pos, pos + len(t), b))
            parts.append(t + "\n")
            pos += len(t) + 1
        else:
            t = t.replace("\n", " ").replace(CELL_SEP, " ").replace(ROW_SEP, " ").strip()
            spans.append(Span(pos, pos + len(t), b))
            sep = CELL_SEP + (ROW_SEP + "\n" if b.row_end else "")
            parts.append(t + sep)
            pos += len(t) + len(sep)
    return Document(
        text="".join(parts),
        spans=spans,
        format=raw.format,
        meta=dict(raw.meta),
        warnings=list(raw.warnings),
        traditional=traditional,
        has_text_layer=raw.has_text_layer,
    )
