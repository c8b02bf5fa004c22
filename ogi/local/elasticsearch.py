"""A real single-node Elasticsearch 8 from Maven Central's integ-test-zip.

That distribution is the server with transport-netty4 and x-pack core and
security, without a bundled JDK, painless, ingest pipelines, ILM or data
streams, and (from 8.9) without ``GET /``. We use ``_cluster/health`` for
readiness, and the project's mappings and queries need none of the missing
parts, so the same code runs on a full cluster.

Elasticsearch refuses to run as root; as root we create a system user
``ogi-es`` and run the server as that user.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from ogi.local._process import LocalServerError, find_java_home, read_pid, spawn, stop_pid, wait_until
from ogi.local.maven import fetch_zip
from ogi.settings import Settings

ES_USER = "ogi-es"


def _es_user() -> tuple[int, int] | None:
    """(uid, gid) to run Elasticsearch as, or None to run as ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(ES_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ES_USER],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(ES_USER)
    return entry.pw_uid, entry.pw_gid


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    for dirpath, dirnames, filenames in os.walk(path):
        os.chown(dirpath, uid, gid)
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), uid, gid, follow_symlinks=False)


class LocalElasticsearch:
    name = "elasticsearch"
    endpoint_key = "es_url"
    port_names = ("es_http", "es_transport")

    @staticmethod
    def address(ports: dict[str, int]) -> str:
        return f"http://127.0.0.1:{ports['es_http']}"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dist = settings.home / "dist" / f"elasticsearch-{settings.es_version}"
        self.root = settings.home / "run" / "elasticsearch"
        self.pidfile = self.root / "es.pid"
        self.log_path = self.root / "logs" / "console.log"

    def fetch(self) -> Path:
        v = self.settings.es_version
        return fetch_zip(
            f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{v}:zip",
            self.dist,
            f"elasticsearch-{v}",
        )

    def pid(self) -> int | None:
        return read_pid(self.pidfile)

    @staticmethod
    def healthy(url: str) -> bool:
        try:
            with urllib.request.urlopen(f"{url}/_cluster/health?timeout=2s", timeout=5) as resp:
                status = json.loads(resp.read()).get("status")
        except (OSError, ValueError, urllib.error.URLError):
            return False
        return status in ("green", "yellow")

    def _write_config(self, es_home: Path, http_port: int, transport_port: int) -> Path:
        # A config dir of our own, outside the unpacked distribution, so the
        # cached download stays pristine and shareable between runs.
        conf = self.root / "config"
        if conf.exists():
            shutil.rmtree(conf)
        shutil.copytree(es_home / "config", conf)
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        settings = {
            "cluster.name": "ogi-local",
            "node.name": "ogi-local-1",
            "path.data": str(self.root / "data"),
            "path.logs": str(self.root / "logs"),
            "network.host": "127.0.0.1",
            "http.port": http_port,
            "transport.port": transport_port,
            "discovery.type": "single-node",
            "xpack.security.enabled": False,
            "xpack.ml.enabled": False,
            "action.destructive_requires_name": False,
            # A shared dev box has little free disk; do not go read-only at 95%.
            "cluster.routing.allocation.disk.threshold_enabled": False,
            "http.max_content_length": "200mb",
        }
        (conf / "elasticsearch.yml").write_text(
            "".join(f"{k}: {json.dumps(v)}\n" for k, v in settings.items())
        )
        return conf

    def start(self, http_port: int, transport_port: int) -> None:
        es_home = self.fetch()
        self.root.mkdir(parents=True, exist_ok=True)
        conf = self._write_config(es_home, http_port, transport_port)
        heap = self.settings.es_heap
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ES_JAVA_HOME": find_java_home(self.settings.java_home),
            "ES_PATH_CONF": str(conf),
            "ES_JAVA_OPTS": f"-Xms{heap} -Xmx{heap}",
            "HOME": str(self.root),
            "LANG": "C.UTF-8",
        }
        owner = _es_user()
        if owner:
            uid, gid = owner
            _chown_tree(self.root, uid, gid)
            # The server user must be able to reach the distribution and its
            # own dirs; everything above them needs only the search bit.
            for parent in [self.settings.home, *self.settings.home.parents]:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    if parent == Path("/root"):
                        raise LocalServerError(
                            "OGI_HOME is under /root, which the Elasticsearch user cannot enter; "
                            "unset OGI_HOME (as root the default is /var/cache/ogi)"
                        )
                    parent.chmod(mode | 0o001)
            for path in [self.settings.home / "dist", self.settings.home / "run"]:
                path.chmod(path.stat().st_mode | 0o005)
        spawn(
            [str(es_home / "bin" / "elasticsearch")],
            log_path=self.log_path,
            pidfile=self.pidfile,
            env=env,
            cwd=self.root,
            user=owner[0] if owner else None,
            group=owner[1] if owner else None,
        )
        url = f"http://127.0.0.1:{http_port}"
        wait_until(
            lambda: self.healthy(url),
            timeout=240,
            what="Elasticsearch",
            alive=lambda: self.pid() is not None,
            log_path=self.log_path,
        )

    def stop(self) -> bool:
        return stop_pid(self.pidfile, self.name)
