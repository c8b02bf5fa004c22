"""Topic durability follows the cluster: replication and min.insync.replicas
by broker count, and the per-node settings of a local cluster."""

from __future__ import annotations

from pathlib import Path

from ogi.broker import topic_replication
from ogi.local.kafka import ClusterLayout, LocalKafkaCluster
from ogi.settings import Settings
from ogi.telemetry import SERVICE_PORT_OFFSETS, Telemetry
from ogi.topics import min_insync_replicas


def _settings(**kw: object) -> Settings:
    return Settings(kafka_bootstrap="127.0.0.1:1", es_url="http://127.0.0.1:2", **kw)  # type: ignore[arg-type]


def test_replication_follows_the_cluster_unless_set() -> None:
    auto = _settings()
    assert [topic_replication(auto, n) for n in (0, 1, 2, 3, 5)] == [1, 1, 2, 3, 3]
    assert topic_replication(_settings(topic_replication=2), 5) == 2


def test_two_of_three_replicas_must_have_a_record() -> None:
    assert [min_insync_replicas(r) for r in (1, 2, 3, 5)] == [1, 1, 2, 2]


def test_cluster_nodes_share_the_quorum_and_replicate_internal_topics(tmp_path: Path) -> None:
    layout = ClusterLayout("abc", (101, 102, 103))
    props = layout.node_props(2)
    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:101,2@127.0.0.1:102,3@127.0.0.1:103"
    assert props["offsets.topic.replication.factor"] == "3"
    assert props["min.insync.replicas"] == "2"
    cluster = LocalKafkaCluster(_settings(home=tmp_path), brokers=3, root=tmp_path / "c")
    assert [n.node_id for n in cluster.nodes] == [1, 2, 3]
    assert len({n.root for n in cluster.nodes}) == 3
    ports = dict(zip(cluster.port_names, range(1, 7), strict=True))
    assert cluster.address(ports) == "127.0.0.1:1,127.0.0.1:3,127.0.0.1:5"


def test_each_service_its_own_port_and_zero_turns_them_off() -> None:
    ports = {name: Telemetry(name, _settings(metrics_port=9470)).port for name in SERVICE_PORT_OFFSETS}
    assert len(set(ports.values())) == len(ports) == 5
    assert ports["extract"] == 9470 and ports["deliver"] == 9474
    assert Telemetry("index", _settings(metrics_port=0)).port == 0
