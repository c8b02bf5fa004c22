"""``ogi ingest file|url|backfill``, ``ogi sources import|list|show|disable|enable|discover``
and ``ogi status``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from services.ingest.monitor import Monitor, PollResult
    from services.ingest.registry import Source
    from services.ingest.sources import SourceTable


def _file(args: argparse.Namespace) -> int:
    from services.ingest.files import publish_files

    published = publish_files(
        [Path(p) for p in args.paths], agency_id=args.agency_id, agency_name=args.agency
    )
    print(f"published {len(published)} document(s)")
    return 0


def _source(args: argparse.Namespace) -> Source:
    from services.ingest.registry import Source

    if args.source:
        for source in _all_sources(args)[0]:  # the registry's and the imported ones
            if source.id == args.source:
                return source
        raise SystemExit(f"no active source {args.source!r} in the registry or the imported sources")
    return Source(
        id=args.agency_id,
        name=args.agency or args.agency_id,
        urls=[args.url],
        allow_private=args.allow_private,
    )


def _monitor() -> Monitor:
    from ogi.broker import ensure_topics
    from ogi.settings import get_settings
    from ogi.topics import INGEST_SEEN, INGEST_STATUS, RAW
    from services.ingest.monitor import Monitor

    settings = get_settings()
    ensure_topics(settings, [RAW, INGEST_SEEN, INGEST_STATUS])
    return Monitor(settings, sources=[])


def _report(result: PollResult) -> int:
    for raw in result.published:
        print(f"published  {raw.source_url}  {raw.content_type}  {raw.size} bytes  id={raw.report_id}")
    for reason in result.refused:
        print(f"refused    {reason}")
    for url in result.unchanged:
        print(f"unchanged  {url}  (already published)")
    for reason in result.errors:
        print(f"error      {reason}")
    print(
        f"{len(result.published)} published, {len(result.unchanged)} unchanged, "
        f"{len(result.refused)} refused, {len(result.errors)} failed"
    )
    if result.published or result.unchanged:
        return 0
    return 1 if result.errors else 2 if result.refused else 0


def _url(args: argparse.Namespace) -> int:
    from ogi.log import configure

    configure()
    source = _source(args)
    monitor = _monitor()
    try:
        return _report(monitor.ingest_url(source, args.url))
    finally:
        monitor.close()


def _backfill(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ogi.log import configure
    from services.ingest.monitor import Progress

    configure(level="WARNING")
    source = _source(args)
    monitor = _monitor()
    bar = tqdm(desc=source.id, unit="report", file=sys.stderr)

    def on_page(url: str, links: int) -> None:
        bar.total = (bar.total or 0) + links
        bar.set_postfix_str(f"page {url.rsplit('/', 1)[-1]}")

    progress = Progress(on_page=on_page, on_link=lambda link: bar.update(1))
    try:
        result = monitor.poll_and_record(source, since_year=args.since, progress=progress)
    finally:
        bar.close()
        monitor.close()
    if result is None:
        print("backfill failed; see the log above", file=sys.stderr)
        return 1
    print(f"{result.pages} list page(s), {result.found} report link(s)")
    return _report(result)


def _all_sources(args: argparse.Namespace) -> tuple[list[Source], set[str]]:
    """Every active source (registry YAML + imported) and the registry's ids."""
    from ogi.settings import get_settings
    from services.ingest.registry import load_registry
    from services.ingest.sources import SourceBook

    settings = get_settings()
    registry = load_registry(Path(args.registry) if getattr(args, "registry", None) else None, settings)
    table = _source_table(producer=False)
    try:
        book = SourceBook(settings, table)
        imported = [s for s in book.sources() if s.id not in {r.id for r in registry}]
    finally:
        table.close()
    return registry + imported, {r.id for r in registry}


def _source_table(producer: bool = True) -> SourceTable:
    from ogi.broker import ensure_topics, make_producer
    from ogi.settings import get_settings
    from ogi.topics import INGEST_SOURCES
    from services.ingest.sources import SourceTable

    settings = get_settings()
    ensure_topics(settings, [INGEST_SOURCES])
    return SourceTable(settings, make_producer(settings) if producer else None)


def _status(args: argparse.Namespace) -> int:
    from ogi.broker import ensure_topics
    from ogi.settings import get_settings
    from ogi.topics import INGEST_STATUS
    from services.ingest.state import StatusTable
    from services.ingest.status import render_status

    settings = get_settings()
    ensure_topics(settings, [INGEST_STATUS])
    table = StatusTable(settings)
    try:
        table.catch_up()
        rows = list(table.rows())
    finally:
        table.close()
    sources, _ = _all_sources(args)
    # the alert rules' verdict on each source, handed in by the ``ogi`` entry
    # point (ogi.cli.PROVIDED): the ingest service does not import alerts
    judge = getattr(args, "source_problem", None)
    unhealthy = judge(settings) if judge else (lambda row: None)
    print(render_status(sources, rows, unhealthy, show_all=args.all))
    from ogi.telemetry import render_lag

    print()
    print(render_lag(settings))
    return 0


def _sources_import(args: argparse.Namespace) -> int:
    from services.ingest.errors import RegistryError, SourceListInvalid
    from services.ingest.sources import import_sources, read_rows, validate_rows

    try:
        rows = read_rows(Path(args.file))
        registry_ids = {s.id for s in _registry_sources(args)}
        sources = validate_rows(rows, registry_ids)
    except SourceListInvalid as exc:
        print(f"{args.file}: {len(exc.problems)} invalid row(s); nothing imported", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    except RegistryError as exc:
        print(f"{args.file}: {exc}; nothing imported", file=sys.stderr)
        return 1
    if args.dry_run:
        print(f"{len(sources)} source(s) valid; nothing imported (--dry-run)")
        return 0
    table = _source_table()
    try:
        count = import_sources(table, sources)
    finally:
        table.close()
    homes = sum(1 for s in sources if not s.urls)
    print(f"imported {count} source(s) ({homes} with only a home page: the monitor finds their column)")
    return 0


def _registry_sources(args: argparse.Namespace) -> list[Source]:
    from services.ingest.registry import load_registry

    return load_registry(Path(args.registry) if getattr(args, "registry", None) else None)


def _sources_list(args: argparse.Namespace) -> int:
    table = _source_table(producer=False)
    try:
        table.catch_up()
        records = {r.id: r for r in table.rows()}
    finally:
        table.close()
    registry = _registry_sources(args)
    print(f"{'source':28} {'from':8} {'on':3} {'level':10} column")
    for source in registry:
        column = (
            source.urls[0] if source.urls else (records.get(source.id) and records[source.id].column) or "?"
        )
        print(f"{source.id:28} {'registry':8} {'yes':3} {source.level or '-':10} {column}")
    for record in sorted(records.values(), key=lambda r: r.id):
        if record.entry is None:
            continue
        entry = record.entry
        column = (entry.get("urls") or [record.column or f"(to find from {entry.get('home')})"])[0]
        enabled = "yes" if entry.get("enabled", True) else "no"
        print(f"{record.id:28} {'import':8} {enabled:3} {entry.get('level') or '-':10} {column}")
    return 0


def _sources_show(args: argparse.Namespace) -> int:
    import json

    table = _source_table(producer=False)
    try:
        table.catch_up()
        record = table.get(args.id)
    finally:
        table.close()
    shipped = next((s for s in _registry_sources(args) if s.id == args.id), None)
    if shipped is None and (record is None or record.entry is None):
        print(f"no source {args.id!r}", file=sys.stderr)
        return 1
    out: dict[str, Any] = {
        "from": "registry" if shipped else "import",
        "source": shipped.model_dump(mode="json", exclude_defaults=True)
        if shipped
        else (record.entry if record else None),
    }
    if record is not None and record.column:
        out |= {
            "column": record.column,
            "column_path": record.column_path,
            "discovered_at": record.discovered_at.isoformat() if record.discovered_at else None,
        }
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0


def _sources_enable(args: argparse.Namespace) -> int:
    from services.ingest.errors import RegistryError
    from services.ingest.sources import set_enabled

    table = _source_table()
    try:
        set_enabled(table, args.id, args.enabled, {s.id for s in _registry_sources(args)})
    except RegistryError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        table.close()
    print(f"{args.id}: {'enabled' if args.enabled else 'disabled'} (running monitors see it within seconds)")
    return 0


def _sources_discover(args: argparse.Namespace) -> int:
    from ogi.log import configure
    from ogi.settings import get_settings
    from services.ingest.column import find_column
    from services.ingest.errors import ColumnNotFound
    from services.ingest.fetch import Fetcher

    configure(level="WARNING")
    fetcher = Fetcher(get_settings())
    try:
        found = find_column(fetcher, args.url, allow_private=args.allow_private)
    except ColumnNotFound as exc:
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        fetcher.close()
    print(found.url)
    print(f"  {args.url}")
    for step in found.path:
        print(f"  -> {step.text}  {step.url}")
    print(f"  ({found.reports} annual report(s) listed; {found.pages_read} page(s) read)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("ingest", help="put report documents on the raw topic")
    s = p.add_subparsers(dest="ingest_command", required=True)
    f = s.add_parser("file", help="publish local report files")
    f.add_argument("paths", nargs="+", metavar="PATH")
    f.add_argument("--agency-id", default="file", help="registry id to key the documents by")
    f.add_argument("--agency", help="agency name, if known")
    f.set_defaults(handler=_file)

    u = s.add_parser("url", help="fetch one document (or an article and its attachments) and publish it")
    u.add_argument("url", metavar="URL")
    u.add_argument("--source", help="registry source the URL belongs to (its name, hints and permissions)")
    u.add_argument("--agency-id", default="url", help="key for an ad-hoc URL (without --source)")
    u.add_argument("--agency", help="agency name for an ad-hoc URL")
    u.add_argument("--allow-private", action="store_true", help="let an ad-hoc URL reach private addresses")
    u.add_argument("--registry", help="registry file (default: OGI_INGEST_REGISTRY or the shipped one)")
    u.set_defaults(handler=_url)

    b = s.add_parser("backfill", help="walk a source's list pages back to a year and publish what is new")
    b.add_argument("source", help="registry source id")
    b.add_argument("--since", type=int, default=2008, help="oldest reporting year to fetch (default 2008)")
    b.add_argument("--registry", help="registry file (default: OGI_INGEST_REGISTRY or the shipped one)")
    b.set_defaults(handler=_backfill, url=None, agency_id=None, agency=None, allow_private=False)

    st = sub.add_parser(
        "status",
        help="a summary, then the sources that need a look (--all: every source); "
        "per consumer group: the lag of each partition",
    )
    st.add_argument("--registry", help="registry file (default: OGI_INGEST_REGISTRY or the shipped one)")
    st.add_argument("--all", action="store_true", help="list every source, healthy ones too")
    st.set_defaults(handler=_status)

    src = sub.add_parser("sources", help="sources beyond the registry YAML: import a list, find columns")
    ss = src.add_subparsers(dest="sources_command", required=True)
    registry_help = "registry file (default: OGI_INGEST_REGISTRY or the shipped one)"
    i = ss.add_parser(
        "import", help="add or update sources from a CSV or YAML file (all rows valid, or none)"
    )
    i.add_argument("file", metavar="FILE")
    i.add_argument("--dry-run", action="store_true", help="validate only")
    i.add_argument("--registry", help=registry_help)
    i.set_defaults(handler=_sources_import)
    ls = ss.add_parser("list", help="every source: registry and imported, with its column")
    ls.add_argument("--registry", help=registry_help)
    ls.set_defaults(handler=_sources_list)
    sh = ss.add_parser("show", help="one source as stored, with its discovered column and the path to it")
    sh.add_argument("id")
    sh.add_argument("--registry", help=registry_help)
    sh.set_defaults(handler=_sources_show)
    for name, enabled in (("disable", False), ("enable", True)):
        d = ss.add_parser(name, help=f"{name} an imported source")
        d.add_argument("id")
        d.add_argument("--registry", help=registry_help)
        d.set_defaults(handler=_sources_enable, enabled=enabled)
    dc = ss.add_parser("discover", help="find the annual-report column from an agency's home page")
    dc.add_argument("url", metavar="URL")
    dc.add_argument(
        "--allow-private", action="store_true", help="let a local test site on a private address be read"
    )
    dc.set_defaults(handler=_sources_discover)
