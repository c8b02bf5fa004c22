"""Helpers for integration tests: run a service as a real process with a
test session's settings, read a topic from the start, wait for documents."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from kafka import KafkaConsumer, TopicPartition
from pydantic import BaseModel

from ogi.settings import Settings
from ogi.topics import TopicSpec

REPO = Path(__file__).resolve().parent.parent
M = TypeVar("M", bound=BaseModel)


def service_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment that points a child process at this test session."""
    env = dict(os.environ)
    env.update(
        OGI_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
        OGI_ES_URL=settings.es_url,
        OGI_TOPIC_PREFIX=settings.topic_prefix,
        OGI_INDEX_PREFIX=settings.index_prefix,
        OGI_FAUST_APP_ID=f"{settings.topic_prefix}extract",
        OGI_INDEX_GROUP=f"{settings.topic_prefix}index",
        OGI_DETECT_APP_ID=f"{settings.topic_prefix}detect",
        OGI_DELIVER_GROUP=f"{settings.topic_prefix}deliver",
        OGI_LOG_JSON="1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class Service:
    """``ogi serve NAME`` as a child process; its output goes to a log file
    that failures print."""

    def __init__(self, name: str, settings: Settings, log_dir: Path, **env: str) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}-{time.monotonic_ns()}.log"
        self._out = open(self.log_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ogi.cli", "serve", name],
            stdout=self._out,
            stderr=subprocess.STDOUT,
            env=service_env(settings, **env),
            cwd=REPO,
            start_new_session=True,
        )

    def running(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        self._out.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._out.close()
        return self.proc.returncode

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def read_topic(spec: TopicSpec, settings: Settings, model: type[M] | None = None) -> list[Any]:
    """Every record now on the topic, from the beginning (no consumer group)."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        enable_auto_commit=False,
        max_partition_fetch_bytes=settings.max_message_bytes,
        fetch_max_bytes=settings.max_message_bytes * 2,
        receive_message_max_bytes=settings.max_message_bytes * 2 + 1024 * 1024,
    )
    try:
        name = spec.name(settings)
        tps = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or [])]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        out: list[Any] = []
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < ends[tp] for tp in tps) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                out.extend(batch)
    finally:
        consumer.close()
    if model is None:
        return out
    return [model.model_validate_json(r.value) for r in out]


def wait_for(
    check: Callable[[], Any],
    timeout: float,
    what: str,
    on_fail: Callable[[], str] | None = None,
    services: Iterable[Service] = (),
) -> Any:
    """Poll ``check`` until it returns something truthy; fail at once if one
    of ``services`` has died, with its log."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        dead = [s for s in services if not s.running()]
        if dead:
            raise AssertionError(f"{', '.join(s.name for s in dead)} died while waiting for {what}:\n"
                                 + "\n".join(s.log()[-4000:] for s in dead))
        if time.monotonic() > deadline:
            detail = on_fail() if on_fail else ""
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{detail[-6000:]}")
        time.sleep(0.5)
