"""Helpers for integration tests: run a service as a real process with a
test session's settings, read a topic from the start, wait for documents."""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from kafka import TopicPartition
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
        # no metrics endpoint unless a test asks for one (tests/e2e/test_telemetry.py): services of
        # parallel tests would compete for the same ports, and the lag reader's log lines would mix
        # with what a test reads in a service's log
        OGI_METRICS_PORT="0",
    )
    env.update(extra)
    return env


# -- child processes ------------------------------------------------------
# Every process a test starts goes through ``spawn``: it runs in its own
# process group and is tracked until ``terminate`` stops it. conftest.py
# terminates whatever a test or its fixtures left running (after each test,
# at the end of the session, and at exit), so a failing test never leaves a
# service behind polling a stopped Kafka.

_live: dict[int, subprocess.Popen[bytes]] = {}
_live_lock = threading.Lock()


def _default_signals() -> None:
    # In the child before exec: whatever this process inherited (a test run
    # started in the background ignores SIGINT), the child starts with the
    # default dispositions, so the signals a test sends it do what they say.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def spawn(argv: list[str], **popen: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen`` for tests: own process group, default signal
    dispositions, tracked until terminated."""
    proc: subprocess.Popen[bytes] = subprocess.Popen(
        argv, start_new_session=True, preexec_fn=_default_signals, **popen
    )
    with _live_lock:
        _live[proc.pid] = proc
    return proc


def tracked() -> set[int]:
    """Pids of the spawned processes not terminated yet."""
    with _live_lock:
        return set(_live)


def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _descendants(pid: int) -> list[tuple[int, str]]:
    """Every process below ``pid`` (with its start time, so that a reused pid
    is never signalled), also those that left its process group."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        started = _start_time(child)
        if started is not None:
            found.append((child, started))
        todo.extend(children.get(child, []))
    return found


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def terminate(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 60) -> int:
    """Send ``sig`` to ``proc``'s process group and wait; after ``timeout``
    SIGKILL the group. Whatever ``proc`` started in other groups and left
    running (``ogi run`` starts each service in its own session) is killed
    too. Returns ``proc``'s exit status."""
    if proc.poll() is None:  # (once reaped, its pid may be another process's)
        below = _descendants(proc.pid)
        _signal_group(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
        for pid, started in below:  # stragglers, in its group (forkserver children) or not
            if _start_time(pid) == started:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    with _live_lock:
        _live.pop(proc.pid, None)
    return proc.returncode


def terminate_all(keep: Iterable[int] = ()) -> list[str]:
    """Terminate every tracked process except ``keep``; returns their
    command lines (what was left running)."""
    with _live_lock:
        left = [p for pid, p in _live.items() if pid not in set(keep)]
    for proc in left:
        terminate(proc, timeout=15)
    return [" ".join(map(str, proc.args)) for proc in left]  # type: ignore[union-attr]


atexit.register(terminate_all)


class Service:
    """``ogi serve NAME`` as a child process; its output goes to a log file
    that failures print."""

    def __init__(self, name: str, settings: Settings, log_dir: Path, **env: str) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}-{time.monotonic_ns()}.log"
        self._out = open(self.log_path, "wb")  # noqa: SIM115
        self.proc = spawn(
            [sys.executable, "-m", "ogi.cli", "serve", name],
            stdout=self._out,
            stderr=subprocess.STDOUT,
            env=service_env(settings, **env),
            cwd=REPO,
        )

    def running(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        if not self._out.closed:  # also after stop()
            self._out.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        code = terminate(self.proc, sig, timeout)
        self._out.close()
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def read_topic(spec: TopicSpec, settings: Settings, model: type[M] | None = None) -> list[Any]:
    """Every record now on the topic, from the beginning (no consumer group)."""
    from ogi.broker import make_reader

    consumer = make_reader(settings, client_id="ogi-test-reader")
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
            raise AssertionError(
                f"{', '.join(s.name for s in dead)} died while waiting for {what}:\n"
                + "\n".join(s.log()[-4000:] for s in dead)
            )
        if time.monotonic() > deadline:
            detail = on_fail() if on_fail else ""
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{detail[-6000:]}")
        time.sleep(0.5)


class TcpProxy:
    """A loopback TCP forwarder to ``host:port`` that a test can cut: the
    server becomes unreachable to whoever talks through the proxy (open
    connections reset, new ones refused) while the real one, which the other
    tests share, keeps running."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._cut = threading.Event()
        threading.Thread(target=self._accept, name="tcp-proxy", daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._cut.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._target, timeout=10)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._cut.is_set():  # accepted just as the proxy was cut
                    client.close()
                    upstream.close()
                    return
                self._open += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        """From now on the server is unreachable through the proxy."""
        with self._lock:
            self._cut.set()
            conns, self._open = self._open, []
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() that close() alone would not
        except OSError:
            pass
        self._listener.close()
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def processes_mentioning(text: str) -> list[str]:
    """Live processes (not this one) whose command line contains ``text``,
    as "pid command"; zombies have no command line and are not listed."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            continue
        if text in cmd:
            found.append(f"{pid} {cmd[:160]}")
    return found
