"""Elasticsearch behind a real TLS-terminating nginx that demands
credentials, as a secured Elasticsearch 8 does: one port wants basic auth,
another an API key (``Authorization: ApiKey ...``). The indexer, the
setup (templates), the CLI and the alerts index go through it with the
proxy's certificate verified against a throw-away CA. A wrong password, a
wrong CA and an unreachable host stop ``ogi serve index`` within seconds
with a message that names the cause."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from ogi.broker import ensure_topics, make_producer, publish
from ogi.elastic import check_store, index_name, install_templates
from ogi.errors import StoreUnavailable
from ogi.local._process import free_port
from ogi.settings import Settings
from ogi.topics import ALERTS
from schemas import Alert, Severity
from tests.support import REPO, Service, service_env, spawn, terminate, wait_for
from tests.unit.alerts.tls_smtp import Certs, make_certs

pytestmark = pytest.mark.integration

USER, PASSWORD = "ogi-indexer", "basic-Pw-9c1e"
API_KEY = "b2dpOmtleS0zYTdmOWMyZA=="  # base64 "id:key", as Elasticsearch hands them out

NGINX_CONF = """
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
{user}
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  client_max_body_size 100m;
  ssl_certificate {cert}; ssl_certificate_key {key};
  proxy_http_version 1.1;
  server {{
    listen 127.0.0.1:{basic_port} ssl;
    auth_basic "elasticsearch"; auth_basic_user_file {d}/htpasswd;
    location / {{ proxy_set_header Authorization ""; proxy_pass {upstream}; }}
  }}
  server {{
    listen 127.0.0.1:{key_port} ssl;
    location / {{
      if ($http_authorization != "ApiKey {api_key}") {{ return 401; }}
      proxy_set_header Authorization ""; proxy_pass {upstream};
    }}
  }}
}}
"""


@dataclass
class Proxy:
    certs: Certs
    basic_url: str
    key_url: str
    password_file: Path

    def basic_env(self, **extra: str) -> dict[str, str]:
        return {
            "OGI_ES_URL": self.basic_url,
            "OGI_ES_USERNAME": USER,
            "OGI_ES_PASSWORD_FILE": str(self.password_file),
            "OGI_ES_CA_CERTS": str(self.certs.ca),
            **extra,
        }

    def key_env(self, **extra: str) -> dict[str, str]:
        return {
            "OGI_ES_URL": self.key_url,
            "OGI_ES_API_KEY": API_KEY,
            "OGI_ES_CA_CERTS": str(self.certs.ca),
            **extra,
        }


@pytest.fixture(scope="module")
def proxy(platform: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    d = tmp_path_factory.mktemp("nginx")
    certs = make_certs(d, "ogi nginx test")
    (d / "htpasswd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    password_file = d / "es-password"
    password_file.write_text(PASSWORD + "\n")
    basic_port, key_port = free_port(), free_port()
    user = "user root root;" if os.geteuid() == 0 else ""  # workers must read the files of this test
    (d / "nginx.conf").write_text(
        NGINX_CONF.format(
            d=d,
            user=user,
            cert=certs.cert,
            key=certs.key,
            basic_port=basic_port,
            key_port=key_port,
            api_key=API_KEY,
            upstream=platform.es_url.rstrip("/"),
        )
    )
    proc = spawn(
        [nginx, "-e", str(d / "error.log"), "-p", str(d), "-c", str(d / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def listening() -> bool:
        try:
            socket.create_connection(("127.0.0.1", key_port), timeout=1).close()
            return True
        except OSError:
            return False

    wait_for(listening, 30, "nginx listening", lambda: (d / "error.log").read_text(errors="replace"))
    try:
        yield Proxy(certs, f"https://127.0.0.1:{basic_port}", f"https://127.0.0.1:{key_port}", password_file)
    finally:
        terminate(proc)


def _via(platform: Settings, proxy: Proxy, **update: object) -> Settings:
    run = uuid.uuid4().hex[:6]
    return platform.model_copy(
        update={
            "topic_prefix": f"{platform.topic_prefix}tls{run}.",
            "index_prefix": f"{platform.index_prefix}tls{run}-",
            "es_url": proxy.basic_url,
            "es_username": USER,
            "es_password": SecretStr(PASSWORD),
            "es_ca_certs": proxy.certs.ca,
            **update,
        }
    )


def _ogi(
    settings: Settings, env: dict[str, str], *argv: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ogi.cli", *argv],
        env=service_env(settings, **env),
        cwd=REPO,
        capture_output=True,
        check=False,
        text=True,
        timeout=timeout,
    )


def test_indexer_cli_and_alerts_index_through_a_verifying_proxy(
    platform: Settings, proxy: Proxy, tmp_path: Path
) -> None:
    s = _via(platform, proxy)
    ensure_topics(s)
    es = check_store(s)  # basic auth, the proxy's certificate verified by the CA
    install_templates(es, s)
    indexer = Service("index", s, tmp_path, **proxy.basic_env())
    try:
        alert = Alert(
            alert_id=f"tls-{uuid.uuid4().hex[:8]}",
            rule="broken_identity",
            agency="示例区人民政府",
            agency_id=None,
            year=2022,
            severity=Severity.WARNING,
            title="t",
            message="m",
        )
        producer = make_producer(s)
        publish(producer, ALERTS, alert, s).get(timeout=60)
        producer.close()
        alerts = index_name("alerts", s)

        def indexed() -> bool:
            es.indices.refresh(index=alerts)
            return bool(es.count(index=alerts, query={"ids": {"values": [alert.alert_id]}})["count"])

        wait_for(indexed, 120, "the alert indexed through nginx", indexer.log, [indexer])
        assert PASSWORD not in indexer.log()
    finally:
        indexer.stop()
    # the CLI, this time with the API key
    listed = _ogi(s, proxy.key_env(), "alerts", "--json")
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert [json.loads(line)["alert_id"] for line in listed.stdout.splitlines()] == [alert.alert_id]
    counts = _ogi(s, proxy.key_env(), "index", "counts")
    assert counts.returncode == 0 and alerts in counts.stdout, counts.stderr[-2000:]


def _serve_index_fails(settings: Settings, env: dict[str, str]) -> str:
    started = time.monotonic()
    proc = _ogi(settings, env, "serve", "index")
    took = time.monotonic() - started
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert took < 40, f"took {took:.1f}s"
    assert "Traceback" not in proc.stderr
    return proc.stderr


def test_wrong_password_wrong_ca_and_unreachable_store_fail_at_start(
    platform: Settings, proxy: Proxy, tmp_path: Path
) -> None:
    s = _via(platform, proxy)
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password")
    err = _serve_index_fails(s, proxy.basic_env(OGI_ES_PASSWORD_FILE=str(wrong)))
    assert "refused the credentials" in err and "not-the-password" not in err

    err = _serve_index_fails(s, proxy.key_env(OGI_ES_API_KEY="d3Jvbmc6a2V5"))
    assert "refused the credentials" in err

    other_ca = make_certs(tmp_path, "another CA").ca
    err = _serve_index_fails(s, proxy.basic_env(OGI_ES_CA_CERTS=str(other_ca)))
    assert "certificate not verified" in err and "OGI_ES_CA_CERTS" in err

    # unreachable: the start-up check (``ogi setup``, the CLI) gives up after
    # OGI_CONNECT_TIMEOUT_S; a service instead waits for its server
    closed = f"https://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=r"unreachable.*OGI_ES_URL"):
        check_store(s.model_copy(update={"es_url": closed, "connect_timeout_s": 3.0}))
    assert time.monotonic() - started < 15
