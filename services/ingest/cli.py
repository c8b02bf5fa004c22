"""``ogi ingest file|url|backfill`` and ``ogi status``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from services.ingest.monitor import Monitor, PollResult
    from services.ingest.registry import Source


def _file(args: argparse.Namespace) -> int:
    from services.ingest.files import publish_files

    published = publish_files([Path(p) for p in args.paths], agency_id=args.agency_id, agency_name=args.agency)
    print(f"published {len(published)} document(s)")
    return 0


def _source(args: argparse.Namespace) -> Source:
    from services.ingest.registry import Source, load_registry

    if args.source:
        registry = Path(args.registry) if args.registry else None
        for source in load_registry(registry):
            if source.id == args.source:
                return source
        raise SystemExit(f"no active source {args.source!r} in the registry")
    return Source(id=args.agency_id, name=args.agency or args.agency_id, urls=[args.url],
                  allow_private=args.allow_private)


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
    print(f"{len(result.published)} published, {len(result.unchanged)} unchanged, "
          f"{len(result.refused)} refused, {len(result.errors)} failed")
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


def _status(args: argparse.Namespace) -> int:
    from ogi.broker import ensure_topics
    from ogi.settings import get_settings
    from ogi.topics import INGEST_STATUS
    from services.ingest.registry import load_registry
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
    sources = load_registry(Path(args.registry) if args.registry else None, settings)
    print(render_status(sources, rows, source_problem(settings)))
    from ogi.telemetry import render_lag

    print()
    print(render_lag(settings))
    return 0


def source_problem(settings: Any) -> Callable[[Any], str | None]:
    """What the detector's ``source_unhealthy`` rule says of a source status
    (None: healthy or the rule is disabled)."""
    from services.alerts.rules import load_rules

    rules = load_rules(settings)

    def problem(row: Any) -> str | None:
        findings = [f for rule in rules.values() for f in rule.check_source(row)]
        return "; ".join(f.title for f in findings) or None

    return problem


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

    st = sub.add_parser("status", help="per source: last success, last error, reports found; "
                                             "per consumer group: the lag of each partition")
    st.add_argument("--registry", help="registry file (default: OGI_INGEST_REGISTRY or the shipped one)")
    st.set_defaults(handler=_status)
