"""Sources from a list: ``ogi sources import FILE``, and the book of every
source a monitor polls.

Where imported sources live: the compacted topic ``ingest.sources`` (one
:class:`SourceRecord` per source id), beside the seen-state and for the
same reasons (:mod:`services.ingest.state`): every monitor process, on any
host, already reads Kafka and rebuilds the same view from the topic; a
restart loses nothing; there is no second store to run or back up; and the
registry YAML stays the reviewed, shipped list. Columns discovered from a
home page are kept in the same record (``column``, ``column_path``), so a
second monitor or a restart does not discover them again.

An import validates every row against the registry's own model
(:class:`services.ingest.registry.Source`) before writing anything: a file
with one bad row imports nothing and names every bad row.
"""

from __future__ import annotations

import csv
import io
import re
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog
import yaml
from kafka import KafkaProducer
from pydantic import ValidationError

from ogi.settings import Settings
from ogi.topics import INGEST_SOURCES
from schemas.events import SourceRecord, utcnow
from services.ingest.column import ColumnFound, find_column
from services.ingest.errors import FetchError, RegistryError, SourceListInvalid
from services.ingest.fetch import Fetcher
from services.ingest.registry import Source, load_registry, registry_path, runtime_file
from services.ingest.state import CompactedTable

log = structlog.get_logger("ogi.ingest")

#: how often a running monitor looks for newly imported sources
SOURCES_REFRESH_S = 5.0
_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"", "0", "false", "no", "n", "off"}


class SourceTable(CompactedTable[SourceRecord]):
    """Imported sources and discovered columns (``ingest.sources``)."""

    def __init__(
        self, settings: Settings | None = None, producer: KafkaProducer | None = None, *, memory: bool = False
    ) -> None:
        super().__init__(INGEST_SOURCES, settings, producer, memory=memory)


# -- import ----------------------------------------------------------------


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a CSV (header line: name, region, level, url and/or home,
    optionally id, allow_private, enabled) or YAML file (a list, or a
    mapping with ``sources:``, in the registry's format)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RegistryError(f"cannot read {path}: {exc}") from exc
    if path.suffix.lower() == ".csv":
        return [dict(row) for row in csv.DictReader(io.StringIO(text))]
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path} is not valid YAML: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("sources"), list):
        data = data["sources"]
    if not isinstance(data, list):
        raise RegistryError(f"{path}: expected a list of sources (or a mapping with a 'sources' list)")
    return data


def _entry(row: Any) -> dict[str, Any]:
    """A row as a registry entry: ``url``/``column`` become ``urls``, empty
    cells are absent, yes/no cells booleans, a missing id made from the URL."""
    if not isinstance(row, dict):
        raise TypeError("not a mapping of fields")
    entry: dict[str, Any] = {}
    for key, value in row.items():
        key = str(key or "").strip().lower()
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                continue
        if key in ("url", "column", "column_url"):
            entry.setdefault("urls", []).extend(value.split() if isinstance(value, str) else value)
        elif key in ("allow_private", "enabled") and isinstance(value, str):
            if value.lower() not in _TRUE | _FALSE:
                raise ValueError(f"{key}: expected yes or no, got {value!r}")
            entry[key] = value.lower() in _TRUE
        elif key:
            entry[key] = value
    if "id" not in entry:
        start = (entry.get("urls") or [entry.get("home")])[0]
        if isinstance(start, str) and urlsplit(start).hostname:
            entry["id"] = _id_from_url(start)
    return entry


def _id_from_url(url: str) -> str:
    parts = urlsplit(url)
    return re.sub(r"[^a-z0-9.]+", "-", f"{parts.hostname}-{parts.port or ''}".lower()).strip("-.")


def validate_rows(rows: list[Any], registry_ids: set[str]) -> list[Source]:
    """Every row as a :class:`Source`; raises :class:`SourceListInvalid`
    naming every bad row (1-based, the header of a CSV not counted)."""
    problems: list[str] = []
    sources: list[Source] = []
    first_row: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        label = f"row {number}"
        try:
            entry = _entry(row)
            label += f" ({', '.join(str(x) for x in (entry.get('name'), entry.get('id')) if x) or '?'})"
            if not entry.get("urls") and not entry.get("home"):
                raise ValueError("neither a column URL (url) nor the agency's home page (home)")
            source = Source.model_validate(entry)
        except (TypeError, ValueError) as exc:  # ValidationError is a ValueError
            problems.append(f"{label}: {_short(exc)}")
            continue
        if source.id in registry_ids:
            problems.append(
                f"{label}: id {source.id!r} is a source of the shipped registry; choose another id"
            )
        elif source.id in first_row:
            problems.append(f"{label}: id {source.id!r} already given by row {first_row[source.id]}")
        else:
            first_row[source.id] = number
            sources.append(source)
    if problems:
        raise SourceListInvalid(problems)
    return sources


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors())
    return str(exc)


def import_sources(table: SourceTable, sources: list[Source]) -> int:
    """Write validated sources; a re-import of a source keeps the column
    discovered for it while its home page is the same."""
    table.catch_up()
    for source in sources:
        before = table.get(source.id)
        keep = before is not None and before.entry is not None and before.entry.get("home") == source.home
        table.put(
            SourceRecord(
                id=source.id,
                entry=source.model_dump(mode="json", exclude_defaults=True) | {"id": source.id},
                column=before.column if keep and before else None,
                column_path=before.column_path if keep and before else [],
                discovered_at=before.discovered_at if keep and before else None,
            )
        )
    return len(sources)


def set_enabled(table: SourceTable, source_id: str, enabled: bool, registry_ids: set[str]) -> SourceRecord:
    table.catch_up()
    record = table.get(source_id)
    if record is None or record.entry is None:
        if source_id in registry_ids:
            raise RegistryError(f"{source_id!r} is a source of the registry YAML: set 'enabled: false' there")
        raise RegistryError(f"no imported source {source_id!r}")
    updated = record.model_copy(update={"entry": record.entry | {"enabled": enabled}, "updated_at": utcnow()})
    table.put(updated)
    return updated


# -- the book the monitor reads --------------------------------------------


class SourceBook:
    """Every source a monitor polls: the registry YAML's and the imported
    ones; and each source's column (its ``urls``, or the one found from its
    home page, remembered in ``ingest.sources``)."""

    def __init__(self, settings: Settings, table: SourceTable, fetcher: Fetcher | None = None) -> None:
        self.settings = settings
        self.table = table
        self.fetcher = fetcher
        self._stamp: tuple[float, float] | None = None
        self._registry: list[Source] = []
        self._refreshed = 0.0
        self._lock = threading.Lock()

    def registry_ids(self) -> set[str]:
        return {s.id for s in self._read_registry(force=True)}

    def _read_registry(self, force: bool = False) -> list[Source]:
        path = registry_path(self.settings)
        stamp = (_mtime(path), _mtime(runtime_file(self.settings)))
        if force or stamp != self._stamp:
            try:
                self._registry = load_registry(path, self.settings)
                self._stamp = stamp
                log.info("registry loaded", path=str(path), sources=len(self._registry))
            except RegistryError as exc:
                if force:
                    raise
                log.error("registry invalid, keeping the previous sources", error=str(exc), path=str(path))
                self._stamp = stamp
        return self._registry

    def sources(self) -> list[Source]:
        """The active sources (registry first, then imported, enabled ones)."""
        now = time.monotonic()
        if now - self._refreshed >= SOURCES_REFRESH_S:
            self.table.catch_up()
            self._refreshed = now
        registry = self._read_registry()
        known = {s.id for s in registry}
        imported: list[Source] = []
        for record in sorted(self.table.rows(), key=lambda r: r.id):
            if record.entry is None or record.id in known:
                continue
            try:
                source = Source.model_validate(record.entry)
            except ValidationError as exc:  # written by an older version: skipped, said once a refresh
                log.warning("imported source invalid", source=record.id, error=_short(exc))
                continue
            if source.enabled:
                imported.append(source)
        return registry + imported

    # -- columns ----------------------------------------------------------

    def columns(self, source: Source) -> list[str]:
        """The list pages to read: the source's ``urls``, or its remembered
        column, or (first time, or after :meth:`forget_column`) the column
        found from its home page now. Empty when none is found (the poll then
        fails with that error, and the next poll tries again)."""
        if source.urls or not source.home:
            return list(source.urls)
        with self._lock:
            record = self.table.get(source.id)
        if record is not None and record.column:
            return [record.column]
        if self.fetcher is None:
            return []
        try:
            found = find_column(
                self.fetcher,
                source.home,
                allow_private=source.allow_private,
                delay_s=source.hints.delay_s,
                source=source.id,
            )
        except FetchError as exc:
            log.warning("column not found", source=source.id, home=source.home, error=str(exc))
            return []
        self.remember_column(source, found)
        return [found.url]

    def remember_column(self, source: Source, found: ColumnFound | None) -> None:
        with self._lock:
            record = self.table.get(source.id) or SourceRecord(id=source.id, entry=None)
            self.table.put(
                record.model_copy(
                    update={
                        "column": found.url if found else None,
                        "column_path": [f"{s.text} -> {s.url}" for s in found.path] if found else [],
                        "discovered_at": utcnow() if found else None,
                        "updated_at": utcnow(),
                    }
                )
            )

    def forget_column(self, source: Source) -> None:
        """The column stopped yielding reports: discover it again next poll."""
        if source.urls or not source.home:
            return
        record = self.table.get(source.id)
        if record is not None and record.column:
            log.warning(
                "column yields no reports, will discover it again", source=source.id, column=record.column
            )
            self.remember_column(source, None)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
