"""The converter (LibreOffice) on hostile documents: no network, a clean
environment, nothing outliving the extraction limit, no files left behind
(issue 8 #2, #5, #11).

``data/linked-image.doc`` is a Word 97 file with an image linked to
``http://127.0.0.1:18777/z.png``; the tests rewrite the port to a local
server's. Made with LibreOffice from ``<img src=...>`` HTML.
"""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.extract import errors
from services.extract.engine import sandbox
from services.extract.engine.readers import doc
from tests.support import processes_mentioning

pytestmark = pytest.mark.skipif(
    doc.soffice_binary() is None, reason="LibreOffice is in deploy/apt-packages.txt"
)

FIXTURE = Path(__file__).parent / "data" / "linked-image.doc"


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[str]

    def _answer(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = do_OPTIONS = do_PROPFIND = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[int, list[str]]]:
    """A web server on 127.0.0.1 that records every request."""
    seen: list[str] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


def linked_doc(port: int) -> bytes:
    assert 10000 <= port <= 99999  # same length, so no offset in the file moves
    data = FIXTURE.read_bytes()
    new = str(port)
    return data.replace(b"18777", new.encode()).replace("18777".encode("utf-16-le"), new.encode("utf-16-le"))


def _wait_until(cond, timeout_s: float) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return bool(cond())


def _leftovers(root: Path) -> list[str]:
    # pymp-*: multiprocessing's own forkserver socket directory, not the extraction's
    return [p.name for p in root.iterdir() if not p.name.startswith("pymp-")]


def test_the_fixture_does_fetch_its_link_without_isolation(recorder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The control: plain LibreOffice on this file makes requests, so the
    next test's silence means something."""
    port, seen = recorder
    src = tmp_path / "in.doc"
    src.write_bytes(linked_doc(port))
    subprocess.run(
        [
            doc.soffice_binary(),
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--norestore",
            "--convert-to",
            "docx:MS Word 2007 XML",
            "--outdir",
            str(tmp_path / "out"),
            str(src),
        ],
        capture_output=True,
        timeout=180,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert any("/z.png" in r for r in seen), seen


@pytest.mark.skipif(sandbox.isolation() is None, reason="this host has no network namespaces")
def test_the_converter_cannot_reach_the_network(recorder) -> None:  # type: ignore[no-untyped-def]
    port, seen = recorder
    converted = doc.convert_to_docx(linked_doc(port), ".doc")
    assert converted.startswith(b"PK")  # it did convert
    assert seen == []


@pytest.mark.skipif(sandbox.isolation() is None, reason="this host has no network namespaces")
def test_a_sandboxed_program_cannot_connect_to_loopback(recorder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    port, seen = recorder
    probe = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5); print('connected')"
    done = sandbox.run([sys.executable, "-c", probe], home=str(tmp_path), timeout_s=30, name="probe")
    assert done.returncode != 0 and b"connected" not in done.stdout
    assert b"unreachable" in done.stderr.lower() or b"errno" in done.stderr.lower(), done.stderr
    assert seen == []
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass  # the same connection works from outside the sandbox


def test_the_converter_gets_a_clean_environment(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OGI_SMTP_PASSWORD", "hunter2")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    done = sandbox.run(
        ["/usr/bin/env"], home=str(tmp_path), timeout_s=30, name="env", require_isolation=False
    )
    env = dict(line.split("=", 1) for line in done.stdout.decode().splitlines() if "=" in line)
    assert set(env) <= {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL"}, env
    assert env["HOME"] == str(tmp_path) and "hunter2" not in done.stdout.decode()


def test_without_isolation_libreoffice_is_not_run(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sandbox, "isolation", lambda: None)
    with pytest.raises(errors.ConversionFailed, match="without network access"):
        doc.convert_to_docx(FIXTURE.read_bytes(), ".doc")


# A converter that hangs, with a child of its own (as soffice starts
# soffice.bin): the two tests below make LibreOffice's slowness
# deterministic. Its command lines carry the temporary directory's path
# (and its sleeps are short, so a process without that path cannot linger).
_HANGING_CONVERTER = """#!/bin/sh
sh -c 'while :; do sleep 1; done' converter-child "$@" &
while :; do sleep 1; done
"""


def _start_worker(tmp_path: Path, timeout_s: float) -> subprocess.Popen[str]:
    """A process that extracts the fixture the way the worker does, with the
    hanging converter first on its PATH and its temporary files under tmp_path."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "soffice").write_text(_HANGING_CONVERTER)
    (bin_dir / "soffice").chmod(0o755)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    script = (
        "import tempfile\n"
        f"tempfile.tempdir = {str(scratch)!r}\n"
        "from services.extract.engine import extract_bounded\n"
        "if __name__ == '__main__':\n"
        "    try:\n"
        f"        extract_bounded(open({str(FIXTURE)!r}, 'rb').read(), filename='r.doc', timeout_s={timeout_s})\n"
        "    except Exception as e:\n"
        "        print(type(e).__name__)\n"
    )
    (tmp_path / "worker.py").write_text(script)
    repo = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": str(repo), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    return subprocess.Popen(
        [sys.executable, str(tmp_path / "worker.py")], cwd=repo, env=env, stdout=subprocess.PIPE, text=True
    )


def _converter_running(marker: str) -> bool:
    return any("converter-child" in p for p in processes_mentioning(marker))


@pytest.fixture
def reap() -> Iterator[list[str]]:
    """Kill, after the test, whatever still mentions the markers it lists
    (only when the code under test failed to), so a failure leaves no orphans."""
    markers: list[str] = []
    yield markers
    for marker in markers:
        for line in processes_mentioning(marker):
            try:
                os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.mark.timeout(120)
def test_a_timeout_kills_the_converter_and_removes_its_files(tmp_path, reap) -> None:  # type: ignore[no-untyped-def]
    marker = str(tmp_path / "tmp")
    reap.append(marker)
    worker = _start_worker(tmp_path, timeout_s=4)
    seen_running = _wait_until(lambda: _converter_running(marker), 30)
    out, _ = worker.communicate(timeout=60)
    assert seen_running, "the converter never started within the limit; the test proves nothing"
    assert out.strip() == "ExtractionTimeout"
    assert _wait_until(lambda: not processes_mentioning(marker), 10), processes_mentioning(marker)
    assert _leftovers(tmp_path / "tmp") == []


@pytest.mark.timeout(120)
def test_when_the_worker_dies_the_converter_and_its_files_go_too(tmp_path, reap) -> None:  # type: ignore[no-untyped-def]
    marker = str(tmp_path / "tmp")
    reap.append(marker)
    worker = _start_worker(tmp_path, timeout_s=300)
    try:
        assert _wait_until(lambda: _converter_running(marker), 30), "the converter never started"
    finally:
        worker.kill()
        worker.communicate()
    assert _wait_until(lambda: not processes_mentioning(marker), 10), processes_mentioning(marker)
    assert _leftovers(tmp_path / "tmp") == []


def test_as_another_user_isolation_maps_root_in_a_user_namespace(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # A plain `unshare --net` needs CAP_SYS_ADMIN; as another user the unprivileged
    # user-namespace variant is tried first (checked by hand as nobody: only `lo`, down).
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    sandbox.isolation.cache_clear()
    try:
        prefix = sandbox.isolation()
    finally:
        sandbox.isolation.cache_clear()
    if prefix is not None:  # None: this host allows no user namespaces, and LibreOffice is not run
        assert "--map-root-user" in prefix and "--net" in prefix
