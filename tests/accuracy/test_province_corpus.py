"""Accuracy on the development corpus of many provinces
(``tests/accuracy/corpus/``): real reports from other provinces, agencies
and publishing systems than the shared corpus, scored with the same scorer
and the same ``ogi extract --json`` command.

Its truth (``truth.json``) holds only the values two independent readers
agreed on (``DISAGREEMENTS.md`` says how the rest was settled). Nothing may
be wrong or invented. A value not read, a check or a metadata field not
matched fails the test unless ``known_misses.json`` lists it with its kind
and the reason, so that today's gaps are written down rather than hidden;
an entry that no longer occurs is reported so the list can shrink.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

from tests.accuracy.scoring import EXCUSABLE_KINDS, score

CORPUS = Path(__file__).resolve().parent / "corpus"
SOURCES = CORPUS / "sources.json"
TRUTH = CORPUS / "truth.json"
KNOWN_MISSES = CORPUS / "known_misses.json"
#: files of the corpus that are not documents
BOOKKEEPING = {SOURCES.name, TRUTH.name, KNOWN_MISSES.name, "DISAGREEMENTS.md"}


def _sources() -> list[dict]:
    return json.loads(SOURCES.read_text(encoding="utf-8"))["documents"]


def _known_misses() -> dict[tuple[str, str], dict]:
    entries = json.loads(KNOWN_MISSES.read_text(encoding="utf-8"))["misses"]
    return {(e["file"], e["key"]): e for e in entries}


def test_every_document_has_its_source_and_is_unchanged() -> None:
    documents = {p.name for p in CORPUS.iterdir() if p.is_file() and p.name not in BOOKKEEPING}
    listed = {s["file"]: s for s in _sources()}
    assert documents == set(listed), (
        f"not in sources.json: {sorted(documents - set(listed))}; listed but absent: {sorted(set(listed) - documents)}"
    )
    for name, source in listed.items():
        # saved exactly as found: the hash recorded when it was fetched must still hold
        digest = hashlib.sha256((CORPUS / name).read_bytes()).hexdigest()
        assert digest == source["sha256"], f"{name} was changed after it was saved"
        assert source["source"].get("url") or source["source"].get("index_id"), (
            f"{name}: no way to find it again"
        )
    provinces = {s["province"] for s in listed.values()}
    assert len(listed) >= 30 and len(provinces) >= 10, (len(listed), sorted(provinces))


def test_known_misses_excuse_only_what_may_be_excused() -> None:
    for (file, key), entry in _known_misses().items():
        assert (CORPUS / file).exists(), f"known miss for a file not in the corpus: {file}"
        assert entry["kind"] in EXCUSABLE_KINDS, f"{file}: {key}: a {entry['kind']} value is never excused"
        assert entry.get("reason", "").strip(), f"{file}: {key}: say why it is missed"


def test_the_truth_is_there() -> None:
    assert TRUTH.exists(), (
        "tests/accuracy/corpus/truth.json is missing: it is made by two independent readers "
        "(tests/accuracy/merge_truth.py keeps what they agree on); see .drafts/corpus-readers.md"
    )
    reports = json.loads(TRUTH.read_text(encoding="utf-8"))["reports"]
    assert set(reports) <= {s["file"] for s in _sources()}, "truth for a document that is not in the corpus"


def test_every_value_exact_nothing_invented_misses_listed() -> None:
    assert TRUTH.exists(), "no truth yet (see test_the_truth_is_there)"
    result = score(TRUTH, CORPUS)
    known = _known_misses()
    unexplained = [
        p.line for p in result.problems if not (p.kind in EXCUSABLE_KINDS and (p.file, p.subject) in known)
    ]
    assert not unexplained, f"{result.summary}\n" + "\n".join(unexplained)
    assert result.nothing_wrong_or_invented, result.summary
    occurring = {(p.file, p.subject) for p in result.problems}
    if stale := sorted(set(known) - occurring):
        warnings.warn(
            f"known misses now read correctly, remove them from known_misses.json: {stale}", stacklevel=1
        )
