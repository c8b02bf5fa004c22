"""The ``ogi`` command line: one entry point, one sub-command group per
service. Each service contributes its commands through a ``register``
function in its own ``cli.py`` so the commands live beside their code."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError

from ogi.settings import SettingsError, get_settings

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


#: modules whose ``register`` adds commands, in help order. By name, like
#: ``ogi serve``'s table (ogi.commands.SERVICES): ogi/ is the shared layer
#: and never imports a service; only this entry point composes them.
COMMAND_MODULES = (
    "ogi.commands",
    "services.ingest.cli",
    "services.extract.cli",
    "services.index.cli",
    "services.alerts.cli",
)


#: what one service's command needs of another, by name, handed to every
#: command as ``args.<key>`` (imported only when called). ``ogi status``
#: shows the alert rules' verdict on each source this way.
PROVIDED = {
    "source_problem": "services.alerts.rules:source_problem",
}


def _provided(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    return call


def _registrars() -> list[Register]:
    # Imported here, not at module top, so importing ogi.cli stays cheap.
    return [importlib.import_module(name).register for name in COMMAND_MODULES]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ogi",
        description="Watch open government information annual reports: ingest, extract, index, alert.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for register in _registrars():
        register(sub)
    parser.set_defaults(**{key: _provided(target) for key, target in PROVIDED.items()})
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int | None] = args.handler
    try:
        get_settings()  # a bad or unknown setting stops every command here, before any work
    except (SettingsError, ValidationError) as exc:
        print(f"ogi: configuration error: {exc}", file=sys.stderr)
        return 2
    from ogi.errors import BrokerError, StoreUnavailable

    try:
        return int(handler(args) or 0)
    except (
        BrokerError,
        StoreUnavailable,
    ) as exc:  # the start-up checks' verdicts: a message, not a traceback
        print(f"ogi: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
