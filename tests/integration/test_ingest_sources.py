"""``ogi sources`` as a user runs it, on the real Kafka: import a list (a bad
file imports nothing and names each bad row), list, show, disable; the
sources a monitor process polls include the imported ones; ``ogi sources
discover`` prints the column and the path to it on the local agency portal."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from ogi.settings import Settings
from services.ingest.monitor import Monitor
from services.ingest.sample_site import COLUMN, SampleSite
from tests.support import REPO, service_env

pytestmark = pytest.mark.integration
SAMPLES = sorted((REPO / "data" / "samples").glob("*.txt"))


def _ogi(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ogi.cli", *args],
        env=service_env(settings),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_import_list_show_disable_and_the_monitor_sees_them(platform: Settings, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:6]
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"id,name,level,url,home\nok-{tag},好局,city,https://a.gov.cn/nb/,\nbad-{tag},坏局,city,,\n",
        encoding="utf-8",
    )
    out = _ogi(platform, "sources", "import", str(bad))
    assert (
        out.returncode == 1 and f"row 2 (坏局, bad-{tag})" in out.stderr and "nothing imported" in out.stderr
    )

    good = tmp_path / "good.yaml"
    good.write_text(
        f"sources:\n  - {{id: col-{tag}, name: 栏目局, urls: ['https://b.gov.cn/zwgk/nb/']}}\n"
        f"  - {{id: home-{tag}, name: 首页局, home: 'https://c.gov.cn/'}}\n",
        encoding="utf-8",
    )
    out = _ogi(platform, "sources", "import", str(good))
    assert out.returncode == 0 and "imported 2 source(s) (1 with only a home page" in out.stdout, out.stderr
    listing = _ogi(platform, "sources", "list").stdout
    assert f"col-{tag}" in listing and f"home-{tag}" in listing and "hz-scjg" in listing
    assert "https://c.gov.cn/" in _ogi(platform, "sources", "show", f"home-{tag}").stdout

    only = platform.model_copy(update={"ingest_only": f"ok-{tag},col-{tag},home-{tag}"})
    monitor = Monitor(only)
    try:
        assert monitor.source_table.get(f"ok-{tag}") is None  # the bad file: nothing half imported
        assert sorted(s.id for s in monitor.active_sources()) == [f"col-{tag}", f"home-{tag}"]
        assert _ogi(platform, "sources", "disable", f"home-{tag}").returncode == 0
        monitor.book._refreshed = 0.0  # the next refresh (every few seconds) picks it up
        assert [s.id for s in monitor.active_sources()] == [f"col-{tag}"]
    finally:
        monitor.close()
    assert (
        _ogi(platform, "sources", "disable", "hz-scjg").returncode == 1
    )  # registry YAML sources: edit the YAML


def test_discover_prints_the_column_and_the_path(platform: Settings) -> None:
    site = SampleSite(SAMPLES, layout="dataproxy", traditional=True)
    site._thread.start()
    try:
        out = _ogi(platform, "sources", "discover", f"{site.url}/", "--allow-private")
        refused = _ogi(platform, "sources", "discover", f"{site.url}/")
    finally:
        site.stop()
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"{site.url}{COLUMN}index.htm"
    assert "政務公開" in lines[2] and "法定主動公開內容" in lines[3] and "政府資訊公開年報" in lines[4]
    assert refused.returncode == 1 and "loopback" in refused.stderr  # the guard: loopback only when allowed
