"""Ingest at scale: one local server answers as N sites on distinct
loopback addresses (127.0.x.y), each with two list pages and ten reports;
a real monitor on the local Kafka polls them all once, then re-polls a
sample of unchanged sites with and without the re-check policy.

    .venv/bin/python benchmarks/bench_ingest_scale.py [--sites 100 1000] [--delay 0.5] [--workers 64]

Each size runs in a fresh process (its peak RSS is the monitor's memory at
that size, the sites' server being a process of its own). Prints one row
per size and checks the issue's bar: every site polled within one
interval, politeness kept, every report published once, memory at the
largest size within 1.5x of the smallest.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import uuid
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _one(sites: int, delay: float, workers: int, interval: float) -> dict[str, object]:
    from ogi import local
    from ogi.broker import ensure_topics
    from ogi.settings import Settings
    from tests.scale import run_scale

    endpoints = local.up()
    run = uuid.uuid4().hex[:8]
    settings = Settings(
        kafka_bootstrap=endpoints.kafka_bootstrap,
        es_url=endpoints.es_url,
        topic_prefix=f"bench{run}.",
        index_prefix=f"bench{run}-",
    )
    ensure_topics(settings)
    figures = run_scale(settings, sites, delay_s=delay, workers=workers, interval_s=interval)
    return asdict(figures)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sites", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--delay", type=float, default=0.5, help="per-host delay, seconds")
    ap.add_argument("--workers", type=int, default=64, help="sources crawled at once")
    ap.add_argument("--interval", type=float, default=900.0, help="the poll interval every site must fit in")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_one(args.child, args.delay, args.workers, args.interval)))
        return 0
    rows = []
    for sites in args.sites:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                str(sites),
                "--delay",
                str(args.delay),
                "--workers",
                str(args.workers),
                "--interval",
                str(args.interval),
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO,
        )
        if out.returncode != 0:
            print(out.stderr[-4000:], file=sys.stderr)
            return 1
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(
        f"{'sites':>6} {'first round s':>13} {'requests':>8} {'published':>9} {'min gap s':>9} "
        f"{'in flight':>9} {'req/poll before':>15} {'req/poll after':>14} {'max RSS MB':>10}  problems"
    )
    for r in rows:
        print(
            f"{r['sites']:>6} {r['first_round_s']:>13} {r['requests']:>8} {r['published']:>9} {r['min_gap_s']:>9} "
            f"{r['max_in_flight']:>9} {r['requests_per_poll_before']:>15} {r['requests_per_poll_after']:>14} "
            f"{r['max_rss_mb']:>10}  {len(r['problems'])}"
        )
    ok = all(
        not r["problems"]
        and r["published"] == r["distinct_published"] == r["sites"] * 10
        and r["min_gap_s"] >= args.delay
        and r["max_in_flight"] == 1
        for r in rows
    )
    if len(rows) > 1:
        ratio = rows[-1]["max_rss_mb"] / rows[0]["max_rss_mb"]
        print(f"memory at {rows[-1]['sites']} sites / at {rows[0]['sites']}: {ratio:.2f}x (bar: 1.5x)")
        ok = ok and ratio <= 1.5
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
