"""The source registry: which agency sites the monitor polls.

The registry is data (``registry.yaml`` beside this module, or the file
``OGI_INGEST_REGISTRY`` names); its format is documented at the top of the
shipped file. URLs may contain ``{name}`` placeholders filled from run-time
endpoints (today only ``{sample_site}``, which the local sample site writes
when ``make run`` starts it); a source whose placeholders cannot be filled
yet is inactive, and becomes active when the monitor next reloads the
registry.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ogi.settings import Settings, get_settings
from services.ingest.errors import RegistryError

SHIPPED_REGISTRY = Path(__file__).with_name("registry.yaml")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class Hints(BaseModel):
    """Per-site overrides; every field is optional and the defaults suit a
    typical gov.cn column page."""

    model_config = ConfigDict(extra="forbid")

    link_pattern: str | None = Field(None, description="regex a report link's URL or title must match")
    exclude_pattern: str | None = Field(None, description="regex that drops a link")
    encoding: str | None = Field(None, description="force the page encoding")
    list_selector: str | None = Field(None, description="CSS selector of the list container")
    attachments: list[str] = Field(default_factory=list, description="extra attachment extensions")
    delay_s: float | None = Field(None, ge=0, description="per-host delay override")
    max_pages: int | None = Field(None, ge=1)

    @field_validator("link_pattern", "exclude_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from exc
        return value

    @field_validator("attachments")
    @classmethod
    def _dotted(cls, value: list[str]) -> list[str]:
        return [v.lower() if v.startswith(".") else f".{v.lower()}" for v in value]


class Source(BaseModel):
    """One agency's annual-report column(s)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str
    region: str | None = None
    level: str | None = None
    urls: list[str] = Field(default_factory=list, description="list pages of the column")
    home: str | None = Field(
        None, description="the agency's home page, when the column is to be found from it"
    )
    hints: Hints = Field(default_factory=Hints)
    allow_private: bool = False
    enabled: bool = True

    @field_validator("urls")
    @classmethod
    def _web_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            _require_web_url(url)
        return value

    @field_validator("home")
    @classmethod
    def _web_home(cls, value: str | None) -> str | None:
        return _require_web_url(value) if value is not None else None

    @model_validator(mode="after")
    def _somewhere_to_start(self) -> Source:
        if not self.urls and not self.home:
            raise ValueError(
                "give the column's list page URL(s) in 'urls', or the agency's home page in 'home'"
            )
        return self

    def shard(self, count: int) -> int:
        """Stable shard of this source among ``count`` monitors."""
        return int(hashlib.sha256(self.id.encode()).hexdigest(), 16) % count


def _require_web_url(url: str) -> str:
    """An http(s) URL with a host (placeholders such as ``{sample_site}`` pass: filled later)."""
    if url.startswith("{"):
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return url


def runtime_file(settings: Settings | None = None) -> Path:
    """Where the sample site writes its address (``{"sample_site": url}``);
    one file per topic prefix, so a test session's site and ``make run``'s
    never take each other's place."""
    settings = settings or get_settings()
    return settings.home / "run" / f"sample-site.{settings.topic_prefix.strip('.')}.json"


def runtime_values(settings: Settings | None = None) -> dict[str, str]:
    try:
        data = json.loads(runtime_file(settings).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def registry_path(settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    return Path(settings.ingest_registry) if settings.ingest_registry else SHIPPED_REGISTRY


def parse_registry(data: Any, values: dict[str, str] | None = None) -> list[Source]:
    """Validate the registry's content; returns the active sources (enabled,
    placeholders filled). Raises :class:`RegistryError` on invalid entries."""
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise RegistryError("the registry must be a mapping with a 'sources' list")
    values = values or {}
    sources: list[Source] = []
    seen: set[str] = set()
    for i, entry in enumerate(data["sources"]):
        try:
            source = Source.model_validate(entry)
        except ValidationError as exc:
            raise RegistryError(f"source #{i}: {exc}") from exc
        if source.id in seen:
            raise RegistryError(f"source id {source.id!r} appears twice")
        seen.add(source.id)
        if not source.enabled:
            continue
        urls = [_fill(u, values) for u in source.urls]
        home = _fill(source.home, values) if source.home else None
        if any(u is None for u in urls) or (source.home and home is None):
            continue  # waits for its run-time endpoint
        sources.append(source.model_copy(update={"urls": urls, "home": home}))
    return sources


def _fill(url: str, values: dict[str, str]) -> str | None:
    missing = [m for m in _PLACEHOLDER.findall(url) if m not in values]
    if missing:
        return None
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)].rstrip("/"), url)


def load_registry(path: Path | None = None, settings: Settings | None = None) -> list[Source]:
    """Read and validate the registry file."""
    settings = settings or get_settings()
    path = path or registry_path(settings)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RegistryError(f"cannot read the registry {path}: {exc}") from exc
    return parse_registry(data, runtime_values(settings))


def my_sources(sources: list[Source], shard: str, only: str = "") -> list[Source]:
    """The sources this monitor polls under ``shard`` ("i/n"), limited to
    the comma-separated ids in ``only`` when given."""
    index, count = (int(x) for x in shard.split("/"))
    wanted = {x.strip() for x in only.split(",") if x.strip()}
    return [s for s in sources if s.shard(count) == index % count and (not wanted or s.id in wanted)]
