"""Every log line of a service is a structlog JSON object, also the lines
of the client libraries (kafka-python, aiokafka, Faust, mode), and none
carries a terminal control sequence."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support import REPO

SCRIPT = """
import logging, sys
from ogi.log import configure
import structlog
configure(json_output=True)
structlog.get_logger("ogi.test").info("ours", n=1)
logging.getLogger("aiokafka").warning("Unable connect to %r", "127.0.0.1:1")
logging.getLogger("kafka.conn").error("broker gone")
logging.getLogger("faust.worker").info("chatty at info: filtered")
try:
    raise ValueError("boom")
except ValueError:
    logging.getLogger("mode.worker").exception("Error: %r", "x")
import threading
t = threading.Thread(target=lambda: 1 / 0, name="boom-thread")
t.start()
t.join()
# what mode's Worker sets up when it configures logging itself: colorlog
import colorlog
logging.getLogger("faust").warning("after colorlog import")
"""


def _lines(script: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO), "OGI_LOG_LEVEL": "INFO"},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stderr.splitlines()


def test_library_records_are_json_lines_without_control_sequences() -> None:
    lines = _lines(SCRIPT)
    assert lines and all("\x1b" not in line for line in lines)
    events = [json.loads(line) for line in lines]  # every line, not only ours
    by_event = {e["event"]: e for e in events}
    assert by_event["ours"]["n"] == 1
    assert by_event["Unable connect to '127.0.0.1:1'"]["logger"] == "aiokafka"
    assert by_event["Unable connect to '127.0.0.1:1'"]["level"] == "warning"
    assert by_event["broker gone"]["level"] == "error"
    assert "ValueError: boom" in by_event["Error: 'x'"]["exception"]
    assert "chatty at info: filtered" not in by_event
    assert "ZeroDivisionError" in by_event["uncaught exception in thread boom-thread"]["exception"]


def test_a_faust_worker_keeps_our_logging_and_draws_no_spinner() -> None:
    # the worker that ogi.streams.run builds, started and stopped at once
    # against a closed port: whatever it logs on the way is JSON
    lines = _lines("""
import logging, os
os.environ["OGI_KAFKA_BOOTSTRAP"] = "127.0.0.1:1"
from ogi.log import configure
configure(json_output=True)
from ogi.settings import get_settings
from ogi.streams import make_app, run
app = make_app("log-test", get_settings())
try:
    run(app)
except SystemExit:
    pass
""")
    assert lines and all("\x1b" not in line for line in lines), lines
    events = [json.loads(line) for line in lines]
    assert any(e.get("logger", "").startswith(("faust", "mode", "aiokafka")) for e in events), events


def test_lines_from_many_threads_never_interleave() -> None:
    # ours and a library's, from several threads at once (a Faust worker's
    # shutdown logs from its consumer thread while the main thread logs)
    lines = _lines("""
import logging, threading
import structlog
from ogi.log import configure
configure(json_output=True)
def ours(n):
    log = structlog.get_logger("ogi.test")
    for i in range(1500):
        log.info("ours", thread=n, i=i)
def theirs(n):
    for i in range(1500):
        logging.getLogger("aiokafka").warning("theirs %d %d", n, i)
threads = [threading.Thread(target=f, args=(n,)) for n in range(3) for f in (ours, theirs)]
for t in threads: t.start()
for t in threads: t.join()
""")
    assert len(lines) == 6 * 1500
    for line in lines:
        json.loads(line)
