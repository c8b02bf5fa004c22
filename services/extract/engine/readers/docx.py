"""DOCX via python-docx (it resolves the OOXML part relationships and
merged-cell grid, which hand-parsing document.xml would have to re-implement).
A zip-bomb guard runs before anything is decompressed."""

from __future__ import annotations

import io
import zipfile

from services.extract.engine.document import Block, RawDocument
from services.extract.engine.readers.limits import clamp_docx_grid_spans
from services.extract.errors import CorruptDocument, DocumentTooLarge

MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_RATIO = 200


def guard_zip(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = 0
            for info in zf.infolist():
                total += info.file_size
                if (
                    info.compress_size
                    and info.file_size / max(info.compress_size, 1) > MAX_RATIO
                    and info.file_size > 10 * 1024 * 1024
                ):
                    raise DocumentTooLarge(
                        f"docx: part {info.filename} expands {info.file_size} bytes from "
                        f"{info.compress_size} (ratio over {MAX_RATIO}): a decompression bomb"
                    )
            if total > MAX_UNCOMPRESSED:
                raise DocumentTooLarge(
                    f"docx: parts expand to {total} bytes, over the {MAX_UNCOMPRESSED} limit"
                )
    except zipfile.BadZipFile as e:
        raise CorruptDocument(f"docx: damaged zip container: {e}") from e


def read(data: bytes) -> RawDocument:
    guard_zip(data)
    import docx
    from docx.oxml.ns import qn

    try:
        d = docx.Document(io.BytesIO(data))
    except Exception as e:  # python-docx raises KeyError/ValueError/lxml errors on damaged parts
        raise CorruptDocument(f"docx: cannot open: {type(e).__name__}: {e}") from e
    blocks: list[Block] = []
    tno = 0
    body = d.element.body
    clamp_docx_grid_spans(body)
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    def walk(parent) -> None:  # type: ignore[no-untyped-def]
        nonlocal tno
        for child in parent.iterchildren():
            if child.tag == qn("w:p"):
                t = Paragraph(child, d).text
                if t.strip():
                    blocks.append(Block(t))
            elif child.tag == qn("w:tbl"):
                _table(Table(child, d), tno, blocks)
                tno += 1
            elif child.tag in (qn("w:sdt"), qn("w:sdtContent"), qn("w:customXml")):
                walk(child)  # content controls (WPS and template-made reports) wrap paragraphs and tables

    walk(body)
    return RawDocument(blocks=blocks, format="docx")


def _table(table, number: int, blocks: list[Block]) -> None:  # type: ignore[no-untyped-def]
    """Each cell once, at its grid column. The cells are walked directly, not
    through python-docx's ``row.cells``: that resolves every vertical-merge
    continuation by searching the rows above, one row at a time, which is
    quadratic in a long merged column (1,000 repeated rows held a worker for
    its whole timeout). A continuation carries no text of its own and is
    skipped either way."""
    from docx.oxml.ns import qn
    from docx.table import _Cell

    for r, tr in enumerate(table._tbl.tr_lst):
        out: list[Block] = []
        c = 0
        for tc in tr.tc_lst:
            try:
                span = tc.grid_span
            except Exception:  # a span that is no number
                span = 1
            vm = tc.tcPr.find(qn("w:vMerge")) if tc.tcPr is not None else None
            if vm is None or vm.get(qn("w:val")) not in (None, "continue"):
                out.append(Block(" ".join(_Cell(tc, table).text.split()), table=number, row=r, col=c))
            c += max(1, span)
        if out:
            last = out[-1]
            out[-1] = Block(last.text, table=last.table, row=last.row, col=last.col, row_end=True)
            blocks.extend(out)
