"""``ogi run`` / ``make run``: the whole pipeline on one machine.

Starts (or reuses) the local Kafka and Elasticsearch, creates topics and
index templates, starts every service as its own process, feeds the sample
reports, waits until they are indexed, prints what landed where, and keeps
the services running until Ctrl-C.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import structlog

from ogi.settings import Settings, get_settings

log = structlog.get_logger("ogi.run")

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "data" / "samples"

PR_SET_PDEATHSIG = 1  # linux/prctl.h

#: services started by ``ogi run``, in start order (names of ``ogi serve``)
PIPELINE = ("extract", "index", "detect", "deliver", "monitor")


def _stop_with_parent() -> None:
    # In the child before exec: SIGTERM it when `ogi run` dies, even by
    # SIGKILL, so a service never outlives the run that started it (it is in
    # its own session, out of reach of a signal to the run's process group).
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_service(name: str, log_dir: Path) -> subprocess.Popen[bytes]:
    log_dir.mkdir(parents=True, exist_ok=True)
    out = open(log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "ogi.cli", "serve", name],
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=REPO,
        start_new_session=True,
        preexec_fn=_stop_with_parent,
    )


def stop_services(procs: dict[str, subprocess.Popen[bytes]], timeout: float = 30) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for name, proc in procs.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("killing", service=name)
            proc.kill()
            proc.wait()


def sample_files() -> list[Path]:
    return sorted(p for p in SAMPLES.iterdir() if p.suffix in {".txt", ".html", ".pdf", ".docx", ".doc"})


def feed_samples(settings: Settings) -> list[str]:
    """Serve the sample reports on the local sample site (a gov-like column
    on 127.0.0.1, see services/ingest/sample_site.py); the monitor started
    with PIPELINE finds them through the registry's ``sample-site`` source
    and publishes them. Returns their report ids (the site serves each file
    byte for byte, so the id is the file's sha256 prefix). The site lives as
    long as this process."""
    # by name: ogi/ never imports a service (the sample site is the ingest
    # service's test double, this demo its one user outside the tests)
    start_sample_site = importlib.import_module("services.ingest.sample_site").start_sample_site
    return list(start_sample_site(sample_files(), settings).report_ids)


def wait_indexed(report_ids: list[str], settings: Settings, timeout_s: float = 600) -> None:
    from ogi.elastic import index_name, make_client

    es = make_client(settings)
    index = index_name("reports", settings)
    deadline = time.monotonic() + timeout_s
    while True:
        es.indices.refresh(index=index)
        found = es.count(index=index, query={"ids": {"values": report_ids}})["count"]
        if found >= len(report_ids):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"only {found} of {len(report_ids)} sample reports indexed after {timeout_s:.0f}s"
            )
        time.sleep(1)


def summary(settings: Settings) -> str:
    from kafka import TopicPartition

    from ogi.broker import make_reader
    from ogi.elastic import INDICES, index_name, make_client
    from ogi.topics import TOPICS

    lines = ["", "Topics (records):"]
    consumer = make_reader(settings, client_id="ogi-summary")
    try:
        for spec in TOPICS.values():
            name = spec.name(settings)
            parts = consumer.partitions_for_topic(name) or set()
            tps = [TopicPartition(name, p) for p in parts]
            ends = consumer.end_offsets(tps) if tps else {}
            starts = consumer.beginning_offsets(tps) if tps else {}
            lines.append(f"  {name:32} {sum(ends.values()) - sum(starts.values())}")
    finally:
        consumer.close()
    es = make_client(settings)
    lines += ["", "Elasticsearch indices (documents):"]
    for kind in INDICES:
        name = index_name(kind, settings)
        es.indices.refresh(index=name)
        lines.append(f"  {name:32} {es.count(index=name)['count']}")
    example = {
        "bool": {
            "must": [{"term": {"metric": "applications.total_handled"}}, {"term": {"applicant": "total"}}]
        }
    }
    body = json.dumps({"query": example, "sort": [{"agency": "asc"}, {"year": "asc"}]}, ensure_ascii=False)
    lines += [
        "",
        "Example query: applications.total_handled per agency-year",
        f"  curl -s '{settings.es_url}/{index_name('metrics', settings)}/_search?pretty' "
        f"-H 'content-type: application/json' -d '{body}'",
    ]
    hits = es.search(
        index=index_name("metrics", settings),
        query=example,
        size=20,
        sort=[{"agency": "asc"}, {"year": "asc"}],
    )["hits"]["hits"]
    for h in hits:
        s = h["_source"]
        lines.append(f"  {s['agency']} {s['year']}: {s['value']:g}")
    lines += ["", f"Kibana saved objects: {REPO / 'deploy' / 'kibana'}"]
    return "\n".join(lines)


def run_pipeline(*, keep_running: bool = True) -> int:
    """Run until Ctrl-C (or SIGTERM); then stop the services, and the servers
    too if this run started them (servers started by `make up` stay up)."""
    from ogi import local
    from ogi.commands import setup
    from ogi.log import configure

    configure()

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    # explicitly: started from a background job, SIGINT would be ignored by inheritance
    signal.signal(signal.SIGINT, _terminate)
    started_servers = not all(s["healthy"] for s in local.status().values())
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        endpoints = local.up()
        log.info("servers up", kafka=endpoints.kafka_bootstrap, elasticsearch=endpoints.es_url)
        get_settings.cache_clear()
        settings = get_settings()
        log.info("setup", **setup())
        log_dir = settings.home / "run" / "logs"
        # the demo polls only its own sample site (no traffic to real agency
        # sites); OGI_INGEST_ONLY="" polls the whole registry
        os.environ.setdefault("OGI_INGEST_ONLY", "sample-site")
        procs.update({name: start_service(name, log_dir) for name in PIPELINE})
        log.info("services started", services=list(procs), logs=str(log_dir))
        if settings.metrics_port:
            from ogi.telemetry import SERVICE_PORT_OFFSETS

            log.info(
                "metrics",
                **{
                    name: f"http://{settings.metrics_host}:{settings.metrics_port + off}/metrics"
                    for name, off in SERVICE_PORT_OFFSETS.items()
                },
            )
        report_ids = feed_samples(settings)
        wait_indexed(report_ids, settings)
        print(summary(settings), flush=True)
        if keep_running:
            print("\nThe pipeline is running; Ctrl-C stops it.", flush=True)
            while True:
                for name, proc in procs.items():
                    if proc.poll() is not None:
                        log.error("service exited, restarting", service=name, code=proc.returncode)
                        procs[name] = start_service(name, log_dir)
                time.sleep(1)
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        stop_services(procs)
        if started_servers and keep_running:
            local.down()
            log.info("servers stopped")
    return 0
