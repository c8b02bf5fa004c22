"""Where the extract worker's memory is: per-process PSS and RSS of the
``ogi serve extract`` process tree, sampled every few seconds, by role.

    .venv/bin/python benchmarks/memory_roles.py [--pid PID] [--every 2] [--out samples.jsonl]
    .venv/bin/python benchmarks/memory_roles.py --read samples.jsonl

Without ``--pid`` it waits for an ``ogi serve extract`` process (the one
``bench_pipeline.py`` starts) and samples it until it ends or Ctrl-C, then
prints each role's peak and its value at each tenth of the run, which is
what tells a level from a slope. Roles: ``worker`` (the Faust process),
``forkserver`` (multiprocessing's, the pool children's parent), ``child``
(a pool child), ``soffice`` (a resident LibreOffice, ``soffice.bin``) and
``other`` (sandbox wrappers, the UNO client, a per-document converter).

PSS (``/proc/PID/smaps_rollup``) divides each shared page among the
processes that map it: the pool children share their forkserver's pages,
which a sum of RSS counts once per child. ``bench_pipeline.py`` imports
:func:`sample` for its per-role peaks.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

ROLES = ("worker", "forkserver", "child", "soffice", "other")


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = collections.defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            out[int(stat[stat.rfind(")") + 2 :].split()[1])].append(int(entry.name))
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def roles(root: int) -> dict[int, str]:
    """Each process of ``root``'s tree and its role."""
    children = _children()
    out = {root: "worker"}
    todo = [(c, "worker") for c in children[root]]
    while todo:
        pid, parent_role = todo.pop()
        if parent_role == "worker" and "forkserver" in _cmdline(pid):
            role = "forkserver"
        elif parent_role == "forkserver":
            role = "child"
        elif _comm(pid) == "soffice.bin":
            role = "soffice"
        else:
            role = "other"
        out[pid] = role
        todo += [(c, role) for c in children[pid]]
    return out


def _kb(path: str, key: str) -> int | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def sample(root: int) -> list[dict[str, object]]:
    """One reading: a row per live process of the tree (pid, role, PSS and
    RSS in KiB)."""
    rows: list[dict[str, object]] = []
    for pid, role in roles(root).items():
        pss = _kb(f"/proc/{pid}/smaps_rollup", "Pss:")
        rss = _kb(f"/proc/{pid}/status", "VmRSS:")
        if pss is None or rss is None:
            continue  # ended meanwhile, or a kernel thread
        rows.append({"pid": pid, "role": role, "pss_kb": pss, "rss_kb": rss})
    return rows


def by_role(rows: list[dict[str, object]], key: str = "pss_kb") -> dict[str, int]:
    """KiB summed per role, and the tree's total under ``"tree"``."""
    out = dict.fromkeys(ROLES, 0)
    for r in rows:
        out[str(r["role"])] += int(r[key])  # type: ignore[call-overload]
    out["tree"] = sum(out[role] for role in ROLES)
    return out


REPO = Path(__file__).resolve().parent.parent


def _find_worker() -> int | None:
    """An ``ogi serve extract`` of this checkout (others' workers, from
    another checkout on the same machine, have another working directory)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and "ogi.cli serve extract" in _cmdline(int(entry.name)):
            try:
                if (entry / "cwd").resolve() == REPO:
                    return int(entry.name)
            except OSError:
                continue
    return None


def summary(samples: list[tuple[float, list[dict[str, object]]]]) -> str:
    """Peaks per role (sum over the role's processes, and the largest single
    one) and the course of the PSS over the run in tenths."""
    lines = []
    for key in ("pss_kb", "rss_kb"):
        peak = dict.fromkeys((*ROLES, "tree"), 0)
        single = dict.fromkeys(ROLES, 0)
        for _, rows in samples:
            for role, kb in by_role(rows, key).items():
                peak[role] = max(peak[role], kb)
            for r in rows:
                single[str(r["role"])] = max(single[str(r["role"])], int(r[key]))  # type: ignore[call-overload]
        name = key[:3].upper()
        lines.append(
            f"peak {name} MiB (role sum / largest process): "
            + ", ".join(f"{role} {peak[role] / 1024:.0f}/{single[role] / 1024:.0f}" for role in ROLES)
            + f", tree {peak['tree'] / 1024:.0f}"
        )
    lines.append("PSS MiB by tenth of the run (max within each tenth):")
    lines.append("  t(s)  " + " ".join(f"{r:>10}" for r in (*ROLES, "tree")))
    if samples:
        t0, t1 = samples[0][0], samples[-1][0]
        span = max(t1 - t0, 1e-9)
        tenths: dict[int, dict[str, int]] = {}
        for t, rows in samples:
            k = min(9, int(10 * (t - t0) / span))
            cur = tenths.setdefault(k, dict.fromkeys((*ROLES, "tree"), 0))
            for role, kb in by_role(rows).items():
                cur[role] = max(cur[role], kb)
        for k in sorted(tenths):
            lines.append(
                f"  {k * span / 10:5.0f} "
                + " ".join(f"{tenths[k][r] / 1024:10.0f}" for r in (*ROLES, "tree"))
            )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pid", type=int, help="the extract worker (default: wait for `ogi serve extract`)")
    ap.add_argument("--every", type=float, default=2.0, help="seconds between samples (default 2)")
    ap.add_argument("--out", type=Path, help="write every sample here as JSON lines")
    ap.add_argument("--wait", type=float, default=600, help="seconds to wait for the worker to appear")
    ap.add_argument("--read", type=Path, help="summarise samples written earlier with --out, and stop")
    args = ap.parse_args()
    if args.read:
        with args.read.open() as f:
            print(summary([(rec["t"], rec["rows"]) for rec in map(json.loads, f)]))
        return 0
    pid = args.pid
    deadline = time.monotonic() + args.wait
    while pid is None and time.monotonic() < deadline:
        pid = _find_worker()
        if pid is None:
            time.sleep(1)
    if pid is None:
        print("no `ogi serve extract` process appeared", file=sys.stderr)
        return 1
    out = args.out.open("w") if args.out else None
    samples: list[tuple[float, list[dict[str, object]]]] = []
    t0 = time.monotonic()
    try:
        while Path(f"/proc/{pid}").exists():
            rows = sample(pid)
            t = time.monotonic() - t0
            samples.append((t, rows))
            if out:
                out.write(json.dumps({"t": round(t, 1), "rows": rows}) + "\n")
                out.flush()
            time.sleep(args.every)
    except KeyboardInterrupt:
        pass
    finally:
        if out:
            out.close()
    print(summary(samples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
