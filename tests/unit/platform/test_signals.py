"""The stop of a service (ogi/signals.py): a stop interrupts every wait for
a server, says what it abandons, and is bounded by a deadline even when the
service is blocked somewhere no stop can reach. Each case runs in its own
interpreter: signal handlers and the stop flag are process-wide."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

from ogi.signals import EXIT_ABANDONED
from tests.support import REPO

PRELUDE = """
import signal, sys, threading, time
from ogi.log import configure
from ogi import signals
configure(json_output=True)
signals.stop_on_signals()
print("ready", file=sys.stderr, flush=True)
"""


def _run(
    body: str, *, sig: int = signal.SIGTERM, inherit_ignored_sigint: bool = False, **env: str
) -> tuple[int, float, list[dict[str, Any]]]:
    """Start PRELUDE + body, signal it once it is ready; returns the exit
    status, the seconds from the signal to the exit and its JSON log lines."""

    def _ignore_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    proc = subprocess.Popen(
        [sys.executable, "-c", PRELUDE + body],
        cwd=REPO,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        preexec_fn=_ignore_sigint if inherit_ignored_sigint else None,
    )
    try:
        assert proc.stderr is not None
        assert proc.stderr.readline().strip() == b"ready"
        time.sleep(0.3)  # likely inside the body's wait; a stop before it interrupts it as well
        sent = time.monotonic()
        proc.send_signal(sig)
        out = proc.stderr.read()
        code = proc.wait(timeout=30)
        elapsed = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    return code, elapsed, lines


def test_a_stop_interrupts_a_wait_for_a_server_and_names_what_it_abandons() -> None:
    code, elapsed, lines = _run("""
try:
    with signals.in_hand("3 polled records"):
        signals.pause(60, "Elasticsearch")
except signals.StopRequested as exc:
    signals.report_stopped("test", exc.abandoned)
""")
    assert code == 0 and elapsed < 5  # interrupted, not the 60 s wait
    stopped = [line for line in lines if line["event"] == "stopped"]
    assert stopped and stopped[0]["abandoned"] == ["3 polled records", "waiting for Elasticsearch"]


def test_a_service_blocked_beyond_the_grace_period_logs_what_it_abandons_and_exits() -> None:
    # blocked where no stop reaches it (a send to a broker that does not answer)
    code, elapsed, lines = _run(
        """
with signals.in_hand("a send to Kafka"):
    threading.Event().wait(120)
""",
        OGI_STOP_GRACE_S="1.5",
    )
    assert code == EXIT_ABANDONED
    assert 1.5 <= elapsed < 8
    deadline = [line for line in lines if line["event"].startswith("stop deadline passed")]
    assert deadline and deadline[0]["abandoned"] == ["a send to Kafka"], lines


def test_sigint_stops_even_when_inherited_as_ignored() -> None:
    # a service started from a background job inherits SIGINT ignored
    code, elapsed, lines = _run(
        """
try:
    signals.pause(60, "Kafka")
except signals.StopRequested as exc:
    signals.report_stopped("test", exc.abandoned)
""",
        sig=signal.SIGINT,
        inherit_ignored_sigint=True,
    )
    assert code == 0 and elapsed < 5  # interrupted, not the 60 s wait
    assert any(line["event"] == "stopping" and line["signal"] == "SIGINT" for line in lines)


def test_pause_returns_after_its_time_when_nobody_stops() -> None:
    from ogi import signals

    started = time.monotonic()
    signals.pause(0.05, "nothing")
    assert time.monotonic() - started >= 0.05 and not signals.stopping()
