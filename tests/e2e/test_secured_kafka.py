"""The pipeline over a secured Kafka, as managed services run it: a
SASL_SSL listener (SCRAM-SHA-512 users created when the storage is
formatted, a broker certificate from a throw-away CA). The extract worker
(Faust/aiokafka), the indexer and the publisher (kafka-python) all go
through ogi.broker's one set of security settings; the password reaches
the services as a file (``OGI_KAFKA_PASSWORD_FILE``).

A wrong password, a CA that did not sign the broker's certificate and an
unreachable broker each stop ``ogi serve`` within seconds with a message
that names the cause."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from ogi.broker import check_kafka, ensure_topics, make_producer, publish
from ogi.elastic import index_name
from ogi.errors import BrokerConfigError, BrokerError
from ogi.local._process import free_port
from ogi.local.kafka import LocalKafka, SaslSsl
from ogi.settings import Settings
from ogi.topics import ALERTS
from schemas import Alert, Severity
from services.alerts.subscriptions import SubscriptionStore, new_subscription
from services.ingest.files import publish_files
from tests.support import REPO, Service, service_env, wait_for
from tests.unit.alerts.receivers import http_receiver
from tests.unit.alerts.tls_smtp import Certs, make_certs

pytestmark = pytest.mark.e2e

SAMPLES = REPO / "data" / "samples"
USER, PASSWORD = "ogi-app", "scram-Pw-7f3a"


class Secured:
    def __init__(self, settings: Settings, certs: Certs, password_file: Path) -> None:
        self.settings = settings
        self.certs = certs
        self.password_file = password_file

    def env(self, **extra: str) -> dict[str, str]:
        s = self.settings
        return {
            "OGI_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "OGI_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "OGI_KAFKA_USERNAME": s.kafka_username,
            "OGI_KAFKA_PASSWORD_FILE": str(self.password_file),
            "OGI_KAFKA_CA_FILE": str(self.certs.ca),
            **extra,
        }


@pytest.fixture(scope="module")
def secured(platform: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    work = tmp_path_factory.mktemp("kafka-sasl-ssl")
    certs = make_certs(work, "ogi kafka test")
    keystore = work / "broker-keystore.pem"
    keystore.write_text(certs.key.read_text() + certs.cert.read_text())
    password_file = work / "kafka-password"
    password_file.write_text(PASSWORD + "\n")  # as orchestrators mount it, with a newline
    broker_port, controller_port = free_port(), free_port()
    settings = platform.model_copy(
        update={
            "kafka_bootstrap": f"127.0.0.1:{broker_port}",
            "kafka_security_protocol": "SASL_SSL",
            "kafka_sasl_mechanism": "SCRAM-SHA-512",
            "kafka_username": USER,
            "kafka_password": SecretStr(PASSWORD),
            "kafka_ca_file": certs.ca,
        }
    )
    broker = LocalKafka(
        settings,
        root=work / "kafka",
        sasl_ssl=SaslSsl(keystore, certs.ca, {"broker": "broker-Pw-1", USER: PASSWORD}),
    )
    broker.start(broker_port, controller_port)
    try:
        ensure_topics(settings)
        yield Secured(settings, certs, password_file)
    finally:
        broker.stop()


def test_seeds_reach_elasticsearch_and_an_alert_its_subscriber_over_sasl_ssl(  # type: ignore[no-untyped-def]
    secured: Secured, es, tmp_path: Path
) -> None:
    s = secured.settings
    services = {name: Service(name, s, tmp_path, **secured.env()) for name in ("extract", "index")}
    # the deliverer: alerts, the subscriptions table and the delivery log, all over SASL_SSL
    services["deliver"] = Service(
        "deliver", s, tmp_path, **secured.env(OGI_DELIVER_ALLOW_PRIVATE_NETWORKS="127.0.0.0/8")
    )
    hook_cm = http_receiver()
    hook = hook_cm.__enter__()  # a with-block would indent the whole test once more
    try:
        store = SubscriptionStore(s)
        try:
            store.add(new_subscription(webhook_url=hook.url, name="secured"))
        finally:
            store.close()
        alert = Alert(
            alert_id="sasl-ssl-alert", rule="broken_identity", agency="示例区人民政府", agency_id=None,
            year=2022, severity=Severity.WARNING, title="t", message="m",
        )  # fmt: skip
        producer = make_producer(s)
        publish(producer, ALERTS, alert, s).get(timeout=60)
        producer.close()
        seeds = sorted(SAMPLES.glob("*.txt"))
        published = publish_files(seeds, settings=s)
        ids = [r.report_id for r in published]
        reports = index_name("reports", s)

        def indexed() -> bool:
            es.indices.refresh(index=reports)
            return int(es.count(index=reports, query={"ids": {"values": ids}})["count"]) == len(ids)

        wait_for(
            indexed,
            300,
            f"{len(ids)} reports indexed over SASL_SSL",
            lambda: "\n".join(f"--- {n} ---\n{v.log()[-3000:]}" for n, v in services.items()),
            services.values(),
        )
        truth = json.loads((SAMPLES / "truth.json").read_text())["reports"][seeds[4].name]
        metrics = index_name("metrics", s)
        es.indices.refresh(index=metrics)
        hits = es.search(
            index=metrics,
            query={
                "bool": {
                    "filter": [
                        {"term": {"agency": truth["agency"]}},
                        {"term": {"year": truth["year"]}},
                        {"term": {"metric": "applications.total_handled"}},
                        {"term": {"applicant": "total"}},
                    ]
                }
            },
        )["hits"]["hits"]
        assert [h["_source"]["value"] for h in hits] == [28.0]

        def delivered() -> bool:
            with hook.lock:
                return any(json.loads(r.body)["alert"]["alert_id"] == alert.alert_id for r in hook.received)

        wait_for(
            delivered, 120, "the alert delivered to its webhook", services["deliver"].log, services.values()
        )
        for service in services.values():
            assert PASSWORD not in service.log()  # the secret never reaches a log line
    finally:
        for service in services.values():
            service.stop()
        hook_cm.__exit__(None, None, None)


def _serve_fails(settings: Settings, env: dict[str, str], within_s: float) -> str:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "ogi.cli", "serve", "index"],
        env=service_env(settings, **env),
        cwd=REPO,
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )
    took = time.monotonic() - started
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert took < within_s, f"took {took:.1f}s"
    assert "Traceback" not in proc.stderr
    return proc.stderr


def test_wrong_password_wrong_ca_and_unreachable_broker_fail_at_start(
    secured: Secured, tmp_path: Path
) -> None:
    s = secured.settings
    wrong_password = tmp_path / "wrong"
    wrong_password.write_text("not-the-password")
    err = _serve_fails(s, secured.env(OGI_KAFKA_PASSWORD_FILE=str(wrong_password)), 40)
    assert "login refused" in err and USER in err and "not-the-password" not in err

    # the same start-up check in this process (a child costs seconds of imports each)
    other_ca = make_certs(tmp_path, "another CA").ca
    started = time.monotonic()
    with pytest.raises(BrokerConfigError, match=r"certificate not verified.*OGI_KAFKA_CA_FILE"):
        check_kafka(s.model_copy(update={"kafka_ca_file": other_ca}))
    assert time.monotonic() - started < 10

    closed = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(BrokerError, match=f"unreachable.*{closed}"):
        check_kafka(s.model_copy(update={"kafka_bootstrap": closed, "connect_timeout_s": 3.0}))
    assert time.monotonic() - started < 10
