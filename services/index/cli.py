"""``ogi index ...`` commands."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _search(args: argparse.Namespace) -> int:
    from ogi.elastic import index_name, make_client

    es = make_client()
    must: list[dict[str, object]] = []
    for field in ("agency", "metric", "applicant"):
        value = getattr(args, field)
        if value:
            must.append({"term": {field: value}})
    if args.year:
        must.append({"term": {"year": args.year}})
    resp = es.search(
        index=index_name("metrics"),
        query={"bool": {"must": must}},
        size=args.size,
        sort=[{"agency": "asc"}, {"year": "asc"}, {"metric": "asc"}],
    )
    for hit in resp["hits"]["hits"]:
        s = hit["_source"]
        print(
            json.dumps(
                {k: s.get(k) for k in ("agency", "year", "metric", "applicant", "value", "provenance")},
                ensure_ascii=False,
            )
        )
    return 0


def _counts(args: argparse.Namespace) -> int:
    from ogi.elastic import INDICES, index_name, make_client

    es = make_client()
    for kind in INDICES:
        name = index_name(kind)
        n = es.count(index=name)["count"] if es.indices.exists(index=name) else 0
        print(f"{name}\t{n}")
    return 0


def _values(given: list[str] | None) -> tuple[str, ...]:
    """A repeatable option, each occurrence possibly comma-separated."""
    return tuple(v.strip() for item in given or () for v in item.split(",") if v.strip())


def _years(text: str) -> object:
    from services.index.export import YearRange

    try:
        return YearRange.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _export(args: argparse.Namespace) -> int:
    import sys
    import threading

    from tqdm import tqdm

    from ogi.elastic import index_name, make_client
    from ogi.log import configure
    from ogi.settings import get_settings
    from ogi.signals import stop_on_signals
    from services.index.errors import ExportFailed, ExportInterrupted, StoreUnavailable
    from services.index.export import ExportFilter, Format, export

    configure(level="WARNING")
    fmt = Format(args.format) if args.format else Format.for_path(Path(args.output or ""))
    path = Path(args.output or f"ogi-metrics.{fmt.value}")
    export_filter = ExportFilter(
        regions=_values(args.region),
        agencies=_values(args.agency),
        levels=_values(args.level),
        years=args.years,
        metrics=_values(args.metric),
        applicants=_values(args.applicant),
        only_consistent=args.only_consistent,
    )
    settings = get_settings()
    stop = threading.Event()
    stop_on_signals(stop.set)  # Ctrl-C / SIGTERM: stop after the page in hand, remove the partial file
    bar = tqdm(
        desc=path.name, unit=" figures", unit_scale=True, disable=None, file=sys.stderr
    )  # only on a terminal

    def set_total(n: int) -> None:
        bar.total = n
        bar.refresh()

    try:
        result = export(
            make_client(settings),
            index_name("metrics", settings),
            path,
            fmt=fmt,
            wide=args.wide,
            bom=args.bom,
            export_filter=export_filter,
            progress=bar.update,
            total=set_total,
            should_stop=stop.is_set,
        )
    except ExportInterrupted as exc:
        bar.close()
        print(str(exc), file=sys.stderr)
        return 130
    except (ExportFailed, StoreUnavailable) as exc:
        bar.close()
        print(f"export failed, no file written: {exc}", file=sys.stderr)
        return 1
    bar.close()
    print(f"{result.rows} rows, {len(result.metrics)} metrics -> {result.path}")
    print(f"data dictionary -> {result.dictionary}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("index", help="query what the indexer wrote to Elasticsearch")
    s = p.add_subparsers(dest="index_command", required=True)
    q = s.add_parser("search", help="metric values, filterable")
    q.add_argument("--agency")
    q.add_argument("--year", type=int)
    q.add_argument("--metric")
    q.add_argument("--applicant", default="total")
    q.add_argument("--size", type=int, default=50)
    q.set_defaults(handler=_search)
    c = s.add_parser("counts", help="documents per index")
    c.set_defaults(handler=_counts)

    e = sub.add_parser(
        "export",
        help="the indexed metrics as a CSV or Parquet file, with a data dictionary",
        description="Write the indexed metrics as a tidy table (one row per agency x year x "
        "metric x applicant) or, with --wide, one row per agency-year. A data "
        "dictionary is written beside the file (<file>.README.md). Absent "
        "figures are not stated, not zero.",
    )
    e.add_argument("-o", "--output", help="file to write (default ogi-metrics.csv / .parquet)")
    e.add_argument("--format", choices=["csv", "parquet"], help="default: from the file name, else csv")
    e.add_argument("--wide", action="store_true", help="one row per agency-year, one column per metric")
    e.add_argument(
        "--bom", action="store_true", help="CSV: start with a UTF-8 BOM so Excel reads the Chinese"
    )
    e.add_argument(
        "--region",
        action="append",
        help="place, e.g. 浙江 or 杭州: every agency within it (repeatable or comma-separated)",
    )
    e.add_argument("--agency", action="append", help="agency name or registry id, exactly")
    e.add_argument("--level", action="append", help="national, province, city, district, zone, department")
    e.add_argument("--years", type=_years, help="2021, 2019-2024, 2019- or -2020")
    e.add_argument("--metric", action="append", help="metric key or glob, e.g. 'applications.refused.*'")
    e.add_argument("--applicant", action="append", help="applicant column, e.g. total or natural_person")
    e.add_argument("--only-consistent", action="store_true", help="only reports whose checks all hold")
    e.set_defaults(handler=_export)
