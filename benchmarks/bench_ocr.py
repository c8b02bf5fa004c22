"""OCR accuracy on scans of the shared corpus.

    .venv/bin/python benchmarks/bench_ocr.py [--dpi 150 300] [--only dev-12] [--keep DIR]

Every report of /work/shared/corpus/{seeds,dev} becomes an image-only PDF
(what a scanner or a "print to image" produces): a PDF is rendered page by
page with PDFium, a text report is typeset on A4 pages (WenQuanYi Micro Hei,
10.5 pt, the Debian ``fonts-wqy-microhei`` package) and rendered the same
way. The page images are stored as JPEG in a PDF without any text, at each
``--dpi``. ``ogi extract --json`` then reads them (the text layer is gone, so
every figure comes from OCR) and the shared scorer scores them against the
same truth as the originals. Also ``make bench-ocr``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("OGI_SHARED", ROOT.parent / "shared"))
if not SHARED.is_dir():
    SHARED = Path("/work/shared")
CORPUS = SHARED / "corpus"
SCORER = SHARED / "tools" / "score_extraction.py"
FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
A4_PT = (595.0, 842.0)
FONT_PT = 10.5
MARGIN_PT = 60.0


def text_pages(text: str, dpi: int, font_file: str = FONT):  # type: ignore[no-untyped-def]
    """A text report typeset on A4 page images (greyscale PIL images)."""
    from PIL import Image, ImageDraw, ImageFont

    scale = dpi / 72
    font = ImageFont.truetype(font_file, int(FONT_PT * scale))
    width, height = (int(v * scale) for v in A4_PT)
    line_px = (A4_PT[0] - 2 * MARGIN_PT) * scale
    line_h = int(FONT_PT * 1.6 * scale)
    lines: list[str] = []
    for para in text.splitlines():
        # the crawler's pages are long runs of text: a line break where a
        # printed page wraps, when the line is full (a digit is half as wide
        # as a Chinese character, so counting characters would end a line of
        # figures short of the margin, where no typesetter ends it)
        # a tab is white space on a printed page (PIL would draw a missing-glyph box, read as "0")
        lines += _wrap(para.expandtabs(4), font, line_px)
    per_page = int((A4_PT[1] - 2 * MARGIN_PT) * scale) // line_h
    pages = []
    for first in range(0, len(lines), per_page):
        img = Image.new("L", (width, height), 255)
        draw = ImageDraw.Draw(img)
        y = int(MARGIN_PT * scale)
        for line in lines[first : first + per_page]:
            draw.text((int(MARGIN_PT * scale), y), line, font=font, fill=0)
            y += line_h
        pages.append(img)
    return pages


def _wrap(para: str, font, width_px: float) -> list[str]:  # type: ignore[no-untyped-def]
    """``para`` in lines as wide as ``width_px`` at most, broken between any
    two characters (as Chinese is set)."""
    lines: list[str] = []
    line, used = "", 0.0
    for ch in para:
        w = font.getlength(ch)
        if line and used + w > width_px:
            lines.append(line)
            line, used = "", 0.0
        line += ch
        used += w
    return [*lines, line]


def pdf_pages(data: bytes, dpi: int):  # type: ignore[no-untyped-def]
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(data)
    try:
        return [doc[i].render(scale=dpi / 72, grayscale=True).to_pil().convert("L") for i in range(len(doc))]
    finally:
        doc.close()


def image_pdf(pages, dpi: int) -> bytes:  # type: ignore[no-untyped-def]
    """The pages as one image-only PDF (JPEG, like a scanner's output)."""
    out = io.BytesIO()
    pages[0].save(out, format="PDF", save_all=True, append_images=pages[1:], resolution=dpi, quality=85)
    return out.getvalue()


def scan_corpus(part: str, dpi: int, dest: Path, only: str | None, font_file: str = FONT) -> Path:
    """``dest/<part>``: an image-only PDF per report, named like the
    original (the scorer matches by file name) plus a truth file renamed to
    match."""
    src = CORPUS / part
    out = dest / part
    out.mkdir(parents=True, exist_ok=True)
    truth = json.loads((src / "truth.json").read_text())
    renamed = {}
    for name, want in truth["reports"].items():
        if only and only not in name:
            continue
        data = (src / name).read_bytes()
        pages = (
            pdf_pages(data, dpi)
            if name.endswith(".pdf")
            else text_pages(data.decode("utf-8"), dpi, font_file)
        )
        scanned = Path(name).stem + ".scan.pdf"
        (out / scanned).write_bytes(image_pdf(pages, dpi))
        renamed[scanned] = want
    truth["reports"] = renamed
    (out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1))
    return out


def score(folder: Path, timeout: float) -> tuple[str, float]:
    cmd = f"{ROOT / '.venv/bin/ogi'} extract --json --timeout {timeout:g}"
    t0 = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            str(SCORER),
            "--truth",
            str(folder / "truth.json"),
            "--dir",
            str(folder),
            "--cmd",
            cmd,
            "--verbose",
            "--timeout",
            "36000",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout + proc.stderr[-2000:], time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dpi", type=int, nargs="+", default=[150, 300])
    ap.add_argument("--parts", nargs="+", default=["seeds", "dev"])
    ap.add_argument("--only", help="only reports whose file name contains this")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per document for ogi extract")
    ap.add_argument("--keep", type=Path, help="keep the scanned PDFs in this folder")
    # the same font unpacked elsewhere (`dpkg-deb -x`), for a machine that must
    # stay without a system CJK font (LibreOffice lays out the tests with it)
    ap.add_argument("--font", default=FONT, help="the WenQuanYi Micro Hei file that typesets text reports")
    args = ap.parse_args()
    dest = args.keep or Path(tempfile.mkdtemp(prefix="ogi-bench-ocr-"))
    try:
        for dpi in args.dpi:
            for part in args.parts:
                folder = scan_corpus(part, dpi, dest / f"{dpi}dpi", args.only, args.font)
                report, seconds = score(folder, args.timeout)
                summary = [ln for ln in report.splitlines() if re.match(r"\s*values ", ln)]
                print(f"== {part} scanned at {dpi} dpi ({seconds:.0f} s)")
                print(report.rstrip())
                if summary:
                    print(f"SUMMARY {part} {dpi}dpi: {summary[-1].strip()}")
                sys.stdout.flush()
    finally:
        if args.keep is None:
            shutil.rmtree(dest, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
