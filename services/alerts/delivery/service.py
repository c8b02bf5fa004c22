"""The deliverer: alerts topic -> every matching subscription's sinks.

Guarantees and how they are kept:

* **At-least-once.** For each alert revision and each matching
  subscription x sink, a ``pending`` ``Delivery`` (carrying the alert) is
  written to the compacted ``alerts.deliveries`` topic and acknowledged
  *before* the alert's offset is committed; it becomes ``delivered`` only
  after the sink succeeded. A restart reads the topic and resumes every
  pending delivery. A crash between a successful send and the
  ``delivered`` record repeats that send once, with the same
  ``X-OGI-Idempotency-Key`` (``alert_id:revision``).
* **Idempotent.** A revision already pending or delivered for a
  subscription x sink is not queued again, so a replayed or duplicated
  alert record is not re-sent; a newer revision supersedes an older one
  still waiting.
* **Isolation.** Each subscription has its own worker thread and its own
  retry schedule (a heap ordered by next attempt); the consumer loop only
  writes state records and never waits for a subscriber, so a slow or
  failing endpoint delays nobody else.
* **Noise control.** An alert a subscription's silence covers is not
  queued for it. A resolution (a revision with status ``resolved``) is sent
  only to subscriptions that were sent an earlier revision of the alert
  and did not opt out (``resolutions``). A subscription with a digest
  (``digest_s``) gets its alerts as ``pending`` records marked ``digest``;
  at each interval boundary (wall clock, multiples of ``digest_s``) its
  worker sends them bundled in one message (``rule`` ``digest``, the alerts
  in ``bundled``) whose idempotency key is derived from the bundled
  revisions, so a retry or a replay after a crash repeats the same key.
* **Backoff.** Attempt n waits ``min(max, base * 2**(n-1))`` with jitter
  (``OGI_DELIVER_BACKOFF_*``); after ``OGI_DELIVER_MAX_ATTEMPTS`` attempts,
  or at once on a permanent error (HTTP 4xx, refused recipient), the
  delivery is marked ``failed`` and a dead letter (stage ``deliver``) is sent.
  Any exception a sink raises counts as an attempt (an unforeseen one is
  retried like a transient error), so nothing is re-queued forever.
* **No secrets.** Error texts are scrubbed of the subscriber's webhook URL
  (only its origin stays) and secrets before they are logged, written to
  the deliveries topic or dead-lettered.

**One active deliverer, hot standbys** (``ogi/leader.py``): ``ogi serve
deliver`` waits until it leads, then reads the delivery state whole and
consumes every partition of the alerts topic. When the leader dies, a
standby takes over from the committed offsets and the compacted delivery
state: pending deliveries resume, recorded ones are not repeated.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterable

import structlog

from ogi import telemetry
from ogi.backoff import backoff_delay
from ogi.broker import make_consumer, make_producer, publish
from ogi.deadletter import dead_letter, dead_letter_of
from ogi.leader import Leadership
from ogi.net import scrub
from ogi.settings import Settings, get_settings
from ogi.signals import stop_on_signals
from ogi.table import CompactedTable
from ogi.topics import ALERTS, DEADLETTER, DELIVERIES
from schemas import Alert, Severity, Stage, utcnow
from schemas.events import AlertStatus, Delivery, DeliveryStatus, Subscription, UndecodableRecord, decode
from services.alerts.delivery.base import Sink, idempotency_key
from services.alerts.errors import DeliveryError, PermanentDeliveryError
from services.alerts.subscriptions import SubscriptionStore, matches, silenced

log = structlog.get_logger("ogi.deliver")

Persist = Callable[[Delivery], None]

#: heap entries of a subscriber worker that stand for "send the digest of this sink"
DIGEST_PREFIX = "digest|"


def next_boundary(now_s: float, interval_s: float) -> float:
    """The next multiple of ``interval_s`` after ``now_s`` (Unix seconds):
    digests go out at fixed wall-clock boundaries."""
    return (math.floor(now_s / interval_s) + 1) * interval_s


def bundle(subscription: Subscription, deliveries: list[Delivery]) -> tuple[Alert, str]:
    """One digest message for ``deliveries`` (each carrying its alert) and
    its idempotency key (the same for the same revisions)."""
    alerts = [d.alert for d in sorted(deliveries, key=lambda d: d.idempotency_key) if d.alert is not None]
    key = (
        "digest:"
        + hashlib.sha256(
            "\n".join(d.idempotency_key for d in sorted(deliveries, key=lambda d: d.idempotency_key)).encode()
        ).hexdigest()[:32]
    )
    resolved = sum(a.status == AlertStatus.RESOLVED for a in alerts)
    worst = max(
        (a.severity for a in alerts if a.status == AlertStatus.OPEN),
        key=lambda s: s.rank,
        default=Severity.INFO,
    )
    lines = [
        f"[{a.severity.value}{', resolved' if a.status == AlertStatus.RESOLVED else ''}] {a.title}"
        for a in alerts
    ]
    digest = Alert(
        alert_id=key,
        rule="digest",
        agency=None,
        agency_id=None,
        year=None,
        severity=worst,
        title=f"{len(alerts)} alert(s), {resolved} resolved ({subscription.name or subscription.subscription_id})",
        message="\n".join(lines),
        figures={"alerts": float(len(alerts)), "resolved": float(resolved)},
        bundled=alerts,
    )
    return digest, key


class SubscriberWorker(threading.Thread):
    """Sends one subscription's deliveries, each on its own retry schedule."""

    def __init__(self, dispatcher: Dispatcher, subscription_id: str) -> None:
        super().__init__(name=f"deliver-{subscription_id}", daemon=True)
        self.dispatcher = dispatcher
        self.subscription_id = subscription_id
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._stopping = False
        self.busy = False

    def put(self, delivery_key: str, due: float | None = None) -> None:
        """Queue ``delivery_key`` (or a digest entry) for ``due`` (monotonic time)."""
        with self._cv:
            heapq.heappush(
                self._heap, (due if due is not None else time.monotonic(), next(self._seq), delivery_key)
            )
            self._cv.notify()

    def stop(self) -> None:
        with self._cv:
            self._stopping = True
            self._cv.notify()

    def idle(self) -> bool:
        with self._cv:
            return not self._heap and not self.busy

    def run(self) -> None:
        while True:
            with self._cv:
                while not self._stopping and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cv.wait(timeout)
                if self._stopping:
                    return
                _, _, key = heapq.heappop(self._heap)
                self.busy = True
            try:
                retry_at = self.dispatcher.attempt(key, self.subscription_id)
                if retry_at is not None:
                    self.put(key, retry_at)
            except Exception:
                log.exception("delivery worker error", delivery_key=key)
                self.put(key, time.monotonic() + self.dispatcher.settings.deliver_backoff_max_s)
            finally:
                with self._cv:
                    self.busy = False


class Dispatcher:
    """Queues, sends, retries and records deliveries. Kafka-free: state
    records go through ``persist`` and the subscriptions come from
    ``subscriptions``, so tests can drive it directly."""

    def __init__(
        self,
        settings: Settings,
        sinks: dict[str, Sink],
        persist: Persist,
        subscriptions: Callable[[], dict[str, Subscription]],
        on_failed: Callable[[Delivery], None] | None = None,
    ) -> None:
        self.settings = settings
        self.sinks = sinks
        self.persist = persist
        self.subscriptions = subscriptions
        self.on_failed = on_failed
        self.states: dict[str, Delivery] = {}
        self.workers: dict[str, SubscriberWorker] = {}
        self._lock = threading.Lock()
        self._digests_due: set[tuple[str, str]] = set()  # (subscription, sink) with a digest entry queued
        self._digest_attempts: dict[tuple[str, str], int] = {}

    # -- state -------------------------------------------------------------
    def _record(self, delivery: Delivery) -> None:
        self.persist(delivery)  # durable first ...
        with self._lock:
            current = self.states.get(delivery.delivery_key)
            if current is None or current.revision <= delivery.revision:
                self.states[delivery.delivery_key] = delivery  # ... then visible

    def _worker(self, subscription_id: str) -> SubscriberWorker:
        with self._lock:
            worker = self.workers.get(subscription_id)
            if worker is None or not worker.is_alive():
                worker = SubscriberWorker(self, subscription_id)
                self.workers[subscription_id] = worker
                worker.start()
            return worker

    def restore(self, deliveries: Iterable[Delivery]) -> int:
        """Load recorded state (latest per key) and resume pending deliveries."""
        resumed = 0
        for d in deliveries:
            self.states[d.delivery_key] = d
        for d in list(self.states.values()):
            if d.status == DeliveryStatus.PENDING and d.alert is not None:
                self._queue(d)
                resumed += 1
        return resumed

    def _queue(self, d: Delivery) -> None:
        if not d.digest:
            self._worker(d.subscription_id).put(d.delivery_key)
            return
        sub = self.subscriptions().get(d.subscription_id)
        interval = sub.digest_s if sub is not None and sub.digest_s else 0.0
        with self._lock:
            if (d.subscription_id, d.sink) in self._digests_due:
                return
            self._digests_due.add((d.subscription_id, d.sink))
        now = time.time()
        wait = next_boundary(now, interval) - now if interval else 0.0
        self._worker(d.subscription_id).put(f"{DIGEST_PREFIX}{d.sink}", time.monotonic() + wait)

    # -- intake ------------------------------------------------------------
    def submit(self, alert: Alert) -> list[str]:
        """Queue ``alert`` for every matching subscription x sink; returns the
        delivery keys queued. Pending records are persisted before return."""
        queued = []
        key = idempotency_key(alert)
        resolution = alert.status == AlertStatus.RESOLVED and alert.revision > 1
        for sub in self.subscriptions().values():
            if not matches(sub, alert) or silenced(sub, alert):
                continue
            if resolution and not sub.resolutions:
                continue
            for sink in self.sinks.values():
                if not sink.applies(sub):
                    continue
                dkey = Delivery.make_key(sub.subscription_id, sink.name, alert.alert_id)
                with self._lock:
                    current = self.states.get(dkey)
                if current is not None and current.revision >= alert.revision:
                    continue  # this revision (or a newer one) is already pending or done
                if resolution and current is None:
                    continue  # never told about this alert (filtered or silenced then): no resolution either
                delivery = Delivery(
                    delivery_key=dkey,
                    subscription_id=sub.subscription_id,
                    sink=sink.name,
                    alert_id=alert.alert_id,
                    revision=alert.revision,
                    idempotency_key=key,
                    status=DeliveryStatus.PENDING,
                    alert=alert,
                    digest=bool(sub.digest_s),
                )
                self._record(delivery)
                self._queue(delivery)
                queued.append(dkey)
        return queued

    # -- sending -----------------------------------------------------------
    def attempt(self, delivery_key: str, subscription_id: str | None = None) -> float | None:
        """One attempt; returns when to retry (monotonic time) or None."""
        if delivery_key.startswith(DIGEST_PREFIX):
            assert subscription_id is not None
            return self.attempt_digest(subscription_id, delivery_key[len(DIGEST_PREFIX) :])
        with self._lock:
            d = self.states.get(delivery_key)
        if d is None or d.status != DeliveryStatus.PENDING or d.alert is None:
            return None  # done, superseded and finished, or unknown
        sub = self.subscriptions().get(d.subscription_id)
        sink = self.sinks.get(d.sink)
        if sub is None or sink is None:
            self._finish(d, DeliveryStatus.FAILED, "subscription removed" if sub is None else "unknown sink")
            return None
        attempts = d.attempts + 1
        try:
            sink.send(d.alert, sub, d.idempotency_key)
        except Exception as exc:
            return self._failed_attempt(d, sub, attempts, exc)
        self._finish(d, DeliveryStatus.DELIVERED, None, attempts)
        log.info(
            "delivered",
            subscription=d.subscription_id,
            sink=d.sink,
            alert_id=d.alert_id,
            revision=d.revision,
            attempts=attempts,
        )
        return None

    def _pending_digest(self, subscription_id: str, sink_name: str) -> list[Delivery]:
        """The digest deliveries of one subscription x sink waiting to be
        sent (the caller holds the lock)."""
        return [
            d
            for d in self.states.values()
            if d.subscription_id == subscription_id
            and d.sink == sink_name
            and d.digest
            and d.status == DeliveryStatus.PENDING
            and d.alert is not None
        ]

    def attempt_digest(self, subscription_id: str, sink_name: str) -> float | None:
        """Send every pending digest delivery of one subscription x sink as
        one message; returns when to retry, or None."""
        slot = (subscription_id, sink_name)
        with self._lock:
            batch = self._pending_digest(subscription_id, sink_name)
        sub = self.subscriptions().get(subscription_id)
        sink = self.sinks.get(sink_name)
        if not batch or sub is None or sink is None:
            with self._lock:
                self._digests_due.discard(slot)
            for d in batch:
                self._finish(
                    d, DeliveryStatus.FAILED, "subscription removed" if sub is None else "unknown sink"
                )
            return None
        message, key = bundle(sub, batch)
        attempts = self._digest_attempts.get(slot, 0) + 1
        try:
            sink.send(message, sub, key)
        except Exception as exc:
            permanent = isinstance(exc, PermanentDeliveryError)
            expected = isinstance(exc, DeliveryError)
            error = self._scrubbed_error(exc, sub)
            (log.warning if expected else log.error)(
                "digest failed",
                subscription=subscription_id,
                sink=sink_name,
                alerts=len(batch),
                attempt=attempts,
                error=error[:300],
                error_class=type(exc).__name__,
                permanent=permanent,
            )
            if permanent or attempts >= self.settings.deliver_max_attempts:
                self._digest_attempts.pop(slot, None)
                with self._lock:
                    self._digests_due.discard(slot)
                for d in batch:
                    self._finish(d, DeliveryStatus.FAILED, error[:2000], d.attempts + attempts)
                return None
            self._digest_attempts[slot] = attempts
            s = self.settings
            # attempts counts from 1: the wait before the next is retry number attempts - 1
            return time.monotonic() + backoff_delay(
                attempts - 1, s.deliver_backoff_base_s, s.deliver_backoff_max_s
            )
        self._digest_attempts.pop(slot, None)
        with self._lock:
            self._digests_due.discard(slot)
        for d in batch:
            self._finish(d, DeliveryStatus.DELIVERED, None, d.attempts + attempts)
        log.info(
            "digest delivered",
            subscription=subscription_id,
            sink=sink_name,
            alerts=len(batch),
            idempotency_key=key,
        )
        with self._lock:  # what arrived while sending waits for the next boundary
            late = self._pending_digest(subscription_id, sink_name)
        if late:
            self._queue(late[0])
        return None

    def _failed_attempt(self, d: Delivery, sub: Subscription, attempts: int, exc: Exception) -> float | None:
        """Record a failed attempt; returns when to retry, or None once the
        delivery is finished (permanent error, or the last attempt). A sink
        error that is not a ``DeliveryError`` (a bug, an input no sink
        foresaw) is retried like a transient one: counted, and dead-lettered
        after the last attempt. Its text is scrubbed of the subscriber's URL
        and secrets before it reaches the log, the deliveries topic or a
        dead letter."""
        permanent = isinstance(exc, PermanentDeliveryError)
        telemetry.error(exc)
        expected = isinstance(exc, DeliveryError)
        error = self._scrubbed_error(exc, sub)
        (log.warning if expected else log.error)(
            "delivery failed",
            subscription=d.subscription_id,
            sink=d.sink,
            alert_id=d.alert_id,
            revision=d.revision,
            attempt=attempts,
            error=error[:300],
            error_class=type(exc).__name__,
            permanent=permanent,
        )
        if permanent or attempts >= self.settings.deliver_max_attempts:
            self._finish(d, DeliveryStatus.FAILED, error[:2000], attempts)
            return None
        self._update(d, attempts=attempts, last_error=error[:2000])
        telemetry.DELIVERIES.labels(d.sink, "retry").inc()
        s = self.settings
        return time.monotonic() + backoff_delay(
            attempts - 1, s.deliver_backoff_base_s, s.deliver_backoff_max_s
        )

    def _scrubbed_error(self, exc: Exception, sub: Subscription) -> str:
        """The text of a sink's error, without the subscriber's URL or secrets."""
        expected = isinstance(exc, DeliveryError)
        return scrub(
            str(exc) if expected else f"{type(exc).__name__}: {exc}",
            urls=[sub.webhook_url],
            secrets=[sub.webhook_secret, *self.settings.secrets()],
        )

    def _update(self, d: Delivery, **changes: object) -> None:
        with self._lock:
            current = self.states.get(d.delivery_key)
        if current is not None and current.revision > d.revision:
            return  # a newer revision took this slot; it has its own record
        self._record(d.model_copy(update={**changes, "updated_at": utcnow()}))

    def _finish(
        self, d: Delivery, status: DeliveryStatus, error: str | None, attempts: int | None = None
    ) -> None:
        final = d.model_copy(
            update={
                "status": status,
                "last_error": error,
                "updated_at": utcnow(),
                "attempts": attempts if attempts is not None else d.attempts,
                # a finished record need not carry the alert
                "alert": d.alert if status == DeliveryStatus.FAILED else None,
            }
        )
        with self._lock:
            current = self.states.get(d.delivery_key)
        if current is not None and current.revision > d.revision:
            return
        self._record(final)
        telemetry.DELIVERIES.labels(d.sink, status.value).inc()
        if status == DeliveryStatus.FAILED and self.on_failed:
            self.on_failed(final)

    # -- lifecycle ---------------------------------------------------------
    def idle(self) -> bool:
        with self._lock:
            workers = list(self.workers.values())
        return all(w.idle() for w in workers)

    def stop(self) -> None:
        with self._lock:
            workers = list(self.workers.values())
        for w in workers:
            w.stop()
        for w in workers:
            w.join(timeout=10)


def read_deliveries(settings: Settings) -> list[Delivery]:
    """The latest record of every delivery key on the compacted topic."""
    table: CompactedTable[Delivery] = CompactedTable(DELIVERIES, settings, wait_topic_s=0, missing_ok=True)
    try:
        table.catch_up(timeout_s=300)
    except TimeoutError as exc:  # resume what was read; the rest is delivered again (idempotency keys)
        log.warning("delivery log not read to the end", error=str(exc))
    finally:
        table.close()
    return list(table.rows())


class Deliverer:
    """The Kafka shell around ``Dispatcher`` (``ogi serve deliver``)."""

    def __init__(self, settings: Settings | None = None, sinks: dict[str, Sink] | None = None) -> None:
        from services.alerts.delivery import SINKS

        self.settings = settings or get_settings()
        self.sinks = sinks if sinks is not None else {n: cls(self.settings) for n, cls in SINKS.items()}
        self._stopping = False
        self.store = SubscriptionStore(self.settings)
        self._subs: dict[str, Subscription] = {}
        self._subs_lock = threading.Lock()

    def stop(self, *_: object) -> None:
        self._stopping = True

    def _subscriptions(self) -> dict[str, Subscription]:
        with self._subs_lock:
            return dict(self._subs)

    def _refresh_subscriptions(self) -> None:
        subs = self.store.refresh()
        with self._subs_lock:
            self._subs = subs

    def run(self) -> None:
        leadership = Leadership(self.settings.deliver_group, self.settings, on_lost=self.stop)
        try:
            stopping = lambda: self._stopping  # noqa: E731
            if leadership.acquire(stopping) and leadership.wait_for_group_to_empty(
                self.settings.deliver_group, stopping
            ):
                self._serve()
        finally:
            leadership.release()

    def _serve(self) -> None:
        s = self.settings
        producer = make_producer(s)

        def persist(d: Delivery) -> None:
            publish(producer, DELIVERIES, d, s).get(timeout=300)

        def failed(d: Delivery) -> None:
            letter = dead_letter(
                Stage.DELIVER,
                d.last_error or "delivery failed",
                d.model_dump_json().encode(),
                source_topic=ALERTS.name(s),
                key=d.alert_id,
            )
            publish(producer, DEADLETTER, letter, s).get(timeout=300)

        self._refresh_subscriptions()
        dispatcher = Dispatcher(s, self.sinks, persist, self._subscriptions, on_failed=failed)
        resumed = dispatcher.restore(read_deliveries(s))
        log.info("deliverer started", subscriptions=len(self._subs), resumed=resumed)
        consumer = make_consumer(s.deliver_group, [ALERTS], s)
        try:
            while not self._stopping:
                polled = consumer.poll(timeout_ms=1000, max_records=200)
                self._refresh_subscriptions()
                records = [r for batch in polled.values() for r in batch]
                for rec in records:
                    telemetry.RECORDS_CONSUMED.labels(rec.topic).inc()
                    if rec.value is None:
                        continue
                    try:
                        alert = decode(Alert, rec.value)
                    except UndecodableRecord as exc:
                        letter = dead_letter_of(Stage.DELIVER, exc, rec)
                        publish(producer, DEADLETTER, letter, s).get(timeout=300)
                        continue
                    dispatcher.submit(alert)
                if records:
                    consumer.commit()  # every pending record above is durable
        finally:
            dispatcher.stop()
            consumer.close()
            producer.close()
            self.store.close()


def run_deliverer() -> None:
    deliverer = Deliverer()
    stop_on_signals(deliverer.stop)
    deliverer.run()
