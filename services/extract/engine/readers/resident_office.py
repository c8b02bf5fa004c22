"""One LibreOffice kept alive per pooled extraction child.

Starting LibreOffice costs ~2.4 s of CPU per document (more in a fresh
profile, where it restarts itself once), so 3 % of the mix (DOC) took ~20 %
of the extract worker's CPU. A pooled child (``bounded.ExtractorPool``)
therefore starts one *resident* LibreOffice on its first DOC/WPS/RTF and
converts every later one in it, through UNO over a named pipe.

- **Same isolation as a per-document conversion.** The resident is started
  through ``sandbox.start``: its own network and PID namespaces, a clean
  environment, the address-space limit raised for it alone, killed when
  the child dies (it stays in the child's process group, which the pool
  kills on a timeout). The UNO pipe is a filesystem socket, so the client
  reaches it across network namespaces.
- **Its files.** A private profile under the child's scratch directory
  (``RESIDENT_DIR``, kept between documents, removed with the directory);
  LibreOffice puts the pipe's socket in /tmp whatever TMPDIR says, under a
  name derived from the scratch directory so the pool removes it too
  (:func:`remove_pipe`) after killing a child.
- **The client** is ``uno_convert.py`` run by the system Python (Debian's
  ``python3-uno`` exists for no other interpreter), one short process per
  document (~0.1 s of CPU).
- **Failure.** A resident that died, hung past ``CONVERT_TIMEOUT_S`` or
  broke the connection is killed; that document goes through the
  per-document converter (``doc.convert_to_docx``), and the next one starts
  a new resident. Where LibreOffice, ``python3-uno`` or network isolation
  is missing, every document takes the per-document path (logged once).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from functools import lru_cache

import structlog

from services.extract.engine import sandbox
from services.extract.engine.readers import uno_convert
from services.extract.errors import ConversionFailed

log = structlog.get_logger("ogi.extract")

SYSTEM_PYTHON = "/usr/bin/python3"
#: the resident's home and profile, a subdirectory of the child's scratch directory
RESIDENT_DIR = "resident-office"
#: a conversion in the resident longer than this counts as a hung resident;
#: short enough to leave the per-document fallback time within the worker's
#: extraction limit (``extract_timeout_s``, 60 s by default)
CONVERT_TIMEOUT_S = 30.0
#: how long the first conversion waits for a new resident to open its pipe:
#: a few seconds on an idle machine, far more under load; in the worker the
#: pool's extraction limit (60 s by default) ends a start that never comes
START_WAIT_S = 60.0
#: a running resident answers at once; a short wait covers a busy machine
CONNECT_WAIT_S = 5.0
_CLIENT = uno_convert.__file__


def pipe_name(scratch: str) -> str:
    return os.path.basename(scratch.rstrip("/"))  # ogi-extract-XXXX: unique while the child lives


def pipe_path(scratch: str) -> str:
    """Where LibreOffice puts the socket of the pipe ``pipe_name(scratch)``
    (sal's osl pipes live in /tmp when it is writable)."""
    return f"/tmp/OSL_PIPE_{os.getuid()}_{pipe_name(scratch)}"


def remove_pipe(scratch: str) -> None:
    """Remove a resident's socket: a killed LibreOffice leaves it behind."""
    try:
        os.unlink(pipe_path(scratch))
    except FileNotFoundError:
        pass


_CLK_TCK = os.sysconf("SC_CLK_TCK")


def _tree_pids(pid: int) -> Iterator[int]:
    """A process and its descendants (one that ends meanwhile is skipped)."""
    todo = [pid]
    while todo:
        p = todo.pop()
        yield p
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(child) for child in f.read().split()]
        except (OSError, ValueError):
            continue  # ended meanwhile


def _tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and its descendants, the ones they waited for
    included (LibreOffice's first start in a new profile restarts itself)."""
    total = 0.0
    for p in _tree_pids(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15]) / _CLK_TCK  # utime stime cutime cstime
        except (OSError, ValueError, IndexError):
            continue  # ended meanwhile
    return total


def _tree_rss_kb(pid: int) -> int:
    """Resident KiB of a process and its descendants (the sandbox's
    ``unshare`` and the ``soffice.bin`` under it)."""
    total = 0
    for p in _tree_pids(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                total += next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
        except (OSError, ValueError, IndexError):
            continue  # ended meanwhile
    return total


@lru_cache(maxsize=1)
def unavailable_reason() -> str | None:
    """Why no resident can run on this host, or ``None`` when one can."""
    from services.extract.engine.readers.doc import soffice_binary

    if soffice_binary() is None:
        return "LibreOffice (soffice) is not installed"
    if sandbox.isolation() is None:
        return "this host cannot start LibreOffice without network access (unshare --net)"
    try:
        probe = subprocess.run(
            [SYSTEM_PYTHON, "-c", "import uno"],
            check=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=sandbox.clean_env("/"),
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"{SYSTEM_PYTHON} cannot run: {e}"
    if probe.returncode != 0:
        return f"python3-uno is not installed for {SYSTEM_PYTHON} (deploy/apt-packages.txt)"
    return None


class ResidentOffice:
    """The resident LibreOffice of one extraction child."""

    def __init__(self, scratch: str) -> None:
        self.scratch = scratch
        self.home = os.path.join(scratch, RESIDENT_DIR)
        self.proc: subprocess.Popen[bytes] | None = None
        self._just_started = False
        self._retired_cpu_s = 0.0  # of the residents stopped before this one

    def cpu_seconds(self) -> float:
        """CPU time of every resident this child ran so far (no parent
        waits for a resident, so ``RUSAGE_CHILDREN`` never sees it)."""
        alive = _tree_cpu_seconds(self.proc.pid) if self.proc is not None else 0.0
        return self._retired_cpu_s + alive

    def convert(self, data: bytes, suffix: str) -> bytes | None:
        """The document as DOCX, or ``None`` when the resident could not
        convert it (the caller then uses the per-document converter)."""
        if self.proc is not None and self.proc.poll() is not None:
            log.warning(
                "resident LibreOffice ended between documents; starting another", code=self.proc.returncode
            )
            self.stop()
        if self.proc is None:
            try:
                self._start()
            except (ConversionFailed, OSError) as e:
                log.warning("resident LibreOffice could not start", error=str(e))
                self.stop()
                return None
        wait = START_WAIT_S if self._just_started else CONNECT_WAIT_S
        with tempfile.TemporaryDirectory(prefix="ogi-uno-") as tmp:
            source = os.path.join(tmp, "in" + suffix)
            target = os.path.join(tmp, "out.docx")
            with open(source, "wb") as f:
                f.write(data)
            try:
                client = sandbox.run(
                    [SYSTEM_PYTHON, _CLIENT, pipe_name(self.scratch), source, target, f"{wait:g}"],
                    home=tmp,
                    timeout_s=wait + CONVERT_TIMEOUT_S,
                    name="LibreOffice UNO client",
                    require_isolation=False,  # it reads no document: LibreOffice does
                )
            except ConversionFailed as e:  # the resident hung on this document
                log.warning("resident LibreOffice hung; killed", error=str(e))
                self.stop()
                return None
            self._just_started = False
            if client.returncode == 0 and os.path.exists(target):
                with open(target, "rb") as f:
                    return f.read()
        if client.returncode != uno_convert.DOCUMENT_REFUSED:
            # no answer, a broken connection, a crash inside LibreOffice
            err = client.stderr.decode("utf-8", "replace").strip()[-300:]
            log.warning("resident LibreOffice failed; killed", code=client.returncode, error=err)
            self.stop()
        return None

    def _start(self) -> None:
        from services.extract.engine.readers.doc import soffice_binary

        exe = soffice_binary()
        if exe is None:
            raise ConversionFailed("LibreOffice (soffice) is not installed")
        shutil.rmtree(self.home, ignore_errors=True)  # a fresh profile for every resident
        os.makedirs(self.home)
        remove_pipe(self.scratch)
        self.proc = sandbox.start(
            [
                exe,
                f"-env:UserInstallation=file://{self.home}/profile",
                "--headless",
                "--invisible",
                "--nologo",
                "--norestore",
                "--nodefault",
                "--nolockcheck",
                f"--accept=pipe,name={pipe_name(self.scratch)};urp;StarOffice.ComponentContext",
            ],
            home=self.home,
            name="LibreOffice",
            output=subprocess.DEVNULL,  # nobody would read a pipe for its whole life
        )
        self._just_started = True

    def rss_kb(self) -> int | None:
        """Resident KiB of the running resident, ``None`` without one."""
        if self.proc is None or self.proc.poll() is not None:
            return None
        return _tree_rss_kb(self.proc.pid)

    def stop(self) -> None:
        """Kill the resident (``unshare --kill-child`` takes its PID namespace
        along) and remove its files."""
        if self.proc is not None:
            self._retired_cpu_s += _tree_cpu_seconds(self.proc.pid)
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None
        remove_pipe(self.scratch)
        shutil.rmtree(self.home, ignore_errors=True)


_resident: ResidentOffice | None = None
_enabled_in: str | None = None
_told_why = False


def enable(scratch: str) -> None:
    """Use a resident in this process (a pooled child); it starts on the
    first document that needs it."""
    global _enabled_in
    _enabled_in = scratch


def close() -> None:
    global _resident, _enabled_in
    if _resident is not None:
        _resident.stop()
    _resident = None
    _enabled_in = None


def settle(max_rss_mb: int) -> int | None:
    """Between documents: the resident's size (KiB; ``None`` when none
    runs), and a resident that grew past ``max_rss_mb`` stopped, so the
    next document starts a fresh one. LibreOffice keeps caches and
    fragments that grow with the documents it converted; a fresh one costs
    one start (≈ 2–3 s wall) and nothing else."""
    if _resident is None:
        return None
    kb = _resident.rss_kb()
    if kb is not None and kb > max_rss_mb * 1024:
        log.info("resident LibreOffice over its memory cap; restarting", rss_mb=kb // 1024, cap_mb=max_rss_mb)
        _resident.stop()
    return kb


def cpu_seconds() -> float:
    """CPU time of this process's residents so far (0 without one)."""
    return _resident.cpu_seconds() if _resident is not None else 0.0


def convert(data: bytes, suffix: str) -> bytes | None:
    """The document converted by this process's resident, or ``None`` when
    there is none (not a pooled child, unavailable here, or it failed)."""
    global _resident, _told_why
    if _enabled_in is None:
        return None
    reason = unavailable_reason()
    if reason is not None:
        if not _told_why:
            log.info("no resident LibreOffice; converting each document separately", reason=reason)
            _told_why = True
        return None
    if _resident is None:
        _resident = ResidentOffice(_enabled_in)
    return _resident.convert(data, suffix)
