"""The worker stores a report's region as the path from the province down,
whether or not the report came from a registry source."""

from __future__ import annotations

from pathlib import Path

import pytest

from ogi.settings import Settings
from schemas import RawReport
from services.extract.handler import handle_raw

SAMPLES = Path(__file__).resolve().parents[3] / "data" / "samples"


def _raw(prefix: str, registry: str | None) -> bytes:
    path = next(SAMPLES.glob(f"{prefix}_*.txt"))
    raw = RawReport.from_bytes(
        path.read_bytes(),
        agency_id="file",
        region=registry,
        source_url=path.as_uri(),
        filename=path.name,
        content_type="text/plain",
    )
    return raw.model_dump_json().encode()


@pytest.mark.parametrize(
    ("prefix", "registry", "region"),
    [
        ("004", None, "浙江省杭州市拱墅区"),  # `ogi ingest file`: the report prints 杭州市拱墅区
        ("004", "浙江省杭州市拱墅区", "浙江省杭州市拱墅区"),
        ("000", "浙江省杭州市", "浙江省杭州市"),  # the report prints 杭州市
        ("001", None, "广东省广州市"),
        ("002", "山东省威海市", "山东省威海市威海火炬高技术产业开发区"),
        ("003", "浙江省杭州市", "浙江省杭州市"),  # the report names no place (市工商局): the source's region
    ],
)
def test_the_stored_region_is_a_full_path(prefix: str, registry: str | None, region: str) -> None:
    settings = Settings(kafka_bootstrap="127.0.0.1:1", es_url="http://127.0.0.1:2")  # type: ignore[arg-type]
    assert handle_raw(_raw(prefix, registry), settings).report.region == region
