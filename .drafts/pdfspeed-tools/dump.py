"""Dump pdf.read() of every sample as JSON lines (blocks, warnings, errors)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, "/work/wt/pdfspeed")
from services.extract.engine.readers import pdf

res = {}
for p in sorted(Path("/tmp/pdfspeed/samples").iterdir()):
    try:
        d = pdf.read(p.read_bytes())
        res[p.name] = {
            "blocks": [[b.text, b.page, b.table, b.row, b.col, b.row_end, b.confidence] for b in d.blocks],
            "warnings": d.warnings,
            "text": d.has_text_layer,
        }
    except Exception as e:
        res[p.name] = {"error": f"{type(e).__name__}: {e}"}
Path(sys.argv[1]).write_text(json.dumps(res, ensure_ascii=True, indent=0, sort_keys=True))
print(sum(1 for v in res.values() if "error" in v), "errors of", len(res))
