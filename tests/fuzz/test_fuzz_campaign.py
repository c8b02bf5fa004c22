"""A small fuzz campaign in CI (``make fuzz`` runs the full one): every
format, mutated, through the worker's bounded extraction; the bar is the
campaign's own (0 untyped crashes, every document within the limits, no
orphan processes, no temporary files left)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent))  # the campaign is a script, not a package
import campaign


@pytest.mark.timeout(300)
def test_a_small_campaign_meets_the_bar() -> None:
    # A tighter time limit than the worker's, so a document whose cost grows
    # out of proportion (a quadratic pattern) shows up as over the limit.
    # a process this test session started before (as the e2e tests start the servers) is no orphan
    earlier = subprocess.Popen(["sleep", "300"])
    try:
        summary = campaign.run(36, seed=8, doc_every=18, timeout_s=20, progress_every=0, out=io.StringIO())
    finally:
        earlier.kill()
        earlier.wait()
    out = io.StringIO()
    campaign.report(summary, out)
    assert summary["documents"] == 36
    assert set(summary["by_format"]) >= {"text", "html", "docx", "pdf"}  # type: ignore[arg-type]
    assert summary["bar_met"], out.getvalue()
