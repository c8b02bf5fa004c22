"""The registry file: validation, placeholders, sharding, the shipped file."""

from __future__ import annotations

import pytest

from ogi.settings import Settings
from services.ingest.errors import RegistryError
from services.ingest.registry import SHIPPED_REGISTRY, load_registry, my_sources, parse_registry


def test_shipped_registry_has_real_agencies_and_the_sample_site(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    settings = Settings(home=tmp_path, kafka_bootstrap="x:1", es_url="http://x:1")
    without_site = {s.id: s for s in load_registry(SHIPPED_REGISTRY, settings)}
    assert "sample-site" not in without_site  # waits for the site's address
    names = {s.name for s in without_site.values()}
    assert {
        "杭州市市场监督管理局",
        "广州市市场监督管理局",
        "威海火炬高技术产业开发区市场监督管理局",
        "杭州市拱墅区市场监督管理局",
    } <= names
    assert without_site["pingtan"].urls == ["https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/"]
    assert not any(s.allow_private for s in without_site.values())
    run = tmp_path / "run"
    run.mkdir()
    (run / "sample-site.ogi.json").write_text(json.dumps({"sample_site": "http://127.0.0.1:8123/"}))
    with_site = {s.id: s for s in load_registry(SHIPPED_REGISTRY, settings)}
    assert with_site["sample-site"].urls == ["http://127.0.0.1:8123/zwgk/zfxxgknb/index.htm"]
    assert with_site["sample-site"].allow_private


def test_invalid_entries() -> None:
    with pytest.raises(RegistryError):
        parse_registry({"nope": []})
    with pytest.raises(RegistryError, match="source #0"):
        parse_registry({"sources": [{"id": "x", "name": "x", "urls": []}]})
    with pytest.raises(RegistryError, match="twice"):
        parse_registry({"sources": [{"id": "x", "name": "x", "urls": ["http://a"]}] * 2})
    with pytest.raises(RegistryError):
        parse_registry(
            {"sources": [{"id": "x", "name": "x", "urls": ["http://a"], "hints": {"link_pattern": "("}}]}
        )
    with pytest.raises(RegistryError):
        parse_registry({"sources": [{"id": "x", "name": "x", "urls": ["http://a"], "typo": 1}]})


def test_disabled_sources_and_hints() -> None:
    sources = parse_registry(
        {
            "sources": [
                {"id": "a", "name": "A", "urls": ["http://a"], "enabled": False},
                {"id": "b", "name": "B", "urls": ["http://b"], "hints": {"attachments": ["TXT", ".et"]}},
            ]
        }
    )
    assert [s.id for s in sources] == ["b"]
    assert sources[0].hints.attachments == [".txt", ".et"]


def test_shards_split_sources_without_overlap() -> None:
    sources = parse_registry(
        {"sources": [{"id": f"s{n}", "name": "x", "urls": ["http://a"]} for n in range(50)]}
    )
    parts = [my_sources(sources, f"{i}/3") for i in range(3)]
    ids = [s.id for part in parts for s in part]
    assert sorted(ids) == sorted(s.id for s in sources)
    assert all(parts)
    assert [s.id for s in my_sources(sources, "0/1", "s3, s7")] == ["s3", "s7"]
