"""The ``ogi`` command line: one entry point, one sub-command group per
service. Each service contributes its commands through a ``register``
function in its own ``cli.py`` so the commands live beside their code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def _registrars() -> list[Register]:
    # Imported here, not at module top, so importing ogi.cli stays cheap.
    from ogi import commands
    from services.extract import cli as extract_cli
    from services.index import cli as index_cli
    from services.ingest import cli as ingest_cli
    from services.alerts import cli as alerts_cli

    return [commands.register, ingest_cli.register, extract_cli.register, index_cli.register, alerts_cli.register]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ogi", description="Watch open government information annual reports: ingest, extract, index, alert."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for register in _registrars():
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int | None] = args.handler
    return int(handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
