from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

# beside the checkout or, from a worktree under /work/wt/<name>, one level up (as the accuracy tests find it)
CORPUS = next(
    (
        d / "shared" / "corpus"
        for d in (
            Path(__file__).resolve().parents[3].parent,
            Path(__file__).resolve().parents[3].parent.parent,
        )
        if (d / "shared" / "corpus").is_dir()
    ),
    Path(__file__).resolve().parents[3].parent / "shared" / "corpus",
)


def text_doc(s: str):  # type: ignore[no-untyped-def]
    """A linearised Document from plain text."""
    from services.extract.engine.document import linearise
    from services.extract.engine.readers import text

    return linearise(text.read_str(s))


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.exists():
        pytest.skip("shared corpus not present")
    return CORPUS
