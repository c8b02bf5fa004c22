"""``ogi export``: the indexed metrics as one file researchers open in
pandas, R, Stata or a spreadsheet, with a data dictionary beside it.

Two layouts:

* tidy (default): one row per agency × year × metric × applicant, each row
  carrying its report's metadata and the figure's provenance;
* wide (``--wide``): one row per agency-year (per source document, when two
  documents contributed figures to one agency-year), one column per metric.

Rows stream from Elasticsearch through a point-in-time with
``search_after`` (one page in memory at a time, no deep paging), and the
file is written under a temporary name renamed at the very end: an export
that fails or is interrupted leaves no file, not half of one.
"""

from __future__ import annotations

import csv
import json
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq
import structlog
from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError

from ogi.gazetteer import region_prefixes
from schemas import catalogue
from services.index.errors import ExportFailed, ExportInterrupted, StoreUnavailable

log = structlog.get_logger("ogi.export")

#: hits per search_after page: the most an export holds in memory at once
PAGE_SIZE = 5000
#: how long Elasticsearch keeps the point-in-time between two pages
KEEP_ALIVE = "5m"

ABSENT_RULE = (
    "A figure the report does not state is absent: it has no row (wide layout: an empty cell). "
    "It is never filled in with 0 and never guessed, so absent means *not stated*, not zero; "
    "a 0 in this file is a 0 the report printed."
)


class Format(str, Enum):
    CSV = "csv"
    PARQUET = "parquet"

    @classmethod
    def for_path(cls, path: Path) -> Format:
        return cls.PARQUET if path.suffix.lower() in (".parquet", ".pq") else cls.CSV


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    meaning: str


# Report-level columns, shared by both layouts (in the wide layout they
# describe the row's document).
_AGENCY_COLUMNS = (
    Column("agency", pa.string(), "agency name as printed in the report, simplified Chinese"),
    Column("agency_id", pa.string(), "registry id of the source the report was fetched from"),
    Column(
        "region",
        pa.string(),
        "administrative path from the province down, e.g. 浙江省杭州市拱墅区 (the "
        "registry's region placing what the report prints; a name in two provinces stays as printed)",
    ),
    Column("level", pa.string(), "national | province | city | district | zone | department"),
    Column("year", pa.int32(), "the reporting year (not the publication year)"),
)
_REPORT_COLUMNS = (
    Column("template", pa.string(), "report shape the figures were read from (values below)"),
    Column("report_id", pa.string(), "id of the source document (sha256 prefix of its content)"),
    Column("source_url", pa.string(), "where the document was fetched"),
    Column("published_at", pa.date32(), "publication date the site gave"),
    Column("extracted_at", pa.timestamp("us", tz="UTC"), "when the figures were read from the document"),
    Column(
        "failed_checks",
        pa.list_(pa.string()),
        "the report's checks (勾稽关系, below) that do not hold; empty when every check that could be "
        "computed holds. CSV: names separated by ';'",
    ),
)
TIDY_COLUMNS: tuple[Column, ...] = (
    *_AGENCY_COLUMNS,
    Column("metric", pa.string(), "catalogue key, e.g. applications.refused.total (meanings below)"),
    Column(
        "applicant", pa.string(), "applicant column of the figure: total (总计) or one of the types below"
    ),
    Column(
        "value",
        pa.float64(),
        "the figure as stated: a count, or an amount in 万元/元 where the key says so; rates.* are fractions",
    ),
    Column("derived", pa.bool_(), "true for rates.*: computed from other figures of the report, never read"),
    *_REPORT_COLUMNS,
    Column(
        "provenance",
        pa.string(),
        "where in the document the figure was read (page, table, row, column, text)",
    ),
)
WIDE_KEY_COLUMNS: tuple[Column, ...] = (*_AGENCY_COLUMNS, *_REPORT_COLUMNS)

#: the metrics-index fields an export reads
_SOURCE_FIELDS = sorted({c.name for c in TIDY_COLUMNS})
#: stream order: one agency-year's document together, metrics in key order
_SORT = [
    {f: {"order": "asc", "missing": "_last"}}
    for f in ("agency", "agency_id", "year", "report_id", "metric", "applicant")
]


# ---------------------------------------------------------------------------
# filters


@dataclass(frozen=True)
class YearRange:
    first: int | None
    last: int | None

    @classmethod
    def parse(cls, text: str) -> YearRange:
        """``2021``, ``2019-2024``, ``2019-`` or ``-2020``."""
        lo, sep, hi = text.strip().partition("-")
        try:
            first = int(lo) if lo.strip() else None
            last = (int(hi) if hi.strip() else None) if sep else first
        except ValueError:
            raise ValueError(f"not a year or a range like 2019-2024: {text!r}") from None
        if first is None and last is None:
            raise ValueError(f"not a year or a range like 2019-2024: {text!r}")
        if first is not None and last is not None and first > last:
            raise ValueError(f"the range {text!r} ends before it starts")
        return cls(first, last)

    def __str__(self) -> str:
        if self.first == self.last:
            return str(self.first)
        return f"{self.first or ''}–{self.last or ''}"


@dataclass(frozen=True)
class ExportFilter:
    """Which metric rows to export. Empty lists match everything; several
    values of one filter are alternatives (OR), different filters all apply
    (AND)."""

    regions: tuple[str, ...] = ()  # a place, read like a report's region: 浙江 matches 浙江省杭州市拱墅区
    agencies: tuple[str, ...] = ()  # agency name or registry id, exactly
    levels: tuple[str, ...] = ()
    years: YearRange | None = None
    metrics: tuple[str, ...] = ()  # glob: * any characters, ? one
    applicants: tuple[str, ...] = ()
    only_consistent: bool = False  # only reports whose checks all hold

    def query(self) -> dict[str, Any]:
        def any_of(clauses: list[dict[str, Any]]) -> dict[str, Any]:
            return {"bool": {"should": clauses, "minimum_should_match": 1}}

        filters: list[dict[str, Any]] = []
        if self.regions:
            prefixes = [p for r in self.regions for p in region_prefixes(r)]
            filters.append(any_of([{"prefix": {"region": p}} for p in prefixes]))
        if self.agencies:
            filters.append(
                any_of(
                    [
                        {"terms": {"agency": list(self.agencies)}},
                        {"terms": {"agency_id": list(self.agencies)}},
                    ]
                )
            )
        if self.levels:
            filters.append({"terms": {"level": list(self.levels)}})
        if self.years:
            bounds = {k: v for k, v in (("gte", self.years.first), ("lte", self.years.last)) if v is not None}
            filters.append({"range": {"year": bounds}})
        if self.metrics:
            filters.append(any_of([{"wildcard": {"metric": {"value": m}}} for m in self.metrics]))
        if self.applicants:
            filters.append({"terms": {"applicant": list(self.applicants)}})
        must_not = [{"exists": {"field": "failed_checks"}}] if self.only_consistent else []
        if not filters and not must_not:
            return {"match_all": {}}
        return {"bool": {"filter": filters, "must_not": must_not}}

    def describe(self) -> list[str]:
        out = []
        for label, values in (
            ("region within", self.regions),
            ("agency", self.agencies),
            ("level", self.levels),
            ("metric matches", self.metrics),
            ("applicant", self.applicants),
        ):
            if values:
                out.append(f"{label} {' or '.join(values)}")
        if self.years:
            out.append(f"years {self.years}")
        if self.only_consistent:
            out.append("only reports whose checks all hold")
        return out


# ---------------------------------------------------------------------------
# reading: point-in-time + search_after


def _store_call(what: str, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except TransportError as exc:  # refused connection or timeout
        raise StoreUnavailable(f"Elasticsearch not reachable while {what}: {exc}") from exc
    except NotFoundError as exc:
        raise ExportFailed(
            f"no metrics index to export ({what}); run `ogi setup` and index some reports first: {exc}"
        ) from exc
    except ApiError as exc:
        raise ExportFailed(f"Elasticsearch refused {what}: {exc}") from exc


class Snapshot:
    """One point-in-time of an index: the count, the metric list and the
    pages of an export all see the same documents, however long it takes,
    and paging with ``search_after`` has no deep-paging limit."""

    def __init__(self, es: Elasticsearch, index: str) -> None:
        self.es = es
        self.pit = _store_call(
            "opening a point-in-time", lambda: es.open_point_in_time(index=index, keep_alive=KEEP_ALIVE)
        )["id"]

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.es.close_point_in_time(id=self.pit)
        except (ApiError, TransportError) as error:  # it expires by itself after KEEP_ALIVE
            log.warning("point-in-time not closed", error=str(error))

    def _search(self, what: str, **kwargs: Any) -> dict[str, Any]:
        resp = _store_call(
            what, lambda: self.es.search(pit={"id": self.pit, "keep_alive": KEEP_ALIVE}, **kwargs)
        )
        self.pit = resp.get("pit_id", self.pit)
        return dict(resp)

    def census(self, query: dict[str, Any]) -> tuple[int, list[tuple[str, str]]]:
        """How many documents match, and their (metric, applicant) pairs in
        catalogue order (a composite aggregation, paged, so the list is
        complete however long it is)."""
        count, pairs = 0, []
        after: dict[str, Any] | None = None
        while True:
            composite: dict[str, Any] = {
                "size": 1000,
                "sources": [
                    {"metric": {"terms": {"field": "metric"}}},
                    {"applicant": {"terms": {"field": "applicant"}}},
                ],
            }
            if after:
                composite["after"] = after
            resp = self._search(
                "listing the metrics",
                query=query,
                size=0,
                track_total_hits=after is None,
                aggs={"pairs": {"composite": composite}},
            )
            if after is None:
                count = resp["hits"]["total"]["value"]
            agg = resp["aggregations"]["pairs"]
            pairs += [(b["key"]["metric"], b["key"]["applicant"]) for b in agg["buckets"]]
            after = agg.get("after_key")
            if not agg["buckets"] or not after:
                break
        applicants = list(catalogue.APPLICANT_COLUMNS)
        return count, sorted(
            pairs,
            key=lambda p: (
                catalogue.key_order(p[0]),
                p[1] != "total",
                applicants.index(p[1]) if p[1] in applicants else len(applicants),
                p[1],
            ),
        )

    def pages(
        self,
        query: dict[str, Any],
        *,
        sort: list[dict[str, Any]],
        page_size: int = PAGE_SIZE,
        source: list[str] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Every matching document's ``_source``, a page at a time, in ``sort`` order."""
        after: list[Any] | None = None
        while True:
            kwargs: dict[str, Any] = {"search_after": after} if after is not None else {}
            hits = self._search(
                "reading a page",
                query=query,
                sort=sort,
                size=page_size,
                source=source,
                track_total_hits=False,
                **kwargs,
            )["hits"]["hits"]
            if not hits:
                return
            yield [h["_source"] for h in hits]
            if len(hits) < page_size:
                return
            after = hits[-1]["sort"]


def wide_column_name(metric: str, applicant: str) -> str:
    """``applications.granted`` for the total, ``applications.granted[natural_person]`` for a breakdown."""
    return metric if applicant == "total" else f"{metric}[{applicant}]"


def _wide_meaning(metric: str, applicant: str) -> str:
    meaning = catalogue.meaning(metric) or "not in the catalogue"
    if applicant == "total":
        return meaning
    return f"{meaning} — applicant {catalogue.APPLICANT_COLUMN_LABELS.get(applicant, applicant)}"


# ---------------------------------------------------------------------------
# rows


def _date(value: Any) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def _datetime(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def tidy_row(source: dict[str, Any]) -> dict[str, Any]:
    """One metric document as a typed tidy row."""
    row = {c.name: source.get(c.name) for c in TIDY_COLUMNS}
    row["published_at"] = _date(row["published_at"])
    row["extracted_at"] = _datetime(row["extracted_at"])
    row["failed_checks"] = list(row["failed_checks"] or [])
    row["derived"] = bool(row["derived"])
    return row


def _report_key(source: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(source.get(f) for f in ("agency", "agency_id", "year", "report_id"))


def wide_rows(
    pages: Iterable[list[dict[str, Any]]], columns: list[str], on_page: Callable[[int], None]
) -> Iterator[dict[str, Any]]:
    """Fold the stream (sorted by agency, year, document) into one row per
    document: consecutive metric documents of one report become one row."""
    row: dict[str, Any] | None = None
    key: tuple[Any, ...] | None = None
    for page in pages:
        for source in page:
            if _report_key(source) != key:
                if row is not None:
                    yield row
                key = _report_key(source)
                tidy = tidy_row(source)
                row = {c.name: tidy[c.name] for c in WIDE_KEY_COLUMNS} | dict.fromkeys(columns)
            assert row is not None
            row[wide_column_name(source["metric"], source.get("applicant") or "total")] = source["value"]
        on_page(len(page))
    if row is not None:
        yield row


# ---------------------------------------------------------------------------
# writing


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""  # absent: not stated
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):
        return ";".join(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


class _CsvSink:
    def __init__(self, path: Path, columns: list[Column], *, bom: bool) -> None:
        # utf-8-sig puts the BOM Excel needs to read UTF-8; newline="" lets csv write \r\n itself
        self._file: IO[str] = open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="")  # noqa: SIM115
        self._writer = csv.writer(self._file)
        self._names = [c.name for c in columns]
        self._writer.writerow(self._names)

    def write(self, rows: list[dict[str, Any]]) -> None:
        self._writer.writerows([_csv_cell(r[n]) for n in self._names] for r in rows)

    def close(self) -> None:
        self._file.close()

    def abort(self) -> None:
        self._file.close()


class _ParquetSink:
    def __init__(self, path: Path, columns: list[Column], metadata: dict[str, str]) -> None:
        fields = [pa.field(c.name, c.type, metadata={"description": c.meaning}) for c in columns]
        self._schema = pa.schema(fields, metadata=metadata)
        self._writer = pq.ParquetWriter(path, self._schema, compression="zstd")

    def write(self, rows: list[dict[str, Any]]) -> None:
        self._writer.write_batch(pa.RecordBatch.from_pylist(rows, schema=self._schema))

    def close(self) -> None:
        self._writer.close()

    def abort(self) -> None:
        self._writer.close()


@contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """A hidden temporary path beside ``target``, renamed onto it when the
    block succeeds and removed when it fails or is interrupted."""
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def dictionary_path(path: Path) -> Path:
    return path.with_name(path.name + ".README.md")


# ---------------------------------------------------------------------------
# the data dictionary


def _md_table(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    return [
        f"| {' | '.join(header)} |",
        f"|{'|'.join(' --- ' for _ in header)}|",
        *(f"| {' | '.join(cell(c) for c in r)} |" for r in rows),
    ]


def _type_name(t: pa.DataType) -> str:
    return {
        "string": "text",
        "int32": "integer",
        "double": "number",
        "bool": "true/false",
        "date32[day]": "date (YYYY-MM-DD)",
        "timestamp[us, tz=UTC]": "timestamp (UTC, ISO 8601)",
        "list<item: string>": "list of text",
    }.get(str(t), str(t))


def data_dictionary(
    *,
    file_name: str,
    fmt: Format,
    wide: bool,
    columns: list[Column],
    metrics: list[str],
    figures: int,
    index: str,
    export_filter: ExportFilter,
) -> str:
    """The README written beside the file (and into Parquet metadata)."""
    layout = (
        "wide: one row per agency-year and source document, one column per metric"
        if wide
        else "tidy: one row per agency × year × metric × applicant"
    )
    lines = [
        f"# Data dictionary: {file_name}",
        "",
        f"Written by `ogi export` on {datetime.now(UTC).isoformat(timespec='seconds')} from the "
        f"Elasticsearch index `{index}` ({fmt.value}, {layout}): {figures} figures.",
        f"Filters: {'; '.join(export_filter.describe()) or 'none (everything indexed)'}.",
        "",
        "## Absent means not stated, not zero",
        "",
        ABSENT_RULE,
        "",
        "## Columns",
        "",
        *_md_table(("column", "type", "meaning"), ((c.name, _type_name(c.type), c.meaning) for c in columns)),
    ]
    if wide:
        lines += [
            "",
            "Every further column is one metric (its key, meanings below); a breakdown by "
            "applicant type is the column `key[applicant]`. A cell is empty when the report "
            "does not state that figure. Per-figure provenance is in the tidy layout only.",
        ]
    lines += [
        "",
        "## Applicant types",
        "",
        *_md_table(("applicant", "column in the standard table"), catalogue.APPLICANT_COLUMN_LABELS.items()),
        "",
        "## Templates",
        "",
        *_md_table(("template", "meaning"), catalogue.TEMPLATE_MEANINGS.items()),
        "",
        "## Checks (勾稽关系)",
        "",
        "The standard tables carry identities a correct report satisfies; `failed_checks` names the ones "
        "a report breaks (its figures are kept as printed). A check appears only when all its inputs "
        "are stated.",
        "",
        *_md_table(("check", "identity"), catalogue.CHECK_IDENTITIES.items()),
        "",
        "## Metrics in this file",
        "",
        "Keys and meanings from the project's metric catalogue (the row labels of 国办公开办函〔2019〕60号 "
        "and 〔2021〕30号 tables). A count unless the key names a unit.",
        "",
        *_md_table(
            ("metric", "meaning"), ((m, catalogue.meaning(m) or "not in the catalogue") for m in metrics)
        ),
        "",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# the export


@dataclass
class ExportResult:
    path: Path
    dictionary: Path
    rows: int
    metrics: list[str] = field(default_factory=list)


def export(
    es: Elasticsearch,
    index: str,
    path: Path,
    *,
    fmt: Format | None = None,
    wide: bool = False,
    bom: bool = False,
    export_filter: ExportFilter | None = None,
    progress: Callable[[int], None] = lambda n: None,
    total: Callable[[int], None] = lambda n: None,
    should_stop: Callable[[], bool] = lambda: False,
    page_size: int = PAGE_SIZE,
) -> ExportResult:
    """Write the matching metric rows of ``index`` to ``path`` and its data
    dictionary beside it. ``total`` is called once with how many metric
    documents will be read, ``progress`` with each page's number;
    ``should_stop`` is asked between pages (``ExportInterrupted`` if true).
    Nothing is left at ``path`` unless the whole export succeeded."""
    fmt = fmt or Format.for_path(path)
    export_filter = export_filter or ExportFilter()
    query = export_filter.query()
    readme = dictionary_path(path)
    with Snapshot(es, index) as snapshot:
        figures, pairs = snapshot.census(query)
        total(figures)
        metrics = list(dict.fromkeys(m for m, _ in pairs))
        if wide:
            metric_names = [wide_column_name(m, a) for m, a in pairs]
            columns = [
                *WIDE_KEY_COLUMNS,
                *(
                    Column(n, pa.float64(), _wide_meaning(m, a))
                    for n, (m, a) in zip(metric_names, pairs, strict=False)
                ),
            ]
        else:
            metric_names, columns = [], list(TIDY_COLUMNS)
        # known before the first row, so Parquet carries it in its schema
        text = data_dictionary(
            file_name=path.name,
            fmt=fmt,
            wide=wide,
            columns=list(WIDE_KEY_COLUMNS if wide else TIDY_COLUMNS),
            metrics=metrics,
            figures=figures,
            index=index,
            export_filter=export_filter,
        )
        metadata = {
            "ogi.data_dictionary": text,
            "ogi.metric_meanings": json.dumps({m: catalogue.meaning(m) for m in metrics}, ensure_ascii=False),
        }

        def pages() -> Iterator[list[dict[str, Any]]]:
            for page in snapshot.pages(query, sort=_SORT, page_size=page_size, source=_SOURCE_FIELDS):
                if should_stop():
                    raise ExportInterrupted("export interrupted; no file written")
                yield page

        rows = 0
        with atomic_file(path) as tmp, atomic_file(readme) as tmp_readme:
            sink: _CsvSink | _ParquetSink = (
                _ParquetSink(tmp, columns, metadata)
                if fmt is Format.PARQUET
                else _CsvSink(tmp, columns, bom=bom)
            )
            try:
                if wide:
                    batch: list[dict[str, Any]] = []
                    for row in wide_rows(pages(), metric_names, progress):
                        batch.append(row)
                        if len(batch) >= page_size:
                            sink.write(batch)
                            rows, batch = rows + len(batch), []
                    if batch:
                        sink.write(batch)
                        rows += len(batch)
                else:
                    for page in pages():
                        sink.write([tidy_row(s) for s in page])
                        rows += len(page)
                        progress(len(page))
                if should_stop():  # a signal during the last page still means: no file
                    raise ExportInterrupted("export interrupted; no file written")
                sink.close()
            except BaseException:
                sink.abort()
                raise
            tmp_readme.write_text(text, encoding="utf-8")
            # leaving the block renames the dictionary first, then the data: a
            # data file never appears without its README
    log.info("exported", path=str(path), rows=rows, figures=figures, format=fmt.value, wide=wide)
    return ExportResult(path, readme, rows, metrics)
