"""Security settings: secrets from the environment or a file, masked by
``ogi config`` and in every log line; an unknown ``OGI_*`` variable stops
the program; the factories apply the settings to every client."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from ogi.broker import client_security, faust_credentials
from ogi.elastic import client_options
from ogi.settings import Settings, SettingsError
from tests.support import REPO

BASE = {"kafka_bootstrap": "127.0.0.1:1", "es_url": "http://127.0.0.1:2"}


def test_unknown_ogi_variable_is_refused_with_its_name_and_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OGI_ES_APIKEY", "x")
    with pytest.raises(SettingsError, match=r"OGI_ES_APIKEY \(did you mean OGI_ES_API_KEY\?\)"):
        Settings(**BASE)


def test_test_only_and_declared_variables_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OGI_TEST_ANYTHING", "1")
    monkeypatch.setenv("OGI_KEEP_SERVERS", "1")
    monkeypatch.setenv("OGI_ES_PASSWORD_FILE", os.devnull)
    assert Settings(**BASE).es_password.get_secret_value() == ""


def test_secret_from_a_file_without_its_newline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("OGI_KAFKA_PASSWORD_FILE", str(secret))
    assert Settings(**BASE).kafka_password.get_secret_value() == "s3cret"
    monkeypatch.setenv("OGI_KAFKA_PASSWORD", "other")
    with pytest.raises(SettingsError, match="both set"):
        Settings(**BASE)
    monkeypatch.delenv("OGI_KAFKA_PASSWORD")
    monkeypatch.setenv("OGI_KAFKA_PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(SettingsError, match="OGI_KAFKA_PASSWORD_FILE: cannot read"):
        Settings(**BASE)


def test_only_secrets_have_a_file_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OGI_KAFKA_USERNAME_FILE", "/x")
    with pytest.raises(SettingsError, match="OGI_KAFKA_USERNAME_FILE"):
        Settings(**BASE)


def _ogi(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OGI_") or k == "OGI_HOME"}
    return subprocess.run(
        [sys.executable, "-m", "ogi.cli", *argv],
        env={**clean, **BASE_ENV, **env},
        cwd=REPO,
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )


BASE_ENV = {"OGI_KAFKA_BOOTSTRAP": "127.0.0.1:1", "OGI_ES_URL": "http://127.0.0.1:2"}


def test_ogi_config_masks_secrets_and_lists_log_settings() -> None:
    out = _ogi(
        {"OGI_ES_API_KEY": "key-7f3a", "OGI_SMTP_PASSWORD": "pw-9c1e", "OGI_LOG_LEVEL": "debug"}, "config"
    )
    assert out.returncode == 0, out.stderr
    assert "key-7f3a" not in out.stdout and "pw-9c1e" not in out.stdout
    lines = {line.split()[0]: line for line in out.stdout.splitlines()}
    assert "***" in lines["OGI_ES_API_KEY"] and "***" in lines["OGI_SMTP_PASSWORD"]
    assert "DEBUG" in lines["OGI_LOG_LEVEL"] and "OGI_LOG_JSON" in lines
    assert "OGI_WORKER_WEB_PORT" not in lines


def test_an_unknown_variable_stops_the_cli_with_a_message() -> None:
    out = _ogi({"OGI_KAFKA_SECURITY_PROTOKOL": "SASL_SSL"}, "config")
    assert (
        out.returncode == 2 and "OGI_KAFKA_SECURITY_PROTOKOL" in out.stderr and "Traceback" not in out.stderr
    )


def test_log_lines_never_carry_a_configured_secret() -> None:
    script = (
        "import structlog, logging\nfrom ogi.log import configure\nconfigure(json_output=True)\n"
        "structlog.get_logger('t').error('login failed', detail='password=pw-4242 refused')\n"
        "logging.getLogger('kafka.conn').error('sasl pw-4242')\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OGI_") or k == "OGI_HOME"}
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**clean, **BASE_ENV, "OGI_KAFKA_PASSWORD": "pw-4242", "PYTHONPATH": str(REPO)},
        cwd=REPO,
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    events = [json.loads(line) for line in out.stderr.splitlines()]
    assert len(events) == 2 and "pw-4242" not in out.stderr and "***" in events[0]["detail"]


def test_kafka_security_reaches_kafka_python_and_faust(tmp_path: Path) -> None:
    plain = Settings(**BASE)
    assert client_security(plain) == {"security_protocol": "PLAINTEXT"} and faust_credentials(plain) is None
    s = Settings(
        **BASE,
        kafka_security_protocol="SASL_SSL",
        kafka_username="u",
        kafka_password=SecretStr("p"),
        kafka_sasl_mechanism="SCRAM-SHA-256",
    )
    config = client_security(s)
    assert config["sasl_mechanism"] == "SCRAM-SHA-256" and config["sasl_plain_password"] == "p"
    context = config["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname  # verification on by default
    creds = faust_credentials(s)
    assert creds.protocol.value == "SASL_SSL" and creds.mechanism.value == "SCRAM-SHA-256"
    assert creds.ssl_context.check_hostname
    with pytest.raises(ValueError, match="needs OGI_KAFKA_USERNAME"):
        Settings(**BASE, kafka_security_protocol="SASL_PLAINTEXT")


def test_elasticsearch_security_options() -> None:
    s = Settings(
        kafka_bootstrap="x:1",
        es_url="https://es:9200",
        es_api_key=SecretStr("k"),
        es_username="u",
        es_password=SecretStr("p"),
        es_ca_certs=Path("/ca.pem"),
    )
    assert client_options(s) == {"api_key": "k", "verify_certs": True, "ca_certs": "/ca.pem"}  # the key wins
    s = Settings(
        kafka_bootstrap="x:1",
        es_url="https://es:9200",
        es_username="u",
        es_password=SecretStr("p"),
        es_ssl_fingerprint="AB:CD",
    )
    assert client_options(s) == {
        "basic_auth": ("u", "p"),
        "verify_certs": True,
        "ssl_assert_fingerprint": "AB:CD",
    }
