"""Session fixtures: the real local Kafka and Elasticsearch.

Integration and end-to-end tests talk to the servers that ``ogi.local.up``
starts (the same code as ``make up``); nothing is mocked. If the servers
cannot be started the tests fail with the reason; they are never skipped.
Each test session uses its own topic and index prefix, so runs never see
each other's data even when the servers are shared with ``make run``.
"""

from __future__ import annotations

import os
import signal
import uuid
import warnings
from collections.abc import Iterator

import pytest

from ogi.settings import Settings
from tests.support import terminate_all, tracked


@pytest.fixture(scope="session")
def servers() -> Iterator[object]:
    from ogi import local

    before = local.status()
    already_running = all(s["healthy"] for s in before.values())
    try:
        endpoints = local.up()
    except Exception as exc:
        pytest.fail(f"could not start the local Kafka and Elasticsearch: {exc}", pytrace=False)
    yield endpoints
    terminate_all()  # nothing a test started may outlive the servers it talks to
    if not already_running and os.environ.get("OGI_KEEP_SERVERS") != "1":
        local.down()


@pytest.fixture(autouse=True)
def _stop_what_the_test_started() -> Iterator[None]:
    """Whatever the outcome, a test leaves no process behind: what it (or a
    function-scoped fixture) started and did not stop is terminated here;
    longer-lived fixtures' processes are terminated with their servers."""
    before = tracked()
    yield
    left = terminate_all(keep=before)
    if left:
        warnings.warn(f"terminated what the test left running: {left}", stacklevel=1)


def pytest_configure(config: pytest.Config) -> None:
    # A test run that is itself terminated (a CI job cancelled) unwinds like
    # Ctrl-C, so the finalizers above still stop the services it started.
    def _interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _interrupt)


@pytest.fixture(scope="session")
def settings(servers: object) -> Settings:
    run = uuid.uuid4().hex[:8]
    return Settings(
        kafka_bootstrap=servers.kafka_bootstrap,  # type: ignore[attr-defined]
        es_url=servers.es_url,  # type: ignore[attr-defined]
        topic_prefix=f"test{run}.",
        index_prefix=f"test{run}-",
    )


@pytest.fixture(scope="session")
def platform(settings: Settings) -> Settings:
    """Topics created and index templates installed for this session."""
    from ogi.broker import ensure_topics
    from ogi.elastic import install_templates, make_client, wait_for_store

    ensure_topics(settings)
    es = make_client(settings)
    wait_for_store(es)
    install_templates(es, settings)
    return settings


@pytest.fixture(scope="session")
def es(settings: Settings):  # type: ignore[no-untyped-def]
    from ogi.elastic import make_client

    client = make_client(settings)
    yield client
    client.close()
