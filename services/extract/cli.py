"""``ogi extract [--json] FILE...``: run the extraction engine on local files.

One JSON object per line per file with ``--json`` (the ExtractedReport plus
``file`` exactly as given); a short summary otherwise. A file that fails
prints ``{"file", "error", "error_class"}`` and the command goes on with the
next file; the exit status is 1 when any file failed.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import sys
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "extract",
        help="extract the figures of annual reports from local files",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    # defaults: the worker's limits (OGI_EXTRACT_TIMEOUT_S, OGI_EXTRACT_MAX_MEMORY_MB)
    p.add_argument(
        "--timeout", type=float, default=None, help="seconds per file (default: the worker's limit)"
    )
    p.add_argument(
        "--max-memory-mb",
        type=int,
        default=None,
        help="address-space limit per file (default: the worker's limit)",
    )
    p.add_argument("--unbounded", action="store_true", help="run in this process (no time/memory limit)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ogi.gazetteer import full_region
    from ogi.localfiles import LocalFileRefused, read_document_file
    from ogi.settings import get_settings
    from services.extract.engine import extract, extract_bounded
    from services.extract.errors import ExtractError

    max_bytes = get_settings().max_document_bytes
    failed = 0
    for path in args.files:
        try:
            # only a regular file, and no larger than the worker accepts
            data = read_document_file(path, max_bytes)
            ctype = mimetypes.guess_type(path)[0]
            if args.unbounded:
                report = extract(data, filename=path, content_type=ctype)
            else:
                report = extract_bounded(
                    data,
                    filename=path,
                    content_type=ctype,
                    timeout_s=args.timeout,
                    max_memory_mb=args.max_memory_mb,
                )  # None: the settings' limit
        except (ExtractError, LocalFileRefused, OSError) as e:
            failed += 1
            print(
                json.dumps(
                    {"file": path, "error": str(e), "error_class": type(e).__name__}, ensure_ascii=False
                ),
                flush=True,
            )
            continue
        report = report.model_copy(update={"region": full_region(report.region)})  # as the worker stores it
        obj = json.loads(report.model_dump_json())
        obj["file"] = path
        if args.json:
            print(json.dumps(obj, ensure_ascii=False), flush=True)
        else:
            failed_checks = [k for k, v in report.checks.items() if not v]
            print(
                f"{path}: {report.agency or '?'} {report.year or '?'} [{report.template.value}, "
                f"{report.format}] {len(report.metrics)} figures; checks "
                f"{sum(report.checks.values())}/{len(report.checks)} ok"
                + (f" (failed: {', '.join(failed_checks)})" if failed_checks else "")
                + (
                    f"; sections not read: {', '.join(report.incomplete_sections)}"
                    if report.incomplete_sections
                    else ""
                )
                + (f"; {len(report.warnings)} warnings" if report.warnings else ""),
                flush=True,
            )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ogi")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
