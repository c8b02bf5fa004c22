"""The image's health check (deploy/Dockerfile ``HEALTHCHECK``).

``process``: an ``ogi serve`` process is running and not a zombie or
stopped; what can be checked before the services have a health endpoint.
``http PORT``: GET ``/healthz`` on the service's metrics port answers 2xx
(``OGI_METRICS_PORT`` plus the service's offset: extract +0, index +1,
monitor +2, detect +3, deliver +4; see ``ogi/telemetry.py``).

Standard library only: it runs in the image, beside the service, every 30 s.
"""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path


def _serving_process_alive() -> bool:
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue  # gone while we looked
        if b"serve" in argv and any(a.endswith(b"/bin/ogi") for a in argv) and state not in ("Z", "T", "X"):
            return True
    return False


def _healthz_answers(port: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return 200 <= response.status < 300
    except OSError:
        return False


def main(argv: list[str]) -> int:
    mode = argv[1] if len(argv) > 1 else "process"
    healthy = _healthz_answers(argv[2]) if mode == "http" else _serving_process_alive()
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
