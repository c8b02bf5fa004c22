"""Tests that fail on purpose, each in another way, while services they
started are running. Never collected by the normal run (the file name does
not start with ``test_``): tests/e2e/test_process_hygiene.py runs it in a
pytest of its own and then checks that no process it started is left.

Every process started here records its pid in the file named by
``OGI_HYGIENE_PIDS`` so that the outer test knows what to look for.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ogi.settings import Settings
from tests.support import REPO, Service, service_env, spawn


def _started(pid: int) -> int:
    with open(os.environ["OGI_HYGIENE_PIDS"], "a") as fh:
        fh.write(f"{pid}\n")
    return pid


def _service(name: str, settings: Settings, logs: Path) -> Service:
    svc = Service(name, settings, logs)
    _started(svc.proc.pid)
    return svc


@pytest.fixture(scope="session")
def forgotten(platform: Settings, tmp_path_factory: pytest.TempPathFactory) -> Service:
    """A session fixture that never stops its service."""
    return _service("deliver", platform, tmp_path_factory.mktemp("forgotten"))


@pytest.fixture(scope="module")
def teardown_fails_first(platform: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    svc = _service("index", platform, tmp_path_factory.mktemp("module"))
    yield svc
    raise RuntimeError("a teardown that fails before it stops its service")


@pytest.fixture
def setup_fails_after_start(platform: Settings, tmp_path: Path) -> Service:
    _service("extract", platform, tmp_path)
    raise RuntimeError("a set-up that fails after starting a service")


def test_fails_with_a_service_of_its_own(platform: Settings, tmp_path: Path) -> None:
    _service("detect", platform, tmp_path)
    raise AssertionError("deliberately failing")


def test_fails_with_a_module_service(teardown_fails_first: Service) -> None:
    raise AssertionError("deliberately failing")


def test_fails_with_a_session_service(forgotten: Service) -> None:
    raise AssertionError("deliberately failing")


def test_errors_in_set_up(setup_fails_after_start: Service) -> None:
    pass


def test_fails_while_a_child_runs_services_in_their_own_sessions(platform: Settings, tmp_path: Path) -> None:
    # like `ogi run`: a child that starts a service in a session of its own
    code = (
        "import sys, time; from pathlib import Path; from ogi.pipeline import start_service; "
        f"p = start_service('index', Path({str(tmp_path)!r})); print(p.pid, flush=True); time.sleep(600)"
    )
    with open(tmp_path / "out", "wb") as out:
        parent = spawn([sys.executable, "-c", code], env=service_env(platform), cwd=REPO, stdout=out)
    _started(parent.pid)
    while not (tmp_path / "out").read_text().strip():
        assert parent.poll() is None, "the child died"
    _started(int((tmp_path / "out").read_text().split()[0]))
    raise AssertionError("deliberately failing")
