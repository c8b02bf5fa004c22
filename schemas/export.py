"""Export the JSON Schema of every event model into ``schemas/json/``.

``python -m schemas.export`` (``make schemas``) rewrites the files; a unit
test fails when a model changed and the files were not regenerated, so
consumers in other languages can rely on them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from schemas.events import ALL_MODELS

JSON_DIR = Path(__file__).resolve().parent / "json"


def render(name: str) -> str:
    schema = ALL_MODELS[name].model_json_schema(mode="serialization")
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def export(directory: Path = JSON_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ALL_MODELS:
        path = directory / f"{name}.schema.json"
        path.write_text(render(name), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in export():
        print(p.relative_to(Path.cwd()) if p.is_relative_to(Path.cwd()) else p)
    sys.exit(0)
