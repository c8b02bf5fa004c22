"""The main job (`make run` is `ogi run`): every service as its own process,
the sample reports picked up and indexed, a summary of what landed where."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ogi.elastic import index_name
from ogi.pipeline import PIPELINE
from ogi.settings import Settings
from tests.support import REPO, service_env, spawn, terminate

pytestmark = pytest.mark.e2e


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_run_indexes_the_samples_and_ctrl_c_stops_it(settings: Settings, es, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # its own prefixes: `ogi run` creates its topics and indices itself
    run = Settings(
        kafka_bootstrap=settings.kafka_bootstrap,
        es_url=settings.es_url,
        topic_prefix=f"{settings.topic_prefix}run.",
        index_prefix=f"{settings.index_prefix}run-",
    )
    out_path, err_path = tmp_path / "stdout", tmp_path / "stderr"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        # spawn: SIGINT at its default in the child even when this test run ignores it (started in the background)
        child = spawn(
            [sys.executable, "-m", "ogi.cli", "run"],
            env=service_env(run),
            cwd=REPO,
            stdout=out,
            stderr=err,
            text=True,
        )
        try:
            deadline = time.monotonic() + 900
            while "Ctrl-C stops it" not in out_path.read_text() and time.monotonic() < deadline:
                assert child.poll() is None, out_path.read_text()[-3000:] + err_path.read_text()[-5000:]
                time.sleep(1)
            services = _children(child.pid)
            assert len(services) == len(PIPELINE), f"expected one process per service, got {services}"
            child.send_signal(signal.SIGINT)  # what Ctrl-C sends
            assert child.wait(timeout=120) == 0, err_path.read_text()[-5000:]
        finally:
            terminate(child)  # and the services it started, if it failed half-way
    stdout = out_path.read_text()
    time.sleep(1)
    assert [p for p in services if Path(f"/proc/{p}").exists()] == [], "a service outlived Ctrl-C"
    proc = subprocess.CompletedProcess(child.args, 0, stdout, "")

    truth = json.loads((REPO / "data" / "samples" / "truth.json").read_text())["reports"]
    expected = {
        (t["agency"], t["year"]): t["metrics"]["applications.total_handled"]
        for t in truth.values()
        if "applications.total_handled" in t.get("metrics", {})
    }
    assert expected, "the sample truth lists no total_handled"
    for (agency, year), value in expected.items():
        assert f"{agency} {year}: {value:g}" in proc.stdout, proc.stdout

    metrics = index_name("metrics", run)
    es.indices.refresh(index=metrics)
    for (agency, year), value in expected.items():
        hits = es.search(
            index=metrics,
            query={
                "bool": {
                    "filter": [
                        {"term": {"agency": agency}},
                        {"term": {"year": year}},
                        {"term": {"metric": "applications.total_handled"}},
                        {"term": {"applicant": "total"}},
                    ]
                }
            },
        )
        assert [h["_source"]["value"] for h in hits["hits"]["hits"]] == [value]
    assert es.count(index=index_name("reports", run))["count"] == len(truth)
    for line in ("Topics (records):", "Elasticsearch indices (documents):", "curl -s"):
        assert line in proc.stdout

    # what a researcher does next (issue 16): both files hold the seeds' values
    import pandas as pd

    for name in ("x.parquet", "x.csv"):
        fmt = name.rsplit(".", 1)[1]
        done = subprocess.run(
            [sys.executable, "-m", "ogi.cli", "export", "--format", fmt, "-o", str(tmp_path / name)],
            env=service_env(run),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        frame = pd.read_parquet(tmp_path / name) if fmt == "parquet" else pd.read_csv(tmp_path / name)
        handled = frame[(frame.metric == "applications.total_handled") & (frame.applicant == "total")]
        assert {
            (a, int(y)): v for a, y, v in zip(handled.agency, handled.year, handled.value, strict=False)
        } == expected
        assert (tmp_path / f"{name}.README.md").exists()
