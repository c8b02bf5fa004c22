"""`make up` / `make down` on a home of their own: up twice is safe, status
tells the truth, down leaves no server process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from ogi.settings import Settings

pytestmark = pytest.mark.integration


def _ogi(home: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OGI_")}
    env["OGI_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "ogi.cli", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def _server_pids(home: Path) -> list[int]:
    out = subprocess.run(["pgrep", "-f", str(home)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_up_twice_status_and_down(servers: object) -> None:
    # A separate home so this test can stop its servers without touching the
    # session's; the downloads are shared so nothing is fetched again. It sits
    # beside the real one, not under pytest's private temp dir, which the
    # Elasticsearch user (when we are root) may not enter.
    real_home = Settings().home
    home = real_home / f"test-home-{uuid.uuid4().hex[:8]}"
    home.mkdir(parents=True)
    (home / "dist").symlink_to(real_home / "dist")
    try:
        first = _ogi(home, "servers", "up")
        assert first.returncode == 0, first.stderr[-3000:]
        endpoints = json.loads((home / "run" / "endpoints.json").read_text())
        pids = sorted(_server_pids(home))
        assert pids, "no server process found after up"

        second = _ogi(home, "servers", "up", timeout=120)
        assert second.returncode == 0, second.stderr[-3000:]
        assert (
            json.loads((home / "run" / "endpoints.json").read_text())["kafka_bootstrap"]
            == endpoints["kafka_bootstrap"]
        )
        assert sorted(_server_pids(home)) == pids, "second `up` restarted servers that were healthy"

        status = _ogi(home, "servers", "status", timeout=60)
        assert status.returncode == 0 and status.stdout.count("healthy") == 2, status.stdout
    finally:
        down = _ogi(home, "servers", "down", timeout=180)
    try:
        assert down.returncode == 0, down.stderr[-3000:]
        assert _server_pids(home) == [], "a server process survived `down`"
        after = _ogi(home, "servers", "status", timeout=60)
        assert after.returncode != 0 and "stopped" in after.stdout
    finally:
        shutil.rmtree(home, ignore_errors=True)
