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
* **Backoff.** Attempt n waits ``min(max, base * 2**(n-1))`` with jitter
  (``OGI_DELIVER_BACKOFF_*``); after ``OGI_DELIVER_MAX_ATTEMPTS`` attempts,
  or at once on a permanent error (HTTP 4xx, refused recipient), the
  delivery is marked ``failed`` and a dead letter (stage ``deliver``) is sent.
  Any exception a sink raises counts as an attempt (an unforeseen one is
  retried like a transient error), so nothing is re-queued forever.
* **No secrets.** Error texts are scrubbed of the subscriber's webhook URL
  (only its origin stays) and secrets before they are logged, written to
  the deliveries topic or dead-lettered.

Run one deliverer: the delivery state is read whole at start-up.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from collections.abc import Callable, Iterable

import structlog
from kafka import KafkaConsumer, TopicPartition
from pydantic import ValidationError

from ogi.backoff import equal_jitter
from ogi import telemetry
from ogi.broker import make_consumer, make_producer, publish
from ogi.deadletter import dead_letter
from ogi.net import scrub
from ogi.settings import Settings, get_settings
from ogi.signals import stop_on_signals
from ogi.topics import ALERTS, DEADLETTER, DELIVERIES
from schemas import Alert, Stage, utcnow
from schemas.events import Delivery, DeliveryStatus, Subscription
from services.alerts.delivery.base import Sink, idempotency_key
from services.alerts.errors import DeliveryError, PermanentDeliveryError
from services.alerts.subscriptions import SubscriptionStore, matches

log = structlog.get_logger("ogi.deliver")

Persist = Callable[[Delivery], None]


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Delay before attempt ``attempt + 1`` (attempt counts from 1): exponential
    with "equal jitter" (half fixed, half random) so retries spread out."""
    return equal_jitter(attempt - 1, base, cap, rng)


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
        with self._cv:
            heapq.heappush(self._heap, (due if due is not None else time.monotonic(), next(self._seq), delivery_key))
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
                retry_at = self.dispatcher.attempt(key)
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

    def __init__(self, settings: Settings, sinks: dict[str, Sink], persist: Persist,
                 subscriptions: Callable[[], dict[str, Subscription]],
                 on_failed: Callable[[Delivery], None] | None = None) -> None:
        self.settings = settings
        self.sinks = sinks
        self.persist = persist
        self.subscriptions = subscriptions
        self.on_failed = on_failed
        self.states: dict[str, Delivery] = {}
        self.workers: dict[str, SubscriberWorker] = {}
        self._lock = threading.Lock()

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
                self._worker(d.subscription_id).put(d.delivery_key)
                resumed += 1
        return resumed

    # -- intake ------------------------------------------------------------
    def submit(self, alert: Alert) -> list[str]:
        """Queue ``alert`` for every matching subscription x sink; returns the
        delivery keys queued. Pending records are persisted before return."""
        queued = []
        key = idempotency_key(alert)
        for sub in self.subscriptions().values():
            if not matches(sub, alert):
                continue
            for sink in self.sinks.values():
                if not sink.applies(sub):
                    continue
                dkey = Delivery.make_key(sub.subscription_id, sink.name, alert.alert_id)
                with self._lock:
                    current = self.states.get(dkey)
                if current is not None and current.revision >= alert.revision:
                    continue  # this revision (or a newer one) is already pending or done
                self._record(Delivery(delivery_key=dkey, subscription_id=sub.subscription_id, sink=sink.name,
                                      alert_id=alert.alert_id, revision=alert.revision, idempotency_key=key,
                                      status=DeliveryStatus.PENDING, alert=alert))
                self._worker(sub.subscription_id).put(dkey)
                queued.append(dkey)
        return queued

    # -- sending -----------------------------------------------------------
    def attempt(self, delivery_key: str) -> float | None:
        """One attempt; returns when to retry (monotonic time) or None."""
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
        except Exception as exc:  # noqa: BLE001 - whatever a sink raises is a counted attempt, never a loop
            return self._failed_attempt(d, sub, attempts, exc)
        self._finish(d, DeliveryStatus.DELIVERED, None, attempts)
        log.info("delivered", subscription=d.subscription_id, sink=d.sink, alert_id=d.alert_id,
                 revision=d.revision, attempts=attempts)
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
        error = scrub(str(exc) if expected else f"{type(exc).__name__}: {exc}",
                      urls=[sub.webhook_url], secrets=[sub.webhook_secret, self.settings.smtp_password])
        (log.warning if expected else log.error)(
            "delivery failed", subscription=d.subscription_id, sink=d.sink, alert_id=d.alert_id,
            revision=d.revision, attempt=attempts, error=error[:300], error_class=type(exc).__name__,
            permanent=permanent)
        if permanent or attempts >= self.settings.deliver_max_attempts:
            self._finish(d, DeliveryStatus.FAILED, error[:2000], attempts)
            return None
        self._update(d, attempts=attempts, last_error=error[:2000])
        telemetry.DELIVERIES.labels(d.sink, "retry").inc()
        s = self.settings
        return time.monotonic() + backoff_delay(attempts, s.deliver_backoff_base_s, s.deliver_backoff_max_s)

    def _update(self, d: Delivery, **changes: object) -> None:
        with self._lock:
            current = self.states.get(d.delivery_key)
        if current is not None and current.revision > d.revision:
            return  # a newer revision took this slot; it has its own record
        self._record(d.model_copy(update={**changes, "updated_at": utcnow()}))

    def _finish(self, d: Delivery, status: DeliveryStatus, error: str | None, attempts: int | None = None) -> None:
        final = d.model_copy(update={"status": status, "last_error": error, "updated_at": utcnow(),
                                     "attempts": attempts if attempts is not None else d.attempts,
                                     # a finished record need not carry the alert
                                     "alert": d.alert if status == DeliveryStatus.FAILED else None})
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
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False,
                             client_id="ogi-deliver-restore")
    try:
        name = DELIVERIES.name(settings)
        tps = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or [])]
        if not tps:
            return []
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        latest: dict[str, Delivery] = {}
        deadline = time.monotonic() + 300
        while any(consumer.position(tp) < ends[tp] for tp in tps) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                for rec in batch:
                    if rec.value is None:
                        continue
                    d = Delivery.model_validate_json(rec.value)
                    latest[d.delivery_key] = d
        return list(latest.values())
    finally:
        consumer.close()


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
        s = self.settings
        producer = make_producer(s)

        def persist(d: Delivery) -> None:
            publish(producer, DELIVERIES, d, s).get(timeout=300)

        def failed(d: Delivery) -> None:
            letter = dead_letter(Stage.DELIVER, d.last_error or "delivery failed", d.model_dump_json().encode(),
                                 source_topic=ALERTS.name(s), key=d.alert_id)
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
                        alert = Alert.model_validate_json(rec.value)
                    except ValidationError as exc:
                        letter = dead_letter(Stage.DELIVER, exc, rec.value, source_topic=rec.topic,
                                             partition=rec.partition, offset=rec.offset, key=rec.key)
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
