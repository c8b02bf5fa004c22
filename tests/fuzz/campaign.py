"""Fuzz campaign: mutated real reports in every format through the same
bounded extraction the worker uses (``extract_bounded`` with the worker's
time and memory limits).

    .venv/bin/python tests/fuzz/campaign.py [-n 10000] [--seed 1] [--jobs 1] [--json]
    make fuzz            # N=10000
    make fuzz N=200      # a quick one

Seeds: the shared corpus (``--corpus``, default ``../shared/corpus`` or
``../../shared/corpus`` next to the work tree, if present) and the generated
report of tests/unit/extract/reportgen.py rendered as text, run-together
text, GBK HTML, DOCX, PDF (ruled and unruled) and, every ``--doc-every``
documents, DOC through LibreOffice. Mutations: tests/fuzz/mutate.py.

It prints documents, extracted, typed errors by class, untyped crashes,
worst time, worst memory, orphan processes and temporary files left, and
exits 1 unless the bar is met: 0 untyped crashes, every document within the
time and memory limits (one stopped at a limit is not), 0 orphans, 0 files
left. A document that crashes or hits a limit is printed as it happens
(and saved with ``--keep``); Ctrl-C ends the run early with the figures of
the documents done.

An *untyped crash* is an exception that is no ``ExtractError``, or one the
child caught only in its catch-all ("unexpected failure ..."): an error the
engine did not anticipate, whatever class it was finally given.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import multiprocessing.util
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "unit" / "extract"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tests.support import processes_mentioning

# The time a kill and the child's start may add to the limit before a
# document counts as over it.
TIME_SLACK_S = 10.0
UNTYPED_MARK = "unexpected failure"


@dataclass
class Seed:
    name: str
    fmt: str  # mutation family: text, html, docx, pdf, doc
    ext: str
    data: bytes


def _corpus_dir(given: str | None) -> Path | None:
    candidates = (
        [Path(given)]
        if given
        else [ROOT.parent / "shared" / "corpus", ROOT.parent.parent / "shared" / "corpus"]
    )
    return next((c for c in candidates if c.is_dir()), None)


def seeds(corpus: Path | None, with_doc: bool) -> list[Seed]:
    import reportgen

    out: list[Seed] = []
    if corpus is not None:
        for p in sorted(corpus.glob("*/*")):
            ext = p.suffix.lstrip(".").lower()
            fmt = {
                "txt": "text",
                "htm": "html",
                "html": "html",
                "pdf": "pdf",
                "docx": "docx",
                "doc": "doc",
            }.get(ext)
            if fmt:
                out.append(Seed(f"corpus/{p.parent.name}/{p.name}", fmt, ext, p.read_bytes()))
    out += [
        Seed("generated.txt", "text", "txt", reportgen.flattened_text().encode("utf-8")),
        Seed("generated-run-together.txt", "text", "txt", reportgen.run_together_text().encode("utf-8")),
        Seed("generated.html", "html", "html", reportgen.html_gbk()),
        Seed("generated.docx", "docx", "docx", reportgen.docx_bytes()),
        Seed("generated.pdf", "pdf", "pdf", reportgen.pdf_bytes()),
        Seed("generated-unruled.pdf", "pdf", "pdf", reportgen.pdf_bytes(grid=False)),
    ]
    if with_doc:
        from services.extract.engine.readers.doc import soffice_binary

        if soffice_binary() is not None:
            out.append(Seed("generated.doc", "doc", "doc", reportgen.doc_bytes()))
    return out


@dataclass
class Tally:
    documents: int = 0
    extracted: int = 0
    typed: collections.Counter[str] = field(default_factory=collections.Counter)
    untyped: list[str] = field(default_factory=list)
    over_time: list[str] = field(default_factory=list)
    over_memory: list[str] = field(default_factory=list)
    worst_time: tuple[float, str] = (0.0, "")
    worst_memory: tuple[float, str] = (0.0, "")
    by_format: collections.Counter[str] = field(default_factory=collections.Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    out: Any = None  # where problems are printed as they happen


def _one(
    i: int,
    seed: Seed,
    data: bytes,
    how: str,
    tally: Tally,
    timeout_s: float,
    max_memory_mb: int,
    keep: Path | None,
) -> int:
    """Extract one document and count it; returns how many are counted now."""
    from services.extract.engine.bounded import Usage, extract_bounded
    from services.extract.errors import ExtractError

    usage = Usage()
    label = f"#{i} {seed.name} [{how}]"
    outcome: str | None = None
    crash: str | None = None
    try:
        extract_bounded(
            data,
            filename=f"fuzz-{i}.{seed.ext}",
            timeout_s=timeout_s,
            max_memory_mb=max_memory_mb,
            usage=usage,
        )
    except ExtractError as e:
        outcome = type(e).__name__
        if UNTYPED_MARK in str(e):
            crash = f"{label}: {outcome}: {str(e)[:300]}"
    except Exception as e:
        crash = f"{label}: {type(e).__name__}: {str(e)[:300]}"
    problem = crash
    if outcome in ("ExtractionTimeout", "ExtractionMemoryExceeded"):
        problem = f"{label}: {outcome} after {usage.seconds:.1f} s"
    if problem and tally.out is not None:
        print(f"  ! {problem}", file=tally.out, flush=True)
    if problem and keep is not None:
        (keep / f"doc-{i}.{seed.ext}").write_bytes(data)
    with tally.lock:
        tally.documents += 1
        tally.by_format[seed.fmt] += 1
        if crash:
            tally.untyped.append(crash)
        elif outcome:
            tally.typed[outcome] += 1
        else:
            tally.extracted += 1
        if usage.seconds > tally.worst_time[0]:
            tally.worst_time = (usage.seconds, label)
        if usage.peak_rss_mb is not None and usage.peak_rss_mb > tally.worst_memory[0]:
            tally.worst_memory = (usage.peak_rss_mb, label)
        # stopped at a limit is not within it: the document needed more
        if outcome == "ExtractionTimeout" or usage.seconds > timeout_s + TIME_SLACK_S:
            tally.over_time.append(f"{label}: {usage.seconds:.1f} s")
        if outcome == "ExtractionMemoryExceeded" or (usage.peak_rss_mb or 0) > max_memory_mb:
            tally.over_memory.append(f"{label}: {usage.peak_rss_mb or 0:.0f} MB")
        return tally.documents


def _descendants(root: int) -> list[str]:
    """Live descendants of ``root`` (zombies excluded), with command lines."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    info: dict[int, str] = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields[0] == "Z":
            continue
        children[int(fields[1])].append(int(pid))
        info[int(pid)] = cmd
    out, todo = [], list(children[root])
    while todo:
        pid = todo.pop()
        out.append(f"{pid} {info.get(pid, '')[:160]}")
        todo.extend(children[pid])
    return out


def orphans(scratch_root: Path, before: set[str]) -> list[str]:
    """Processes left behind: any process whose command line names the
    campaign's temporary directory (a converter, its profile lives there),
    and any descendant of this process that was not there before the run
    (``before``: say, servers a test session started), but multiprocessing's
    forkserver."""
    left = set(processes_mentioning(str(scratch_root)))
    left |= {
        p
        for p in _descendants(os.getpid())
        if p.split(" ", 1)[0] not in before
        and "multiprocessing.forkserver" not in p
        and "multiprocessing.resource_tracker" not in p
    }
    return sorted(left)


def run(
    n: int,
    *,
    seed: int = 1,
    jobs: int = 1,
    corpus: str | None = None,
    doc_every: int = 200,
    timeout_s: float | None = None,
    max_memory_mb: int | None = None,
    keep: Path | None = None,
    progress_every: int = 500,
    out=sys.stdout,
) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from mutate import mutate

    from ogi.settings import Settings

    settings = Settings()
    timeout_s = timeout_s or settings.extract_timeout_s
    max_memory_mb = max_memory_mb or settings.extract_max_memory_mb
    pool = seeds(_corpus_dir(corpus), with_doc=doc_every > 0)
    by_fmt: dict[str, list[Seed]] = collections.defaultdict(list)
    for s in pool:
        by_fmt[s.fmt].append(s)
    docs = by_fmt.pop("doc", [])
    others = [s.data for group in by_fmt.values() for s in group]
    already_running = {p.split(" ", 1)[0] for p in _descendants(os.getpid())}
    multiprocessing.util.get_temp_dir()  # multiprocessing's own directory stays where it was
    scratch_root = Path(tempfile.mkdtemp(prefix="ogi-fuzz-"))
    tempfile.tempdir = str(scratch_root)  # every extraction's scratch directory goes in here
    tally = Tally(out=out)
    started = time.monotonic()
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C (or SIGTERM) ends the campaign early with the figures of the documents done
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    print(
        f"fuzz: {n} documents from {len(pool)} seeds ({', '.join(sorted({s.fmt for s in pool}))}), "
        f"limits {timeout_s:g} s / {max_memory_mb} MB, {jobs} job(s), seed {seed}",
        file=out,
        flush=True,
    )

    def work(i: int) -> None:
        if stop.is_set():
            return
        rnd = random.Random(seed * 1_000_003 + i)
        if docs and doc_every > 0 and i % doc_every == doc_every // 2:
            s = rnd.choice(docs)
        else:  # every format equally often, whatever the corpus holds most of
            s = rnd.choice(by_fmt[rnd.choice(sorted(by_fmt))])
        data, how = mutate(s.data, s.fmt, rnd, others)
        done = _one(i, s, data, how, tally, timeout_s, max_memory_mb, keep)
        if progress_every and done % progress_every == 0:
            print(
                f"  {tally.documents}/{n}  extracted {tally.extracted}  typed {sum(tally.typed.values())}  "
                f"untyped {len(tally.untyped)}  worst {tally.worst_time[0]:.1f} s / {tally.worst_memory[0]:.0f} MB  "
                f"({time.monotonic() - started:.0f} s)",
                file=out,
                flush=True,
            )

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
            for f in concurrent.futures.as_completed([ex.submit(work, i) for i in range(n)]):
                f.result()
        # a killed converter's processes take a moment to disappear
        deadline = time.monotonic() + 10
        while orphans(scratch_root, already_running) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = orphans(scratch_root, already_running)
        files_left = sorted(p.name for p in scratch_root.iterdir())
    finally:
        tempfile.tempdir = None
        shutil.rmtree(scratch_root, ignore_errors=True)
    summary = {
        "documents": tally.documents,
        "stopped_early": stop.is_set(),
        "extracted": tally.extracted,
        "typed_errors": dict(sorted(tally.typed.items())),
        "untyped_crashes": len(tally.untyped),
        "worst_time_s": round(tally.worst_time[0], 2),
        "worst_time_document": tally.worst_time[1],
        "worst_memory_mb": round(tally.worst_memory[0], 1),
        "worst_memory_document": tally.worst_memory[1],
        "over_time_limit": len(tally.over_time),
        "over_memory_limit": len(tally.over_memory),
        "orphan_processes": len(left),
        "temp_files_left": len(files_left),
        "limits": {"timeout_s": timeout_s, "max_memory_mb": max_memory_mb},
        "by_format": dict(sorted(tally.by_format.items())),
        "elapsed_s": round(time.monotonic() - started, 1),
        "details": {
            "untyped": tally.untyped[:50],
            "over_time": tally.over_time[:20],
            "over_memory": tally.over_memory[:20],
            "orphans": left[:20],
            "files_left": files_left[:20],
        },
    }
    summary["bar_met"] = (
        summary["untyped_crashes"] == 0
        and summary["over_time_limit"] == 0
        and summary["over_memory_limit"] == 0
        and summary["orphan_processes"] == 0
        and summary["temp_files_left"] == 0
    )
    return summary


def report(summary: dict[str, object], out=sys.stdout) -> None:  # type: ignore[no-untyped-def]
    typed = summary["typed_errors"]
    assert isinstance(typed, dict)
    lines = [
        f"documents            {summary['documents']}{' (stopped early)' if summary['stopped_early'] else ''}  ({', '.join(f'{k} {v}' for k, v in summary['by_format'].items())})",  # type: ignore[union-attr]
        f"extracted            {summary['extracted']}",
        f"typed errors         {sum(typed.values())}" + "".join(f"\n  {k:<26} {v}" for k, v in typed.items()),
        f"untyped crashes      {summary['untyped_crashes']}",
        f"worst time           {summary['worst_time_s']} s  {summary['worst_time_document']}",
        f"worst memory         {summary['worst_memory_mb']} MB  {summary['worst_memory_document']}",
        f"over the limits      time {summary['over_time_limit']}, memory {summary['over_memory_limit']}",
        f"orphan processes     {summary['orphan_processes']}",
        f"temp files left      {summary['temp_files_left']}",
        f"elapsed              {summary['elapsed_s']} s",
        f"bar met              {'yes' if summary['bar_met'] else 'NO'}",
    ]
    details = summary["details"]
    assert isinstance(details, dict)
    for key, items in details.items():
        for item in items:
            lines.append(f"  {key}: {item}")
    print("\n".join(lines), file=out, flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", type=int, default=10_000, help="documents (default 10000)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--jobs", type=int, default=1, help="extractions at once (default 1)")
    p.add_argument("--corpus", help="directory of real reports (default: the shared corpus, if present)")
    p.add_argument(
        "--doc-every", type=int, default=200, help="one DOC (LibreOffice) per this many documents; 0 = none"
    )
    p.add_argument("--timeout", type=float, help="seconds per document (default: the worker's setting)")
    p.add_argument("--max-memory-mb", type=int, help="memory per document (default: the worker's setting)")
    p.add_argument("--keep", type=Path, help="save the documents that crashed or hit a limit here")
    p.add_argument("--json", action="store_true", help="the summary as JSON")
    a = p.parse_args(argv)
    if a.keep:
        a.keep.mkdir(parents=True, exist_ok=True)
    summary = run(
        a.n,
        seed=a.seed,
        jobs=a.jobs,
        corpus=a.corpus,
        doc_every=a.doc_every,
        timeout_s=a.timeout,
        max_memory_mb=a.max_memory_mb,
        keep=a.keep,
    )
    if a.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        report(summary)
    return 0 if summary["bar_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
