"""A failed test leaves no process behind: a pytest of its own runs tests
that fail (in the body, in a fixture's set-up, in a teardown, with services
held by module and session fixtures, with a child that started services in
sessions of their own) and afterwards none of the processes it started,
``ogi serve`` or other, is left."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.support import REPO

pytestmark = pytest.mark.e2e


def _with_marker(marker: str) -> list[int]:
    """Processes whose environment carries ``marker`` (inherited from the
    inner test run by everything it started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found


def _describe(pids: list[int]) -> str:
    out = []
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        out.append(f"{pid}: {cmdline}")
    return "\n".join(out)


def test_a_failing_test_run_leaves_no_process_behind(servers: object, tmp_path: Path) -> None:
    marker = f"hygiene-{uuid.uuid4().hex}"
    pids_file = tmp_path / "pids"
    pids_file.touch()
    env = {**os.environ, "OGI_HYGIENE_MARKER": marker, "OGI_HYGIENE_PIDS": str(pids_file)}
    env.pop("PYTEST_ADDOPTS", None)
    inner = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "--basetemp",
            str(tmp_path / "inner"),
            "tests/e2e/deliberately_failing.py",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = inner.stdout[-6000:] + inner.stderr[-3000:]
    assert inner.returncode == 1, report  # tests failed, pytest itself did not crash
    assert "4 failed" in inner.stdout and "error" in inner.stdout, report
    started = [int(p) for p in pids_file.read_text().split()]
    assert len(started) == 6, (started, report)  # four services, the child and its service
    left = _with_marker(marker)
    assert not left, f"left running after the failed run:\n{_describe(left)}\n{report}"
