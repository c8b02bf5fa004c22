"""Run :func:`extract` in a child process with a wall-clock timeout and an
address-space limit. Hostile PDFs can loop or balloon inside C code where no
Python timeout reaches; a separate process can always be killed.

The child leads a process group of its own, and a converter it starts
(LibreOffice) stays in that group: on timeout the parent kills the group,
so nothing outlives the limit. Every temporary file of the child lives in a
scratch directory the parent creates and removes after the child is gone;
when the parent itself dies the child notices (its result pipe breaks),
stops its converter and removes the directory.
"""

from __future__ import annotations

import errno
import multiprocessing as mp
import os
import resource
import select
import shutil
import signal
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection

from schemas.events import ExtractedReport
from services.extract import errors

def _preload() -> None:
    """Import the readers' libraries before the limit applies, so the limit
    measures the document's cost, not import-time mappings."""
    import bs4  # noqa: F401
    import charset_normalizer  # noqa: F401
    import docx  # noqa: F401
    import pdfplumber  # noqa: F401
    import pypdfium2  # noqa: F401 - the PDF reader's parser (readers/pdf_objects.py)

    from services.extract.engine import normalize, pipeline  # noqa: F401

    normalize.to_simplified("預")  # OpenCC's tables, and the character sets of its fast path
    normalize.is_traditional("預報")


def _near_limit(max_memory_mb: int) -> bool:
    """Did this process's address space peak close to the limit?"""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) >= 0.9 * max_memory_mb * 1024
    except OSError:
        pass
    return False


def _peak_rss_kb() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _send(conn: Connection, msg: tuple[str, ...]) -> None:
    """A result, with what the child cost (for :class:`Usage`)."""
    conn.send((*msg, _peak_rss_kb()))


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds: the converter is killed, temporary files removed


def _stop_when_parent_dies(conn: Connection, scratch: str, done: threading.Event) -> None:
    """The worker holds the only read end of the result pipe: when it dies,
    this end reports POLLERR. (The forkserver, our real parent, lives on:
    every child holds a copy of its keep-alive pipe.) Then stop as on
    SIGTERM; if the main thread is stuck in C code, remove the files and end
    the whole group from here."""
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLERR)
    while not any(ev & (select.POLLERR | select.POLLHUP | select.POLLNVAL) for _, ev in poller.poll()):
        pass
    if done.is_set():
        return
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)
    shutil.rmtree(scratch, ignore_errors=True)
    os.killpg(0, signal.SIGKILL)


def _child(conn: Connection, data: bytes, filename: str | None, content_type: str | None, max_memory_mb: int,
           scratch: str) -> None:
    os.setpgid(0, 0)
    signal.signal(signal.SIGTERM, _stop)
    tempfile.tempdir = scratch
    done = threading.Event()
    threading.Thread(target=_stop_when_parent_dies, args=(conn, scratch, done), daemon=True).start()
    try:
        _extract_and_send(conn, data, filename, content_type, max_memory_mb)
    finally:
        done.set()
        shutil.rmtree(scratch, ignore_errors=True)
        conn.close()


def _extract_and_send(conn: Connection, data: bytes, filename: str | None, content_type: str | None,
                      max_memory_mb: int) -> None:
    try:
        _preload()
        limit = max_memory_mb * 1024 * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        from services.extract.engine.pipeline import extract

        report = extract(data, filename=filename, content_type=content_type)
        _send(conn, ("ok", report.model_dump_json()))
    except MemoryError:
        _send(conn, ("err", "ExtractionMemoryExceeded", f"extraction exceeded the {max_memory_mb} MB memory limit"))
    except (ImportError, OSError) as e:
        if isinstance(e, OSError) and e.errno == errno.ENOMEM or "map" in str(e) or "allocate memory" in str(e) \
                or _near_limit(max_memory_mb):
            _send(conn, ("err", "ExtractionMemoryExceeded",
                       f"extraction exceeded the {max_memory_mb} MB memory limit ({type(e).__name__})"))
        else:
            _send(conn, ("err", "CorruptDocument", f"unexpected failure while reading the document: {e}"))
    except errors.ExtractError as e:
        _send(conn, ("err", type(e).__name__, str(e)))
    except (SystemExit, KeyboardInterrupt):
        raise  # stopped from outside: nobody is waiting for a result
    except BaseException as e:  # noqa: BLE001 - anything else becomes a typed error for the dead-letter topic
        tb = traceback.format_exception_only(type(e), e)[-1].strip()
        if _near_limit(max_memory_mb):
            # under an address-space limit, failed allocations surface as odd errors in C code
            _send(conn, ("err", "ExtractionMemoryExceeded",
                       f"extraction reached the {max_memory_mb} MB memory limit ({tb})"))
        else:
            _send(conn, ("err", "CorruptDocument", f"unexpected failure while reading the document: {tb}"))


@dataclass
class Usage:
    """What one bounded extraction cost; pass one to :func:`extract_bounded`
    to have it filled in."""

    seconds: float = 0.0
    peak_rss_mb: float | None = None  # the child's peak resident set; None when it was killed


def extract_bounded(
    data: bytes,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    timeout_s: float | None = None,
    max_memory_mb: int | None = None,
    usage: Usage | None = None,
) -> ExtractedReport:
    """:func:`extract` in a child process; raises :class:`ExtractionTimeout` or
    :class:`ExtractionMemoryExceeded` when a limit is hit, and the same typed
    errors as :func:`extract` otherwise. A limit not given is the settings'
    (``extract_timeout_s``, ``extract_max_memory_mb``): one default for the
    worker, ``ogi extract`` and every other caller."""
    if timeout_s is None or max_memory_mb is None:
        from ogi.settings import get_settings

        settings = get_settings()
        timeout_s = settings.extract_timeout_s if timeout_s is None else timeout_s
        max_memory_mb = settings.extract_max_memory_mb if max_memory_mb is None else max_memory_mb
    started = time.monotonic()
    ctx = _context()
    scratch = tempfile.mkdtemp(prefix="ogi-extract-")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, data, filename, content_type, max_memory_mb, scratch),
                       daemon=True)
    try:
        proc.start()
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    child.close()
    try:
        if not parent.poll(timeout_s):
            raise errors.ExtractionTimeout(f"extraction took longer than {timeout_s:g} s and was stopped")
        try:
            msg = parent.recv()
        except EOFError:
            proc.join(5)
            code = proc.exitcode
            if code is not None and code < 0:
                name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
                raise errors.ExtractionMemoryExceeded(
                    f"extraction process was killed by {name} (memory limit {max_memory_mb} MB?)") from None
            raise errors.CorruptDocument(f"extraction process ended without a result (exit code {code})") from None
    finally:
        if proc.is_alive():
            _kill(proc)
        proc.join(5)
        parent.close()
        shutil.rmtree(scratch, ignore_errors=True)
        if usage is not None:
            usage.seconds = time.monotonic() - started
    *msg, peak_kb = msg
    if usage is not None and peak_kb is not None:
        usage.peak_rss_mb = peak_kb / 1024
    if msg[0] == "ok":
        return ExtractedReport.model_validate_json(msg[1])
    cls = getattr(errors, msg[1], errors.CorruptDocument)
    raise cls(msg[2])


_CTX: mp.context.BaseContext | None = None


def _context() -> mp.context.BaseContext:
    """A forkserver: children fork from a clean single-threaded server that has
    the engine imported, so a worker with threads (Faust, asyncio executors)
    never forks while another thread holds a lock, and a child starts fast."""
    global _CTX
    if _CTX is None:
        ctx = mp.get_context("forkserver")
        # the readers' libraries too: importing them in every child cost
        # ~0.3 s per document, ten times the extraction of a text report
        ctx.set_forkserver_preload([
            "services.extract.engine.pipeline", "services.extract.engine.bounded",
            "bs4", "charset_normalizer", "docx", "pdfplumber", "lxml.html",
        ])
        _CTX = ctx
    return _CTX


def _kill(proc: mp.process.BaseProcess) -> None:
    """SIGKILL the child's process group: the child and any converter it
    started. Before the child has made its group there is no converter yet,
    and killing the child alone is enough."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # type: ignore[arg-type]
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except ProcessLookupError:
        pass
