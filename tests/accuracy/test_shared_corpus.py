"""Accuracy on real reports: ``../shared/tools/score_extraction.py`` against
every hand-checked truth file under ``../shared/corpus/``, through the same
``ogi extract --json`` command users run.

Nothing may be wrong or invented, every check and every metadata field must
match. A value may be missing only if it is listed in ``UNDECIDABLE`` with
the reason the document itself cannot decide it: there the extractor
leaves the key absent rather than guess, because a wrong number in a
dashboard is worse than a missing one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.accuracy.scoring import SCORER, SHARED, score

TRUTHS = sorted((SHARED / "corpus").glob("**/truth.json"))

#: (file, key) -> why the printed document does not decide the value
UNDECIDABLE: dict[tuple[str, str], str] = {
    ("dev-13.txt", "proactive.normative_documents.in_force"): (
        "the crawled row reads 行政规范性文件6233440 with cell borders lost; the prose fixes issued=62, "
        "leaving 33440 for 废止/现行有效, and 3|3440 and 33|440 both satisfy every identity the report has"
    ),
}


def test_the_shared_corpus_is_there() -> None:
    # The corpus sits beside the repository (as in CI); without it the
    # accuracy tests below would silently test nothing.
    assert SCORER.exists() and TRUTHS, f"expected the shared corpus and scorer under {SHARED}"


@pytest.mark.parametrize("truth", TRUTHS, ids=[t.parent.name for t in TRUTHS])
def test_every_value_exact_nothing_invented(truth: Path) -> None:
    result = score(truth, truth.parent)
    unexplained = [
        p.line for p in result.problems if not (p.kind == "missing" and (p.file, p.subject) in UNDECIDABLE)
    ]
    assert not unexplained, f"{truth.parent.name}: {result.summary}\n" + "\n".join(unexplained)
    assert result.nothing_wrong_or_invented, result.summary
