"""The whole pipeline against the hand-checked corpus truth (shared/corpus):
no wrong value, nothing invented, metadata right. A value may be missing only
when the document itself cannot decide it (listed, with the reason)."""

from __future__ import annotations

import fnmatch
import json

import pytest

from services.extract.engine import extract

UNDECIDABLE = {
    # "行政规范性文件6233440": issued 62 is stated in the text; 3|3440 and 33|440
    # both remain for repealed|in force, and no identity relates them
    ("dev-13.txt", "proactive.normative_documents.in_force"),
}


def cases(corpus):  # type: ignore[no-untyped-def]
    for folder in ("seeds", "dev"):
        truth = json.loads((corpus / folder / "truth.json").read_text(encoding="utf-8"))["reports"]
        for name, want in truth.items():
            yield corpus / folder / name, want


def test_corpus_truth(corpus) -> None:  # type: ignore[no-untyped-def]
    problems = []
    for path, want in cases(corpus):
        r = extract(path.read_bytes(), filename=path.name)
        for field in ("year", "template"):
            if field in want:
                got = r.template.value if field == "template" else r.year
                if got != want[field]:
                    problems.append(f"{path.name}: {field} {got!r} != {want[field]!r}")
        if "agency" in want and r.agency not in {want["agency"], *want.get("agency_aliases", [])}:
            problems.append(f"{path.name}: agency {r.agency!r}")
        if "script" in want and (r.script.value if r.script else None) != want["script"]:
            problems.append(f"{path.name}: script {r.script!r}")
        for key, value in want.get("metrics", {}).items():
            if key not in r.metrics:
                if (path.name, key) not in UNDECIDABLE:
                    problems.append(f"{path.name}: {key} missing")
            elif abs(r.metrics[key] - value) > 1e-6:
                problems.append(f"{path.name}: {key} = {r.metrics[key]} (want {value})")
        for key, cols in want.get("breakdown", {}).items():
            for col, value in cols.items():
                if r.breakdown.get(key, {}).get(col) != value:
                    problems.append(f"{path.name}: {key}[{col}] = {r.breakdown.get(key, {}).get(col)}")
        for pattern in want.get("absent", []):
            problems += [f"{path.name}: {k} invented" for k in r.metrics if fnmatch.fnmatch(k, pattern)]
        for check, value in want.get("checks", {}).items():
            if r.checks.get(check) is not value:
                problems.append(f"{path.name}: check {check} = {r.checks.get(check)!r}")
    assert not problems, "\n".join(problems)


def test_undecidable_values_are_absent_not_guessed(corpus) -> None:  # type: ignore[no-untyped-def]
    for name, key in UNDECIDABLE:
        r = extract((corpus / "dev" / name).read_bytes(), filename=name)
        assert key not in r.metrics
        assert any(key.rsplit(".", 1)[0] in w for w in r.warnings)


@pytest.mark.parametrize("folder", ["seeds", "dev"])
def test_every_metric_has_provenance(corpus, folder) -> None:  # type: ignore[no-untyped-def]
    for path in sorted((corpus / folder).iterdir()):
        if path.name == "truth.json":
            continue
        r = extract(path.read_bytes(), filename=path.name)
        assert set(r.provenance) >= set(r.metrics), path.name
