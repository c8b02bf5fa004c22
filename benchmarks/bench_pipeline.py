"""End-to-end benchmark on the real local servers: a backfill-like mix of
distinct reports (benchmarks/mix.py) published on the raw topic, through the
extract worker(s) and the indexer, into Elasticsearch.

    .venv/bin/python benchmarks/bench_pipeline.py [--reports 2000] [--workers 1]
    .venv/bin/python benchmarks/bench_pipeline.py --rate 2 [--duration 300]

Backfill mode (default) publishes every report at once and prints
reports/s, CPU seconds per report by format, publish->searchable
min/median/p95/max, every service's peak RSS and PSS (the extract
worker's also by role: worker, forkserver, pool children, LibreOffice; see
``memory_roles.py``) and the raw topic's consumer lag over time. ``--rate`` publishes at a steady rate for ``--duration``
seconds and prints the latency percentiles. A report counts as done when
it is searchable in the reports index, or in the dead-letter index when it
cannot be extracted. Uses its own topics and indexes (a fresh prefix).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import memory_roles
import mix

from ogi import local
from ogi.broker import ensure_topics, make_producer, publish
from ogi.elastic import index_name, install_templates, make_client, wait_for_store
from ogi.settings import Settings
from ogi.topics import RAW
from schemas import RawReport
from tests.support import Service

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (the extract worker's pool children
    are children of its forkserver, LibreOffice a child of those)."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children[int(stat[stat.rfind(")") + 2 :].split()[1])].append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children[p]
    return out


def _memory_and_cpu(pid: int) -> tuple[float, float, dict[int, float]]:
    """Resident MiB of the process tree now, summed (a page the pool's
    forked children share with their forkserver counts once per process),
    its proportional set size (each shared page divided among its sharers:
    what the tree really holds), and each member's CPU seconds."""
    rss_kb, pss_kb, cpu = 0, 0, {}
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss_kb += int(line.split()[1])
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss_kb += int(line.split()[1])
            stat = Path(f"/proc/{p}/stat").read_text()
            fields = stat[stat.rfind(")") + 2 :].split()
            start = fields[19]  # a pid reused by another process is another process
            cpu[hash((p, start))] = sum(int(x) for x in fields[11:15]) / CLK_TCK
        except (OSError, IndexError):
            pass
    return rss_kb / 1024, pss_kb / 1024, cpu


def _own_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` alone (not its children)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rfind(")") + 2 :].split()
    return sum(int(x) for x in fields[11:13]) / CLK_TCK


def _raw_lag(settings: Settings) -> int | None:
    """Records on the raw topic the extract worker has not committed yet."""
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

    from ogi.broker import kafka_client

    admin = kafka_client(KafkaAdminClient, settings)
    consumer = kafka_client(KafkaConsumer, settings)
    try:
        topic = RAW.name(settings)
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        ends = consumer.end_offsets(parts)
        committed = admin.list_consumer_group_offsets(f"{settings.topic_prefix}extract")
        return sum(ends[tp] - (committed[tp].offset if tp in committed else 0) for tp in parts)
    except Exception:
        return None
    finally:
        consumer.close()
        admin.close()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", type=int, default=2000, help="backfill size (default 2000)")
    ap.add_argument(
        "--rate", type=float, default=0, help="steady arrival rate, reports/s (default: backfill)"
    )
    ap.add_argument("--duration", type=float, default=300, help="seconds of steady arrival with --rate")
    ap.add_argument("--workers", type=int, default=1, help="extract worker processes")
    ap.add_argument("--timeout", type=float, default=3600, help="give up after this many seconds")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--formats", default="", help="only these formats of the mix, e.g. text,corpus-text")
    ap.add_argument(
        "--profile",
        type=Path,
        help="record py-spy speedscope profiles of each service's main process here "
        "(py-spy on PATH or PY_SPY; it needs ptrace rights)",
    )
    args = ap.parse_args()

    n = int(args.rate * args.duration) if args.rate else args.reports
    home = Path(os.environ.get("OGI_HOME", Path.home() / ".ogi"))
    run = uuid.uuid4().hex[:6]
    t_gen = time.monotonic()
    reports = list(
        mix.generate(
            n + 1, cache=home / "bench-corpus", tag=run, only=tuple(f for f in args.formats.split(",") if f)
        )
    )
    warmup, reports = reports[0], reports[1:]
    print(
        f"generated {n} distinct reports in {time.monotonic() - t_gen:.0f}s: "
        + ", ".join(f"{k} {v}" for k, v in sorted(collections.Counter(r.fmt for r in reports).items())),
        flush=True,
    )

    endpoints = local.up()
    settings = Settings(
        kafka_bootstrap=endpoints.kafka_bootstrap,
        es_url=endpoints.es_url,
        topic_prefix=f"bench{run}.",
        index_prefix=f"bench{run}-",
    )
    ensure_topics(settings)
    es = make_client(settings)
    wait_for_store(es)
    install_templates(es, settings)
    raws = [
        RawReport.from_bytes(
            r.content, agency_id=r.agency_id, source_url=f"file:///bench/{r.filename}", filename=r.filename
        )
        for r in [warmup, *reports]
    ]
    fmt_of = {raw.report_id: r.fmt for raw, r in zip(raws, [warmup, *reports], strict=True)}
    sha_of = {raw.sha256: raw.report_id for raw in raws}

    logs = Path(tempfile.mkdtemp(prefix="ogi-bench-"))
    services: list[Service] = []
    names = [f"extract{i}" for i in range(args.workers)] + ["index"]
    reports_index, dead_index = index_name("reports", settings), index_name("deadletters", settings)
    producer = make_producer(settings)
    sent_at: dict[str, float] = {}
    seen: dict[str, float] = {}
    dead: set[str] = set()
    peak = dict.fromkeys(names, 0.0)
    peak_pss = dict.fromkeys(names, 0.0)
    # each extract worker's tree by role (worker, forkserver, pool children, LibreOffice):
    # the largest sum of each role's PSS and the largest single process of it, MiB
    role_peak: dict[str, dict[str, float]] = {name: {} for name in names[:-1]}
    role_single: dict[str, dict[str, float]] = {name: {} for name in names[:-1]}
    cpu: dict[str, dict[int, float]] = {name: {} for name in names}
    # the worker's own process (Faust, the pool's parent side, producing) apart from its tree
    parent_cpu: dict[str, float] = {}
    # the servers: what the pipeline costs Kafka and Elasticsearch (the bench's own polling included)
    server_pids = {name: st["pid"] for name, st in local.status(settings).items() if st["pid"]}
    server_cpu: dict[str, dict[int, float]] = {name: {} for name in server_pids}
    profilers: list[subprocess.Popen[bytes]] = []
    lag: list[tuple[float, int | None]] = []

    # What became searchable since the last poll: the documents after the highest
    # sequence number up to which every one was seen (a single shard numbers its
    # writes; a gap is a write not visible yet). Asking for the ids of every unseen
    # report instead cost Elasticsearch ~60 ms of CPU a poll (fetching 20 KB sources),
    # a third of its CPU in the benchmark.
    seqs: dict[str, set[int]] = {reports_index: set(), dead_index: set()}
    checkpoint = dict.fromkeys(seqs, -1)
    field = {reports_index: "report_id", dead_index: "original_sha256"}

    def poll_done() -> None:
        now = time.monotonic()
        for index, seen_seqs in seqs.items():
            after = checkpoint[index]
            while True:
                hits = es.search(
                    index=index,
                    query={"range": {"_seq_no": {"gt": after}}},
                    sort=[{"_seq_no": "asc"}],
                    size=1000,
                    stored_fields="_none_",
                    docvalue_fields=[{"field": field[index]}, {"field": "_seq_no"}],
                    ignore_unavailable=True,
                )["hits"]["hits"]
                for hit in hits:
                    after = hit["fields"]["_seq_no"][0]
                    seen_seqs.add(after)
                    value = hit["fields"].get(field[index], [None])[0]
                    rid = value if index == reports_index else sha_of.get(value)
                    if rid:
                        seen.setdefault(rid, now)
                        if index == dead_index:
                            dead.add(rid)
                while checkpoint[index] + 1 in seen_seqs:
                    checkpoint[index] += 1
                    seen_seqs.discard(checkpoint[index])
                if len(hits) < 1000:
                    break

    def sample() -> None:
        for name, s in zip(names, services, strict=True):
            rss, pss, c = _memory_and_cpu(s.proc.pid)
            peak[name] = max(peak[name], rss)
            peak_pss[name] = max(peak_pss[name], pss)
            cpu[name].update(c)
            parent_cpu[name] = _own_cpu(s.proc.pid)
            if name in role_peak:
                rows = memory_roles.sample(s.proc.pid)
                for role, kb in memory_roles.by_role(rows).items():
                    role_peak[name][role] = max(role_peak[name].get(role, 0.0), kb / 1024)
                for row in rows:
                    role = str(row["role"])
                    role_single[name][role] = max(role_single[name].get(role, 0.0), int(row["pss_kb"]) / 1024)  # type: ignore[call-overload]
        for name, pid in server_pids.items():
            server_cpu[name].update(_memory_and_cpu(pid)[2])

    try:
        services += [Service("extract", settings, logs) for _ in range(args.workers)]
        services.append(Service("index", settings, logs))
        # the clock starts once a first report went all the way through:
        # consumers joined, children forked, templates in place
        deadline = time.monotonic() + 300
        publish(producer, RAW, raws[0], settings).get(timeout=60)
        while raws[0].report_id not in seen and time.monotonic() < deadline:
            poll_done()
            time.sleep(0.2)
        if raws[0].report_id not in seen:
            print("the warm-up report never became searchable; see the logs in", logs)
            return 1
        sample()
        cpu_before = {name: sum(c.values()) for name, c in cpu.items()}
        parent_before = dict(parent_cpu)
        server_before = {name: sum(c.values()) for name, c in server_cpu.items()}
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            py_spy = os.environ.get("PY_SPY", "py-spy")
            for name, s in zip(names, services, strict=True):
                profilers.append(
                    subprocess.Popen(
                        [
                            py_spy,
                            "record",
                            "--pid",
                            str(s.proc.pid),
                            "--format",
                            "speedscope",
                            "--rate",
                            "50",
                            "--nonblocking",
                            "--output",
                            str(args.profile / f"{name}.json"),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=open(args.profile / f"{name}.py-spy.log", "wb"),  # noqa: SIM115
                    )
                )
        order = [raw.report_id for raw in raws[1:]]

        def publisher() -> None:
            t0 = time.monotonic()
            for i, raw in enumerate(raws[1:]):
                if args.rate:
                    delay = t0 + i / args.rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                sent_at[raw.report_id] = time.monotonic()
                publish(producer, RAW, raw, settings)
                if args.rate:
                    producer.flush()
            producer.flush()

        start = time.monotonic()
        pub = threading.Thread(target=publisher, daemon=True)
        pub.start()
        next_sample = next_lag = start
        while len(seen) < len(raws) and time.monotonic() - start < args.timeout:
            poll_done()
            now = time.monotonic()
            if now >= next_sample:
                sample()
                next_sample = now + 1
            if now >= next_lag:
                lag.append((now - start, _raw_lag(settings)))
                next_lag = now + (5 if not args.rate else 15)
            time.sleep(0.25)
        elapsed = max(seen.values(), default=time.monotonic()) - start
        sample()
        lag.append((time.monotonic() - start, _raw_lag(settings)))
    finally:
        for p in profilers:  # py-spy writes its profile on SIGINT
            p.send_signal(signal.SIGINT)
            p.wait(timeout=60)
        producer.close()
        for s in services:
            s.stop()

    done = [rid for rid in order if rid in seen]
    latencies = [seen[rid] - sent_at[rid] for rid in done]
    by_fmt: dict[str, list[float]] = collections.defaultdict(list)
    extract_log = "".join(s.log() for s in services[:-1])
    for line in extract_log.splitlines():
        if '"extracted"' not in line:
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        rid = rec.get("report_id")
        if rid in fmt_of and rid != raws[0].report_id and rec.get("cpu_s") is not None:
            by_fmt[fmt_of[rid]].append(rec["cpu_s"])
    cpu_used = {name: sum(c.values()) - cpu_before[name] for name, c in cpu.items()}
    for name in names[:-1]:
        cpu_used[f"{name} worker process alone"] = parent_cpu[name] - parent_before[name]
    for name, c in server_cpu.items():
        cpu_used[name] = sum(c.values()) - server_before[name]

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    load = os.getloadavg()
    result: dict[str, object] = {
        "machine": f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}",
        "load_average_at_end": [round(x, 2) for x in load],
        "mode": f"steady {args.rate:g}/s for {args.duration:g}s" if args.rate else "backfill",
        "reports": len(order),
        "done": len(done),
        "dead_lettered": len(dead - {raws[0].report_id}),
        "mix": dict(collections.Counter(fmt_of[rid] for rid in order)),
        "seconds": round(elapsed, 1),
        "reports_per_s": round(len(done) / elapsed, 2) if elapsed else None,
        "workers": args.workers,
    }
    print(f"machine: {result['machine']}; load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"mode: {result['mode']}; mix: " + ", ".join(f"{k} {v}" for k, v in sorted(result["mix"].items())))  # type: ignore[attr-defined]
    print(
        f"reports: {len(done)}/{len(order)} done in {elapsed:.1f}s ({result['reports_per_s']} reports/s, "
        f"{len(dead - {raws[0].report_id})} dead-lettered) with {args.workers} extract worker(s)"
    )
    if latencies:
        lat = {
            "min": min(latencies),
            "median": statistics.median(latencies),
            "p95": _pct(latencies, 0.95),
            "p99": _pct(latencies, 0.99),
            "max": max(latencies),
        }
        result["latency_s"] = {k: round(v, 2) for k, v in lat.items()}
        print("latency publish->searchable: " + "  ".join(f"{k} {v:.2f}s" for k, v in lat.items()))
    result["cpu_s_per_report_by_format"] = {
        f: round(statistics.mean(v), 4) for f, v in sorted(by_fmt.items())
    }
    print(
        "extraction CPU s/report by format (child, converter included): "
        + ", ".join(f"{f} {statistics.mean(v):.3f} (n={len(v)})" for f, v in sorted(by_fmt.items()))
    )
    result["service_cpu_s_per_report"] = {k: round(v / max(1, len(done)), 4) for k, v in cpu_used.items()}
    print(
        "service CPU s/report (whole process tree; the servers include the bench's polling): "
        + ", ".join(f"{k} {v / max(1, len(done)):.3f}" for k, v in cpu_used.items())
    )
    result["peak_rss_mb"] = {k: round(v) for k, v in peak.items()}
    print("peak RSS (process tree, MiB): " + ", ".join(f"{k} {v:.0f}" for k, v in peak.items()))
    result["peak_pss_mb"] = {k: round(v) for k, v in peak_pss.items()}
    print(
        "peak PSS (process tree, shared pages divided among their sharers, MiB): "
        + ", ".join(f"{k} {v:.0f}" for k, v in peak_pss.items())
    )
    result["peak_pss_mb_by_role"] = {
        name: {
            role: round(v) if role == "tree" else [round(v), round(role_single[name].get(role, 0.0))]
            for role, v in peaks.items()
        }
        for name, peaks in role_peak.items()
    }
    for name, peaks in role_peak.items():
        print(
            f"peak PSS of {name} by role (sum of the role / largest process, MiB): "
            + ", ".join(
                f"{role} {v:.0f}" + (f"/{role_single[name].get(role, 0.0):.0f}" if role != "tree" else "")
                for role, v in peaks.items()
            )
        )
    result["raw_lag"] = [(round(t), v) for t, v in lag]
    print("raw topic lag (s: records): " + " ".join(f"{t:.0f}:{v}" for t, v in lag))
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    return 0 if len(done) == len(order) else 1


if __name__ == "__main__":
    sys.exit(main())
