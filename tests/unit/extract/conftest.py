from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

_REPO = Path(__file__).resolve().parents[3]
# the corpus sits beside the repository (../shared), or beside the folder of worktrees
CORPUS = next(
    (p / "shared" / "corpus" for p in _REPO.parents if (p / "shared" / "corpus").is_dir()),
    _REPO.parent / "shared" / "corpus",
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
