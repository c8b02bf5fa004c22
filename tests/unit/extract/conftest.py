from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"


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
