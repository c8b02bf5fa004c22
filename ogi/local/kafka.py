"""A real single-node Apache Kafka in KRaft mode, from Maven Central.

The ``kafka_2.13`` artifact with its runtime dependencies is the broker the
release tarball ships, without the tarball. Kafka 4 logs through log4j2,
so we add the SLF4J binding and give it a config that writes to a file.
"""

from __future__ import annotations

import base64
import os
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ogi.local._process import find_java_home, read_pid, spawn, stop_pid, wait_until
from ogi.local.maven import fetch_classpath
from ogi.settings import Settings

LOG4J2 = """status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = warn
logger.apache.name = org.apache.kafka
logger.apache.level = warn
"""


@dataclass(frozen=True)
class SaslSsl:
    """A SASL_SSL client listener, as managed Kafka services have: TLS with
    ``keystore`` (PEM: the broker's PKCS#8 private key, then its certificate
    chain) and SCRAM-SHA-512 logins for ``users`` (name -> password),
    created when the storage is formatted. ``truststore`` (the CA, PEM)
    verifies the broker's own inter-broker connections; the first user is
    the inter-broker one. The controller listener stays PLAINTEXT on
    loopback."""

    keystore: Path
    truststore: Path
    users: dict[str, str] = field(default_factory=dict)

    def properties(self, broker_port: int) -> dict[str, str]:
        admin, password = next(iter(self.users.items()))
        jaas = f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{admin}" ' \
               f'password="{password}";'
        return {
            "listeners": f"SASL_SSL://127.0.0.1:{broker_port},CONTROLLER://127.0.0.1:{{controller}}",
            "advertised.listeners": f"SASL_SSL://127.0.0.1:{broker_port}",
            "inter.broker.listener.name": "SASL_SSL",
            "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
            "sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": jaas,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.keystore),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.truststore),
        }

    def format_args(self) -> list[str]:
        return [f"--add-scram=SCRAM-SHA-512=[name={u},password={p}]" for u, p in self.users.items()]


class LocalKafka:
    name = "kafka"
    endpoint_key = "kafka_bootstrap"
    port_names = ("kafka", "kafka_controller")

    @staticmethod
    def address(ports: dict[str, int]) -> str:
        return f"127.0.0.1:{ports['kafka']}"

    def __init__(self, settings: Settings, root: Path | None = None, *, sasl_ssl: SaslSsl | None = None) -> None:
        """``root`` holds the broker's data, logs and pid (default: the one
        local broker under $OGI_HOME; tests give another for a second one).
        ``sasl_ssl`` makes the client listener a secured one; ``settings``
        then carry the matching client security (the health check uses it)."""
        self.settings = settings
        self.sasl_ssl = sasl_ssl
        self.dist = settings.home / "dist" / f"kafka-{settings.kafka_version}"
        self.root = root or settings.home / "run" / "kafka"
        self.pidfile = self.root / "kafka.pid"
        self.log_path = self.root / "logs" / "console.log"

    def fetch(self) -> Path:
        v = self.settings.kafka_version
        return fetch_classpath(
            "kafka",
            [
                f"org.apache.kafka:kafka_2.13:{v}",
                f"org.apache.kafka:kafka-tools:{v}",
                "org.apache.logging.log4j:log4j-slf4j2-impl:2.24.3",
                "org.apache.logging.log4j:log4j-core:2.24.3",
            ],
            self.dist,
        )

    def pid(self) -> int | None:
        return read_pid(self.pidfile)

    def healthy(self, bootstrap: str) -> bool:
        host, _, port = bootstrap.rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=2):
                pass
        except OSError:
            return False
        # A listening socket is not a ready broker: ask for cluster metadata.
        from kafka.errors import KafkaError

        from ogi.broker import make_admin

        try:
            admin = make_admin(self.settings, bootstrap=bootstrap, timeout_s=0, request_timeout_ms=5000)
        except (KafkaError, OSError, ValueError):
            return False
        try:
            return bool(admin.describe_cluster().get("brokers"))
        except (KafkaError, OSError, ValueError):
            return False
        finally:
            admin.close()

    def _write_config(self, broker_port: int, controller_port: int) -> Path:
        data = self.root / "data"
        data.mkdir(parents=True, exist_ok=True)
        limit = self.settings.max_message_bytes
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{broker_port},CONTROLLER://127.0.0.1:{controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{broker_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(data),
            "num.partitions": "3",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "5",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # raw documents up to the configured size must pass end to end
            "message.max.bytes": str(limit),
            "replica.fetch.max.bytes": str(limit),
            "socket.request.max.bytes": str(max(limit * 2, 104857600)),
            "log.retention.hours": "-1",
            "auto.create.topics.enable": "true",
        }
        if self.sasl_ssl is not None:
            secured = self.sasl_ssl.properties(broker_port)
            secured["listeners"] = secured["listeners"].replace("{controller}", str(controller_port))
            props.update(secured)
        path = self.root / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (self.root / "log4j2.properties").write_text(LOG4J2)
        return path

    def _java(self, libs: Path, main: str, *args: str, heap: str = "256m") -> list[str]:
        java = Path(find_java_home(self.settings.java_home)) / "bin" / "java"
        return [
            str(java),
            f"-Xmx{heap}",
            f"-Xms{heap}",
            "-XX:+UseG1GC",
            f"-Dlog4j2.configurationFile={self.root / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.root / 'logs'}",
            "-cp",
            f"{libs}/*",
            main,
            *args,
        ]

    def start(self, broker_port: int, controller_port: int) -> None:
        import subprocess

        libs = self.fetch()
        config = self._write_config(broker_port, controller_port)
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        if not (self.root / "data" / "meta.properties").exists():
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            subprocess.run(
                # "--cluster-id=" in one argument: a random id may begin with "-",
                # which the tool would read as an option (1 start in 64 failed).
                self._java(
                    libs, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", "-c", str(config),
                    *(self.sasl_ssl.format_args() if self.sasl_ssl else []),
                ),
                check=True,
                capture_output=True,
                timeout=300,
            )
        env = dict(os.environ)
        spawn(
            self._java(libs, "kafka.Kafka", str(config), heap=self.settings.kafka_heap),
            log_path=self.log_path,
            pidfile=self.pidfile,
            env=env,
        )
        bootstrap = f"127.0.0.1:{broker_port}"
        wait_until(
            lambda: self.healthy(bootstrap),
            timeout=180,
            what="Kafka",
            alive=lambda: self.pid() is not None,
            log_path=self.log_path,
        )

    def stop(self) -> bool:
        return stop_pid(self.pidfile, self.name)
