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

import collections
import contextlib
import ctypes
import errno
import gc
import itertools
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
from typing import Any

import structlog

from schemas.events import ExtractedReport
from services.extract import errors
from services.extract.engine.readers import resident_office

log = structlog.get_logger("ogi.extract")


def _preload() -> None:
    """Import the readers' libraries before the limit applies, so the limit
    measures the document's cost, not import-time mappings."""
    import charset_normalizer  # noqa: F401
    import docx  # noqa: F401
    import lxml.etree  # noqa: F401 - the HTML reader's parser (readers/html.py)
    import pdfplumber  # noqa: F401
    import pypdfium2  # noqa: F401 - the PDF reader's parser (readers/pdf_objects.py)

    from ogi import vocabulary
    from services.extract.engine import normalize, pipeline  # noqa: F401

    vocabulary.to_simplified("預")  # OpenCC's tables, and the character sets of its fast path
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


def _status_kb(field: str) -> int | None:
    """One KiB field of this process's /proc status (VmHWM, VmRSS)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _peak_rss_kb() -> int | None:
    return _status_kb("VmHWM")


#: the child's CPU clock when its current document began (a pool child runs many)
_job_cpu_start = 0.0


def _cpu_seconds() -> float:
    """CPU time of this process, of the converters it waited for and of its
    resident LibreOffice."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    conv = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + conv.ru_utime + conv.ru_stime + resident_office.cpu_seconds()


def _send(
    conn: Connection, msg: tuple[str, ...], rss_kb: int | None = None, office_kb: int | None = None
) -> None:
    """A result, with what the child cost (for :class:`Usage`) and, from a
    pool child, its resident size after the document and its resident
    LibreOffice's (for the pool's caps)."""
    conn.send((*msg, _peak_rss_kb(), _cpu_seconds() - _job_cpu_start, rss_kb, office_kb))


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


def _child(
    conn: Connection,
    data: bytes,
    filename: str | None,
    content_type: str | None,
    max_memory_mb: int,
    scratch: str,
) -> None:
    os.setpgid(0, 0)
    signal.signal(signal.SIGTERM, _stop)
    tempfile.tempdir = scratch
    done = threading.Event()
    threading.Thread(target=_stop_when_parent_dies, args=(conn, scratch, done), daemon=True).start()
    try:
        _send(conn, _extract(data, filename, content_type, max_memory_mb))
    finally:
        done.set()
        shutil.rmtree(scratch, ignore_errors=True)
        conn.close()


def _extract(
    data: bytes, filename: str | None, content_type: str | None, max_memory_mb: int
) -> tuple[str, ...]:
    """The result message for one document: ``("ok", report JSON)`` or
    ``("err", error class name, message)``."""
    try:
        _preload()
        limit = max_memory_mb * 1024 * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        from services.extract.engine.pipeline import extract

        report = extract(data, filename=filename, content_type=content_type)
        return ("ok", report.model_dump_json())
    except MemoryError:
        return _memory_limit(max_memory_mb, "exceeded")
    except (ImportError, OSError) as e:
        if (
            (isinstance(e, OSError) and e.errno == errno.ENOMEM)
            or "map" in str(e)
            or "allocate memory" in str(e)
            or _near_limit(max_memory_mb)
        ):
            return _memory_limit(max_memory_mb, "exceeded", type(e).__name__)
        else:
            return ("err", "CorruptDocument", f"unexpected failure while reading the document: {e}")
    except errors.ExtractError as e:
        if isinstance(e, errors.CorruptDocument | errors.ParseError) and _near_limit(max_memory_mb):
            # a library that failed for want of memory, wrapped by the pipeline as a damaged file
            # (an allocation refused inside CPython's compiler reads "field 'target' is required")
            return _memory_limit(max_memory_mb, "reached", str(e))
        else:
            return ("err", type(e).__name__, str(e))
    except (SystemExit, KeyboardInterrupt):
        raise  # stopped from outside: nobody is waiting for a result
    except BaseException as e:
        tb = traceback.format_exception_only(type(e), e)[-1].strip()
        if _near_limit(max_memory_mb):
            # under an address-space limit, failed allocations surface as odd errors in C code
            return _memory_limit(max_memory_mb, "reached", tb)
        else:
            return ("err", "CorruptDocument", f"unexpected failure while reading the document: {tb}")


def _memory_limit(max_memory_mb: int, verb: str, cause: str = "") -> tuple[str, str, str]:
    """The child's result message for a document that hit the memory limit."""
    detail = f" ({cause})" if cause else ""
    return (
        "err",
        "ExtractionMemoryExceeded",
        f"extraction {verb} the {max_memory_mb} MB memory limit{detail}",
    )


@dataclass
class Usage:
    """What one bounded extraction cost; pass one to :func:`extract_bounded`
    to have it filled in."""

    seconds: float = 0.0
    peak_rss_mb: float | None = None  # the child's peak resident set; None when it was killed
    cpu_seconds: float | None = None  # the child's CPU time for this document (converters included)
    rss_mb: float | None = None  # a pool child's resident set after the document, its garbage freed
    office_rss_mb: float | None = None  # its resident LibreOffice's, when one runs


def _crashed(proc: mp.process.BaseProcess, max_memory_mb: int) -> errors.ExtractError:
    """The error for a child that ended without sending a result."""
    proc.join(5)
    code = proc.exitcode
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        return errors.ExtractionMemoryExceeded(
            f"extraction process was killed by {name} (memory limit {max_memory_mb} MB?)"
        )
    return errors.CorruptDocument(f"extraction process ended without a result (exit code {code})")


def _outcome(message: tuple[Any, ...], usage: Usage | None) -> ExtractedReport:
    """The report a child sent, or its typed error raised."""
    *msg, peak_kb, cpu_s, rss_kb, office_kb = message
    if usage is not None:
        usage.cpu_seconds = cpu_s
        if peak_kb is not None:
            usage.peak_rss_mb = peak_kb / 1024
        if rss_kb is not None:
            usage.rss_mb = rss_kb / 1024
        if office_kb is not None:
            usage.office_rss_mb = office_kb / 1024
    if msg[0] == "ok":
        return ExtractedReport.model_validate_json(msg[1])
    cls = getattr(errors, msg[1], errors.CorruptDocument)
    raise cls(msg[2])


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
    proc = ctx.Process(
        target=_child, args=(child, data, filename, content_type, max_memory_mb, scratch), daemon=True
    )
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
            raise _crashed(proc, max_memory_mb) from None
    finally:
        if proc.is_alive():
            _kill(proc)
        proc.join(5)
        parent.close()
        shutil.rmtree(scratch, ignore_errors=True)
        if usage is not None:
            usage.seconds = time.monotonic() - started
    return _outcome(msg, usage)


_CTX: mp.context.ForkServerContext | None = None


def _context() -> mp.context.ForkServerContext:
    """A forkserver: children fork from a clean single-threaded server that has
    the engine imported, so a worker with threads (Faust, asyncio executors)
    never forks while another thread holds a lock, and a child starts fast."""
    global _CTX
    if _CTX is None:
        ctx = mp.get_context("forkserver")
        # the readers' libraries too: importing them in every child cost
        # ~0.3 s per document, ten times the extraction of a text report
        ctx.set_forkserver_preload(
            [
                "services.extract.engine.pipeline",
                "services.extract.engine.bounded",
                "charset_normalizer",
                "docx",
                "pdfplumber",
                "lxml.html",
                "services.extract.engine.warm",  # the rest of _preload, tables included
            ]
        )
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


# ---------------------------------------------------------------------------
# A pool of reused children (the extract worker)
#
# A fresh child per document costs a fork and a page-fault storm for every
# report, and runs one document at a time. The worker instead keeps one
# child per core, each under the same limits, and sends it document after
# document; a child that timed out, crashed or came close to its memory
# limit is killed with its process group and replaced, and every child is
# replaced after ``max_documents`` documents. After each document a child
# frees what the document left (garbage, glibc's free pages) and reports its
# size; one still above ``child_max_rss_mb`` is replaced too, so that memory
# stays flat however long the backlog. The first children retire after
# max_documents·1/size, ·2/size, … documents: children that all reached the
# limit together would all restart (and their resident LibreOffices with
# them) at the same moment, stalling every core at once.


def _reset_peak_rss() -> None:
    """Start VmHWM afresh, so the peak reported is this document's."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


_libc_trim: Any = None


def _malloc_trim() -> None:
    """Hand the heap's free pages back to the system (glibc's
    ``malloc_trim``). Python returns a freed object's memory to malloc, and
    glibc keeps it for reuse: after a large document the child would stay
    at that document's size until it is replaced. No-op without glibc."""
    global _libc_trim
    if _libc_trim is None:
        try:
            _libc_trim = ctypes.CDLL(None).malloc_trim
            _libc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
            _libc_trim = False
    if _libc_trim:
        _libc_trim(0)


def _rss_kb() -> int | None:
    """This process's resident set now (VmRSS)."""
    return _status_kb("VmRSS")


def _release_memory() -> int | None:
    """After a document: collect its garbage (reference cycles of parsed
    trees keep whole documents alive), give the freed memory back, and say
    how large the child stays (its resident set, KiB)."""
    gc.collect()
    _malloc_trim()
    return _rss_kb()


def _empty(directory: str, keep: tuple[str, ...] = ()) -> None:
    for entry in os.listdir(directory):
        if entry in keep:
            continue
        path = os.path.join(directory, entry)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(path)


def _pool_child(
    jobs: Connection,
    results: Connection,
    max_memory_mb: int,
    scratch: str,
    use_resident_office: bool,
    office_max_rss_mb: int,
) -> None:
    """Extract the documents that arrive on ``jobs`` until the worker closes it."""
    global _job_cpu_start
    os.setpgid(0, 0)
    signal.signal(signal.SIGTERM, _stop)
    tempfile.tempdir = scratch
    done = threading.Event()
    threading.Thread(target=_stop_when_parent_dies, args=(results, scratch, done), daemon=True).start()
    if use_resident_office:
        resident_office.enable(scratch)
    # the objects inherited from the forkserver (the preloaded readers) are
    # never garbage: keep the collector off them, so a collection is cheap
    # and does not write to (and so unshare) the forkserver's pages
    gc.freeze()
    try:
        while True:
            try:
                data, filename, content_type = jobs.recv()
            except EOFError:
                return  # the pool closed this child
            _reset_peak_rss()
            _job_cpu_start = _cpu_seconds()
            msg = _extract(data, filename, content_type, max_memory_mb)
            del data  # the document's bytes are not part of what the child keeps
            _empty(scratch, keep=(resident_office.RESIDENT_DIR,))
            office_kb = resident_office.settle(office_max_rss_mb)
            _send(results, msg, _release_memory(), office_kb)
    finally:
        resident_office.close()
        done.set()
        shutil.rmtree(scratch, ignore_errors=True)
        results.close()


class _PooledChild:
    """One pre-forked child and its pipes."""

    def __init__(
        self, max_memory_mb: int, use_resident_office: bool = True, office_max_rss_mb: int = 300
    ) -> None:
        ctx = _context()
        self.max_memory_mb = max_memory_mb
        self.scratch = tempfile.mkdtemp(prefix="ogi-extract-")
        job_read, self.jobs = ctx.Pipe(duplex=False)
        self.results, result_write = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(
            target=_pool_child,
            args=(
                job_read,
                result_write,
                max_memory_mb,
                self.scratch,
                use_resident_office,
                office_max_rss_mb,
            ),
            daemon=True,
        )
        try:
            self.proc.start()
        except BaseException:
            shutil.rmtree(self.scratch, ignore_errors=True)
            raise
        job_read.close()
        result_write.close()
        self.documents = 0
        self.max_documents = 0  # set by the pool: replaced after this many documents
        self.rss_kb: int | None = None  # after its last document, as the child measured it

    def run(self, data: bytes, filename: str | None, content_type: str | None, timeout_s: float) -> tuple:  # type: ignore[type-arg]
        """The child's result message; raises the typed error of a timeout or
        a crash (the child is unusable then)."""
        self.documents += 1
        try:
            self.jobs.send((data, filename, content_type))
        except OSError:
            raise _crashed(self.proc, self.max_memory_mb) from None
        if not self.results.poll(timeout_s):
            raise errors.ExtractionTimeout(f"extraction took longer than {timeout_s:g} s and was stopped")
        try:
            msg: tuple = self.results.recv()  # type: ignore[type-arg]
        except EOFError:
            raise _crashed(self.proc, self.max_memory_mb) from None
        self.rss_kb = msg[-2]
        return msg

    def close(self) -> None:
        """Kill the child and whatever it started; remove its files."""
        if self.proc.is_alive():
            _kill(self.proc)
        self.proc.join(5)
        self.jobs.close()
        self.results.close()
        shutil.rmtree(self.scratch, ignore_errors=True)
        resident_office.remove_pipe(self.scratch)  # a killed resident cannot remove its socket


class ExtractorPool:
    """``size`` bounded children reused across documents; :meth:`extract`
    blocks while all are busy. Thread-safe: call it from an executor."""

    def __init__(
        self,
        size: int,
        *,
        timeout_s: float = 60,
        max_memory_mb: int = 1024,
        max_documents: int = 500,
        use_resident_office: bool = True,
        child_max_rss_mb: int = 200,
        office_max_rss_mb: int = 300,
    ) -> None:
        self.size = size
        self.use_resident_office = use_resident_office  # one LibreOffice kept running per child
        self.timeout_s = timeout_s
        self.max_memory_mb = max_memory_mb
        self.max_documents = max_documents
        # soft caps, checked between documents: a child that stays larger
        # than this after freeing a document's memory is replaced, a resident
        # LibreOffice larger than that is restarted (by its child)
        self.child_max_rss_mb = child_max_rss_mb
        self.office_max_rss_mb = office_max_rss_mb
        self.replaced: collections.Counter[str] = collections.Counter()  # why children were replaced
        self._idle: list[_PooledChild] = []
        self._forked = itertools.count(1)  # numbers the children: the first ``size`` retire staggered
        self._free = threading.Semaphore(size)  # children not busy (idle or not yet started)
        self._lock = threading.Lock()
        self._closed = False

    def start(self) -> None:
        """Fork the children now, so the first documents do not wait for it."""
        with self._lock:
            while len(self._idle) < self.size and not self._closed:
                self._idle.append(self._new_child())

    def extract(
        self,
        data: bytes,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        usage: Usage | None = None,
    ) -> ExtractedReport:
        """Like :func:`extract_bounded`, in the next free child."""
        started = time.monotonic()
        self._free.acquire()
        child: _PooledChild | None = None
        healthy = False
        try:
            with self._lock:
                if self._closed:
                    raise RuntimeError("the extractor pool is closed")
                child = self._idle.pop() if self._idle else None
            if child is None:
                child = self._new_child()
            msg = child.run(data, filename, content_type, self.timeout_s)
            # after a memory error the child's heap is suspect: replace it
            healthy = msg[0] == "ok" or msg[1] != "ExtractionMemoryExceeded"
        finally:
            if child is not None:
                self._release(child, healthy)
            self._free.release()
            if usage is not None:
                usage.seconds = time.monotonic() - started
        return _outcome(msg, usage)

    def _new_child(self) -> _PooledChild:
        child = _PooledChild(self.max_memory_mb, self.use_resident_office, self.office_max_rss_mb)
        # the first children retire one after another; their successors, and
        # every later child, serve the whole max_documents (next() on a
        # count is atomic, and start() calls this under self._lock)
        number = next(self._forked)
        child.max_documents = (
            max(1, self.max_documents * number // self.size) if number <= self.size else self.max_documents
        )
        return child

    def _release(self, child: _PooledChild, healthy: bool) -> None:
        if not healthy:
            reason = "failed"  # a timeout, a crash, a memory-limit hit
        elif child.documents >= child.max_documents:
            reason = "max_documents"
        elif child.rss_kb is not None and child.rss_kb > self.child_max_rss_mb * 1024:
            reason = "rss_cap"
            log.info(
                "extraction child over its memory cap; replacing it",
                rss_mb=child.rss_kb // 1024,
                cap_mb=self.child_max_rss_mb,
                documents=child.documents,
            )
        else:
            reason = ""
        with self._lock:
            if not reason and not self._closed:
                self._idle.append(child)
                return
            if reason:
                self.replaced[reason] += 1
        child.close()

    def close(self) -> None:
        """Stop every idle child (busy ones are stopped when they return)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for child in idle:
            child.close()
