"""Extraction throughput and peak memory per format.

    .venv/bin/python benchmarks/bench_extract.py [--seconds 3] [--json]

For each format, a fresh worker process extracts its documents repeatedly on
one core for about ``--seconds`` (at least once each) and reports reports
per second per core and its peak RSS (and the converter's, for DOC). Inputs:
the shared corpus (text pages, the gb2021 PDF) and the same generated
report in every format (tests/unit/extract/reportgen.py). ``html-article``
and ``html-word`` are the corpus's standard-template texts as real-looking
article pages, plain and in Word's pasted markup (:func:`article_pages`).

"reports/s/core" is 1 / CPU seconds per report: on a shared machine the wall
clock counts other processes' turns on the core ("wall reports/s" shows it).
The ``ocr`` row reads a scan of the corpus PDF (:func:`ocr_inputs`, 300 dpi,
no text layer) through Tesseract: a report takes tens of CPU seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the corpus sits beside the repository (../shared), or beside the folder of worktrees
CORPUS = next(
    (p / "shared" / "corpus" for p in ROOT.parents if (p / "shared" / "corpus").is_dir()),
    ROOT.parent / "shared" / "corpus",
)
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "unit" / "extract"))

FORMATS = (
    "text-corpus",
    "pdf-corpus",
    "text",
    "text-run-together",
    "html",
    "html-article",
    "html-word",
    "pdf",
    "docx",
    "doc",
    "ocr",
)


def ocr_inputs() -> list[tuple[str, bytes]]:
    """The shared corpus's 5-page gb2021 PDF (dev-12) as a scan: every page
    rendered at 300 dpi into an image-only PDF, as `make bench-ocr` makes
    them, so every figure comes from OCR."""
    from bench_ocr import image_pdf, pdf_pages  # beside this script

    pdf = CORPUS / "dev" / "dev-12.pdf"
    return [("dev-12.scan.pdf", image_pdf(pdf_pages(pdf.read_bytes(), 300), 300))]


def article_pages(word: bool) -> list[tuple[str, bytes]]:
    """Every standard-template text of the shared corpus as an agency's
    article page (UTF-8: navigation, sidebar links, the text as paragraphs,
    the three tables as real HTML tables with rowspans/colspans), as
    tests/accuracy/test_article_pages.py reads them; with ``word``, in the
    markup Word leaves when pasted into a CMS (``MsoNormal`` paragraphs,
    ``mso-`` styles, ``<o:p>``, every number split into two runs:
    tests/accuracy/wordproc.py ``word_runs``)."""
    from tests.accuracy import wordproc
    from tests.unit.extract import variants

    pages = []
    for p in sorted(CORPUS.glob("*/*.txt")):
        try:
            tables, clean = variants.from_corpus(p)
        except ValueError:
            continue  # not gb2019/gb2021: no standard tables to render
        html = variants.render_article_page(tables, other_years=(clean.year - 1, clean.year - 2))
        if word:
            html = wordproc.word_runs(html)
        pages.append((f"{p.stem}.html", html.encode("utf-8")))
    return pages


def inputs(fmt: str) -> list[tuple[str, bytes]]:
    import reportgen

    if fmt == "text-corpus":
        return [(p.name, p.read_bytes()) for p in sorted(CORPUS.glob("*/*.txt"))]
    if fmt == "pdf-corpus":
        return [(p.name, p.read_bytes()) for p in sorted(CORPUS.glob("*/*.pdf"))]
    if fmt == "ocr":
        return ocr_inputs()
    if fmt in ("html-article", "html-word"):
        return article_pages(word=fmt == "html-word")
    gen = {
        "text": lambda: reportgen.flattened_text().encode(),
        "text-run-together": lambda: reportgen.run_together_text().encode(),
        "html": reportgen.html_gbk,
        "pdf": reportgen.pdf_bytes,
        "docx": reportgen.docx_bytes,
        "doc": reportgen.doc_bytes,
    }[fmt]
    ext = {"text": "txt", "text-run-together": "txt"}.get(fmt, fmt)
    return [(f"generated.{ext}", gen())]


def _cpu() -> float:
    """CPU seconds of this process and of the programs it ran and waited for
    (LibreOffice for DOC, Tesseract for OCR): a report's whole cost."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def worker(fmt: str, seconds: float) -> dict[str, object]:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    from services.extract.engine import extract

    docs = inputs(fmt)
    if not docs:
        return {"format": fmt, "documents": 0}
    if fmt != "ocr":  # (an OCR run takes tens of seconds: its imports are noise)
        extract(docs[0][1], filename=docs[0][0])  # warm-up: imports, OpenCC tables
    n = 0
    t0 = time.perf_counter()
    cpu0 = _cpu()
    while True:
        for name, data in docs:
            extract(data, filename=name)
            n += 1
        if time.perf_counter() - t0 >= seconds:
            break
    wall = time.perf_counter() - t0
    cpu = _cpu() - cpu0
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "format": fmt,
        "documents": len(docs),
        "extractions": n,
        "reports_per_s_per_core": float(f"{n / cpu:.3g}") if cpu else None,
        "wall_reports_per_s": round(n / wall, 2),
        "cpu_s_per_report": round(cpu / n, 4),
        "peak_rss_mb": round(self_rss, 1),
        "converter_peak_rss_mb": round(child_rss, 1) if child_rss else None,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.seconds)))
        return 0
    rows = []
    for fmt in args.formats.split(","):
        out = subprocess.run(
            [sys.executable, __file__, "--worker", fmt, "--seconds", str(args.seconds)],
            check=False,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if out.returncode != 0:
            rows.append({"format": fmt, "error": out.stderr.strip().splitlines()[-1:]})
            continue
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    if args.json:
        for r in rows:
            print(json.dumps(r))
        return 0
    print(
        f"{'format':<18} {'docs':>4} {'runs':>5} {'reports/s/core':>14} {'wall reports/s':>14} {'cpu s/report':>12}"
        f" {'peak RSS MB':>11} {'converter RSS MB':>16}"
    )
    for r in rows:
        if "error" in r:
            print(f"{r['format']:<18} error: {r['error']}")
            continue
        if not r.get("documents"):
            print(f"{r['format']:<18} no documents")
            continue
        print(
            f"{r['format']:<18} {r['documents']:>4} {r['extractions']:>5} {r['reports_per_s_per_core']:>14}"
            f" {r['wall_reports_per_s']:>14} {r['cpu_s_per_report']:>12} {r['peak_rss_mb']:>11}"
            f" {r['converter_peak_rss_mb'] or '-':>16}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
