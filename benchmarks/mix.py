"""A backfill-like mix of distinct annual reports for ``make bench``.

Every report is the generated gb2021 report of tests/unit/extract/reportgen.py
(the figures add up) or a real text report of the shared corpus, made
distinct cheaply and consistently:

- agency: 示例市示例区 becomes one of 40 x 40 two-character city x district
  names (same length, so it can be replaced inside a .doc's UTF-16 text);
- year: 2021-2024 (the report's year and its publication year after it);
- figures: every count of the tables multiplied by 1-4 (sums stay sums).

HTML, text, DOCX and DOC are rendered once per figure scale and then
substituted per report (milliseconds). A PDF cannot be edited like that, so
PDFs are rendered per (agency, year, scale, pages) variant, at most
``PDF_VARIANTS`` of them, cached under ``$OGI_HOME/bench-corpus``; reports
beyond that reuse a variant with a distinct trailing comment (a distinct
report with the same agency-year). Real corpus texts get a distinct last line.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import sys
import zipfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: the shared corpus beside the checkout; a checkout elsewhere (a git
#: worktree) names it in OGI_TEST_CORPUS
CORPUS = Path(os.environ.get("OGI_TEST_CORPUS", ROOT.parent / "shared" / "corpus"))
sys.path.insert(0, str(ROOT / "tests" / "unit" / "extract"))

#: share of each format in a backfill (most agencies publish an HTML page,
#: many a PDF, some a Word file, a few a legacy .doc)
MIX = {"html": 0.35, "pdf": 0.25, "text": 0.15, "corpus-text": 0.10, "docx": 0.12, "doc": 0.03}
PDF_VARIANTS = 120
SCALES = (1, 2, 3, 4)
YEARS = (2021, 2022, 2023, 2024)
CITIES = [
    "江宁",
    "徐汇",
    "海淀",
    "朝阳",
    "天河",
    "武侯",
    "雁塔",
    "鼓楼",
    "西湖",
    "南岗",
    "历下",
    "岳麓",
    "江汉",
    "金水",
    "五华",
    "城关",
    "新城",
    "碑林",
    "和平",
    "河西",
    "南明",
    "青秀",
    "思明",
    "南关",
    "长安",
    "开福",
    "滨江",
    "余杭",
    "吴中",
    "姑苏",
    "崇川",
    "广陵",
    "京口",
    "海曙",
    "鹿城",
    "越城",
    "婺城",
    "柯城",
    "椒江",
    "莲都",
]
DISTRICTS = CITIES[::-1]
BASE_PLACE = "示例市示例区"
FILLER = "我单位将进一步加强政府信息公开工作，健全完善制度机制，不断提升公开质量和实效，更好地服务人民群众。"


@dataclass(frozen=True)
class Report:
    fmt: str  # html, pdf, text, docx, doc
    filename: str
    content: bytes
    agency_id: str


def _place(i: int) -> str:
    return f"{CITIES[i % 40]}市{DISTRICTS[(i // 40) % 40]}区"


def _scaled(scale: int) -> None:
    """Set reportgen's figures to ``scale`` times the hand-written ones."""
    import reportgen

    orig = getattr(reportgen, "_bench_orig", None)
    if orig is None:
        orig = reportgen._bench_orig = (
            list(reportgen.PROACTIVE),
            list(reportgen.APPS),
            list(reportgen.REVIEW),
        )
    proactive, apps, review = orig
    reportgen.PROACTIVE = [
        (label, [v * scale if isinstance(v, int) else v for v in vals]) for label, vals in proactive
    ]
    reportgen.APPS = [(*head, [v * scale for v in vals]) for *head, vals in apps]
    reportgen.REVIEW = [v * scale for v in review]


def _substitute(text: str, place: str, year: int) -> str:
    return text.replace(BASE_PLACE, place).replace("2023", str(year + 1)).replace("2022", str(year))


def _docx_substitute(data: bytes, place: str, year: int, mark: str) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "word/document.xml":
                body = _substitute(body.decode(), place, year).encode()
            z.writestr(info, body)
        z.comment = mark.encode()
    return out.getvalue()


def _doc_substitute(data: bytes, place: str, year: int) -> bytes:
    """A Word 97 file keeps Chinese text as UTF-16LE: same-length swaps keep
    every offset in the file valid."""
    for old, new in ((BASE_PLACE, place), ("2023", str(year + 1)), ("2022", str(year))):
        data = data.replace(old.encode("utf-16-le"), new.encode("utf-16-le"))
    return data


def _render_pdf(place: str, year: int, scale: int, pages: int) -> bytes:
    import reportgen

    _scaled(scale)
    saved = reportgen.TITLE, reportgen.INTRO, reportgen.OUTRO
    reportgen.TITLE = _substitute(reportgen.TITLE, place, year)
    reportgen.INTRO = [_substitute(x, place, year) for x in reportgen.INTRO]
    # the report itself takes three A4 pages; about 40 filler lines a page more
    reportgen.OUTRO = reportgen.OUTRO + [FILLER] * (max(0, pages - 3) * 40)
    try:
        return reportgen.pdf_bytes()
    finally:
        reportgen.TITLE, reportgen.INTRO, reportgen.OUTRO = saved


def _pdf_variant(args: tuple[int, int, int, int, str]) -> bytes:
    place_i, year, scale, pages, cache = args
    path = Path(cache) / f"pdf-{place_i}-{year}-{scale}-{pages}.pdf"
    if not path.exists():
        data = _render_pdf(_place(place_i), year, scale, pages)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path.read_bytes()


def _bases(cache: Path, need_doc: bool) -> dict[tuple[str, int], bytes]:
    """HTML, text, DOCX (and DOC) per figure scale, with the example place and year."""
    import reportgen

    bases: dict[tuple[str, int], bytes] = {}
    for scale in SCALES:
        _scaled(scale)
        bases["text", scale] = reportgen.flattened_text().encode()
        bases["html", scale] = reportgen.html_gbk()
        bases["docx", scale] = reportgen.docx_bytes()
        if need_doc:
            path = cache / f"doc-{scale}.doc"
            if not path.exists():
                path.write_bytes(reportgen.doc_bytes())
            bases["doc", scale] = path.read_bytes()
    _scaled(1)
    return bases


def generate(
    n: int, *, seed: int = 14, cache: Path, tag: str = "", only: tuple[str, ...] = ()
) -> Iterator[Report]:
    """``n`` distinct reports in the :data:`MIX`, in a shuffled order.
    ``tag`` makes the run's bytes (so its report ids) its own."""
    cache.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(seed)
    formats = [f for f in MIX if not only or f in only]
    plan = rnd.choices(formats, weights=[MIX[f] for f in formats], k=n)
    bases = _bases(cache, need_doc="doc" in plan)
    corpus_texts = sorted(CORPUS.glob("*/*.txt"))
    if "corpus-text" in plan and not corpus_texts:
        raise SystemExit(f"no corpus texts under {CORPUS}: set OGI_TEST_CORPUS to the shared corpus")
    pdf_specs = [
        (i, YEARS[i % 4], SCALES[(i // 4) % 4], 3 + (i * 7) % 8, str(cache))
        for i in range(min(PDF_VARIANTS, plan.count("pdf")))
    ]
    with ProcessPoolExecutor(max(1, min(2, os.cpu_count() or 1))) as ex:
        pdfs = list(ex.map(_pdf_variant, pdf_specs))
    pdfs += [p.read_bytes() for p in sorted(CORPUS.glob("*/*.pdf"))]
    for i, fmt in enumerate(plan):
        place_i = i % 1600
        place, year, scale = _place(place_i), YEARS[(i // 1600) % 4], SCALES[i % 4]
        mark = f"{tag}-{i}"
        if fmt == "text":
            text = _substitute(bases["text", scale].decode(), place, year) + f"\n（{mark}）\n"
            data = text.encode()
        elif fmt == "corpus-text":
            data = corpus_texts[i % len(corpus_texts)].read_bytes() + f"\n（{mark}）\n".encode()
            fmt = "text"
        elif fmt == "html":
            html = _substitute(bases["html", scale].decode("gbk"), place, year)
            data = html.replace("</body>", f"<!-- {mark} --></body>").encode("gbk")
        elif fmt == "docx":
            data = _docx_substitute(bases["docx", scale], place, year, mark)
        elif fmt == "doc":
            data = _doc_substitute(bases["doc", scale], place, year) + mark.encode()
        else:  # pdf: a rendered variant, distinct by a comment after %%EOF
            data = pdfs[i % len(pdfs)] + f"\n% {mark}\n".encode()
        ext = {"text": "txt"}.get(fmt, fmt)
        digest = hashlib.sha256(data).hexdigest()[:8]
        yield Report(fmt, f"{i}-{digest}.{ext}", data, agency_id=f"bench-{place_i}")
