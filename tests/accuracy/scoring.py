"""Run ``../shared/tools/score_extraction.py`` on one truth file through the
same ``ogi extract --json`` command users run, and read its problem lines
back as typed :class:`Problem` records, so that every accuracy test judges
the scorer's output the same way.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# ../shared beside the checkout (CI, /work/main); a worktree under /work/wt/<name> sits one level deeper
SHARED = next(
    (d / "shared" for d in (REPO.parent, REPO.parent.parent) if (d / "shared").is_dir()),
    REPO.parent / "shared",
)
SCORER = SHARED / "tools" / "score_extraction.py"
EXTRACT_CMD = f"{sys.executable} -m ogi.cli extract --json"

#: problem kinds a known-misses list may excuse: a value not read, a check or
#: a metadata field not matched. A wrong or invented value is never excused.
EXCUSABLE_KINDS = frozenset({"missing", "check", "meta", "no-output"})

_LINE = [
    ("missing", re.compile(r"^(?P<file>[^:]+): (?P<subject>\S+) missing \(want .*\)$")),
    ("invented", re.compile(r"^(?P<file>[^:]+): (?P<subject>\S+) = .* invented \(the report states none\)$")),
    ("check", re.compile(r"^(?P<file>[^:]+): (?P<subject>check \S+) = .* \(want .*\)$")),
    ("meta", re.compile(r"^(?P<file>[^:]+): (?P<subject>agency|year|template) = .* \(want .*\)$")),
    ("wrong", re.compile(r"^(?P<file>[^:]+): (?P<subject>\S+) = .* \(want .*\)$")),
    ("no-output", re.compile(r"^(?P<file>[^:]+): (?P<subject>no output)$")),
]


@dataclass(frozen=True)
class Problem:
    """One problem line of the scorer: which file, which key (or ``check X``,
    ``agency``/``year``/``template``, ``no output``) and of what kind."""

    file: str
    subject: str
    kind: str
    line: str


def parse_problem(line: str) -> Problem:
    for kind, pattern in _LINE:
        m = pattern.match(line)
        if m:
            return Problem(m["file"], m["subject"], kind, line)
    return Problem("", "", "unknown", line)


@dataclass(frozen=True)
class Score:
    summary: str
    problems: list[Problem]

    @property
    def nothing_wrong_or_invented(self) -> bool:
        return " wrong 0 " in self.summary and " invented 0 " in self.summary


def score(truth: Path, documents: Path, timeout: int = 900) -> Score:
    """Score the extractor on every report ``truth`` lists (files under ``documents``)."""
    proc = subprocess.run(
        [
            sys.executable,
            str(SCORER),
            "--truth",
            str(truth),
            "--dir",
            str(documents),
            "--cmd",
            EXTRACT_CMD,
            "--verbose",
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )
    # 0: perfect, 1: problems listed; anything else means the command did not run
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    return Score(lines[-1], [parse_problem(line) for line in lines[:-1]])
