"""The main job (`make run` is `ogi run`): every service as its own process,
the sample reports picked up and indexed, a summary of what landed where."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ogi.settings import Settings
from services.index.store import index_name
from tests.support import REPO, service_env

pytestmark = pytest.mark.e2e


def test_run_once_indexes_the_samples(settings: Settings, es) -> None:  # type: ignore[no-untyped-def]
    # its own prefixes: `ogi run` creates its topics and indices itself
    run = Settings(kafka_bootstrap=settings.kafka_bootstrap, es_url=settings.es_url,
                   topic_prefix=f"{settings.topic_prefix}run.", index_prefix=f"{settings.index_prefix}run-")
    proc = subprocess.run([sys.executable, "-m", "ogi.cli", "run", "--once"], env=service_env(run), cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]

    truth = json.loads((REPO / "data" / "samples" / "truth.json").read_text())["reports"]
    expected = {(t["agency"], t["year"]): t["metrics"]["applications.total_handled"]
                for t in truth.values() if "applications.total_handled" in t.get("metrics", {})}
    assert expected, "the sample truth lists no total_handled"
    for (agency, year), value in expected.items():
        assert f"{agency} {year}: {value:g}" in proc.stdout, proc.stdout

    metrics = index_name("metrics", run)
    es.indices.refresh(index=metrics)
    for (agency, year), value in expected.items():
        hits = es.search(index=metrics, query={"bool": {"filter": [
            {"term": {"agency": agency}}, {"term": {"year": year}},
            {"term": {"metric": "applications.total_handled"}}, {"term": {"applicant": "total"}}]}})
        assert [h["_source"]["value"] for h in hits["hits"]["hits"]] == [value]
    assert es.count(index=index_name("reports", run))["count"] == len(truth)
    for line in ("Topics (records):", "Elasticsearch indices (documents):", "curl -s"):
        assert line in proc.stdout
