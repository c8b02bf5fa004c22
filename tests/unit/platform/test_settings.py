"""Settings: environment first, then the endpoints file, then defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ogi.settings import Settings, endpoints_file


def test_endpoints_file_fills_addresses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OGI_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.delenv("OGI_ES_URL", raising=False)
    path = endpoints_file(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"kafka_bootstrap": "127.0.0.1:1111", "es_url": "http://127.0.0.1:2222"}))
    s = Settings(home=tmp_path)
    assert s.kafka_bootstrap == "127.0.0.1:1111" and s.es_url == "http://127.0.0.1:2222"


def test_environment_beats_endpoints_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = endpoints_file(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"kafka_bootstrap": "127.0.0.1:1111", "es_url": "http://127.0.0.1:2222"}))
    monkeypatch.setenv("OGI_KAFKA_BOOTSTRAP", "broker-a:9092,broker-b:9092")
    monkeypatch.setenv("OGI_HOME", str(tmp_path))
    s = Settings()
    assert s.bootstrap_servers == ["broker-a:9092", "broker-b:9092"]
    assert s.es_url == "http://127.0.0.1:2222"


def test_defaults_without_anything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OGI_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.delenv("OGI_ES_URL", raising=False)
    s = Settings(home=tmp_path / "empty")
    assert s.kafka_bootstrap == "127.0.0.1:9092" and s.es_url == "http://127.0.0.1:9200"


def test_message_limit_leaves_room_for_base64() -> None:
    s = Settings(kafka_bootstrap="x:1", es_url="http://x", max_document_bytes=1000)
    assert s.max_message_bytes >= 1000 * 4 / 3
