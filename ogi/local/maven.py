"""Fetch server distributions from Maven Central with the machine's Maven.

Maven is the one channel to outside artifacts these machines have, and it
keeps its own cache (~/.m2), so a second fetch is free. What we unpack goes
under ``$OGI_HOME/dist`` and is marked complete only when whole.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import structlog

from ogi.local._process import LocalServerError

log = structlog.get_logger("ogi.local")

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>ogi.local</groupId><artifactId>{name}</artifactId><version>1</version>
  <dependencies>
{deps}
  </dependencies>
</project>
"""


def _mvn(args: list[str], cwd: Path, what: str) -> None:
    if shutil.which("mvn") is None:
        raise LocalServerError("Maven ('mvn') is not installed; it fetches Kafka and Elasticsearch")
    log.info("fetching", what=what)
    proc = subprocess.run(["mvn", "-B", "-q", *args], cwd=cwd, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise LocalServerError(
            f"fetching {what} with Maven failed:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
        )


def fetch_classpath(name: str, coordinates: list[str], dest: Path) -> Path:
    """Resolve ``group:artifact:version`` coordinates with their runtime
    dependencies into ``dest/libs`` (a complete classpath)."""
    marker = dest / ".complete"
    if marker.exists():
        return dest / "libs"
    dest.mkdir(parents=True, exist_ok=True)
    deps = "\n".join(
        "    <dependency><groupId>{}</groupId><artifactId>{}</artifactId><version>{}</version></dependency>".format(
            *c.split(":")
        )
        for c in coordinates
    )
    (dest / "pom.xml").write_text(_POM.format(name=name, deps=deps))
    libs = dest / "libs"
    shutil.rmtree(libs, ignore_errors=True)
    _mvn(
        ["dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={libs}"],
        cwd=dest,
        what=name,
    )
    marker.write_text("ok\n")
    return libs


def fetch_zip(coordinate: str, dest: Path, top_dir: str) -> Path:
    """Fetch a zip artifact (``group:artifact:version:zip``) and unpack it;
    returns ``dest/top_dir``."""
    home = dest / top_dir
    marker = dest / ".complete"
    if marker.exists() and home.is_dir():
        return home
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        group, artifact, version, packaging = coordinate.split(":")
        _mvn(
            [
                "dependency:copy",
                f"-Dartifact={group}:{artifact}:{version}:{packaging}",
                f"-DoutputDirectory={tmp}",
            ],
            cwd=Path(tmp),
            what=coordinate,
        )
        archive = next(Path(tmp).glob(f"*.{packaging}"))
        shutil.rmtree(home, ignore_errors=True)
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                zf.extract(info, dest)
                mode = (info.external_attr >> 16) & 0o777
                if mode:
                    (dest / info.filename).chmod(mode)
    marker.write_text("ok\n")
    return home
