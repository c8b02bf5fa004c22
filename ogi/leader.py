"""Explicit leader election over a Kafka consumer group, for services that
must run as one active instance with hot standbys (the alert detector and
the deliverer).

Every instance joins the group ``<name>.leader`` on the ``leases`` topic;
Kafka's group coordinator hands out the topic's partitions and the holder
of partition 0 leads. The client id starts with the instance's start time
(zero-padded), and the range assignor orders members by id, so the oldest
live instance keeps partition 0 when another one joins: no flapping. When
the leader dies (SIGKILL, lost network), its group session expires
(``leader_session_timeout_s``) and the next-oldest instance is assigned
partition 0. A leader that is assigned a set without partition 0 (it was
presumed dead) is told at once (``on_lost``) and must stop working.

Why election rather than partitioned state: the detector compares every
agency with its peer group, and peers span partitions; the deliverer's
digests bundle a subscriber's alerts from every partition. One active
instance holding all partitions keeps both simple and exact; a standby
takes over within the session timeout, resuming from committed offsets
and the compacted state topics.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable

import structlog
from kafka import ConsumerRebalanceListener, KafkaConsumer
from kafka.errors import KafkaError

from ogi.broker import kafka_client, make_producer, publish
from ogi.settings import Settings, get_settings
from ogi.signals import pause
from ogi.topics import LEASES
from schemas.events import LeaderLease

log = structlog.get_logger("ogi.leader")


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, leadership: Leadership) -> None:
        self.leadership = leadership

    def on_partitions_revoked(self, revoked: object) -> None:
        pass  # decided on the new assignment: the oldest member usually keeps partition 0

    def on_partitions_assigned(self, assigned: list) -> None:  # type: ignore[type-arg]
        self.leadership._assigned(any(tp.partition == 0 for tp in assigned))


class Leadership:
    """Join the election for ``name``; ``acquire`` blocks until this
    instance leads. ``on_lost`` is called (from the election thread) if
    leadership is lost later."""

    def __init__(
        self, name: str, settings: Settings | None = None, on_lost: Callable[[], None] = lambda: None
    ) -> None:
        self.settings = settings or get_settings()
        self.group = f"{name}.leader"
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self.on_lost = on_lost
        self._leading = threading.Event()
        self.joined = threading.Event()  # set once the group gave this instance an assignment
        self._stop = threading.Event()
        self._was_leader = False
        self._thread: threading.Thread | None = None

    @property
    def leading(self) -> bool:
        return self._leading.is_set()

    def _assigned(self, leader: bool) -> None:
        self.joined.set()
        if leader and not self._was_leader:
            self._was_leader = True
            self._leading.set()
            log.info("leadership acquired", group=self.group, holder=self.holder)
            try:
                producer = make_producer(self.settings)
                publish(producer, LEASES, LeaderLease(group=self.group, holder=self.holder), self.settings)
                producer.close(timeout=10)
            except Exception:  # the record is informational only
                log.warning("lease record not written", group=self.group, exc_info=True)
        elif not leader and self._was_leader:
            self._leading.clear()
            log.error("leadership lost: another instance leads now; stopping", group=self.group)
            self.on_lost()

    def _connect(self) -> KafkaConsumer | None:
        """The election client, retried while Kafka is unreachable (None once stopped)."""
        s = self.settings
        timeout_ms = int(s.leader_session_timeout_s * 1000)
        # the start time in the id: members are ordered by id, the oldest gets partition 0
        client_id = f"ogi-lease-{time.time_ns():020d}-{self.holder}"
        while not self._stop.is_set():
            try:
                return kafka_client(
                    KafkaConsumer,
                    s,
                    group_id=self.group,
                    enable_auto_commit=False,
                    client_id=client_id,
                    session_timeout_ms=timeout_ms,
                    heartbeat_interval_ms=max(1000, timeout_ms // 4),
                    max_poll_interval_ms=max(timeout_ms, 60_000),
                    request_timeout_ms=timeout_ms + 5000,
                )
            except (KafkaError, OSError) as exc:
                log.warning(
                    "kafka unavailable for the leader election, retrying", group=self.group, error=str(exc)
                )
                self._stop.wait(2)
        return None

    def _loop(self) -> None:
        s = self.settings
        consumer = self._connect()
        if consumer is None:
            return
        try:
            consumer.subscribe([LEASES.name(s)], listener=_Listener(self))
            while not self._stop.is_set():
                consumer.poll(timeout_ms=500)  # keeps the membership alive; no records are read
        except Exception:
            log.exception("leader election failed", group=self.group)
            if self._was_leader:
                self.on_lost()
        finally:
            self._leading.clear()
            consumer.close()  # leaves the group: a standby takes over at once

    def start(self) -> Leadership:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=f"leader-{self.group}", daemon=True)
            self._thread.start()
        return self

    def acquire(self, stopping: Callable[[], bool] = lambda: False) -> bool:
        """Wait until this instance leads (True) or ``stopping()`` (False). A
        SIGTERM meanwhile raises ``StopRequested`` saying what the stop
        abandons (the wait for the lead: Kafka unreachable, or another
        instance leading)."""
        self.start()
        if not self._leading.is_set():
            log.info("standing by: another instance leads", group=self.group, holder=self.holder)
        waiting_for = f"the lead of {self.group} (Kafka, or another instance leading)"
        while not self._leading.is_set():
            # a stop requested before the first wait (e.g. while the service was still
            # importing) is a stop of this wait too, and says so
            pause(0, waiting_for)
            if stopping() or (self._thread is not None and not self._thread.is_alive()):
                return False
            pause(0.5, waiting_for)
        return True

    def wait_for_group_to_empty(self, group: str, stopping: Callable[[], bool] = lambda: False) -> bool:
        """Wait until the consumer group ``group`` (the service's own work)
        has no members left, i.e. a dead leader's consumer has been expired
        by the coordinator; False if ``stopping()`` first.

        Why: a new leader joining while the dead one's member is still in
        the group gets two rebalances in quick succession, and Faust loses
        the events it had buffered at the second one (it commits their
        offsets without having processed them): reports missing from the
        history, a false "overdue", a lost alert. Starting on an empty group
        gives one clean assignment."""
        from kafka import KafkaAdminClient

        admin = kafka_client(KafkaAdminClient, self.settings, client_id="ogi-lease-admin")
        try:
            announced = False
            while True:
                try:
                    [info] = admin.describe_consumer_groups([group])
                except (KafkaError, ValueError) as exc:
                    # a coordinator moving (broker restart), or kafka-python 2.3's
                    # ValueError on an authorized-operations field it cannot map:
                    # ask again rather than stop the service
                    log.warning("consumer group not described yet, retrying", group=group, error=repr(exc))
                    if stopping():
                        return False
                    self._stop.wait(0.5)
                    continue
                if not info.members:
                    return True
                if stopping():
                    return False
                if not announced:
                    log.info(
                        "waiting for the previous leader's consumers to leave",
                        group=group,
                        members=len(info.members),
                        state=info.state,
                    )
                    announced = True
                self._stop.wait(0.5)
        finally:
            admin.close()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)  # a daemon thread: never hold up a stopping service
