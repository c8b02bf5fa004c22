"""``ogi ingest ...`` commands."""

from __future__ import annotations

import argparse
from pathlib import Path


def _file(args: argparse.Namespace) -> int:
    from services.ingest.files import publish_files

    published = publish_files([Path(p) for p in args.paths], agency_id=args.agency_id, agency_name=args.agency)
    print(f"published {len(published)} document(s)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("ingest", help="put report documents on the raw topic")
    s = p.add_subparsers(dest="ingest_command", required=True)
    f = s.add_parser("file", help="publish local report files")
    f.add_argument("paths", nargs="+", metavar="PATH")
    f.add_argument("--agency-id", default="file", help="registry id to key the documents by")
    f.add_argument("--agency", help="agency name, if known")
    f.set_defaults(handler=_file)
