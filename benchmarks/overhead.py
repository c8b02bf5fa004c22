"""Where a text report's time goes in the extract worker, outside Kafka:
decoding the envelope, a fresh bounded child vs a pooled one, extraction
itself, building and serialising the metric events.

    .venv/bin/python benchmarks/overhead.py [--n 50]

Prints the median wall time of each step (and CPU time where it differs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "unit" / "extract"))

import reportgen

from ogi.settings import Settings
from schemas import RawReport
from services.extract.engine import extract, extract_bounded
from services.extract.engine.bounded import ExtractorPool
from services.extract.events import to_metric_events
from services.extract.handler import decode_raw, handle_raw


def _time(label: str, n: int, fn: Callable[[], object]) -> None:
    walls, cpus = [], []
    for _ in range(n):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    print(
        f"{label:<52} wall {statistics.median(walls) * 1000:8.2f} ms   cpu {statistics.median(cpus) * 1000:8.2f} ms"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=50)
    args = ap.parse_args()
    data = reportgen.flattened_text().encode()
    raw = RawReport.from_bytes(data, agency_id="a", source_url="file:///a.txt", filename="a.txt")
    value = raw.model_dump_json().encode()
    settings = Settings()
    report = extract(data, filename="a.txt")
    events = to_metric_events(report)
    print(
        f"a generated text report: {len(data)} bytes, {len(report.metrics)} metrics, {len(events)} metric events"
    )
    _time("decode the raw envelope", args.n, lambda: decode_raw(value))
    _time("extract in this process", args.n, lambda: extract(data, filename="a.txt"))
    _time(
        "extract in a fresh bounded child (fork per document)",
        args.n,
        lambda: extract_bounded(data, filename="a.txt"),
    )
    pool = ExtractorPool(1)
    pool.start()
    try:
        _time("extract in a pooled bounded child", args.n, lambda: pool.extract(data, filename="a.txt"))
        _time(
            "handle_raw with the pool (decode, extract, events)",
            args.n,
            lambda: handle_raw(value, settings, pool),
        )
    finally:
        pool.close()
    _time("build the metric events", args.n, lambda: to_metric_events(report))
    _time("serialise the report", args.n, lambda: report.model_dump_json().encode())
    _time(
        f"serialise {len(events)} metric events",
        args.n,
        lambda: [e.model_dump_json().encode() for e in events],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
