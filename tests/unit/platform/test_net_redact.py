"""The one URL redaction helper (issue 8, row 11) and the log pipeline's
userinfo filter."""

from __future__ import annotations

import io
import json
import sys

import structlog

from ogi.net.redact import redact_url, scrub, strip_userinfo


def test_page_urls_keep_their_path_but_lose_credentials() -> None:
    assert redact_url("http://admin:pw@x.gov.cn/nb/2023.pdf") == "http://***@x.gov.cn/nb/2023.pdf"
    assert (
        redact_url("https://x.gov.cn/dl?id=7&access_token=abc&apiKey=k")
        == "https://x.gov.cn/dl?id=7&access_token=***&apiKey=***"
    )
    assert (
        redact_url("https://x.gov.cn/list?keyword=报告&page=2") == "https://x.gov.cn/list?keyword=报告&page=2"
    )
    assert redact_url("http://u:p@[bad/x") == "http://***@[bad/x"
    assert len(redact_url("http://x/" + "a" * 200_000) or "") < 600


def test_webhook_urls_keep_only_the_origin() -> None:
    hook = "https://hooks.example.com:8443/services/T0/B0/XXXXSECRET?sig=abc"
    assert redact_url(hook, secret_path=True) == "https://hooks.example.com:8443/***?***"
    assert redact_url("http://127.0.0.1:9000/", secret_path=True) == "http://127.0.0.1:9000/"


def test_scrub_replaces_known_secrets_in_free_text() -> None:
    hook = "https://hooks.example.com/services/T0/B0/XXXX"
    text = f"ConnectError: cannot reach {hook} (secret s3cr3t), via http://user:pw@proxy/"
    out = scrub(text, urls=[hook], secrets=["s3cr3t", None])
    assert "XXXX" not in out and "s3cr3t" not in out and "pw" not in out
    assert "https://hooks.example.com/***" in out and "http://***@proxy/" in out
    assert strip_userinfo("see ftp://a:b@h and mailto:x@y") == "see ftp://***@h and mailto:x@y"


def test_the_log_pipeline_strips_userinfo_everywhere(monkeypatch: object) -> None:
    from ogi.log import configure

    buf = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buf)  # type: ignore[attr-defined]
    configure("INFO", json_output=True)
    try:
        structlog.get_logger("t").warning("boom", reason="GET http://bob:hunter2@site/x failed")
    finally:
        structlog.reset_defaults()
    line = json.loads(buf.getvalue().strip().splitlines()[-1])
    assert line["reason"] == "GET http://***@site/x failed"
