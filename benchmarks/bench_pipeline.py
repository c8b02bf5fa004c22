"""End-to-end benchmark: latency from publication on the raw topic to the
report being searchable in Elasticsearch, throughput, and the services'
memory, on the real local servers.

    .venv/bin/python benchmarks/bench_pipeline.py [--reports 200] [--workers 1]

Each report is a sample report with a unique line appended, so every one is
a distinct document. Uses its own topic and index prefix; starts the extract
worker(s) and the indexer as separate processes, like `make run`.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ogi import local  # noqa: E402
from ogi.broker import ensure_topics, make_producer, publish  # noqa: E402
from ogi.settings import Settings  # noqa: E402
from ogi.topics import RAW  # noqa: E402
from schemas import RawReport  # noqa: E402
from ogi.elastic import index_name, install_templates, make_client, wait_for_store  # noqa: E402
from tests.support import Service  # noqa: E402


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MiB."""
    total = 0
    pids = [pid]
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        pids += [int(p) for p in out.split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", type=int, default=200)
    ap.add_argument("--workers", type=int, default=1, help="extract worker processes")
    args = ap.parse_args()

    endpoints = local.up()
    run = uuid.uuid4().hex[:6]
    settings = Settings(kafka_bootstrap=endpoints.kafka_bootstrap, es_url=endpoints.es_url,
                        topic_prefix=f"bench{run}.", index_prefix=f"bench{run}-")
    ensure_topics(settings)
    es = make_client(settings)
    wait_for_store(es)
    install_templates(es, settings)

    samples = sorted((REPO / "data" / "samples").glob("*.txt"))
    docs = []
    for i in range(args.reports):
        base = samples[i % len(samples)].read_bytes()
        docs.append(RawReport.from_bytes(base + f"\n（基准测试 {run}-{i}）".encode(), agency_id=f"bench-{i % 50}",
                                         source_url=f"file:///bench/{i}.txt", filename=f"{i}.txt"))

    logs = Path(tempfile.mkdtemp(prefix="ogi-bench-"))
    services = [Service("extract", settings, logs) for _ in range(args.workers)] + [Service("index", settings, logs)]
    try:
        time.sleep(8)  # let the consumers join their groups before the clock starts
        producer = make_producer(settings)
        sent_at: dict[str, float] = {}
        start = time.monotonic()
        for raw in docs:
            publish(producer, RAW, raw, settings)
            sent_at[raw.report_id] = time.monotonic()
        producer.flush()
        seen: dict[str, float] = {}
        index = index_name("reports", settings)
        peak = {s.name + str(i): 0.0 for i, s in enumerate(services)}
        while len(seen) < len(docs) and time.monotonic() - start < 1800:
            resp = es.search(index=index, query={"bool": {"must_not": {"ids": {"values": list(seen)}}}},
                             size=1000, source=False)
            now = time.monotonic()
            for hit in resp["hits"]["hits"]:
                if hit["_id"] in sent_at:
                    seen.setdefault(hit["_id"], now)
            for i, s in enumerate(services):
                peak[s.name + str(i)] = max(peak[s.name + str(i)], rss_mb(s.proc.pid))
            time.sleep(0.2)
        elapsed = time.monotonic() - start
    finally:
        for s in services:
            s.stop()

    latencies = sorted(seen[k] - sent_at[k] for k in seen)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}")
    print(f"reports: {len(seen)}/{len(docs)} indexed in {elapsed:.1f}s "
          f"({len(seen) / elapsed:.1f} reports/s with {args.workers} extract worker(s))")
    if latencies:
        q = statistics.quantiles(latencies, n=20) if len(latencies) >= 20 else latencies
        print(f"latency publish->searchable: min {latencies[0]:.2f}s  median {statistics.median(latencies):.2f}s  "
              f"p95 {q[-1]:.2f}s  max {latencies[-1]:.2f}s")
    for name, mb in peak.items():
        print(f"peak RSS {name}: {mb:.0f} MiB")
    return 0 if len(seen) == len(docs) else 1


if __name__ == "__main__":
    sys.exit(main())
