"""readers → normalisation → template detection → table / prose parsers →
reconciliation → checks → derived rates. Pure: bytes in, report out."""

from __future__ import annotations

import hashlib

from ogi.vocabulary import parse_date, published_date
from schemas.catalogue import PARENTS
from schemas.events import ExtractedReport, Provenance, Script, Template
from services.extract.engine import checks, detect, metadata, prose, rates, readers, sections, tables
from services.extract.engine.document import Document, RawDocument, linearise
from services.extract.errors import CorruptDocument, ExtractError, ParseError

# keys a table report may take from its prose (the tables do not carry them)
_PROSE_KEYS_FOR_TABLE_REPORTS = ("proactive.items_total", "fees.collected_yuan")


def extract(data: bytes, *, filename: str | None = None, content_type: str | None = None) -> ExtractedReport:
    """Read one document and return every figure it states."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        raw = readers.read(data, filename, content_type)
    except (ExtractError, MemoryError):
        raise
    except RecursionError as e:
        raise CorruptDocument(f"document nests too deeply to read: {e}") from e
    except Exception as e:  # a reader library failing on a damaged file
        raise CorruptDocument(f"cannot read the document: {type(e).__name__}: {e}") from e
    try:
        return _parse(raw, digest, filename)
    except (ExtractError, MemoryError):
        raise
    except Exception as e:
        raise ParseError(f"parser failed: {type(e).__name__}: {e}") from e


def _parse(raw: RawDocument, digest: str, filename: str | None) -> ExtractedReport:
    doc = linearise(raw)
    published = parse_date(raw.meta.get("published") or "")
    report = ExtractedReport(
        published_at=published,
        report_id=digest[:40],
        file=filename,
        format=raw.format,
        content_sha256=digest,
        source_url=raw.meta.get("source_url"),
        warnings=list(doc.warnings),
    )
    if not doc.has_text_layer or not doc.text.strip():
        report.warnings.append("no text layer: the document has no extractable text (scanned?); nothing read")
        return report
    if report.published_at is None:
        report.published_at = published_date(doc.text[:3000])
    ttl = metadata.title(doc)
    report.script = Script.TRADITIONAL if doc.traditional else Script.SIMPLIFIED
    report.agency, why = metadata.ocr_checked_agency(doc, metadata.agency(doc, ttl))
    if why:
        report.warnings.append(why)
    report.year = metadata.year(doc, ttl)
    report.region = metadata.region(report.agency)

    res = tables.TableResult()
    span = tables.find_application_table(doc)
    if span is not None:
        tables.parse_applications(doc, res, span)
    variant = tables.parse_proactive(doc, res, limit=span[0] if span else None)
    template = detect.template(
        doc,
        ttl,
        app_table=span is not None and res.found,
        other_rows=res.other_rows,
        proactive_variant=variant,
    )
    report.template = template
    if template == Template.NONE:
        report.warnings.append("not an annual report (title/content): nothing read")
        return report

    metrics: dict[str, float] = {}
    prov: dict[str, Provenance] = {}
    warnings: list[str] = []
    if template in (Template.GB2021, Template.GB2019):
        tables.parse_review(doc, res, after=span[0] if span else 0)
        if (doc.format == "pdf" and not res.apps_from_cells) or res.figures_above_labels:
            _distrust_pdf_text_layout(res)
        if _read_by_ocr(doc, res.provenance):
            _distrust_ocr(res)
        metrics.update(res.metrics)
        prov.update(res.provenance)
        report.breakdown = res.breakdown
        warnings += res.warnings
        p_vals, p_prov, p_warn = prose.parse(doc).decided()
        warnings += p_warn  # a key the text states twice with different figures
        _settle_pending(res, p_vals, metrics, prov, warnings)
        for k in _PROSE_KEYS_FOR_TABLE_REPORTS:
            if k in p_vals and k not in metrics:
                metrics[k] = p_vals[k]
                prov[k] = p_prov[k]
            elif k in p_vals and metrics[k] != p_vals[k]:
                warnings.append(
                    f"{k}: the table says {metrics[k]:g} but the text says {p_vals[k]:g}; "
                    "the table's figure kept"
                )
        report.checks = checks.compute(metrics, report.breakdown, table=True)
        for name, why in sections.incomplete(doc, metrics):
            report.incomplete_sections.append(name)
            warnings.append(why)
    else:
        _freetext(doc, metrics, prov, warnings)
        report.checks = checks.compute(metrics, {}, table=False)

    for k, v in rates.compute(metrics).items():
        metrics[k] = v
        prov[k] = Provenance(
            kind=prov["applications.total_handled"].kind if "applications.total_handled" in prov else "table",
            text="computed from the figures, not read",
        )
    report.metrics = metrics
    report.provenance = prov
    _mark_ocr(doc, prov)
    report.warnings += [w for w in doc.warnings if w not in report.warnings] + warnings
    return report


def _mark_ocr(doc: Document, prov: dict[str, Provenance]) -> None:
    """Say which figures OCR read, with the lowest confidence of the blocks
    holding its figures. A figure without a span (a sum, a rate) is OCR's when
    its page, or the whole document, is."""
    blocks = [s.block for s in doc.spans if s.block.text.strip()]  # an empty cell has no confidence
    ocr_pages = {b.page for b in blocks if b.confidence is not None}
    if not ocr_pages:
        return
    scanned = all(b.confidence is not None for b in blocks)
    for p in prov.values():
        if p.span is None:
            if scanned or p.page in ocr_pages:
                p.via = "ocr"
            continue
        read = [(b, b.confidence) for b in doc.blocks_in(*p.span) if b.confidence is not None]
        # the blocks holding figures: a row's span also touches its label cell
        confs = [c for b, c in read if any(ch.isdigit() for ch in b.text)] or [c for _, c in read]
        if confs:
            p.via, p.confidence = "ocr", min(confs)


def _distrust_pdf_text_layout(res: tables.TableResult) -> None:
    """A PDF table read from its text lines (no ruling lines found), or a text
    table with figures above its first label, can put a row's figures above
    its label; keep the application figures only when every identity confirms
    the reading."""
    c = checks.compute(res.metrics, res.breakdown, table=True)
    needed = ["intake_balance", "outcome_sum", "applicant_sums"]
    if "applicant_sums" not in c and res.breakdown:
        needed.remove("applicant_sums")  # blank applicant columns: the identity cannot run; no failure
    if all(c.get(k) is True for k in needed):
        res.warnings.append("application table read from PDF text lines; every identity holds")
        return
    if res.figures_follow_labels:
        return  # each row's figures follow its label on its line: the row order is the text's
    _drop_application_figures(
        res,
        "application table read from text lines (a PDF without a table grid, or figures above "
        "their labels) and its identities do not confirm the row order; application figures left out",
    )


def _drop_application_figures(res: tables.TableResult, why: str) -> None:
    """Leave out every application figure of a reading not to be trusted, saying why."""
    for k in [k for k in res.metrics if k.startswith("applications.")]:
        res.metrics.pop(k)
        res.provenance.pop(k, None)
    res.breakdown.clear()
    res.warnings.append(why)


def _read_by_ocr(doc: Document, prov: dict[str, Provenance]) -> bool:
    """Did OCR read any application figure (a block with a recognition confidence)?"""
    return any(
        b.confidence is not None
        for k, p in prov.items()
        if k.startswith("applications.") and p.span is not None
        for b in doc.blocks_in(*p.span)
    )


def _distrust_ocr(res: tables.TableResult) -> None:
    """An application table OCR read whose own identities fail is more likely
    misread than misprinted (a garbled row label hands a parent row its first
    sub-row's figures): its figures are left out. Printed text keeps a failing
    identity as the agency's own arithmetic; a recognition gets no such trust."""
    _distrust_unconfirmed_ocr_parents(res)
    c = checks.compute(res.metrics, res.breakdown, table=True)
    failed = [
        k for k in ("intake_balance", "outcome_sum", "reason_sums", "applicant_sums") if c.get(k) is False
    ]
    if not failed:
        return
    if res.figures_follow_labels and c.get("applicant_sums") is True:
        # Each row is confirmed on its own: its figures follow its label on its
        # line (no row can have taken another's) and its applicant columns add
        # up to its total (a misread digit breaks that sum unless a second one
        # offsets it). What fails is then the table's arithmetic across rows,
        # the agency's, kept and flagged as for printed text (dev-11: 本机关不掌握
        # 5 against 0 applications).
        res.warnings.append(
            f"application table read by OCR: its identities fail ({', '.join(failed)}), but every row's "
            "figures follow its label and add up across its applicant columns; kept as printed"
        )
        return
    _drop_application_figures(
        res,
        f"application table read by OCR and its identities fail ({', '.join(failed)}): "
        "more likely misread than misprinted; application figures left out",
    )


def _distrust_unconfirmed_ocr_parents(res: tables.TableResult) -> None:
    """A group row ((三)不予公开, (四)无法提供 …) given figures by the
    line-by-line reading while some of its reasons were left unread: a reason
    label OCR garbled leaves its figures to the group label above it (dev-12
    scanned at 150 dpi: 无法提供 took 本机关不掌握's 10), and no identity is
    left to catch it. Kept when every reason is read too (the reason identity
    checks it), or when the group's own row was read next to its label (the
    2019 layout prints (六)其他处理 as one row)."""
    for parent, children in PARENTS.items():
        if parent in res.line_by_line and not all(c in res.metrics for c in children):
            res.metrics.pop(parent)
            res.provenance.pop(parent, None)
            res.breakdown.pop(parent, None)
            res.warnings.append(
                f"{parent}: placed by the line-by-line reading of an OCR'd table while some of its "
                "reasons were not read; a garbled reason label may have left it that reason's figures; left out"
            )


def _settle_pending(
    res: tables.TableResult,
    stated: dict[str, float],
    metrics: dict[str, float],
    prov: dict[str, Provenance],
    warnings: list[str],
) -> None:
    """A run-together proactive row that splits several ways is settled when
    the prose states one of its cells: keep the splits that agree with it and
    take the columns on which those agree."""
    for prefix, cols in res.pending.items():
        if not cols:
            continue
        v = cols[0][2]
        names = [c for c, _, _ in cols]
        keep = list(v.candidates)
        for j, c in enumerate(names):
            key = f"{prefix}.{c}"
            if key in stated:
                keep = [cand for cand in keep if abs(cand[j] - stated[key]) < 1e-6]
        if not keep:
            warnings.append(
                f"{prefix}: the text states figures no split of '{v.text}' allows; the row is left out"
            )
            continue
        if len(keep) == len(v.candidates):
            continue
        for j, c in enumerate(names):
            opts = {cand[j] for cand in keep}
            key = f"{prefix}.{c}"
            if len(opts) == 1 and key not in metrics:
                metrics[key] = next(iter(opts))
                prov[key] = Provenance(
                    kind="table",
                    row=prefix,
                    column=c,
                    span=(v.start, v.end),
                    text=f"{v.text} (split fixed by the figure stated in the text)",
                )
        warnings.append(
            f"{prefix}: '{v.text}' narrowed to {len(keep)} split(s) by figures stated in the text"
        )


def _freetext(
    doc: Document, metrics: dict[str, float], prov: dict[str, Provenance], warnings: list[str]
) -> None:
    """Prose plus the 2008-era statistics table, reconciled: where the two
    disagree the key is left out (a wrong number is worse than none)."""
    t_vals, t_cands, t_prov, t_warn = tables.parse_legacy(doc)
    warnings += t_warn
    pr = prose.parse(doc)
    keys = set(t_vals) | set(t_cands) | set(pr.values)
    for key in sorted(keys):
        stated = {v for v, _ in pr.values.get(key, [])}
        p = next(iter(stated)) if len(stated) == 1 else None
        if key in t_vals:
            t = t_vals[key]
            if not stated or (t in stated and len(stated) == 1):
                metrics[key], prov[key] = t, t_prov[key]
            else:
                warnings.append(
                    f"{key}: the table says {t:g} but the text says "
                    f"{', '.join(f'{x:g}' for x in sorted(stated))}; left out"
                )
        elif key in t_cands:
            if p is not None and p in t_cands[key]:
                metrics[key] = p
                prov[key] = pr.values[key][0][1]
            else:
                warnings.append(
                    f"{key}: table cell splits several ways ({t_cands[key]}) and the text does not "
                    "decide; left out"
                )
        elif p is not None:
            metrics[key] = p
            prov[key] = pr.values[key][0][1]
        else:
            warnings.append(f"{key}: the text states {sorted(stated)}; left out")
