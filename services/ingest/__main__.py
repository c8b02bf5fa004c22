"""``python -m services.ingest``: the site monitor (same as ``ogi serve monitor``)."""

from ogi.log import configure
from services.ingest.monitor import run_monitor

configure()
run_monitor()
