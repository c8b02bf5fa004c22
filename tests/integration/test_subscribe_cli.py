"""``ogi subscribe`` noise controls against the real subscriptions topic:
add with a digest, silence, list, change the digest, unsilence."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ogi.settings import Settings
from services.alerts.subscriptions import SubscriptionStore
from tests.support import REPO, service_env

pytestmark = pytest.mark.integration


def ogi(settings: Settings, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "ogi.cli", *args],
        env=service_env(settings),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_digest_and_silences_through_ogi_subscribe(platform: Settings) -> None:
    added = ogi(
        platform,
        "subscribe",
        "add",
        "--webhook",
        "http://127.0.0.1:9/hook",
        "--digest",
        "1h",
        "--no-resolutions",
        "--name",
        "noise",
    )
    sid = json.loads(added[: added.rindex("}") + 1])["subscription_id"]
    ogi(
        platform,
        "subscribe",
        "silence",
        sid,
        "--agency",
        "甲局",
        "--rule",
        "yoy_jump",
        "--until",
        "2099-01-31",
    )
    ogi(platform, "subscribe", "silence", sid, "--region", "乙市", "--until", "7d")
    listed = ogi(platform, "subscribe", "list")
    assert "digest every 3600s" in listed and "no resolutions" in listed
    assert "silenced agencies=甲局; rules=yoy_jump until 2099-02-01T00:00:00+08:00" in listed

    store = SubscriptionStore(platform)
    try:
        sub = store.load()[sid]
        assert sub.digest_s == 3600 and not sub.resolutions and len(sub.silences) == 2
        ogi(platform, "subscribe", "digest", sid, "off")
        ogi(platform, "subscribe", "unsilence", sid)
        sub = store.load()[sid]
        assert sub.digest_s is None and sub.silences == []
    finally:
        store.close()
    out = subprocess.run(
        [sys.executable, "-m", "ogi.cli", "subscribe", "silence", "nope", "--until", "1d"],
        env=service_env(platform),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 1 and "no subscription nope" in out.stdout
