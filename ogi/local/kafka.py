"""A real single-node Apache Kafka in KRaft mode, from Maven Central.

The ``kafka_2.13`` artifact with its runtime dependencies is the broker the
release tarball ships, without the tarball. Kafka 4 logs through log4j2,
so we add the SLF4J binding and give it a config that writes to a file.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ogi.local._process import (
    LocalServerError,
    find_java_home,
    pid_alive,
    read_pid,
    spawn,
    stop_pid,
    wait_until,
)
from ogi.local.maven import fetch_classpath
from ogi.settings import Settings
from ogi.topics import min_insync_replicas

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
        jaas = (
            f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{admin}" '
            f'password="{password}";'
        )
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

    def __init__(
        self, settings: Settings, root: Path | None = None, *, sasl_ssl: SaslSsl | None = None
    ) -> None:
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
        # one node of a LocalKafkaCluster sets these; alone it is node 1 of 1
        self.node_id = 1
        self.cluster: ClusterLayout | None = None

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
        if self.cluster is not None:
            props.update(self.cluster.node_props(self.node_id))
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

    def start(self, broker_port: int, controller_port: int, *, wait: bool = True) -> None:
        """Format the storage on first start, spawn the broker and (``wait``)
        wait until it answers. A cluster's nodes start with ``wait=False``:
        none answers before a quorum of controllers is up."""
        import subprocess

        libs = self.fetch()
        config = self._write_config(broker_port, controller_port)
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        if not (self.root / "data" / "meta.properties").exists():
            cluster_id = (
                self.cluster.cluster_id
                if self.cluster
                else base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            )
            subprocess.run(
                # "--cluster-id=" in one argument: a random id may begin with "-",
                # which the tool would read as an option (1 start in 64 failed).
                self._java(
                    libs,
                    "kafka.tools.StorageTool",
                    "format",
                    f"--cluster-id={cluster_id}",
                    "-c",
                    str(config),
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
        if not wait:
            return
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


@dataclass(frozen=True)
class ClusterLayout:
    """What the nodes of one cluster share: the cluster id (every node's
    storage is formatted with it) and the controller quorum."""

    cluster_id: str
    controller_ports: tuple[int, ...]

    def node_props(self, node_id: int) -> dict[str, str]:
        voters = ",".join(f"{i}@127.0.0.1:{port}" for i, port in enumerate(self.controller_ports, start=1))
        replicas = min(3, len(self.controller_ports))
        return {
            "node.id": str(node_id),
            "controller.quorum.voters": voters,
            # the internal topics survive a broker loss like ours do (ogi.broker.ensure_topics)
            "offsets.topic.replication.factor": str(replicas),
            "transaction.state.log.replication.factor": str(replicas),
            "transaction.state.log.min.isr": str(min_insync_replicas(replicas)),
            "share.coordinator.state.topic.replication.factor": str(replicas),
            "share.coordinator.state.topic.min.isr": str(min_insync_replicas(replicas)),
            "default.replication.factor": str(replicas),
            "min.insync.replicas": str(min_insync_replicas(replicas)),
        }


class LocalKafkaCluster:
    """``ogi servers up --kafka-brokers N``: N KRaft nodes on loopback, each
    both broker and controller (combined mode). Combined, not a separate
    controller quorum: three JVMs instead of six on a small machine, and a
    quorum of three voters still survives the loss of any one node, which
    is what the cluster is for (a broker-kill test, a rehearsal of a
    replicated production cluster). Production clusters of any size should
    run dedicated controllers; nothing in ogi depends on the layout."""

    name = "kafka"
    endpoint_key = "kafka_bootstrap"

    def __init__(self, settings: Settings, brokers: int = 3, root: Path | None = None) -> None:
        if brokers < 2:
            raise ValueError("a cluster has at least two brokers; one is LocalKafka")
        self.settings = settings
        self.root = root or settings.home / "run" / "kafka-cluster"
        self.nodes = [LocalKafka(settings, root=self.root / f"node-{i}") for i in range(1, brokers + 1)]
        for i, node in enumerate(self.nodes, start=1):
            node.node_id = i
        self.port_names = tuple(
            name for i in range(1, brokers + 1) for name in (f"kafka_{i}", f"kafka_controller_{i}")
        )
        self._ports: tuple[int, ...] = ()

    def address(self, ports: dict[str, int]) -> str:
        return ",".join(f"127.0.0.1:{ports[f'kafka_{i}']}" for i in range(1, len(self.nodes) + 1))

    def fetch(self) -> Path:
        return self.nodes[0].fetch()

    def pid(self) -> int | None:
        """The first node's pid when every node runs, else None."""
        pids = [node.pid() for node in self.nodes]
        return pids[0] if all(pids) else None

    def healthy(self, bootstrap: str) -> bool:
        """Every broker registered with the cluster."""
        return len(self.brokers(bootstrap, self.settings)) == len(self.nodes)

    @staticmethod
    def brokers(bootstrap: str, settings: Settings | None = None) -> list[dict[str, object]]:
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        from ogi.broker import kafka_client

        try:
            admin = kafka_client(
                KafkaAdminClient, settings, bootstrap_servers=bootstrap.split(","), request_timeout_ms=5000
            )
        except (KafkaError, OSError, ValueError):
            return []
        try:
            return list(admin.describe_cluster().get("brokers") or [])
        except (KafkaError, OSError, ValueError):
            return []
        finally:
            admin.close()

    def _layout(self, ports: tuple[int, ...]) -> None:
        self._ports = ports
        id_file = self.root / "cluster.id"
        self.root.mkdir(parents=True, exist_ok=True)
        if not id_file.exists():
            # one id for every node's storage, kept for their restarts
            id_file.write_text(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))
        layout = ClusterLayout(id_file.read_text().strip(), tuple(ports[1::2]))
        for node in self.nodes:
            node.cluster = layout

    def start(self, *ports: int) -> None:
        """Start every node (ports: broker, controller of node 1, then of
        node 2, ...), then wait until all brokers have registered."""
        self.fetch()
        self._layout(ports)
        for i, node in enumerate(self.nodes):
            node.start(ports[2 * i], ports[2 * i + 1], wait=False)
        bootstrap = ",".join(f"127.0.0.1:{p}" for p in ports[0::2])
        wait_until(
            lambda: self.healthy(bootstrap),
            timeout=240,
            what=f"Kafka cluster of {len(self.nodes)}",
            alive=lambda: all(node.pid() for node in self.nodes),
            log_path=self.nodes[0].log_path,
        )

    def kill(self, node: int) -> None:
        """SIGKILL one node (1-based), as a crash would: no shutdown, no flush."""
        pid = self.nodes[node - 1].pid()
        if pid is not None:
            os.killpg(pid, signal.SIGKILL)
            while pid_alive(pid):
                time.sleep(0.05)

    def restart(self, node: int) -> None:
        """Start a stopped node again on its ports and wait until it answers."""
        if not self._ports:
            raise LocalServerError("restart: the cluster was not started by this object")
        i = node - 1
        self.nodes[i].start(self._ports[2 * i], self._ports[2 * i + 1])

    def stop(self) -> bool:
        """Stop every node at once: one by one, the last would wait for a
        controller quorum that has already gone (a minute, then SIGKILL)."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(self.nodes)) as pool:
            return any(list(pool.map(LocalKafka.stop, self.nodes)))
