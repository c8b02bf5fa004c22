"""The operator's view on the real servers: services started as ``ogi serve``
expose /healthz, /readyz and Prometheus metrics on their ports (base port +
offset), become ready once they reach Kafka (and Elasticsearch), and their
counters move when records flow. ``ogi status``'s lag table shows the groups.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from ogi.local._process import free_port, port_is_free
from ogi.settings import Settings
from ogi.telemetry import SERVICE_PORT_OFFSETS, Telemetry, render_lag
from services.ingest.files import publish_files
from tests.support import REPO, Service, wait_for

pytestmark = pytest.mark.e2e

SERVICES = ("extract", "index", "detect")


def _free_base() -> int:
    """A base port whose five service ports are all free."""
    for _ in range(50):
        base = free_port()
        if base + 4 < 65536 and all(port_is_free(base + off) for off in SERVICE_PORT_OFFSETS.values()):
            return base
    raise RuntimeError("no five free consecutive ports")


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except (TimeoutError, urllib.error.URLError, ConnectionError):
        return 0, ""


def _sample(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        m = re.match(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", line)
        if m and all(f'{k}="{v}"' in (m.group(1) or "") for k, v in labels.items()):
            total += float(m.group(2))
    return total


@pytest.fixture(scope="module")
def running(
    platform: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, Service], int]]:
    base = _free_base()
    logs = tmp_path_factory.mktemp("telemetry-logs")
    services = {name: Service(name, platform, logs, OGI_METRICS_PORT=str(base)) for name in SERVICES}
    yield services, base
    for svc in services.values():
        svc.stop()


def test_services_become_ready_and_counters_move(running, platform: Settings) -> None:  # type: ignore[no-untyped-def]
    services, base = running
    ports = {name: base + SERVICE_PORT_OFFSETS[name] for name in services}

    def logs() -> str:
        return "\n".join(f"--- {n} ---\n{s.log()[-2000:]}" for n, s in services.items())

    for name, port in ports.items():
        assert wait_for(
            lambda p=port: _get(p, "/healthz")[0] == 200, 120, f"{name} /healthz", logs, services.values()
        )
        _status, body = wait_for(
            lambda p=port: (r := _get(p, "/readyz"))[0] == 200 and r,
            120,
            f"{name} ready",
            logs,
            services.values(),
        )
        checks = json.loads(body)["checks"]
        assert checks["kafka"] is True
        assert ("elasticsearch" in checks) == (name == "index")

    raw = platform.topic_prefix + "raw.reports"
    extracted = platform.topic_prefix + "reports.extracted"
    before = _get(ports["extract"], "/metrics")[1]
    assert _sample(before, "ogi_records_consumed_total", topic=raw) == 0

    published = publish_files(sorted((REPO / "data" / "samples").glob("*.txt")), settings=platform)

    def moved() -> bool:
        extract = _get(ports["extract"], "/metrics")[1]
        index = _get(ports["index"], "/metrics")[1]
        detect = _get(ports["detect"], "/metrics")[1]
        return (
            _sample(extract, "ogi_records_consumed_total", topic=raw) >= len(published)
            and _sample(extract, "ogi_records_produced_total", topic=extracted) >= len(published)
            and _sample(index, "ogi_records_consumed_total", topic=extracted) >= len(published)
            and _sample(index, "ogi_bulk_documents_count") > 0
            and _sample(index, "ogi_bulk_duration_seconds_count") > 0
            and _sample(detect, "ogi_records_consumed_total", topic=extracted) >= len(published)
        )

    wait_for(moved, 240, "counters to move", logs, services.values())

    # lag per partition, measured from the committed offsets: it drains to 0
    def drained() -> bool:
        text = _get(ports["extract"], "/metrics")[1]
        lags = [
            line
            for line in text.splitlines()
            if line.startswith("ogi_consumer_lag{") and f'topic="{raw}"' in line
        ]
        return len(lags) == platform.topic_partitions and _sample(text, "ogi_consumer_lag", topic=raw) == 0

    wait_for(drained, 120, "extract lag per partition back to 0", logs, services.values())
    prefix = platform.topic_prefix
    groups = platform.model_copy(  # the groups service_env gives the services
        update={
            "faust_app_id": f"{prefix}extract",
            "index_group": f"{prefix}index",
            "detect_app_id": f"{prefix}detect",
            "deliver_group": f"{prefix}deliver",
        }
    )

    # `ogi status` asks the broker itself; the worker commits its acked offsets
    # on Faust's commit interval, so the table is waited for, not read once
    def extract_drained_in_status() -> bool:
        table = render_lag(groups)
        return all(
            re.search(rf"^{re.escape(prefix)}extract\s+{re.escape(raw)}\s+{p}\s+0$", table, re.MULTILINE)
            for p in range(platform.topic_partitions)
        ) and bool(re.search(rf"^{re.escape(prefix)}extract\s+total\s+0$", table, re.MULTILINE))

    wait_for(
        extract_drained_in_status,
        120,
        "ogi status: extract lag 0 on every partition",
        logs,
        services.values(),
    )
    table = render_lag(groups)
    assert re.search(
        rf"^{re.escape(prefix)}index\s+{re.escape(extracted)}\s+0\s+\d+$", table, re.MULTILINE
    ), table


def test_not_ready_without_kafka_but_alive(settings: Settings) -> None:
    """Readiness means reaching Kafka: pointed at a port nobody listens on,
    the endpoint answers /healthz but refuses /readyz."""
    dead_kafka = f"127.0.0.1:{free_port()}"
    base = _free_base()
    unreachable = settings.model_copy(update={"kafka_bootstrap": dead_kafka, "metrics_port": base})
    telemetry = Telemetry("extract", unreachable).start()
    try:
        assert wait_for(lambda: _get(base, "/healthz")[0] == 200, 30, "/healthz")
        status, body = _get(base, "/readyz")
        assert status == 503
        assert json.loads(body)["checks"] == {"kafka": False}
        assert _get(base, "/nothing")[0] == 404
    finally:
        telemetry.stop()
