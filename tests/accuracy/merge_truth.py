"""Merge the truth of two independent readers into one truth file.

Each reader writes, from the document alone, one JSON file per document
(``<dir>/<document id>.json``) holding that document's entry of a truth
file: ``agency``, ``agency_aliases``, ``year``, ``template``, ``script``,
``metrics``, ``breakdown``, ``checks``, ``absent``, ``source_note``.

A value is kept only where both readers wrote the same one. Every other
value is a disagreement: it is left out unless a settlement (the lead's
reading of the document, ``--settled``) decides it, where ``null`` means
"leave it out". The disagreements and how each was settled are written as
Markdown for ``DISAGREEMENTS.md``.

    python -m tests.accuracy.merge_truth --a /work/corpus-truth/a --b /work/corpus-truth/b \\
        --corpus tests/accuracy/corpus [--settled settled.json]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCALARS = ("agency", "year", "template", "script")
_ABSENT = object()


@dataclass(frozen=True)
class Disagreement:
    file: str
    path: str  # "metrics.<key>", "breakdown.<key>.<column>", "checks.<name>", "agency", "absent", ...
    a: Any
    b: Any


def _flatten(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry as path -> value, so both readers compare value by value."""
    # an empty agency is a reader's "the document never names it": nothing to score
    flat: dict[str, Any] = {f: entry[f] for f in SCALARS if f in entry and entry[f] != ""}
    for key, value in entry.get("metrics", {}).items():
        flat[f"metrics.{key}"] = value
    for key, columns in entry.get("breakdown", {}).items():
        for column, value in columns.items():
            flat[f"breakdown.{key}.{column}"] = value
    for name, value in entry.get("checks", {}).items():
        flat[f"checks.{name}"] = value
    for pattern in entry.get("absent", []):
        flat[f"absent.{pattern}"] = True
    for alias in entry.get("agency_aliases", []):
        flat[f"agency_aliases.{alias}"] = True
    return flat


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) < 1e-9
    return bool(a == b)


def _unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    for path, value in flat.items():
        head, _, rest = path.partition(".")
        if head in SCALARS:
            entry[head] = value
        elif head in ("metrics", "checks"):
            entry.setdefault(head, {})[rest] = value
        elif head == "breakdown":
            key, _, column = rest.rpartition(".")
            entry.setdefault(head, {}).setdefault(key, {})[column] = value
        elif head in ("absent", "agency_aliases"):
            entry.setdefault(head, []).append(rest)
    return entry


def merge_entry(
    file: str, a: dict[str, Any], b: dict[str, Any], settled: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[Disagreement]]:
    """The agreed entry for one document, and where the readers disagreed."""
    fa, fb = _flatten(a), _flatten(b)
    kept: dict[str, Any] = {}
    disagreements: list[Disagreement] = []
    for path in sorted(set(fa) | set(fb)):
        va, vb = fa.get(path, _ABSENT), fb.get(path, _ABSENT)
        if va is not _ABSENT and vb is not _ABSENT and _same(va, vb):
            kept[path] = va
        else:
            disagreements.append(
                Disagreement(file, path, None if va is _ABSENT else va, None if vb is _ABSENT else vb)
            )
    for path, value in (settled or {}).items():
        if value is None:
            kept.pop(path, None)
        else:
            kept[path] = value
    merged = _unflatten(kept)
    notes = [n for n in (a.get("source_note"), b.get("source_note")) if n]
    if notes:
        merged["source_note"] = " | ".join(notes)
    return merged, disagreements


def disagreements_markdown(disagreements: list[Disagreement], settled: dict[str, dict[str, Any]]) -> str:
    lines = ["| document | value | reader A | reader B | settled |", "| --- | --- | --- | --- | --- |"]
    for d in disagreements:
        decision = settled.get(d.file, {})
        outcome = (
            ("left out" if decision.get(d.path) is None else f"{decision[d.path]!r}")
            if d.path in decision
            else "left out (not settled)"
        )
        lines.append(f"| {d.file} | `{d.path}` | {d.a!r} | {d.b!r} | {outcome} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", type=Path, required=True, help="reader A's folder of <id>.json")
    ap.add_argument("--b", type=Path, required=True, help="reader B's folder of <id>.json")
    ap.add_argument("--corpus", type=Path, required=True, help="the corpus folder (sources.json, truth.json)")
    ap.add_argument(
        "--settled", type=Path, help="JSON {file: {path: value or null}} from reading the document"
    )
    args = ap.parse_args()
    settled = json.loads(args.settled.read_text(encoding="utf-8")) if args.settled else {}
    documents = json.loads((args.corpus / "sources.json").read_text(encoding="utf-8"))["documents"]
    reports: dict[str, Any] = {}
    everything: list[Disagreement] = []
    for doc in documents:
        pa, pb = args.a / f"{doc['id']}.json", args.b / f"{doc['id']}.json"
        if not (pa.exists() and pb.exists()):
            print(f"{doc['file']}: skipped, needs both readers (a: {pa.exists()}, b: {pb.exists()})")
            continue
        merged, disagreements = merge_entry(
            doc["file"],
            json.loads(pa.read_text(encoding="utf-8")),
            json.loads(pb.read_text(encoding="utf-8")),
            settled.get(doc["file"]),
        )
        reports[doc["file"]] = merged
        everything += disagreements
    truth = {
        "about": "Values two independent readers agreed on, each from the document alone; disagreements "
        "were read again and settled or left out (DISAGREEMENTS.md). Keys as in metrics.md.",
        "reports": reports,
    }
    (args.corpus / "truth.json").write_text(
        json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    print(disagreements_markdown(everything, settled), end="")
    print(f"{len(reports)} documents merged, {len(everything)} disagreements")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
