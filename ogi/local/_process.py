"""Small helpers for starting and stopping the local server processes."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import structlog

log = structlog.get_logger("ogi.local")


class LocalServerError(RuntimeError):
    """A local server could not be fetched, started or reached."""


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A free loopback port outside the kernel's ephemeral range: a port
    taken from that range can be grabbed by some outgoing connection between
    our check and the server's bind (seen with Elasticsearch under load)."""
    low, high = _ephemeral_range()
    candidates = [p for p in range(20000, 32000) if not low <= p <= high]
    for port in random.sample(candidates, 200):
        if port_is_free(port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:  # everything busy: let the kernel pick
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # Servers bind with SO_REUSEADDR, so connections in TIME_WAIT after a
        # restart do not make the port busy for them; judge it the same way.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still "exists"; look at its state.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def read_pid(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def stop_pid(pidfile: Path, name: str, timeout: float = 60.0) -> bool:
    """Stop the process group in ``pidfile``: SIGTERM, then SIGKILL. Returns
    whether something was running."""
    pid = read_pid(pidfile)
    if pid is None:
        pidfile.unlink(missing_ok=True)
        return False
    log.info("stopping", server=name, pid=pid)
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.2)
    if pid_alive(pid):
        log.warning("kill", server=name, pid=pid)
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        while pid_alive(pid):
            time.sleep(0.1)
    pidfile.unlink(missing_ok=True)
    return True


def spawn(
    cmd: list[str],
    *,
    log_path: Path,
    pidfile: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    user: int | None = None,
    group: int | None = None,
) -> int:
    """Start ``cmd`` detached in its own session (so it outlives ``ogi up``
    and can be stopped as a group) and record its pid."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
            user=user,
            group=group,
            extra_groups=[] if user is not None else None,
        )
    pidfile.write_text(str(proc.pid))
    return proc.pid


def wait_until(
    check: Callable[[], bool], *, timeout: float, what: str, alive: Callable[[], bool], log_path: Path
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if not alive():
            raise LocalServerError(f"{what} exited during start-up; last log lines:\n{tail(log_path)}")
        time.sleep(0.5)
    raise LocalServerError(f"{what} not ready after {timeout:.0f}s; last log lines:\n{tail(log_path)}")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def find_java_home(preferred: str = "") -> str:
    """A JDK 17+ for the servers: the setting, then $JAVA_HOME, then the
    system java's home."""
    candidates = [preferred, os.environ.get("ES_JAVA_HOME", ""), os.environ.get("JAVA_HOME", "")]
    try:
        java = Path(subprocess.check_output(["readlink", "-f", "/usr/bin/java"], text=True).strip())
        candidates.append(str(java.parent.parent))
    except (OSError, subprocess.CalledProcessError):
        pass
    for c in candidates:
        if c and (Path(c) / "bin" / "java").exists():
            return c
    raise LocalServerError("no Java found: install a JDK 17+ or set OGI_JAVA_HOME")
