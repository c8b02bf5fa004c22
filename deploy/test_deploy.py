"""``make test-deploy``: build the image and run the compose stack for real.

1. container engine: the running one, or ``dockerd --bridge=none
   --iptables=false`` started here (no bridge: every container uses the
   host's network and talks to 127.0.0.1 only) and stopped at the end;
2. base image from Debian's packages (deploy/base-image.sh, cached), the ogi
   image built on it (build time and size printed);
3. ``docker-compose config`` accepts the production deploy/compose.yaml;
4. the host's local Kafka and Elasticsearch (``ogi servers up``) stand in
   for the official images (deploy/compose.test.yaml); the stack runs every
   ogi service from the image, extract scaled to 2;
5. seed reports fed through the image's ``ogi ingest file``; their
   hand-checked values (data/samples/truth.json) must appear in Elasticsearch;
6. a service container is killed (SIGKILL from outside, as an OOM kill
   would): the engine restarts it and it indexes what arrived meanwhile;
7. every process in every container runs as non-root, every service's
   health check reports healthy;
8. teardown: containers and volumes, the run's topics and indices, the local
   servers and the engine if this run started them.

Topics, indices and consumer groups carry a per-run prefix, so a developer's
``make run`` data on the same servers is neither read nor touched.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from elasticsearch import ApiError, Elasticsearch

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
SAMPLES = REPO / "data" / "samples"
IMAGE = os.environ.get("OGI_TEST_IMAGE", "ogi:test-deploy")
BASE = os.environ.get("OGI_TEST_BASE", "ogi-base:bookworm")
PROJECT = "ogi-deploy-test"
SERVICES = ["extract", "index", "monitor", "detect", "deliver"]
EXTRACT_WORKERS = 2
KILLED = "index"
#: the checks passed so far, for the closing "N passed, N failed" line
checks: list[str] = []


class DeployTestFailed(Exception):
    """A check of the deploy test failed; the message says which and why."""


def _docker() -> str:
    # Debian's client, not another one earlier on PATH: it matches the engine.
    return "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"


DOCKER = _docker()


def say(message: str) -> None:
    print(f"[test-deploy] {message}", flush=True)


def run(
    argv: list[str],
    *,
    env: dict[str, str] | None = None,
    check: bool = True,
    capture: bool = True,
    timeout: float = 1800,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        argv,
        check=False,
        env=env,
        text=True,
        capture_output=capture,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if check and result.returncode != 0:
        tail = (result.stderr or "")[-3000:] + (result.stdout or "")[-2000:]
        raise DeployTestFailed(f"{' '.join(argv[:6])} ... exited {result.returncode}:\n{tail}")
    return result


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, diagnose: Callable[[], str] = lambda: ""
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(1)
    raise DeployTestFailed(f"not within {timeout:.0f}s: {what}\n{diagnose()}")


# ---- engine -----------------------------------------------------------------


def engine_answers() -> bool:
    return run([DOCKER, "info", "--format", "{{.ServerVersion}}"], check=False, timeout=30).returncode == 0


@contextmanager
def engine(log_dir: Path) -> Iterator[None]:
    if engine_answers():
        say("container engine: already running, left running at the end")
        yield
        return
    if os.geteuid() != 0:
        raise DeployTestFailed("no container engine answers and starting dockerd needs root")
    say("container engine: starting dockerd --bridge=none --iptables=false")
    log = (log_dir / "dockerd.log").open("w")
    dockerd = subprocess.Popen(
        [
            shutil.which("dockerd") or "/usr/sbin/dockerd",
            "--bridge=none",
            "--iptables=false",
            "--ip-forward=false",
            "--ip-masq=false",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until(
            lambda: dockerd.poll() is None and engine_answers(),
            120,
            "dockerd answers",
            lambda: (log_dir / "dockerd.log").read_text()[-3000:],
        )
        yield
    finally:
        say("container engine: stopping the dockerd this run started")
        dockerd.terminate()
        try:
            dockerd.wait(120)
        except subprocess.TimeoutExpired:
            dockerd.kill()
            dockerd.wait()
        log.close()


def assert_no_bridge() -> None:
    """No network but host and none exists: nothing can route to private ranges."""
    drivers = run([DOCKER, "network", "ls", "--format", "{{.Name}} {{.Driver}}"]).stdout.split("\n")
    bridges = [line for line in drivers if line.strip() and line.split()[1] not in ("host", "null")]
    if bridges:
        raise DeployTestFailed(f"the engine has networks besides host/none: {bridges}")


# ---- image ------------------------------------------------------------------


def build_image() -> tuple[float, int]:
    run(["bash", str(DEPLOY / "base-image.sh"), BASE], env={**os.environ, "DOCKER": DOCKER}, capture=False)
    revision = run(["git", "-C", str(REPO), "rev-parse", "HEAD"], check=False).stdout.strip() or "unknown"
    say(f"building {IMAGE} on {BASE} (cached layers are reused)")
    started = time.monotonic()
    run(
        [
            DOCKER,
            "build",
            "--network",
            "host",
            "-f",
            str(DEPLOY / "Dockerfile"),
            "--build-arg",
            f"BASE={BASE}",
            "--build-arg",
            f"REVISION={revision}",
            "-t",
            IMAGE,
            str(REPO),
        ],
        capture=False,
    )
    seconds = time.monotonic() - started
    size = int(run([DOCKER, "image", "inspect", "--format", "{{.Size}}", IMAGE]).stdout.strip())
    return seconds, size


# ---- compose ----------------------------------------------------------------


def compose_cmd(*files: str) -> list[str]:
    exe = shutil.which("docker-compose")
    base = [exe] if exe else [DOCKER, "compose"]
    return [
        *base,
        "--project-directory",
        str(DEPLOY),
        *(arg for f in files for arg in ("-f", str(DEPLOY / f))),
    ]


def validate_production_compose() -> None:
    env = {**os.environ, "OGI_ENV_FILE": "ogi.env.example"}
    run([*compose_cmd("compose.yaml"), "config", "--quiet"], env=env)
    say("deploy/compose.yaml: accepted by the compose tool's config check")


class Stack:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.compose = [*compose_cmd("compose.yaml", "compose.test.yaml"), "-p", PROJECT]

    def __call__(self, *args: str, check: bool = True, timeout: float = 900) -> str:
        return run([*self.compose, *args], env=self.env, check=check, timeout=timeout).stdout

    def containers(self, service: str | None = None) -> list[str]:
        return self("ps", "-q", *([service] if service else [])).split()

    def logs(self) -> str:
        return self("logs", "--no-color", "--tail", "40", check=False)[-8000:]


def inspect(container: str) -> dict[str, Any]:
    return json.loads(run([DOCKER, "inspect", container]).stdout)[0]  # type: ignore[no-any-return]


# ---- Elasticsearch checks ------------------------------------------------------


def truth() -> dict[str, Any]:
    return json.loads((SAMPLES / "truth.json").read_text())["reports"]  # type: ignore[no-any-return]


def wrong_values(es: Elasticsearch, metrics_index: str, reports: dict[str, Any]) -> list[str]:
    """Every hand-checked figure of these reports not (yet) in Elasticsearch as stated."""
    with suppress(ApiError):
        es.indices.refresh(index=metrics_index)
    wrong = []
    for name, report in reports.items():
        for metric, expected in report["metrics"].items():
            query = {
                "bool": {
                    "filter": [
                        {"term": {"agency": report["agency"]}},
                        {"term": {"year": report["year"]}},
                        {"term": {"metric": metric}},
                        {"term": {"applicant": "total"}},
                    ]
                }
            }
            try:
                hits = es.search(index=metrics_index, query=query)["hits"]["hits"]
            except ApiError as exc:  # the index not created yet: not there yet
                return [f"{metrics_index}: {exc}"]
            values = [h["_source"]["value"] for h in hits]
            if values != [float(expected)]:
                wrong.append(f"{name} {metric}: expected {expected}, found {values}")
    return wrong


def feed(stack: Stack, files: list[str]) -> None:
    stack(
        "run",
        "--rm",
        "--no-deps",
        "-v",
        f"{SAMPLES}:/samples:ro",
        "setup",
        "ingest",
        "file",
        *[f"/samples/{f}" for f in files],
    )
    say(f"fed {len(files)} seed report(s) through the image's `ogi ingest file`")


def expect_in_es(
    es: Elasticsearch, metrics_index: str, reports: dict[str, Any], stack: Stack, timeout: float
) -> None:
    missing: list[str] = []

    def indexed() -> bool:
        missing[:] = wrong_values(es, metrics_index, reports)
        return not missing

    wait_until(
        indexed,
        timeout,
        f"the values of {sorted(reports)} in {metrics_index}",
        lambda: "\n".join(missing[:20]) + "\n" + stack.logs(),
    )
    say(
        f"{sum(len(r['metrics']) for r in reports.values())} hand-checked values of {len(reports)} "
        f"report(s) found in Elasticsearch"
    )


# ---- container checks ------------------------------------------------------------


def root_processes(containers: list[str]) -> list[str]:
    found = []
    for container in containers:
        rows = run([DOCKER, "top", container, "-eo", "uid,pid,args"]).stdout.splitlines()[1:]
        found += [f"{container[:12]}: {row.strip()}" for row in rows if row.split()[0] == "0"]
    return found


def all_healthy(containers: list[str]) -> bool:
    return all(inspect(c)["State"].get("Health", {}).get("Status") == "healthy" for c in containers)


def kill_and_see_restart(stack: Stack, service: str) -> str:
    [container] = stack.containers(service)
    before = inspect(container)
    os.kill(before["State"]["Pid"], signal.SIGKILL)  # from outside, like the kernel's OOM killer
    say(f"killed {service} ({container[:12]}, pid {before['State']['Pid']}) with SIGKILL")
    wait_until(
        lambda: (
            inspect(container)["RestartCount"] > before["RestartCount"]
            and inspect(container)["State"]["Running"]
        ),
        120,
        f"{service} restarted by its restart policy",
        stack.logs,
    )
    say(f"{service} restarted by the engine (restart count {inspect(container)['RestartCount']})")
    return container


# ---- the run -----------------------------------------------------------------------


def main() -> int:
    from kafka.admin import KafkaAdminClient

    from ogi import local
    from ogi.broker import kafka_client
    from ogi.elastic import make_client
    from ogi.settings import Settings

    started_at = time.monotonic()
    run_id = secrets.token_hex(4)
    topic_prefix, index_prefix = f"deploytest-{run_id}.", f"deploytest-{run_id}-"
    seeds = truth()
    names = sorted(seeds)
    first, later = names[:3], names[3:]
    with tempfile.TemporaryDirectory(prefix="ogi-test-deploy-") as tmp, engine(Path(tmp)):
        assert_no_bridge()
        seconds, size = build_image()
        say(f"image {IMAGE}: {size / 1e6:.0f} MB, built in {seconds:.0f}s")
        checks.append("image built")
        validate_production_compose()
        checks.append("compose config")

        host = Settings()
        servers_were_up = all(s["healthy"] for s in local.status(host).values())
        endpoints = local.up(host)
        say(f"host servers: kafka {endpoints.kafka_bootstrap}, elasticsearch {endpoints.es_url}")
        env_file = Path(tmp) / "ogi.env"
        env_file.write_text(
            "".join(
                f"{k}={v}\n"
                for k, v in {
                    "OGI_TOPIC_PREFIX": topic_prefix,
                    "OGI_INDEX_PREFIX": index_prefix,
                    "OGI_FAUST_APP_ID": f"{topic_prefix}extract",
                    "OGI_INDEX_GROUP": f"{topic_prefix}index",
                    "OGI_DETECT_APP_ID": f"{topic_prefix}detect",
                    "OGI_DELIVER_GROUP": f"{topic_prefix}deliver",
                }.items()
            )
        )
        stack = Stack(
            {
                **os.environ,
                "OGI_IMAGE": IMAGE,
                "OGI_ENV_FILE": str(env_file),
                "DEPLOY_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
                "DEPLOY_ES_URL": endpoints.es_url,
            }
        )
        es = make_client(Settings(es_url=endpoints.es_url), request_timeout=30)
        metrics_index = f"{index_prefix}metrics"
        try:
            stack("down", "-v", "--remove-orphans", check=False)  # a previous run's leftovers
            stack("up", "-d", "--no-build", "--scale", f"extract={EXTRACT_WORKERS}", *SERVICES)
            assert_no_bridge()
            running = {s: stack.containers(s) for s in SERVICES}
            if len(running["extract"]) != EXTRACT_WORKERS or not all(running.values()):
                raise DeployTestFailed(f"containers per service: {running}\n{stack.logs()}")
            say(f"stack up: {', '.join(f'{s}x{len(c)}' for s, c in running.items())} (+ setup job done)")
            checks.append("stack up")

            feed(stack, first)
            expect_in_es(es, metrics_index, {n: seeds[n] for n in first}, stack, timeout=300)
            checks.append("seed values in Elasticsearch")

            kill_and_see_restart(stack, KILLED)
            feed(stack, later)
            expect_in_es(es, metrics_index, {n: seeds[n] for n in later}, stack, timeout=300)
            say(f"{KILLED} caught up after its restart")
            checks.append("restart and catch-up")

            containers = [c for c in stack.containers() if inspect(c)["State"]["Running"]]
            if found := root_processes(containers):
                raise DeployTestFailed("processes running as root:\n" + "\n".join(found))
            say(f"every process of {len(containers)} containers runs as non-root")
            checks.append("non-root")

            service_containers = [c for s in SERVICES for c in stack.containers(s)]
            wait_until(
                lambda: all_healthy(service_containers),
                180,
                "every service container healthy",
                lambda: "\n".join(
                    f"{c[:12]} {inspect(c)['State'].get('Health')}" for c in service_containers
                ),
            )
            say("every service container's health check: healthy")
            checks.append("health checks")
        finally:
            stack("down", "-v", "--remove-orphans", "--timeout", "30", check=False)
            with suppress(Exception):
                es.indices.delete(index=f"{index_prefix}*", expand_wildcards="all")
            with suppress(Exception):
                admin = kafka_client(KafkaAdminClient, Settings(kafka_bootstrap=endpoints.kafka_bootstrap))
                admin.delete_topics([t for t in admin.list_topics() if t.startswith(topic_prefix)])
                admin.close()
            if not servers_were_up:
                local.down(host)
            say(
                "torn down: stack, volumes, this run's topics and indices"
                + ("" if servers_were_up else ", the local servers it started")
            )
    say(
        f"image size {size / 1e6:.0f} MB, build time {seconds:.0f}s, whole run {time.monotonic() - started_at:.0f}s"
    )
    print(f"{len(checks)} passed, 0 failed", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except DeployTestFailed as exc:
        say(f"FAILED: {exc}")
        print(f"{len(checks)} passed, 1 failed", flush=True)
        sys.exit(1)
