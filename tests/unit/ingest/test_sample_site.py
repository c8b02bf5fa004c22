"""The sample site of ``make run``: a gov-like column the default discovery
reads, serving every sample byte for byte."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx

from ogi.settings import Settings
from services.ingest.discovery import parse_article, parse_list_page
from services.ingest.registry import SHIPPED_REGISTRY, load_registry, runtime_file
from services.ingest.sample_site import COLUMN, SampleSite, build_site
from services.ingest.sniff import decode_text

REPO = Path(__file__).resolve().parents[3]
SAMPLES = sorted((REPO / "data" / "samples").glob("*.txt"))


def test_every_sample_is_reachable_through_the_column() -> None:
    pages = build_site(SAMPLES, REPO / "data" / "samples" / "truth.json")
    base = "http://sample.test"
    queue, seen_pages, documents = [f"{base}{COLUMN}index.htm"], set(), {}
    while queue:
        url = queue.pop(0)
        if url in seen_pages:
            continue
        seen_pages.add(url)
        page = pages[url.removeprefix(base)]
        assert "gbk" in page.content_type.lower()
        listing = parse_list_page(decode_text(page.body)[0], url, extra_attachments=(".txt",))
        queue += listing.pages
        for link in listing.reports:
            assert link.year and link.published_at
            article = parse_article(
                decode_text(pages[link.url.removeprefix(base)].body)[0], link.url, extra_attachments=(".txt",)
            )
            for attachment in article.attachments:
                documents[attachment.url] = pages[attachment.url.removeprefix(base)].body
    assert len(seen_pages) == 2  # paginated
    assert sorted(hashlib.sha256(b).hexdigest() for b in documents.values()) == sorted(
        hashlib.sha256(p.read_bytes()).hexdigest() for p in SAMPLES
    )


def test_site_serves_and_announces_its_address(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, kafka_bootstrap="x:1", es_url="http://x:1", topic_prefix="demo.")
    site = SampleSite(SAMPLES).start(settings)
    try:
        assert json.loads(runtime_file(settings).read_text()) == {"sample_site": site.url}
        source = next(s for s in load_registry(SHIPPED_REGISTRY, settings) if s.id == "sample-site")
        response = httpx.get(source.urls[0], trust_env=False)
        assert response.status_code == 200
        etag = response.headers["etag"]
        assert httpx.get(source.urls[0], headers={"If-None-Match": etag}, trust_env=False).status_code == 304
        assert site.report_ids == [hashlib.sha256(p.read_bytes()).hexdigest()[:40] for p in SAMPLES]
    finally:
        site.stop()
    assert not runtime_file(settings).exists()
