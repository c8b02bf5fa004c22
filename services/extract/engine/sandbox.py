"""How the extraction child runs an external converter (LibreOffice,
antiword) on a document nobody here controls.

- **No network.** LibreOffice follows links in a document (a linked image
  costs an OPTIONS, a HEAD and a GET), which would be requests from the
  extraction host that bypass the fetch guard. The converter runs in a new
  network namespace, where no interface is up, not even loopback:
  ``unshare --net`` (util-linux). As root that needs nothing else; as
  another user ``--map-root-user`` first makes an unprivileged user
  namespace. Where neither works (user namespaces disabled, a seccomp
  profile forbidding ``unshare``), :func:`isolation` is ``None`` and a
  converter that needs isolation is not run at all: ``ConversionFailed``
  says why, and a .doc falls back to antiword (text only, no network code).
- **Nothing outlives it.** ``--pid --fork --kill-child``: the converter is
  the first process of a new PID namespace, so when it or ``unshare`` dies
  the kernel kills everything inside. ``unshare`` itself dies with the
  extraction child (``setpriv --pdeathsig KILL``) and stays in that child's
  process group, which the parent kills as a group when the time limit is hit.
- **A clean environment.** Only PATH, HOME/TMPDIR (the converter's own
  temporary directory) and a UTF-8 locale: no ``OGI_*`` setting, no SMTP
  password, no proxy variables.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import subprocess
from collections.abc import Iterator
from functools import lru_cache

from services.extract.errors import ConversionFailed

_NAMESPACES = ["--net", "--pid", "--fork", "--kill-child"]


def clean_env(home: str) -> dict[str, str]:
    """The whole environment a converter gets."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": home,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }


@lru_cache(maxsize=1)
def isolation() -> tuple[str, ...] | None:
    """The command prefix that runs a program without network in a PID
    namespace of its own, or ``None`` when this host allows neither variant.
    Probed by running ``true`` through it (a few milliseconds)."""
    exe = shutil.which("unshare")
    if exe is None:
        return None
    variants = [[exe, *_NAMESPACES], [exe, "--map-root-user", *_NAMESPACES]]
    if os.geteuid() != 0:
        variants.reverse()  # a plain --net needs CAP_SYS_ADMIN
    for prefix in variants:
        try:
            probe = subprocess.run(
                [*prefix, "--", "/bin/true"],
                check=False,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=clean_env("/"),
                timeout=10,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return tuple(prefix)
    return None


@lru_cache(maxsize=1)
def _dies_with_parent() -> tuple[str, ...]:
    exe = shutil.which("setpriv")
    return (exe, "--pdeathsig", "KILL", "--") if exe else ()


@contextlib.contextmanager
def _address_space_unlimited() -> Iterator[None]:
    """The bounded child lowers RLIMIT_AS for Python; LibreOffice needs
    more. Raised around the start only (no preexec_fn: the extraction child
    has a watcher thread, and code between fork and exec is unsafe then)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def start(
    argv: list[str],
    *,
    home: str,
    name: str,
    require_isolation: bool = True,
    output: int | None = subprocess.PIPE,
) -> subprocess.Popen[bytes]:
    """Start a converter isolated as described above, and return at once
    (a resident LibreOffice is started so; :func:`run` waits for one).
    Raises ``ConversionFailed`` when isolation is required but unavailable."""
    prefix = isolation()
    if prefix is None and require_isolation:
        raise ConversionFailed(
            f"{name} is not run: this host cannot start it without network access "
            "(unshare --net needs root or unprivileged user namespaces)"
        )
    command = [*_dies_with_parent(), *(prefix or ()), *(["--"] if prefix else []), *argv]
    with _address_space_unlimited():
        return subprocess.Popen(
            command,
            cwd=home,
            env=clean_env(home),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
        )


def run(
    argv: list[str], *, home: str, timeout_s: float, name: str, require_isolation: bool = True
) -> subprocess.CompletedProcess[bytes]:
    """Run a converter in ``home`` (its temporary directory) and return its
    result; raises ``ConversionFailed`` on timeout or when isolation is
    required but unavailable. On any exit from here (timeout, SIGTERM) the
    converter and everything it started are killed before returning."""
    proc = start(argv, home=home, name=name, require_isolation=require_isolation)
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired as e:
        raise ConversionFailed(f"{name} did not finish within {timeout_s:g} s") from e
    finally:
        if proc.poll() is None:
            # unshare --kill-child takes the converter's PID namespace with it
            proc.kill()
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
